"""Run app pages with Streamlit's AppTest, the way a shared link opens them."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from xray.translation import use_language

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "app_pages"
ENTRY = ROOT / "streamlit_app.py"
TIMEOUT_S = 300


def run_page(script: Path | str, **query: str) -> AppTest:
    """Run ``script`` (a path, or a page file name such as ``"3_SHAP.py"``) with the URL's query parameters.

    The test's own thread speaks the page's language (``lang``, else English) too: AppTest calls a widget's
    ``format_func`` there when it reruns the page, and a translated option must match what the page drew.
    """
    use_language(query.get("lang", "en"))
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


TEXT_KINDS = ("title", "header", "subheader", "caption", "markdown", "info", "warning", "error", "success", "toast")
LABELLED_KINDS = (
    "button",
    "download_button",
    "text_area",
    "text_input",
    "selectbox",
    "multiselect",
    "slider",
    "select_slider",
    "number_input",
    "radio",
    "checkbox",
    "toggle",
    "expander",
    "tab",
    "metric",
    "page_link",
    "segmented_control",
    "pills",
    "file_uploader",
)
SHORTEST_INSIDE = 24
"""A catalog message with this many characters or more besides its placeholders is looked for inside a text; a
shorter one ("Layer") only as a whole text or label, where a word of the input or a model's name cannot be mistaken
for it."""
SHORTEST_WHOLE = 4
"""A message with fewer characters besides its placeholders ("{first} and {last}") matches any text: not looked
for."""
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def shown_texts(app: AppTest, data_widgets: tuple[str, ...] = ()) -> list[str]:
    """Every text a reader sees on the page: titles, headers, captions, Markdown, messages, and each widget's label,
    help and options (as the page formats them), but the options of a widget whose key starts with one of
    ``data_widgets`` (words or contexts of the corpus: data, not messages)."""
    texts = [str(element.value) for kind in TEXT_KINDS for element in app.get(kind)]
    for kind in LABELLED_KINDS:
        for element in app.get(kind):
            proto = getattr(element, "proto", None)
            texts += [_label(element) or "", getattr(proto, "help", "") or ""]
            if not str(getattr(element, "key", None) or "").startswith(data_widgets or ("\0",)):
                texts += [str(option) for option in getattr(element, "options", ()) or ()]
    return [text for text in texts if text.strip()]


def _pattern(message: str) -> re.Pattern[str]:
    return re.compile(".+?".join(re.escape(part) for part in PLACEHOLDER.split(message)), re.DOTALL)


@cache
def _translated_messages(language: str) -> tuple[tuple[str, int, re.Pattern[str]], ...]:
    """(English message, its length besides placeholders, its pattern) of each message ``language`` translates
    differently."""
    from babel.messages.pofile import read_po

    from xray.translation import LOCALE_DIR

    with (LOCALE_DIR / language / "LC_MESSAGES" / "xray.po").open("rb") as file:
        catalog = read_po(file)
    found = []
    for message in catalog:
        english = message.id if isinstance(message.id, str) else (message.id[0] if message.id else "")
        string = message.string if isinstance(message.string, str) else (message.string or ("",))[0]
        literal = len("".join(PLACEHOLDER.split(english)).strip(" .,:;()·–-"))
        if english and string and string != english and literal >= SHORTEST_WHOLE:
            found.append((english, literal, _pattern(english)))
    return tuple(found)


def english_left(app: AppTest, language: str = "tr", *, data_widgets: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(catalog message, text) for each text on the page that still shows an English message of the catalog while
    the page speaks ``language``: a long message anywhere inside a text (its placeholders filled with anything),
    a short one as a whole text or label. data_widgets: see :func:`shown_texts`."""
    left = []
    for text in shown_texts(app, data_widgets):
        for english, literal, pattern in _translated_messages(language):
            if pattern.fullmatch(text.strip()) or (literal >= SHORTEST_INSIDE and pattern.search(text)):
                left.append((english[:80], text[:120]))
    return left
