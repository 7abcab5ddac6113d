"""The opening every technique page shares: its title and caption (see :mod:`components.navigation`), then
the shared sidebar; the loading line goes once the model is ready."""

from __future__ import annotations

from components.navigation import PageInfo, current_opening
from components.sidebar import Selection, sidebar


def start_page(info: PageInfo) -> Selection:
    """Draw the page's opening (unless the entry point already did) and the sidebar; returns the selection."""
    opening = current_opening(info)
    selection = sidebar(uses_layer=info.uses_layer)
    opening.loading.empty()
    return selection
