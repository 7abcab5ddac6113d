"""The app's languages: one translation function over gettext catalogs shipped in ``xray/locale/``, and numbers
written for the language by Babel.

Every string a user sees goes through :func:`_` (``from xray.translation import _``). The language is set once per
script run (:func:`use_language`, from the sidebar's switch) and read from a context variable, so each session's
run thread has its own. English is the source language: its strings are the catalog's keys. Turkish follows the
book the classes read; its terms are in ``xray/locale/glossary.tr.csv``.

The catalogs are made with Babel (commands in the README): extracted from the code (``babel.cfg``, with
:func:`extract_messages`, which also reads the pages' ``PAGE = PageInfo(...)`` literals), translated in
``xray/locale/<language>/LC_MESSAGES/xray.po`` and compiled to the ``.mo`` file that ships beside it, so a fresh
install needs no build step. A result that a cache keeps must not hold translated text: translate where it is
drawn.
"""

from __future__ import annotations

import ast
import gettext
import io
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import IO, Any

DOMAIN = "xray"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"en": "English", "tr": "Türkçe"}
"""Language code -> its name in that language, the switch's choices (the first is the source language)."""
SOURCE_LANGUAGE = "en"
KEYWORDS = {"_": None, "N_": None, "n_": (1, 2)}
"""The translation functions Babel looks for (``pybabel extract -k _ -k N_ -k n_:1,2 --no-default-keywords``)."""
PAGE_INFO_FIELDS = ("title", "caption", "question", "label")
"""The fields of a page's ``PageInfo`` literal that a user reads (translated where they are drawn)."""

_language: ContextVar[str] = ContextVar("language", default=SOURCE_LANGUAGE)


def check_language(language: str) -> str:
    """``language`` when the app speaks it; ValueError naming the choices otherwise."""
    if language not in LANGUAGES:
        raise ValueError(f"No translation for {language!r}; the app speaks {', '.join(LANGUAGES)}.")
    return language


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    """The compiled catalog of ``language`` (none for the source language); OSError where it is missing, never
    a silent fall back to English."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])


def use_language(language: str) -> None:
    """Speak ``language`` for the rest of this run (this thread's context)."""
    _language.set(check_language(language))


def current_language() -> str:
    return _language.get()


def _(message: str) -> str:
    """``message`` (an English source string, a literal so Babel finds it) in the current language."""
    return _catalog(current_language()).gettext(message)


def N_(message: str) -> str:
    """``message`` unchanged, marked for Babel: a constant translated with :func:`_` where it is drawn."""
    return message


def n_(singular: str, plural: str, count: int) -> str:
    """The singular or plural of a message for ``count``, by the current language's plural rule."""
    return _catalog(current_language()).ngettext(singular, plural, count)


class Message(str):
    """A sentence for the user that a cached or saved result may hold: its value is the English sentence (it
    compares, logs and saves as English), and it keeps its template (marked with :func:`N_`) and values, so the page
    draws it in the run's language with :func:`translated`.

    Values are put in as the language writes them: a float by :func:`number` (2 decimals), an int with grouping, a
    Message translated in turn, any other value as it is.
    """

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, /, **values: Any) -> Message:
        source = _language.set(SOURCE_LANGUAGE)  # the value is English whatever the run's language
        try:
            english = _filled(template, values)
        finally:
            _language.reset(source)
        message = super().__new__(cls, english)
        message.template, message.values = template, values
        return message

    def __getnewargs_ex__(self) -> tuple[tuple[str], dict[str, Any]]:
        return (self.template,), self.values  # pickled (st.cache_data) and copied with its template and values

    def translated(self) -> str:
        return _filled(_(self.template), self.values)


def counted(singular: str, plural: str, count: int, /, **values: Any) -> Message:
    """The :class:`Message` for ``count`` things: ``singular`` for 1, else ``plural`` (both marked with :func:`N_`
    at the call, each with a ``{count}`` placeholder), e.g. ``counted(N_("{count} row"), N_("{count} rows"), 3)``.
    The choice follows English; a language whose noun does not change after a number translates both alike."""
    return Message(singular if count == 1 else plural, count=count, **values)


def _filled(template: str, values: dict[str, Any]) -> str:
    def written(value: Any) -> str:
        if isinstance(value, Message):
            return value.translated()
        if isinstance(value, bool) or not isinstance(value, int | float):
            return str(value)
        return number(value, 0) if isinstance(value, int) else number(value)

    return template.format(**{name: written(value) for name, value in values.items()})


def translated(text: str) -> str:
    """``text`` in the run's language where it is a :class:`Message`; any other text as it is (a name, a word of
    the input)."""
    return text.translated() if isinstance(text, Message) else text


def language_of_locale(locale: str | None) -> str:
    """The app's language for a browser locale such as ``tr-TR`` (its language part where the app speaks it;
    else the source language)."""
    code = (locale or "").replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else SOURCE_LANGUAGE


def number(value: float, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals and grouping as the current language writes it: 0.42 is ``0,42`` and
    1234.5 is ``1.234,50`` in Turkish."""
    from babel.numbers import format_decimal  # imported on first use: the entry point stays light

    fraction = "0" * digits
    pattern = f"#,##0.{fraction}" if digits else "#,##0"
    return format_decimal(value, format=pattern, locale=current_language())


def percent(share: float, digits: int = 0) -> str:
    """``share`` (0.42) as a percentage with at most ``digits`` decimals, as the current language writes it:
    ``42%`` in English, ``%42`` in Turkish."""
    from babel.numbers import format_percent

    return format_percent(round(share, digits + 2), locale=current_language(), decimal_quantization=False)


def extract_messages(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel's extractor for this code (``babel.cfg``): the strings in ``_()`` and ``n_()`` calls, as Babel's
    Python extractor finds them, and the user-facing fields of a ``PAGE = PageInfo(...)`` literal."""
    from babel.messages.extract import extract_python  # Babel's extraction is only needed to build the catalog

    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "PageInfo":
            for keyword in node.keywords:
                if keyword.arg in PAGE_INFO_FIELDS:
                    text = ast.literal_eval(keyword.value)
                    if text:
                        yield keyword.value.lineno, "", text, []
