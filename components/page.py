"""The opening every technique page shares: its title and caption (see :mod:`components.navigation`), then
the shared sidebar."""

from __future__ import annotations

from components.navigation import PageInfo, current_opening
from components.sidebar import Selection, sidebar


def start_page(info: PageInfo) -> Selection:
    """Draw the page's opening (unless the entry point already did) and the sidebar; returns the selection.

    The opening's loading line covers the page's imports, which are done once this runs; it goes before the
    sidebar loads the model (under a spinner of its own), so it never stays beside an error that stops the page.
    """
    current_opening(info).loading.empty()
    return sidebar(uses_layer=info.uses_layer)
