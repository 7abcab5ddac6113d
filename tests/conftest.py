"""Shared fixtures: tiny random models per family (unit tier) and the embedded MiniLM (integration tier)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from components.warm_up import WARM_UP_ENV
from tests.app_server import CHROMIUM, CHROMIUM_ARGS
from tests.tiny_models import BUILDERS
from xray.cache import CACHE_ENV
from xray.models.loading import EMBEDDED_MODEL, LoadedModel, load_model
from xray.translation import use_language

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # checked in the browser fixture, which skips or fails
    sync_playwright = None

if TYPE_CHECKING:
    from playwright.sync_api import Browser

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Activation stores built by the tests (pages included) go to a fresh folder, never the user's cache.
os.environ[CACHE_ENV] = tempfile.mkdtemp(prefix="xray-test-cache-")
# No background warm-up in the tests' servers and AppTest runs: a store build started behind a test's back would
# race the tests that build or count stores and jobs. tests/test_architecture.py tests the warm-up itself.
os.environ[WARM_UP_ENV] = "off"


@pytest.fixture(autouse=True)
def _english_after_each_test() -> Iterator[None]:
    """A test that ran a page in Turkish (``run_page(..., lang="tr")`` speaks it in the test's thread too) leaves
    the next test in English."""
    yield
    use_language("en")


@pytest.fixture(scope="session")
def tiny_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {family: build(root / family) for family, build in BUILDERS.items()}


@pytest.fixture(scope="session")
def tiny(tiny_folders: dict[str, Path]) -> dict[str, LoadedModel]:
    return {family: load_model(str(folder)) for family, folder in tiny_folders.items()}


@pytest.fixture(scope="session")
def minilm() -> LoadedModel:
    return load_model(EMBEDDED_MODEL)


def _missing(reason: str) -> NoReturn:
    """Skip, or fail where CI asked for the browser tests (XRAY_REQUIRE_BROWSER=1) so they never silently skip."""
    if os.environ.get("XRAY_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; XRAY_REQUIRE_BROWSER=1 requires the browser tests to run")
    pytest.skip(reason)


def _chromium() -> str:
    for candidate in (str(CHROMIUM), shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    _missing("Debian chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        _missing("the playwright package is not installed (pip install playwright)")
    executable = _chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
