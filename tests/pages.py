"""Run app pages with Streamlit's AppTest, the way a shared link opens them."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "app_pages"
ENTRY = ROOT / "streamlit_app.py"
TIMEOUT_S = 300


def run_page(script: Path | str, **query: str) -> AppTest:
    """Run ``script`` (a path, or a page file name such as ``"3_SHAP.py"``) with the URL's query parameters."""
    path = script if isinstance(script, Path) else PAGES / script
    app = AppTest.from_file(str(path), default_timeout=TIMEOUT_S)
    for key, value in query.items():
        app.query_params[key] = value
    return app.run()


def assert_clean(app: AppTest) -> None:
    """No exception and no error message on the page."""
    assert not app.exception, [exception.value for exception in app.exception]
    assert not app.error, [error.value for error in app.error]


def messages(app: AppTest) -> str:
    """Every error, warning and info message on the page, joined."""
    return " ".join(str(element.value) for kind in ("error", "warning", "info") for element in getattr(app, kind))
