"""Browser tests: a real headless Chromium against ``streamlit run`` on loopback.

AppTest (tests/test_app.py) checks the Python side; these check what a user actually sees: the bertviz
iframes draw, text from the URL stays text, the URL carries the view, and nothing is fetched from the internet.

Needs Debian's ``chromium`` (``apt-get install chromium``) and the ``playwright`` package; without them the tests
skip, unless ``XRAY_REQUIRE_BROWSER=1`` (set by CI), where they fail. ``XRAY_SCREENSHOT=1`` also refreshes
``docs/screenshot.png``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

import pytest

from tests.app_server import running_app

try:
    from playwright.sync_api import expect
except ImportError:  # checked in the browser fixture (tests/conftest.py), which skips or fails
    expect = None

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "screenshot.png"
pytestmark = [pytest.mark.browser, pytest.mark.integration]

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
LOCAL_SCHEMES = {"data", "about", "blob"}
# The first page of a cold server imports torch and loads the model before it draws anything.
RENDER_MS = 90_000
VIEWPORT = {"width": 1400, "height": 1000}
XSS_TEXT = 'Hi <img src=x onerror="window.parent.__xray_pwned=1;window.__xray_pwned=1"> </script> there'


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """``streamlit run streamlit_app.py`` on a free loopback port; yields its base URL."""
    try:
        with running_app() as app:
            yield app.url
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or parts.hostname in LOCAL_HOSTS


def _bertviz(page: Page):
    """The frame of the page's single bertviz iframe, once its SVG is drawn."""
    frame = page.frame_locator("iframe[data-testid='stIFrame']")
    frame.locator("svg").first.wait_for(timeout=RENDER_MS)
    return frame


def test_head_view_draws_the_default_sentence_offline(page, app_url):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{app_url}/Attention")
    frame = _bertviz(page)
    words = frame.locator("svg text")
    expect(words.filter(has_text=re.compile(r"^tired$")).first).to_be_visible()
    assert {"animal", "street", "tired", "[CLS]"} <= set(words.all_text_contents())
    expect(page.get_by_test_id("stDownloadButton").filter(has_text="Head view (HTML)")).to_be_visible()
    if os.environ.get("XRAY_SCREENSHOT") == "1":
        expect(page.get_by_test_id("stExpander").filter(has_text="Download the attention weights")).to_be_visible()
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOT)  # the viewport: Streamlit scrolls inside its own container
    leaks = sorted({url for url in requests if not _is_local(url)})
    assert not leaks, f"the page requested non-loopback URLs: {leaks}"
    assert requests, "no request was recorded"


def test_html_in_the_text_is_shown_literally_and_never_runs(page, app_url):
    page.goto(f"{app_url}/Attention?text={quote(XSS_TEXT)}")
    frame = _bertviz(page)
    words = frame.locator("svg text")
    expect(words.filter(has_text=re.compile(r"^script$")).first).to_be_visible()
    assert {"<", "im", "##g", "one", "##rro", "script", ">", "there"} <= set(words.all_text_contents())
    expect(page.get_by_test_id("stSidebar").get_by_role("textbox", name="Input text")).to_have_value(XSS_TEXT)
    assert len(page.frames) >= 2
    for each in page.frames:
        assert each.locator("img[src='x']").count() == 0, each.url
        assert each.evaluate("typeof window.__xray_pwned") == "undefined", each.url


def test_url_sets_layer_and_view_and_clicks_write_back(page, app_url):
    page.goto(f"{app_url}/Attention?layer=3&attention.view=Head%20heatmap")
    chart = page.get_by_test_id("stVegaLiteChart")
    expect(chart.locator("svg text", has_text="layer 3, head 0")).to_be_visible(timeout=RENDER_MS)
    expect(chart.locator("svg path[role='graphics-symbol']").first).to_be_visible()
    layer = page.get_by_test_id("stSidebar").get_by_test_id("stSlider").filter(has_text="Layer")
    expect(layer.get_by_role("slider", name="Layer")).to_have_value("3")
    expect(layer.get_by_test_id("stSliderThumbValue")).to_have_text("3")
    expect(page.get_by_role("radio", name="Head heatmap")).to_have_attribute("aria-checked", "true")

    page.get_by_role("radio", name="Rollout").click()
    page.wait_for_url(re.compile(r"[?&]attention\.view=Rollout(&|$)"))
    expect(chart.locator("svg text", has_text="Rollout after layer 3")).to_be_visible()
    assert "layer=3" in page.url


def test_model_view_draws_every_layer(page, app_url):
    page.goto(f"{app_url}/Attention?attention.view=Model%20view")
    frame = _bertviz(page)
    labels = frame.locator("svg text")
    expect(labels.filter(has_text="Layers").first).to_be_visible()
    texts = labels.all_text_contents()
    assert {"Heads", "Layers", "0", "5", "11"} <= set(texts)


