"""Evaluation end to end: the real script on the overfit model, floors, the model card."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from salatag.corpus import REPO_ROOT
from salatag.evaluate import article_counts, bootstrap, check_floors
from salatag.report import MODEL_CARD, render_card

FIGURES = ["f1_by_label.png", "pr_curves.png", "cooccurrence.png", "reliability.png",
           "quote_forms.png"]  # fmt: skip


def run_evaluate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "salatag.evaluate", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )


@pytest.mark.slow  # trains tiny_model
def test_report_of_the_overfit_model(tiny_model: Path, fixture_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = run_evaluate(
        "--model", str(tiny_model / "model"),
        "--data", str(fixture_data / "dev.jsonl"),
        "--train", str(fixture_data / "train.jsonl"),
        "--dev", str(fixture_data / "dev.jsonl"),
        "--out", str(out), "--bootstrap", "200", "--device", "cpu",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    ours = metrics["systems"]["salatag"]
    assert ours["sector_macro_f1"] == 1.0 and ours["quote_token_f1"] == 1.0
    assert set(metrics["systems"]) == {"salatag", "keywords", "tfidf"}
    for key in ("exact_match", "hamming_loss", "micro_f1"):
        assert key in ours["sectors"]
    assert {"span_exact", "span_overlap", "speaker_accuracy"} <= set(ours["quotes"])
    lo, hi = ours["ci95"]["sector_macro_f1"]
    assert lo <= ours["sector_macro_f1"] <= hi
    for name in FIGURES:
        assert (out / name).stat().st_size > 1000, name
    report = (out / "report.md").read_text()
    assert metrics["data"]["sha256"][:16] in report and metrics["model"]["sha256"][:16] in report
    assert all(f"({name})" in report for name in FIGURES)
    assert (out / "errors.jsonl").exists()


def test_bootstrap_interval_brackets_the_estimate() -> None:
    gold = [
        {"id": str(i), "text": "a b c d", "quotes": [{"start": 0, "end": 3}],
         "paragraphs": [{"start": 0, "end": 7, "sectors": ["trade"] if i % 2 else ["water"]}]}
        for i in range(30)
    ]  # fmt: skip
    pred = [dict(g, paragraphs=[dict(g["paragraphs"][0], sectors=["trade"])]) for g in gold]
    ci = bootstrap(article_counts(gold, pred), n=300)
    lo, hi = ci["f1_trade"]
    assert 0.3 < lo < 2 / 3 < hi < 0.9  # trade: 15 tp, 15 fp: F1 2/3, and resampling moves it
    assert ci["quote_token_f1"] == [1.0, 1.0]
    assert np.isclose(ci["f1_water"][1], 0.0)


def test_floors_fail_a_worse_model(tmp_path: Path) -> None:
    floors = tmp_path / "floors.yaml"
    floors.write_text(yaml.safe_dump({"x": {"sector_macro_f1": 0.6, "quote_token_f1": 0.5}}))
    metrics = {"systems": {"salatag": {"sector_macro_f1": 0.55, "quote_token_f1": 0.9}}}
    assert check_floors(metrics, "x", floors) == ["sector_macro_f1 0.550 < floor 0.600"]
    metrics["systems"]["salatag"]["sector_macro_f1"] = 0.61
    assert check_floors(metrics, "x", floors) == []
    with pytest.raises(KeyError, match="no floors named 'y'"):
        check_floors(metrics, "y", floors)


def test_shipped_floors_name_headline_metrics() -> None:
    floors = yaml.safe_load((REPO_ROOT / "configs" / "floors.yaml").read_text())
    assert {"default", "cpu-small"} <= set(floors)
    headline = {"sector_macro_f1", "quote_token_f1", "quote_span_f1", "speaker_accuracy"}
    headline |= {"quote_exact_span_f1"}
    for values in floors.values():
        assert {"sector_macro_f1", "quote_token_f1"} <= set(values) <= headline
    assert set(floors["default"]) == headline


def test_user_mistakes_exit_2_without_a_traceback(tmp_path: Path, fixture_data: Path) -> None:
    result = run_evaluate("--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "r"))
    assert result.returncode == 2 and "not found" in result.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": 5}\n')
    result = run_evaluate(
        "--model", str(tmp_path / "no-model"), "--data", str(bad), "--out", str(tmp_path / "r")
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr


def test_model_card_numbers_match_the_committed_report() -> None:
    """The card is generated from reports/test/metrics.json; editing one alone fails here."""
    metrics = json.loads((REPO_ROOT / "reports" / "test" / "metrics.json").read_text())
    card = MODEL_CARD.read_text(encoding="utf-8")
    assert render_card(card, metrics) == card, "run: python -m salatag.report card ..."
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["language"] == ["kk"] and front["model-index"]
    value = front["model-index"][0]["results"][0]["metrics"][0]["value"]
    assert value == round(metrics["systems"]["salatag"]["sector_macro_f1"], 4)
