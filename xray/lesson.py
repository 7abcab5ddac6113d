"""A guided lesson for a class: teaching sentences taken through the app's pages, a step at a time.

Each :class:`LessonStep` names its page, the settings that open it (the URL query parameters: the sidebar's and the
page's own widgets bound to the URL), a teacher's note of what to point at and a question for the class.
:func:`step_link` gives the address that opens a step, with ``lesson=<number>`` so the page can offer the next one.

Every claim a note makes was measured on the embedded model (all-MiniLM-L6-v2) with the same functions the pages
call, at the settings the step opens, and ``tests/test_lesson.py`` checks each one again. Change a sentence, a
layer or a number here and that test says which claim no longer holds.

The steps are written by hand; which pages they visit is not. :func:`lesson_coverage` compares them with the app's
pages (found by :func:`components.navigation.discover_pages`), and the home page takes its counts ("ten steps",
"three sentences through every page") and the pages the lesson does not visit from it: a page added without a
step is listed there as not in the lesson, never left out silently.

No Streamlit and no torch here: a page or the home page can import it before any model loads. The steps' titles,
notes and questions are English, marked for the catalog and drawn in the run's language (``components/lesson.py``);
the counts and the overview's heading are written in the run's language when asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from xray.examples import example_named
from xray.focus import text_words
from xray.translation import N_, _, n_

EMBEDDED_MODEL = "all-MiniLM-L6-v2 (embedded)"
"""The model every claim was measured on (``xray.models.loading.EMBEDDED_MODEL``; the tests check they agree)."""
LESSON_PARAM = "lesson"
"""The query parameter that says a lesson runs, and at which step (1-based)."""
SIDEBAR_KEYS = ("model", "text", "text_b", "layer", "focus")
"""The sidebar's settings, bound to the URL on every page."""
PAGE_FILE = re.compile(r"^[0-9]+_\w+\.py$")

LESSON_EXAMPLES = tuple(example_named(name) for name in ("Coreference", "Word sense (river bank)", "Topic (sports)"))
"""The lesson's sentences: teaching examples of the sidebar's picker (:mod:`xray.examples`), with their key words."""
COREFERENCE, RIVER_BANK, SPORTS = (example.text for example in LESSON_EXAMPLES)


def word_number(text: str, word: str) -> int:
    """The number of the first word of ``text`` that is ``word`` (case aside), counted as the sidebar's focus
    counts words (:func:`xray.focus.text_words`: from 1, punctuation left out). ValueError when there is none."""
    for found in text_words(text):
        if found.text.lower() == word.lower():
            return found.number
    raise ValueError(f"{word!r} is not a word of {text!r}.")


@dataclass(frozen=True)
class LessonStep:
    """One step of the lesson.

    page: the page's file name in ``app_pages/`` (e.g. "1_Attention.py").
    title: a short heading.
    settings: the URL query parameters that open the page as the step needs, in URL order: the sidebar's
        ("model", "text", "text_b", "layer" (0-based), "focus" (the number of the word of the text the step looks
        at, as :func:`xray.focus.text_words` counts them: "5" for bank in "We sat on the bank of the river.")) and the
        page's own widget keys bound to the URL (e.g. "attention.view": "Head heatmap"). Give a mapping or
        (key, value) pairs; it is kept as a tuple of pairs so that a step is hashable (a cache key).
    note: what the teacher points at; every claim in it is checked by ``tests/test_lesson.py``.
    question: one question to ask the class.
    Raises ValueError for a page name that is not ``N_Name.py``, settings without a text, a layer or focus that
    is not a number (or a focus past the text's last word), or a question that does not end with "?".
    """

    page: str
    title: str
    settings: tuple[tuple[str, str], ...]
    note: str
    question: str

    def __post_init__(self) -> None:
        pairs = tuple(self.settings.items() if isinstance(self.settings, Mapping) else self.settings)
        object.__setattr__(self, "settings", tuple((str(key), str(value)) for key, value in pairs))
        if not PAGE_FILE.match(self.page):
            raise ValueError(f"page must be a page file name such as '1_Attention.py', got {self.page!r}.")
        if not self.title.strip() or not self.note.strip():
            raise ValueError(f"The step on {self.page} needs a title and a note.")
        if not self.question.rstrip().endswith("?"):
            raise ValueError(f"The step's question must end with '?', got {self.question!r}.")
        query = self.query
        if len(query) != len(self.settings):
            raise ValueError(f"The step on {self.page} sets a key twice: {[key for key, _ in self.settings]}.")
        if not query.get("text", "").strip():
            raise ValueError(f"The step on {self.page} needs a 'text' setting (the sentence it shows).")
        for key in ("layer", "focus"):
            if key in query and not query[key].isdigit():
                raise ValueError(f"'{key}' must be a whole number, got {query[key]!r}.")
        words = len(text_words(self.text))
        if self.focus is not None and not 1 <= self.focus <= words:
            raise ValueError(f"focus must be a word number from 1 to {words} of {self.text!r}, got {self.focus}.")

    @property
    def query(self) -> dict[str, str]:
        """The settings as a dictionary (a copy)."""
        return dict(self.settings)

    @property
    def text(self) -> str:
        return self.query["text"]

    @property
    def layer(self) -> int | None:
        """The sidebar layer the step opens, or None where the page ignores it."""
        layer = self.query.get("layer")
        return int(layer) if layer is not None else None

    @property
    def focus(self) -> int | None:
        """The 1-based number of the focus word, or None."""
        focus = self.query.get("focus")
        return int(focus) if focus is not None else None

    @property
    def focus_word(self) -> str | None:
        """The focus word without its punctuation (``tired`` for ``tired.``), or None."""
        return text_words(self.text)[self.focus - 1].text if self.focus is not None else None


