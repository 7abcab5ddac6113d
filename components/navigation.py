"""The app's pages and the opening every page shares, drawn before any heavy import so a title paints at once.

Each page file ``app_pages/N_Name.py`` declares its :class:`PageInfo` as a literal ``PAGE = PageInfo(...)``.
:func:`discover_pages` reads those literals without importing the pages (importing one loads torch
and the model's libraries, seconds on a cold server), so the entry point can list every page and
draw the chosen one's title and a loading line before the page's own code runs. Adding a page is
adding its file: the navigation, the home page's list and the lesson's overview (which names the pages no lesson
step opens, :func:`components.lesson.lesson_overview`) find it.

The folder is ``app_pages/``, not ``pages/``: beside a ``pages/`` folder Streamlit runs its first multipage
mode, which opens a page's file directly and never runs the entry point (nor ``st.navigation``).

This module imports nothing heavy; keep it that way.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from components.language import apply_language
from xray.translation import N_, _

PAGES_FOLDER = Path(__file__).resolve().parents[1] / "app_pages"
LOADING = N_("Loading this page's code, then the model: a few seconds on a freshly started server, then instant…")


@dataclass(frozen=True)
class PageInfo:
    """What the navigation, the home page and the page's opening show.

    title: the page's heading; icon: an emoji (Material icons make browsers fetch a font online);
    caption: one paragraph under the title; question: one line for the home page's list;
    uses_layer: False where the page ignores the sidebar's layer (it then says so there);
    uses_text: False where the page does not read the sidebar's text (an empty text does not stop it);
    label: its name in the navigation, when shorter than the title (e.g. "Home").
    """

    title: str
    icon: str
    caption: str
    question: str = ""
    uses_layer: bool = True
    uses_text: bool = True
    label: str = ""

    @property
    def name(self) -> str:
        """The page's name in the navigation and the browser tab."""
        return self.label or self.title


@dataclass(frozen=True)
class Opening:
    """A page's drawn opening: ``loading`` holds the loading line until the page clears it."""

    info: PageInfo
    loading: DeltaGenerator


def read_page_info(path: Path) -> PageInfo:
    """The ``PAGE = PageInfo(...)`` literal of a page file, read without running the file."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(target, "id", None) for target in node.targets] == ["PAGE"]
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", None) == "PageInfo"
        ):
            if node.value.args:
                raise ValueError(f"{path.name}: write PAGE = PageInfo(...) with keyword arguments only.")
            return PageInfo(**{keyword.arg: ast.literal_eval(keyword.value) for keyword in node.value.keywords})
    raise ValueError(f"{path.name} declares no PAGE = PageInfo(...) at its top level.")


@cache
def discover_pages(folder: Path = PAGES_FOLDER) -> tuple[tuple[Path, PageInfo], ...]:
    """Every ``N_Name.py`` page in ``folder`` with its info, in the order of N (the first is the home page)."""
    paths = sorted(folder.glob("[0-9]*_*.py"), key=lambda path: int(path.name.split("_", 1)[0]))
    return tuple((path, read_page_info(path)) for path in paths)


def open_page(info: PageInfo) -> Opening:
    """Page config, title, caption and a loading line, in the session's language: the first things a page
    draws."""
    apply_language()
    name = _(info.name)
    st.set_page_config(page_title=f"{name} · Transformer X-Ray", page_icon=info.icon, layout="wide")
    st.title(_(info.title))
    st.caption(_(info.caption))
    loading = st.empty()
    loading.caption(_(LOADING))
    return Opening(info, loading)


_run = threading.local()  # each script run happens in its session's script thread


@contextmanager
def opened(opening: Opening) -> Iterator[None]:
    """While the block runs (the page's script), :func:`current_opening` returns ``opening``: the entry point
    drew it, so the page must not draw it again."""
    _run.opening = opening
    try:
        yield
    finally:
        del _run.opening


def current_opening(info: PageInfo) -> Opening:
    """The opening the entry point drew for this run, or, when the page runs on its own, a new one."""
    opening = getattr(_run, "opening", None)
    return opening if opening is not None else open_page(info)
