"""Every page run leaves its mark once its last result is drawn, a page that stops early included, and the mark
says how long the session waited in the heavy jobs' queue apart from the work."""

from __future__ import annotations

import threading
import time

from components.jobs import HeavyJobs
from components.run_marker import MARKER_ID
from tests.pages import ENTRY, run_page


def marks(app) -> list[str]:
    return [element.proto.body for element in app.get("html") if MARKER_ID in element.proto.body]


def test_the_entry_point_marks_a_finished_run_once():
    app = run_page(ENTRY)
    drawn = marks(app)
    assert len(drawn) == 1 and 'data-run="1"' in drawn[0] and 'data-stopped="0"' in drawn[0]
    app.run()
    assert 'data-run="2"' in marks(app)[0]


def test_a_page_that_stops_early_marks_its_run_as_stopped():
    app = run_page("1_Attention.py", text=" ")  # an empty text: the page says what to type and stops
    drawn = marks(app)
    assert len(drawn) == 1 and 'data-stopped="1"' in drawn[0]


def test_the_heavy_jobs_queue_counts_each_threads_wait():
    jobs = HeavyJobs(1, children=lambda: 0)
    waited: dict[str, float] = {}
    holding = threading.Event()

    def first() -> None:
        with jobs.slot():
            holding.set()
            time.sleep(0.3)
        waited["first"] = jobs.take_waited()

    def second() -> None:
        holding.wait()
        with jobs.slot():
            pass
        waited["second"] = jobs.take_waited()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert waited["first"] < 0.1 and waited["second"] >= 0.2
    assert jobs.take_waited() == 0.0  # this thread never queued


def test_a_marks_seconds_count_from_its_pages_first_run_and_its_run_numbers_go_on():
    app = run_page(ENTRY)
    app.session_state["_xray_visit"] = {"runs": 4, "page": "Home", "seconds": 100.0, "wait_s": 50.0}
    app.run()
    assert 'data-run="5"' in marks(app)[0] and 'data-wait-s="50.00"' in marks(app)[0]  # the same page goes on
    app.session_state["_xray_visit"] = {"runs": 5, "page": "Attention", "seconds": 100.0, "wait_s": 50.0}
    app.run()
    assert 'data-run="6"' in marks(app)[0] and 'data-wait-s="0.00"' in marks(app)[0]  # another page starts afresh
