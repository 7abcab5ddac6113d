"""HTML renderers drawn in a real headless Chromium, without the app: SHAP's force plot shows each label whole or not
at all, and right-to-left pieces and text keep their order.

Needs Debian's ``chromium`` and the ``playwright`` package, as tests/test_browser.py (skipped without them, failed
where ``XRAY_REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

import pytest

from tests.doubles import random_head
from xray.models.loading import EMBEDDED_MODEL
from xray.rendering.highlight import highlighted_text_html
from xray.rendering.tokens import segmentation_html
from xray.techniques.shap_explain import ARROW_PIXELS, FORCE_LABEL_CLASS, explain_shap, shap_text_html
from xray.techniques.tokenizers import segment_text
from xray.tokenization.sources import named_tokenizer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.integration]
ARABIC = "ذهب الولد إلى المدرسة"


def _page(browser: Browser, body: str, width: int) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 600})
    page.set_content(f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{body}</body></html>')
    return page


FORCE_LABELS = f"""() => [...document.querySelectorAll("text.{FORCE_LABEL_CLASS}")].map(label => ({{
    text: label.textContent,
    visible: getComputedStyle(label).visibility === "visible",
    length: label.getComputedTextLength(),
    room: label.parentNode.width.baseVal.value - {2 * ARROW_PIXELS},
}}))"""


def test_force_plot_labels_show_whole_or_not_at_all(browser, tiny):
    classifier = random_head(tiny["bert"], scale=4.0, bias=False, max_tokens=64)
    plot = shap_text_html(
        explain_shap(classifier, "the animal didn't cross the street because it was tired", max_evals=200), 0
    )
    shown = {}
    for width in (420, 1400):
        page = _page(browser, plot, width)
        try:
            labels = page.evaluate(FORCE_LABELS)
        finally:
            page.close()
        assert labels and all(label["length"] <= label["room"] for label in labels if label["visible"]), labels
        shown[width] = sum(label["visible"] for label in labels)
    assert 0 < shown[420] < shown[1400], "a narrow plot hides the labels that do not fit; a wide one shows more"


def test_right_to_left_pieces_keep_their_ids_and_order(browser):
    segmentation = segment_text(named_tokenizer(EMBEDDED_MODEL), ARABIC)
    page = _page(browser, segmentation_html(segmentation, "view"), 1000)
    try:
        chips = page.evaluate("""() => [...document.querySelectorAll(".piece")].map(chip => {
            const token = document.createRange();
            token.selectNodeContents(chip.querySelector("bdi"));
            const rects = [...token.getClientRects()];
            return {
                left: chip.getBoundingClientRect().left,
                top: chip.getBoundingClientRect().top,
                tokenRight: Math.max(...rects.map(rect => rect.right)),
                idLeft: chip.querySelector("sub").getBoundingClientRect().left,
            };
        })""")
        text_is_rtl = page.evaluate("() => document.querySelector('.text').matches(':dir(rtl)')")
        pieces_are_ltr = page.evaluate("() => document.querySelector('.pieces').matches(':dir(ltr)')")
    finally:
        page.close()
    assert len(chips) == len(segmentation.pieces) > 10
    assert all(chip["tokenRight"] <= chip["idLeft"] + 0.5 for chip in chips), "each id follows its own piece"
    assert all(
        (after["top"] > before["top"] + 1) or (after["left"] > before["left"]) for before, after in pairwise(chips)
    ), "pieces are listed left to right, in their order"
    assert text_is_rtl and pieces_are_ltr


def test_highlighted_arabic_text_runs_right_to_left(browser):
    page = _page(browser, highlighted_text_html(ARABIC, [(0, 3, 0.5), (4, 9, -0.2)]), 800)
    try:
        first_word_right, last_word_left, rtl = page.evaluate("""() => {
            const box = document.querySelector(".xray-highlight > div");
            const spans = box.querySelectorAll("span");
            return [spans[0].getBoundingClientRect().right, spans[1].getBoundingClientRect().left,
                    box.matches(":dir(rtl)")];
        }""")
    finally:
        page.close()
    assert rtl and first_word_right > last_word_left, "the first word of the sentence is on the right"
