"""UI helpers shared by the screens and dashboard.py (no SQL, Redis or provider calls)."""
