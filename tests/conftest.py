"""Shared fixtures: the third-party corpus is read from ../shared at run time."""

from pathlib import Path

import pytest

from salatag.corpus import corpus_dir


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not (path / "kaznerd" / "IOB2_test.txt").exists():
        pytest.skip(f"shared corpus not found at {path} (set SALATAG_SHARED)")
    return path
