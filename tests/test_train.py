"""Training end to end on tiny data with the real encoder (first layers only).

The spaCy/HF habit: overfit a handful of examples to F1 1.0, save, reload, get the
same predictions; plus crash-and-resume reproducing an uninterrupted run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import TINY
from conftest import train_cli as _train_cli

from salatag.article import Article
from salatag.corpus import REPO_ROOT
from salatag.metrics import quote_metrics, sector_metrics
from salatag.tagger import Tagger

pytestmark = pytest.mark.slow  # every test trains through `python -m train`


def test_overfit_reaches_f1_one_on_both_heads(tiny_model: Path, fixture_data: Path) -> None:
    overfit_run = tiny_model
    gold = [json.loads(line) for line in (fixture_data / "dev.jsonl").open(encoding="utf-8")]
    tagger = Tagger.load(overfit_run / "model", device="cpu")

    pred = tagger.tag([Article.from_text(g["text"], g["id"]) for g in gold])
    sectors = sector_metrics(gold, pred)
    for label, m in sectors["per_label"].items():
        if m["support"]:
            assert m["f1"] == 1.0, (label, m)
    assert quote_metrics(gold, pred)["token"]["f1"] == 1.0
    assert [p.body for p in pred[1].paragraphs] == [p["body"] for p in gold[1]["paragraphs"]]


def test_saved_model_reloads_with_identical_predictions(
    tiny_model: Path, fixture_data: Path
) -> None:
    overfit_run = tiny_model
    gold = [json.loads(line) for line in (fixture_data / "dev.jsonl").open(encoding="utf-8")]
    articles = [Article.from_text(g["text"], g["id"]) for g in gold]
    first = Tagger.load(overfit_run / "model", device="cpu").tag(articles)
    second = Tagger.load(overfit_run / "model", device="cpu").tag(articles)
    assert first == second
    saved = json.loads((overfit_run / "model" / "salatag.json").read_text())
    assert set(saved["thresholds"]) == {"trade", "transport", "security", "water", "energy"}
    for name in ("config.yaml", "metrics.json", "data.json", "heads.safetensors", "adapter"):
        assert (overfit_run / "model" / name).exists(), name
    size = sum(f.stat().st_size for f in (overfit_run / "model").rglob("*") if f.is_file())
    assert size < 20_000_000, "a LoRA model directory must stay small"


def test_a_killed_run_resumes_to_the_same_metrics(fixture_data: Path, tmp_path: Path) -> None:
    config = REPO_ROOT / "configs" / "cpu-small.yaml"
    common = [
        *TINY,
        f"data.train={fixture_data}/train.jsonl",
        f"data.dev={fixture_data}/dev.jsonl",
        "data.max_train_articles=",
        "optim.epochs=3",
        "run.checkpoint_every=2",
        "optim.batch_size=2",
        "optim.group_by_length=true",  # its order must come back on resume too
    ]
    whole = _train_cli(config, [*common, f"run.output_dir={tmp_path / 'whole'}"])
    assert whole.returncode == 0, whole.stderr[-3000:]

    out = tmp_path / "killed"
    args = [sys.executable, "-m", "train", str(config)]
    for item in [*common, f"run.output_dir={out}"]:
        args += ["--set", item]
    proc = subprocess.Popen(
        args, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    progress = out / "checkpoint" / "progress.json"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if progress.exists() and json.loads(progress.read_text())["global_step"] >= 4:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "model").exists()
    resumed = _train_cli(config, [*common, f"run.output_dir={out}"], "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming at epoch" in resumed.stdout + resumed.stderr

    a = json.loads((tmp_path / "whole" / "model" / "metrics.json").read_text())
    b = json.loads((out / "model" / "metrics.json").read_text())
    for key in ("sector_macro_f1", "quote_token_f1", "score"):
        assert round(a["dev"][key], 3) == round(b["dev"][key], 3), key
    assert a["thresholds"] == b["thresholds"]


def test_bad_config_and_data_fail_before_training(fixture_data: Path, tmp_path: Path) -> None:
    config = REPO_ROOT / "configs" / "cpu-small.yaml"
    result = _train_cli(config, ["optim.epoch=2"])
    assert result.returncode == 2 and "optim.epoch: unknown key" in result.stderr
    result = _train_cli(config, [f"data.train={tmp_path}/none.jsonl"])
    assert result.returncode == 2 and "data.train:" in result.stderr
    bad = tmp_path / "bad.jsonl"
    record = json.loads((fixture_data / "train.jsonl").read_text().splitlines()[0])
    record["paragraphs"][0]["sectors"] = ["tourism"]
    bad.write_text(json.dumps(record, ensure_ascii=False) + "\n")
    result = _train_cli(config, [f"data.train={bad}", f"data.dev={fixture_data}/dev.jsonl"])
    assert result.returncode == 2 and "unknown label" in result.stderr
    assert "Traceback" not in result.stderr


def test_full_fine_tuning_stores_only_the_tuned_layers(fixture_data: Path, tmp_path: Path) -> None:
    """finetune.method=full: the embeddings stay frozen (rebuilt from the base model), so
    the model directory holds the layers alone, in fp16; frozen lower layers are left as
    the base model has them; the saved model reloads to the same predictions."""
    from safetensors.torch import load_file

    from salatag.model import build_encoder

    overrides = [
        *TINY,
        f"data.train={fixture_data}/train.jsonl",
        f"data.dev={fixture_data}/dev.jsonl",
        "finetune.method=full",
        "finetune.freeze_layers=1",
        "optim.encoder_lr=1e-3",
        "optim.epochs=3",
        f"run.output_dir={tmp_path}",
    ]
    result = _train_cli(REPO_ROOT / "configs" / "cpu-small.yaml", overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    model_dir = tmp_path / "model"
    tuned = load_file(str(model_dir / "encoder.safetensors"))
    assert tuned and not any(k.startswith("embeddings.") for k in tuned)
    assert {v.dtype for v in tuned.values()} == {torch.float16}
    assert (model_dir / "encoder.safetensors").stat().st_size < 10_000_000
    base = build_encoder("embedded:multilingual-e5-small", 2, "frozen").state_dict()
    name = "encoder.layer.0.attention.self.query.weight"
    assert torch.equal(tuned[name], base[name].half()), "a frozen layer changed"
    top = "encoder.layer.1.attention.self.query.weight"
    assert not torch.equal(tuned[top], base[top].half()), "the tuned layer did not change"

    gold = [json.loads(line) for line in (fixture_data / "dev.jsonl").open(encoding="utf-8")]
    articles = [Article.from_text(g["text"], g["id"]) for g in gold]
    first = Tagger.load(model_dir, device="cpu").tag(articles)
    assert first == Tagger.load(model_dir, device="cpu").tag(articles)


def test_averaged_weights_are_scored_and_kept_only_when_better(
    fixture_data: Path, tmp_path: Path
) -> None:
    """run.average_last=2: the last two epochs' weights are averaged, scored on dev (a log
    line), and the model keeps the average exactly when it beats the best epoch."""
    from safetensors.torch import load_file

    overrides = [
        *TINY,
        f"data.train={fixture_data}/train.jsonl",
        f"data.dev={fixture_data}/dev.jsonl",
        "finetune.method=full",
        "optim.encoder_lr=1e-3",
        "optim.epochs=3",
        "run.average_last=2",
        f"run.output_dir={tmp_path}",
    ]
    result = _train_cli(REPO_ROOT / "configs" / "cpu-small.yaml", overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    averaged = log[-1]
    assert averaged["averaged_epochs"] == [2, 3] and [h["epoch"] for h in log[:-1]] == [1, 2, 3]
    total = torch.load(tmp_path / "average_state.pt", weights_only=False)
    best = torch.load(tmp_path / "best_state.pt", weights_only=False)
    name = "encoder.layer.1.attention.self.query.weight"
    key = "encoder." + name  # the model's key for the encoder's weight
    kept = best[key] if averaged["score"] <= averaged["best_epoch_score"] else total["sum"][key] / 2
    saved = load_file(str(tmp_path / "model" / "encoder.safetensors"))[name]
    assert torch.allclose(saved.float(), kept.half().float(), atol=1e-3)
