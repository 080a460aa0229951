"""Fixtures the test modules share, one definition each (helpers they build on: ``support.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))   # `import support` from every test module

import support  # noqa: E402


@pytest.fixture(scope="session")
def splade_dir() -> str:
    """The SPLADE-tiny checkpoint folder (skips the test where the weights cannot be had)."""
    return support.backbone_path("splade-tiny")


@pytest.fixture(scope="session")
def smollm2_gguf() -> str:
    """The SmolLM2-135M GGUF file (skips the test where the weights cannot be had)."""
    return support.backbone_path("smollm2-135m")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny hand-written prepared folder (24 products, 30 train and 6 dev queries)."""
    return support.write_tiny_dataset(tmp_path_factory.mktemp("tiny"))
