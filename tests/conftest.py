"""Shared fixtures: tiny random models per family (unit tier) and the embedded MiniLM (integration tier)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.tiny_models import BUILDERS
from xray.models.loading import EMBEDDED_MODEL, LoadedModel, load_model
from xray.store.activations import CACHE_ENV

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Activation stores built by the tests (pages included) go to a fresh folder, never the user's cache.
os.environ[CACHE_ENV] = tempfile.mkdtemp(prefix="xray-test-cache-")


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