def _settings(text: str, focus: str, layer: int | None = None, **page: str) -> dict[str, str]:
    """The sidebar's settings for ``text`` with focus word ``focus`` (and ``layer``), then the page's own."""
    sidebar = {"model": EMBEDDED_MODEL, "text": text}
    if layer is not None:
        sidebar["layer"] = str(layer)
    sidebar["focus"] = str(word_number(text, focus))
    return sidebar | page


LESSON: tuple[LessonStep, ...] = (
    LessonStep(
        page="9_Tokenizers.py",
        title=N_("How a sentence becomes tokens"),
        settings=_settings(COREFERENCE, "didn't", 0),
        note=N_(
            "MiniLM reads 16 tokens for this sentence: its normaliser lower-cases The to the, it adds [CLS] and "
            "[SEP], and it splits one word only: didn't → didn ' t. Under “What splitting a word does to the model”, "
            "at layer 0 the three pieces of didn't give each other 23% (1.8 times an even share) of their attention; "
            "at layer 5 only 7%."
        ),
        question=N_("Why does the model spend its first layer gluing didn, ' and t back together?"),
    ),
    LessonStep(
        page="1_Attention.py",
        title=N_("A head that finds what “it” refers to"),
        settings=_settings(COREFERENCE, "it", 3, **{"attention.view": "Head heatmap", "attention.head": "1"}),
        note=N_(
            "Layer 3, head 1: in the attention row of it, animal gets 68%, more than any other token, [CLS] and [SEP] "
            "included. Layer 5, head 11 does the same (67%); none of the other 70 heads gives animal more than 25%."
        ),
        question=N_("Nobody told the model what it refers to: how could a head learn to look from it to animal?"),
    ),
    LessonStep(
        page="1_Attention.py",
        title=N_("Rollout: every layer combined"),
        settings=_settings(COREFERENCE, "it", 5, **{"attention.view": "Rollout"}),
        note=N_(
            "After layer 5, [CLS] gives itself 67%, and the two longest bars are [SEP] (9%) and the full stop (4%), "
            "not a content word. In the rollout matrix, the row of it gives itself 53% after layer 0 but 3% after "
            "layer 5, where [CLS] holds 58%; animal never gets more than 3%, though layer 3, head 1 gave it 68%."
        ),
        question=N_(
            "Rollout averages the heads of every layer: how can an average hide the head that links it to animal?"
        ),
    ),
    LessonStep(
        page="2_Embedding_search.py",
        title=N_("Which banks does the model treat like this one?"),
        settings=_settings(
            RIVER_BANK,
            "bank",
            3,
            **{"corpus": "Word senses + BBC News", "search.by": "A token of the sidebar text", "search.k": "20"},
        ),
        note=N_(
            "Read the purity curve. Among the 20 corpus pieces nearest to bank, 'bank (river)' holds 5% at the "
            "embeddings, where business news leads with 65%. At layer 3 it holds 50%, its peak and the "
            "largest share of any label there (business 30%), and it keeps 45% through layer 5."
        ),
        question=N_("What in the sentence tells the model which bank this is, and why does that take a few layers?"),
    ),
    LessonStep(
        page="5_Transformer_factors.py",
        title=N_("Transformer factors: what bank is made of"),
        settings=_settings(RIVER_BANK, "bank", 3, **{"factors.factor": "404", "factors.word": "bank"}),
        note=N_(
            "Factor 70 is bank's strongest factor at every level (code 0.51 at layer 3). Factor 404 tells the two "
            "senses of bank apart: under “Factors that tell a word's senses apart” it scores about 1.0 at layer 3, "
            "its best layer and within a few hundredths of the best of any factor, with a mean code of 0.055 on "
            "river banks against at most 0.002 on money banks: it is all but silent on money banks. Its top "
            "contexts at layer 3 begin river, freshwater, dam, Thames, valley, water."
        ),
        question=N_("Factor 404 fires on river words that are not bank: what might it stand for?"),
    ),
    LessonStep(
        page="7_Neuron_explanations.py",
        title=N_("The neuron most active on bank"),
        settings=_settings(RIVER_BANK, "bank", 3, **{"corpus": "Word senses", "neurons.neuron": "825"}),
        note=N_(
            "At layer 3, neuron 825 is the neuron most active on bank in this sentence. The baseline explains it as "
            "tokens like “banks” and “bank”, and its simulation scores 0.68 (top and random): a good explanation. Yet "
            "four of the five top texts the explanation was written from are about money banks (the fifth about "
            "electric current), and our bank is a river bank."
        ),
        question=N_(
            "It fires on our river bank but was explained from money banks: does it know the word or the sense?"
        ),
    ),
    LessonStep(
        page="6_Projections.py",
        title=N_("Where do the news topics come apart?"),
        settings=_settings(
            SPORTS,
            "referee",
            5,
            **{
                "corpus": "Word senses + BBC News",
                "projection.unit": "text",
                "projection.sample": "2000",
                "projection.colour": "label",
            },
        ),
        note=N_(
            "Under “Separation of the labels, layer by layer”: a 10-nearest-neighbour probe tells the five BBC "
            "topics apart with 79% accuracy at layer 5, the best of all levels, against 61% at the embeddings and "
            "23% by chance. The silhouette stays below 0.05 at every level: the topics' clouds overlap even where the "
            "probe separates them."
        ),
        question=N_("How can a nearest-neighbour probe tell the topics apart when their clouds still overlap?"),
    ),
    LessonStep(
        page="3_SHAP.py",
        title=N_("SHAP: which words made the classifier say sports?"),
        settings=_settings(SPORTS, "referee", **{"classifier": "topic", "shap.max_evals": "500"}),
        note=N_(
            "The BBC topic classifier says sports (92%). referee has the largest SHAP value towards sports (+0.34), "
            "then boo, the first piece of booed (+0.16); the values add up to the probability, and the page shows "
            "the check."
        ),
        question=N_("Is the classifier reading a football match, or mostly the word referee?"),
    ),
    LessonStep(
        page="4_LIME.py",
        title=N_("LIME: a linear model around the sentence"),
        settings=_settings(
            SPORTS,
            "referee",
            **{"classifier": "topic", "lime.samples": "5000", "lime.features": "10", "lime.seed": "0"},
        ),
        note=N_(
            "With 5,000 samples LIME's surrogate fits well (weighted R² 0.76, so the page gives no warning), and it "
            "ranks referee first and booed second, as SHAP did."
        ),
        question=N_("LIME and SHAP agree here: does the agreement of two explainers prove that either is right?"),
    ),
    LessonStep(
        page="8_Which_explanation.py",
        title=N_("Which explanation to trust?"),
        settings=_settings(
            SPORTS, "referee", **{"classifier": "topic", "compare.shap_evals": "500", "compare.lime_samples": "2000"}
        ),
        note=N_(
            "SHAP and LIME rank the words alike (Spearman 0.88), while rollout from [CLS] is unrelated to SHAP "
            "(−0.01). Removing SHAP's top words lowers the probability of sports the most (comprehensiveness AOPC "
            "0.60; LIME 0.58, last-layer attention 0.46, integrated gradients 0.45, rollout 0.19, random order "
            "0.04, gradient × input below 0: worse than chance), and keeping only SHAP's or LIME's top words even "
            "raises it (sufficiency below 0)."
        ),
        question=N_("The model computes with attention: why does attention explain this prediction worse than SHAP?"),
    ),
)


