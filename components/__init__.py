"""Streamlit glue shared by every page: the sidebar, cached loaders and small renderers."""
