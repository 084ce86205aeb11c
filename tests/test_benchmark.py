"""The speed benchmark runs (smoke mode: a few paragraphs), so its numbers stay producible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from salatag.corpus import REPO_ROOT

MODEL = REPO_ROOT / "models" / "default"


@pytest.mark.slow  # imports torch for the matmul peak, starts python -m infer
@pytest.mark.skipif(not MODEL.exists(), reason="no shipped model")
def test_benchmark_smoke_mode_reports_the_ratio_to_the_fp32_bound(corpus, tmp_path: Path) -> None:
    script = REPO_ROOT / "scripts" / "benchmark.py"
    args = [sys.executable, str(script), "--smoke", "--out", str(tmp_path)]
    result = subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "cpu-smoke.json").read_text())
    assert report["paragraphs"] == 32 and report["backend"] == "OnnxModel"
    bound = report["matmul_peak_gflops"] / report["forward_gflops_per_paragraph"]
    assert report["fp32_bound_paragraphs_per_s"] == pytest.approx(bound)
    for key in ("ratio_to_fp32_bound", "cli_ratio_to_fp32_bound"):
        assert 0 < report[key] < 100
    assert "| cli_paragraphs_per_s |" in result.stdout