def _chart_with(page: Page, title: str):
    """The Vega-Lite chart whose drawn SVG holds ``title``."""
    chart = page.get_by_test_id("stVegaLiteChart").filter(has=page.locator("svg text", has_text=title))
    expect(chart.first).to_be_visible(timeout=RENDER_MS)
    return chart.first


def test_embedding_search_draws_the_purity_curve_offline(page, app_url):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{app_url}/Embedding_search?corpus=Word%20senses&text={quote('We sat on the bank of the river')}")
    chart = _chart_with(page, "Share of the top 20 neighbours by label")
    expect(chart.locator("svg text", has_text="bank (river)").first).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    leaks = sorted({url for url in requests if not _is_local(url)})
    assert not leaks, f"the page requested non-loopback URLs: {leaks}"


def test_projections_of_an_uploaded_csv_colour_by_its_own_column(page, app_url, tmp_path):
    upload = tmp_path / "reviews.csv"
    rows = [
        f'"The {w} was {"great" if i % 2 else "awful"} and I {"loved" if i % 2 else "hated"} it",{i % 2},{i % 5}'
        for i, w in enumerate(["film", "meal", "hotel", "phone", "book"] * 8)
    ]
    upload.write_text("review,liked,stars\n" + "\n".join(rows) + "\n", encoding="utf-8")
    page.goto(f"{app_url}/Projections?corpus={quote('Your own file (.txt or .csv)')}&projection.sample=200")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload))
    page.get_by_test_id("stSelectbox").filter(has_text="Label column").click()
    page.get_by_role("option", name="liked").click()
    chart = _chart_with(page, "PCA of 40 texts")
    expect(chart.locator("svg text", has_text="label").first).to_be_visible()
    page.get_by_test_id("stSelectbox").filter(has_text="Colour by").click()
    page.get_by_role("option", name="stars").click()
    expect(_chart_with(page, "PCA of 40 texts").locator("svg text", has_text="stars").first).to_be_visible()


def test_dragging_a_box_on_the_projection_lists_the_points_inside(page, app_url):
    page.goto(f"{app_url}/Projections?corpus=Word%20senses&projection.sample=500")
    chart = _chart_with(page, "PCA of 500 texts")
    box = chart.bounding_box()
    left, top = box["x"] + 60, box["y"] + 60
    page.mouse.move(left, top)
    page.mouse.down()
    page.mouse.move(left + 250, top + 250, steps=10)
    page.mouse.up()
    selected = page.get_by_text(re.compile(r"^\d+ points selected\.$"))
    expect(selected).to_be_visible()
    assert 0 < int(selected.inner_text().split()[0]) < 500


def test_tokenizers_hovering_a_piece_lights_its_characters_and_a_word_its_pieces(page, app_url):
    page.goto(f"{app_url}/Tokenizers?text={quote('They didn’t stop')}")
    view = page.locator(".xray-tokens-model")
    piece = view.locator(".pieces .p2")  # [CLS] is p0, "they" p1, "didn" p2
    expect(piece).to_contain_text("didn", timeout=RENDER_MS)
    characters = view.locator(".text .p2")
    lit = "rgba(255, 193, 7, 0.85)"

    def background(locator) -> str:
        return locator.evaluate("element => getComputedStyle(element).backgroundColor")

    assert background(characters) != lit
    piece.hover()
    expect(characters).to_have_text("didn")
    assert background(characters) == lit
    page.mouse.move(0, 0)
    assert background(piece) != lit
    characters.hover()
    assert background(piece) == lit


def test_the_language_switch_turns_the_app_turkish_and_three_page_clicks_keep_it(page, app_url):
    page.goto(f"{app_url}/Which_units")
    expect(page.get_by_role("heading", name="Which units")).to_be_visible(timeout=RENDER_MS)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Türkçe", exact=True).click()
    expect(page.get_by_role("heading", name="Hangi birimler")).to_be_visible(timeout=RENDER_MS)
    page.wait_for_url(re.compile(r"[?&]lang=tr(&|$)"))
    for link, heading in [
        ("Ana sayfa", "Sayfalar"),
        ("Tokenleştiriciler", "Tokenleştiriciler"),
        ("Hangi açıklama", "Hangi açıklamaya güvenmeli?"),
    ]:
        sidebar.get_by_role("link", name=link).click()
        expect(page.get_by_role("heading", name=heading).first).to_be_visible(timeout=RENDER_MS)
        expect(sidebar.get_by_role("radio", name="Türkçe")).to_be_checked()
        expect(sidebar.get_by_role("textbox", name="Girdi metni")).to_be_visible()
        assert "lang=tr" in page.url, page.url
