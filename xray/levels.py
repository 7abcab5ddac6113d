"""The levels of a model's hidden states, as every page and file names them.

A model with L layers has L + 1 levels: level 0 is the embeddings (what the first layer reads), level l + 1 the
output of layer l (the sidebar's numbering counts layers from 0). Stores, factor dictionaries and charts index
levels; pages say "layer l" or "embeddings".
"""

from __future__ import annotations

from xray.translation import N_, Message


def level_name(level: int) -> Message:
    """ "embeddings" for level 0, else "layer L" in the sidebar's numbering (level L + 1); English, drawn in the
    run's language with :func:`~xray.translation.translated`."""
    return Message(N_("embeddings")) if level == 0 else Message(N_("layer {layer}"), layer=level - 1)
