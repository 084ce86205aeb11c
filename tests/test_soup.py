"""The model soup: averaged weights, thresholds tuned again, a new directory only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from salatag.article import Article
from salatag.corpus import REPO_ROOT
from salatag.records import read_records
from salatag.soup import SoupError, average, make_soup, member_state
from salatag.tagger import Tagger


def test_the_soup_is_the_mean_of_its_members(tiny_model: Path) -> None:
    state = member_state(tiny_model / "model")
    shifted = {k: v + 1.0 for k, v in state.items()}
    soup = average([state, shifted], ["a", "b"])
    assert set(soup) == set(state)
    for k, v in soup.items():
        torch.testing.assert_close(v, state[k] + 0.5)


def test_members_that_do_not_fit_are_named(tiny_model: Path) -> None:
    state = member_state(tiny_model / "model")
    key = next(iter(state))
    wrong = {**state, key: torch.zeros(3, 1)}
    with pytest.raises(SoupError, match=f"member b: {key}"):
        average([state, wrong], ["a", "b"])


def test_a_soup_of_one_model_twice_tags_as_the_model(
    tiny_model: Path, fixture_data: Path, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.pt"
    torch.save(member_state(tiny_model / "model"), state_file)
    out = tmp_path / "soup"
    make_soup(
        tiny_model / "model", [tiny_model / "model", state_file], fixture_data / "dev.jsonl", out
    )
    articles = [Article.from_text(r.text, r.id) for r in read_records(fixture_data / "dev.jsonl")]
    before = Tagger.load(tiny_model / "model", device="cpu", backend="torch").score(articles)
    after = Tagger.load(out, device="cpu", backend="torch").score(articles)
    for a, b in zip(before, after, strict=True):
        assert abs(a.sector_probs - b.sector_probs).max() < 5e-3  # stored in fp16
    assert (out / "soup.json").exists() and (out / "metrics.json").exists()
    with pytest.raises(SoupError, match="not empty"):
        make_soup(tiny_model / "model", [state_file, state_file], fixture_data / "dev.jsonl", out)


def test_the_script_names_a_missing_member_without_a_traceback(
    tiny_model: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "soup.py"),
            "--base",
            str(tiny_model / "model"),
            "--out",
            str(tmp_path / "soup"),
            str(tiny_model / "model"),
            str(tmp_path / "missing.pt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "missing.pt: no such model directory" in result.stderr
    assert "Traceback" not in result.stderr
