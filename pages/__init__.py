"""The dashboard's screens (pages/screens/) and their shared UI helpers (pages/ui/).

Never put a script directly in this folder: for a `pages/` folder next to the main script,
Streamlit still routes a URL like /conversas to pages/conversas.py on a server's first
request, without running dashboard.py and its login gate (tests/test_browser_login_gate.py).
app.py turns that legacy handling off (it also showed "Page not found" over the login form
on a new server's first request), but `streamlit run dashboard.py` would still use it.
"""
