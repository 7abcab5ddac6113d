"""The journey of one sentence in a real browser: a link keeps its settings through page clicks and a reload, and
the whole lesson walks from a fresh server and a fresh link, clicking only what a user would click.

``XRAY_SCREENSHOT=1`` also saves a screenshot of every lesson step under ``docs/lesson/`` and prints the walk's
timings.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from bench.app_memory import wait_until_done
from tests.app_server import running_app
from xray.focus import focus_label, text_words
from xray.lesson import LESSON

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture (tests/conftest.py) skips or fails
    expect = None

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "lesson"
STEP_TIMEOUT_S = 420
QUIET_S = 1.0
VIEWPORT = {"width": 1400, "height": 1000}
SHOT_VIEWPORT = {"width": 1400, "height": 2000}
RENDER_MS = 90_000  # a cold server imports torch and loads the model before it draws anything


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A new tab on a freshly started server (each test gets its own, as a class opening the app does)."""
    with running_app() as app:
        context = browser.new_context(viewport=VIEWPORT, base_url=app.url)
        context.set_default_timeout(60_000)
        try:
            yield context.new_page()
        finally:
            context.close()


def _done(page) -> float:
    """Wait until the page has reported itself done (its run's mark drawn, no script running, for a second in a
    row); returns the seconds waited."""
    return wait_until_done(page, time.perf_counter(), quiet_s=QUIET_S, timeout_s=STEP_TIMEOUT_S)


def _sidebar_reads(page, text: str, layer: int | None, focus: str) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("textbox", name="Input text")).to_have_value(text)
    if layer is not None:
        slider = sidebar.get_by_test_id("stSlider").filter(has_text="Layer")
        expect(slider.get_by_test_id("stSliderThumbValue")).to_have_text(str(layer))
    expect(sidebar.get_by_role("combobox", name="Focus token")).to_have_value(focus)


def _clean_and_drawn(page) -> int:
    """No exception or traceback on the page, and every chart drawn; returns the number of charts."""
    assert page.get_by_test_id("stException").count() == 0, page.url
    assert "Traceback" not in page.get_by_test_id("stMain").inner_text(), page.url
    charts = page.get_by_test_id("stVegaLiteChart")
    for index in range(charts.count()):
        expect(charts.nth(index).locator("svg, canvas").first).to_be_attached()
    return charts.count()


def test_a_link_keeps_text_layer_and_focus_through_three_clicks_and_a_reload(page):
    text = "The striker scored twice as United beat Chelsea in the cup final."
    label = focus_label(text_words(text)[5])  # United · word 6
    page.goto(f"/Tokenizers?text={quote(text)}&layer=3&focus=6")
    page.get_by_test_id("stSidebar").get_by_role("textbox", name="Input text").wait_for(timeout=RENDER_MS)
    _sidebar_reads(page, text, 3, label)
    navigation = page.get_by_test_id("stSidebarNav")
    for name in ("Attention", "Transformer factors", "LIME"):
        navigation.get_by_text(name, exact=True).click()
        page.wait_for_url(re.compile(rf"/{name.replace(' ', '_')}\?"))
        _sidebar_reads(page, text, 3, label)
        assert "focus=6" in page.url and "layer=3" in page.url, page.url
        if name == "Transformer factors":
            page.reload()
            _sidebar_reads(page, text, 3, label)


def test_the_lesson_walks_from_the_home_page_to_its_last_step(page):
    page.goto("/")
    page.get_by_role("link", name=LESSON[0].title).click()
    timings = []
    for number, step in enumerate(LESSON, start=1):
        page.wait_for_url(re.compile(rf"[?&]lesson={number}(&|$)"), timeout=RENDER_MS)
        seconds = _done(page)
        words = text_words(step.text)
        _sidebar_reads(page, step.text, step.layer, focus_label(words[step.focus - 1]))
        expect(page.get_by_text(f"Lesson, step {number} of {len(LESSON)}")).to_be_visible()
        charts = _clean_and_drawn(page)
        timings.append((number, step.page, seconds, charts))
        if os.environ.get("XRAY_SCREENSHOT") == "1":
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.set_viewport_size(SHOT_VIEWPORT)  # Streamlit scrolls inside its own frame: show more of it
            page.wait_for_timeout(500)
            page.screenshot(path=SHOTS / f"step_{number:02d}.png")
            page.set_viewport_size(VIEWPORT)
        if number < len(LESSON):
            page.get_by_role("link", name=re.compile(r"^Next step")).click()
    for number, name, seconds, charts in timings:
        print(f"step {number:2d} {name:<28} done after {seconds:6.1f} s, {charts} charts drawn")