NUMBER_WORDS = (
    N_("no"),
    N_("one"),
    N_("two"),
    N_("three"),
    N_("four"),
    N_("five"),
    N_("six"),
    N_("seven"),
    N_("eight"),
    N_("nine"),
    N_("ten"),
    N_("eleven"),
    N_("twelve"),
)
COUNTS = {
    "step": lambda count: n_("{count} step", "{count} steps", count),
    "page": lambda count: n_("{count} page", "{count} pages", count),
    "sentence": lambda count: n_("{count} sentence", "{count} sentences", count),
}
"""The nouns the overview counts -> the count's template for a number, in the run's language."""


def number_word(number: int) -> str:
    """``number`` as prose writes it in the run's language: "ten" up to twelve, digits above ("13")."""
    return _(NUMBER_WORDS[number]) if 0 <= number < len(NUMBER_WORDS) else str(number)


def counted(number: int, noun: str) -> str:
    """``number`` of ``noun`` (a key of :data:`COUNTS`) as prose writes a count in the run's language: "ten steps",
    "one page", "13 sentences"."""
    return COUNTS[noun](number).format(count=number_word(number))


def lesson_pages(lesson: tuple[LessonStep, ...] = LESSON) -> tuple[str, ...]:
    """The page files the lesson opens, each once, in the order it first opens them."""
    return tuple(dict.fromkeys(step.page for step in lesson))


