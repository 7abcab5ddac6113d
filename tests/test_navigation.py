"""Pages find themselves: a new ``app_pages/N_Name.py`` with its ``PAGE`` literal is in the navigation, the home
page's list and the lesson's overview (as a page the lesson does not visit) with no other file edited."""

from __future__ import annotations

from pathlib import Path

import pytest

import components.navigation
from components.navigation import PageInfo, discover_pages
from tests.pages import ENTRY, assert_clean, labelled, with_text
from xray.lesson import LESSON, counted, lesson_coverage, number_word

FAKE_PAGE = """
from components.navigation import PageInfo
from components.page import start_page

PAGE = PageInfo(title="A new technique", icon="🧪", caption="Added by a test.", question="Does a new page show up?")
start_page(PAGE)
"""


def _page(folder: Path, name: str, title: str) -> Path:
    path = folder / name
    path.write_text(f'PAGE = PageInfo(title="{title}", icon="x", caption="c", question="q")\n', encoding="utf-8")
    return path


def test_discover_pages_finds_a_new_page_file_in_the_order_of_its_number(tmp_path):
    _page(tmp_path, "0_Home.py", "Home")
    _page(tmp_path, "2_Second.py", "Second")
    _page(tmp_path, "10_Tenth_page.py", "Tenth")
    _page(tmp_path, "1_First.py", "First")
    (tmp_path / "helpers.py").write_text("x = 1\n", encoding="utf-8")  # not N_Name.py: not a page
    (tmp_path / "notes_1.py").write_text("x = 1\n", encoding="utf-8")
    pages = discover_pages(tmp_path)
    assert [path.name for path, _ in pages] == ["0_Home.py", "1_First.py", "2_Second.py", "10_Tenth_page.py"]
    assert [info.title for _, info in pages] == ["Home", "First", "Second", "Tenth"]


@pytest.mark.app
@pytest.mark.integration
def test_a_new_page_appears_in_the_home_list_and_in_the_lesson_as_not_visited(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    fake = tmp_path / "99_New_technique.py"
    fake.write_text(FAKE_PAGE, encoding="utf-8")
    real = discover_pages()
    pages = (*real, (fake, components.navigation.read_page_info(fake)))
    # The entry point and the home page look the pages up when they run, so both see the new one.
    monkeypatch.setattr(components.navigation, "discover_pages", lambda folder=None: pages)
    app = AppTest.from_file(str(ENTRY), default_timeout=300).run()
    assert_clean(app)
    links = app.get("page_link")
    labelled(links, "**A new technique**")  # the home page's list
    with_text(app.caption, "Does a new page show up?")
    assert labelled(links, "A new technique").proto.page == "New_technique"  # not in the lesson yet, by its URL
    with_text(app.markdown, "Not in the lesson yet")
    visited, technique_pages = len({step.page for step in LESSON}), len(real) - 1
    sentences = counted(len({step.text for step in LESSON}), "sentence")
    heading = f"A lesson: {sentences} through {number_word(visited)} of the {counted(technique_pages + 1, 'page')}"
    assert [element.value for element in app.subheader if element.value.startswith("A lesson")] == [heading]
    with_text(app.markdown, f"{counted(len(LESSON), 'step').capitalize()} for a class.")
    app.switch_page(str(fake)).run()  # and the navigation opens it
    assert_clean(app)
    assert [title.value for title in app.title] == ["A new technique"]


@pytest.mark.app
@pytest.mark.integration
def test_the_home_page_lists_every_page_and_every_lesson_step_and_counts_them():
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ENTRY), default_timeout=300).run()
    assert_clean(app)
    links = app.get("page_link")
    for _, info in discover_pages()[1:]:
        labelled(links, f"**{info.name}**")
    for step in LESSON:
        labelled(links, f"**{step.title}**")
    coverage = lesson_coverage(path.name for path, _ in discover_pages()[1:])
    assert [element.value for element in app.subheader if element.value.startswith("A lesson")] == [coverage.heading]
    assert coverage.heading.endswith("every page") == (not coverage.not_visited)
    assert any("Not in the lesson yet" in element.value for element in app.markdown) == bool(coverage.not_visited)
    with_text(app.markdown, f"{counted(len(LESSON), 'step').capitalize()} for a class.")


def test_page_info_names_a_page_by_its_label_or_title():
    assert PageInfo(title="Transformer X-Ray", icon="x", caption="c", label="Home").name == "Home"
    assert PageInfo(title="Attention", icon="x", caption="c").name == "Attention"
