"""The language of the app: English or Turkish, chosen in the sidebar, kept in the URL (``?lang=tr``) and across
pages like every linked setting, opening on the browser's language (``st.context.locale``)."""

from __future__ import annotations

import streamlit as st

from components.link_state import follow_link, linked, value
from xray.translation import LANGUAGES, _, language_of_locale, use_language

KEY = "lang"


def browser_language() -> str:
    """The app's language for the browser's locale (English where the app does not speak it)."""
    return language_of_locale(st.context.locale)


def apply_language() -> str:
    """Speak the session's language (a link's ``lang`` adopted first) for this run, before anything is drawn;
    returns it."""
    follow_link()
    chosen = value(KEY)
    language = chosen if chosen in LANGUAGES else browser_language()
    use_language(language)
    return language


def language_switch() -> str:
    """The switch between the app's languages (in the sidebar); a change takes effect on the rerun it causes."""
    language = linked(
        st.radio,
        _("Language"),
        key=KEY,
        default=browser_language(),
        valid=list(LANGUAGES),
        options=list(LANGUAGES),
        format_func=LANGUAGES.get,
        horizontal=True,
    )
    use_language(language)
    return language
