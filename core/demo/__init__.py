"""Synthetic pt-BR demo data: generator (generate.py) and its hand-written content."""
