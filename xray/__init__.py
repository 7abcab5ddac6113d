"""Transformer X-Ray core: plain, typed Python over torch and numpy that never imports streamlit.

- ``xray.models``: model access (loading, family facts, batched inference, classifiers).
- ``xray.corpora``: text the techniques run over.
- ``xray.cache``: what lives on disk (root, names, atomic publishing, status files); ``xray.store``: the activation
  store (format, builder, search) and results kept beside it.
- ``xray.factors``, ``xray.neurons``, ``xray.tokenization``: techniques with several parts, each part a module.
- ``xray.techniques``: each page's entry point; each takes a :class:`xray.models.loading.LoadedModel` or a
  classifier plus inputs and returns a documented result dataclass with its verdicts, ``table()`` and
  ``to_json()`` (:class:`xray.results.Result`).
- ``xray.rendering``: charts, offline bertviz HTML and highlighted text, each returned as a value.
"""
