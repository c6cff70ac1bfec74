"""Ingest: the bots' Redis messages into the database (pipeline.py; split pending)."""
