"""Ingest: the bots' Redis messages into the database (pipeline.py runs an import)."""
