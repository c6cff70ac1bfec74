"""One thin module per screen; dashboard.py registers them with st.navigation."""
