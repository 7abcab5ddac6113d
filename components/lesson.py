"""The guided lesson (:mod:`xray.lesson`) on the pages: each step is a link that opens its page with its settings;
while a lesson runs (``lesson=<step>`` in the URL, kept across pages like the sidebar) the step's page shows the
teacher's note, the question for the class and a link to the next step. The home page's overview
(:func:`lesson_overview`) counts the steps and names every page the lesson does not visit, from the navigation's
pages (:func:`components.navigation.discover_pages`), so a new page needs no edit here. The steps' titles, notes and
questions are drawn in the run's language."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from components.link_state import forget, link_query, publish, value
from components.navigation import PAGES_FOLDER, PageInfo
from xray.lesson import LESSON, LESSON_PARAM, LessonStep, lesson_coverage, step_number
from xray.translation import _, n_


def step_link(number: int, label: str, *, icon: str | None = None) -> None:
    """A link that opens step ``number`` (1-based) with its settings and keeps the lesson running."""
    step = LESSON[number - 1]
    st.page_link(
        str(PAGES_FOLDER / step.page),
        label=label,
        icon=icon,
        query_params={**link_query({}), **step.query, LESSON_PARAM: str(number)},
    )


def lesson_overview(pages: Sequence[tuple[Path, PageInfo]]) -> None:
    """The lesson on the home page: a heading and a paragraph counted from the lesson, every step as a link with
    what the class will see and be asked, then a link to each of ``pages`` (the navigation's, the home page aside)
    that no step opens. A step whose page is not among ``pages`` gets an error in its place, not a broken link."""
    coverage = lesson_coverage(path.name for path, _info in pages)
    st.subheader(coverage.heading)
    st.markdown(coverage.summary)
    for number, step in enumerate(LESSON, start=1):
        title = _(step.title)
        if step.page in coverage.unknown:
            st.error(
                _("Step {number}, {title}, opens {page}, which is not a page of the app.").format(
                    number=number, title=title, page=step.page
                )
            )
            continue
        step_link(number, f"**{title}**", icon="▶️")
        st.caption(_("{note} *Ask:* {question}").format(note=_(step.note), question=_(step.question)))
    if coverage.not_visited:
        missing = n_(
            "**Not in the lesson yet** (no step opens it):",
            "**Not in the lesson yet** (no step opens them):",
            len(coverage.not_visited),
        )
        st.markdown(missing)
        for path, info in pages:
            if path.name in coverage.not_visited:
                st.page_link(str(path), label=_(info.name), icon=info.icon)


def _end_lesson() -> None:
    forget(LESSON_PARAM)


def lesson_banner(page_file: str) -> None:
    """While a lesson runs: on its step's page, the note, the question and the next step; elsewhere, a way back."""
    number = step_number(value(LESSON_PARAM))
    publish(LESSON_PARAM, number, None)
    if number is None:
        return
    step: LessonStep = LESSON[number - 1]
    place = {"number": number, "steps": len(LESSON), "title": _(step.title)}
    with st.container(border=True, key="lesson.banner"):
        if step.page != page_file:
            step_link(number, _("Back to the lesson, step {number} of {steps}: {title}").format(**place), icon="↩️")
        else:
            st.markdown(_("**Lesson, step {number} of {steps}: {title}**").format(**place))
            st.markdown(_("*Point at:* {note}").format(note=_(step.note)))
            st.markdown(_("*Ask the class:* {question}").format(question=_(step.question)))
        columns = st.columns([3, 1])
        with columns[0]:
            if number < len(LESSON):
                step_link(number + 1, _("Next step: {title}").format(title=_(LESSON[number].title)), icon="➡️")
            else:
                st.caption(_("This is the last step of the lesson."))
        columns[1].button(_("End the lesson"), key="lesson.end", on_click=_end_lesson)
