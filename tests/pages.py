"""Run app pages with Streamlit's AppTest, the way a shared link opens them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "app_pages"
ENTRY = ROOT / "streamlit_app.py"
TIMEOUT_S = 300


def run_page(script: Path | str, **query: str) -> AppTest:
    """Run ``script`` (a path, or a page file name such as ``"3_SHAP.py"``) with the URL's query parameters."""
    path = script if isinstance(script, Path) else PAGES / script
    app = AppTest.from_file(str(path), default_timeout=TIMEOUT_S)
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def assert_clean(app: AppTest) -> None:
    """No exception and no error message on the page."""
    assert not app.exception, [exception.value for exception in app.exception]
    assert not app.error, [error.value for error in app.error]


def messages(app: AppTest) -> str:
    """Every error, warning and info message on the page, joined."""
    return " ".join(str(element.value) for kind in ("error", "warning", "info") for element in getattr(app, kind))


def with_text(elements, phrase: str):
    """The one element of ``elements`` (``app.caption``, ``app.error``, ``app.html``, ...) whose value contains
    ``phrase``; fails, listing every value, when none or several do."""
    found = [element for element in elements if phrase in str(element.value)]
    assert len(found) == 1, f"{len(found)} elements contain {phrase!r}: {[str(e.value)[:200] for e in elements]}"
    return found[0]


def count_with(elements, marker: str) -> int:
    """How many of ``elements`` have a value that contains ``marker``."""
    return sum(marker in str(element.value) for element in elements)


def labelled(elements, label: str):
    """The one element of ``elements`` (``app.metric``, ``app.get("page_link")``, ...) labelled ``label``."""
    found = [element for element in elements if _label(element) == label]
    assert len(found) == 1, f"{len(found)} elements labelled {label!r}: {[_label(e) for e in elements]}"
    return found[0]


def _label(element) -> str:
    return getattr(element, "label", None) or element.proto.label


def table_with(app: AppTest, *columns: str) -> pd.DataFrame:
    """The one table on the page whose columns include ``columns``."""
    tables = [frame.value for frame in app.dataframe if set(columns) <= set(frame.value.columns)]
    shown = [list(frame.value.columns) for frame in app.dataframe]
    assert len(tables) == 1, f"{len(tables)} tables have the columns {columns}; the page's tables: {shown}"
    return tables[0]


def keyed_table(app: AppTest, key: str) -> pd.DataFrame:
    """The one table inside the container keyed ``key`` (a table only shown has no key of its own)."""
    (table,) = app.get_by_key(key).dataframe
    return table.value


def table_after(app: AppTest, heading: str) -> pd.DataFrame:
    """The first table below the subheader that contains ``heading``, in the page's order."""
    elements = list(_in_order(app._tree))
    (start,) = [i for i, e in enumerate(elements) if e.type == "subheader" and heading in str(e.value)]
    return next(e.value for e in elements[start:] if e.type == "dataframe")


def _in_order(node):
    """Every element below ``node``, depth first, in the order the page wrote them."""
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for _, child in sorted(children.items()):
        yield from _in_order(child)
