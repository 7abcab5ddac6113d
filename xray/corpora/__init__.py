"""Corpora: text the techniques run over, read from PyPI packages (the hub is never needed)."""
