"""Transformer X-Ray core: model loading and one module per technique.

Everything in this package is plain, typed Python over torch and numpy; it never imports
streamlit. Techniques take a :class:`xray.models.loading.LoadedModel` and return documented
dataclasses of plain data; rendering helpers return HTML strings or Altair charts.
"""