def lesson_sentences(lesson: tuple[LessonStep, ...] = LESSON) -> tuple[str, ...]:
    """The sentences the lesson's steps show, each once, in the order they first come."""
    return tuple(dict.fromkeys(step.text for step in lesson))


@dataclass(frozen=True)
class LessonCoverage:
    """How a lesson covers the app's pages (page file names, the home page aside, in the navigation's order).

    steps: the lesson's number of steps; sentences: its number of distinct sentences; visited: the pages some
    step opens; not_visited: the pages no step opens (a page added since the lesson was written); unknown: pages
    a step opens that are not among the app's pages (a page renamed or removed since).
    """

    steps: int
    sentences: int
    visited: tuple[str, ...]
    not_visited: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def heading(self) -> str:
        """E.g. "A lesson: three sentences through every page", or "... through nine of the ten pages", in the run's
        language."""
        sentences = counted(self.sentences, "sentence")
        if not self.not_visited:
            return _("A lesson: {sentences} through every page").format(sentences=sentences)
        pages = counted(len(self.visited) + len(self.not_visited), "page")
        return _("A lesson: {sentences} through {visited} of the {pages}").format(
            sentences=sentences, visited=number_word(len(self.visited)), pages=pages
        )

    @property
    def summary(self) -> str:
        """The paragraph under the heading, its count of steps taken from the lesson, in the run's language."""
        summary = _(
            "{steps} for a class. Each link opens its page with the step's sentence, layer and focus token; the page "
            "then shows what to point at, the question to ask and a link to the next step. Every claim a step makes "
            "is checked by the test suite on the embedded model."
        ).format(steps=counted(self.steps, "step"))
        return summary[0].upper() + summary[1:]


def lesson_coverage(pages: Iterable[str], lesson: tuple[LessonStep, ...] = LESSON) -> LessonCoverage:
    """How ``lesson`` covers ``pages``: page file names such as "1_Attention.py", the home page aside (the
    navigation's, :func:`components.navigation.discover_pages`)."""
    pages = tuple(pages)
    opened = lesson_pages(lesson)
    return LessonCoverage(
        steps=len(lesson),
        sentences=len(lesson_sentences(lesson)),
        visited=tuple(page for page in pages if page in opened),
        not_visited=tuple(page for page in pages if page not in opened),
        unknown=tuple(page for page in opened if page not in pages),
    )


def page_url_path(page: str) -> str:
    """The URL path of page file ``page`` as Streamlit names it: the file name without its number and ``.py``
    (``2_Embedding_search.py`` -> ``Embedding_search``), as ``streamlit.source_util.page_icon_and_name`` infers."""
    if not PAGE_FILE.match(page):
        raise ValueError(f"{page!r} is not a page file name such as '1_Attention.py'.")
    number, name = re.fullmatch(r"([0-9]*)[_ -]*(.*)\.py", page).groups()
    return re.sub(r"[_ ]+", "_", name).strip() or number


def lesson_query(step: LessonStep, number: int | None = None) -> str:
    """The URL path and query that open ``step``'s page with its settings, e.g.
    ``/Attention?model=...&text=...&layer=3&focus=8&attention.view=Head+heatmap&attention.head=1&lesson=2``;
    ``number`` (the step's 1-based place in a lesson) adds ``lesson=<number>``. The path is relative to the app's
    root (an app served under a base path puts that in front)."""
    pairs = list(step.settings) + ([(LESSON_PARAM, str(number))] if number is not None else [])
    return f"/{page_url_path(step.page)}?{urlencode(pairs)}"


def check_step_number(number: int) -> None:
    if not 1 <= number <= len(LESSON):
        raise ValueError(f"The lesson has steps 1 to {len(LESSON)}, not {number}.")


def step_link(number: int) -> str:
    """The address of step ``number`` (1-based) of :data:`LESSON`, with ``lesson=<number>``."""
    check_step_number(number)
    return lesson_query(LESSON[number - 1], number)


def next_step_link(number: int) -> str | None:
    """The address of the step after ``number``, or None after the last one."""
    check_step_number(number)
    return step_link(number + 1) if number < len(LESSON) else None


def step_number(value: str | None) -> int | None:
    """The step a ``lesson`` query parameter names, or None when it is missing or names no step of the lesson."""
    if value is None or not str(value).strip().isdigit():
        return None
    number = int(str(value).strip())
    return number if 1 <= number <= len(LESSON) else None
