"""Shared fixtures: the third-party corpus is read from ../shared at run time."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from salatag.annotation import compile_authored
from salatag.corpus import REPO_ROOT, corpus_dir
from salatag.records import write_records

# authored articles in which every sector and several quote forms occur
FIXTURES = ["water-energy/au-we-001", "mixed/au-mx-003", "mixed/au-mx-031"]
# a real but small run: the first 2 encoder layers, short windows, high learning rates
TINY = [
    "encoder_layers=2",
    "window.max_length=96",
    "window.stride=24",
    "finetune.lora_r=8",
    "optim.batch_size=4",
    "optim.encoder_lr=3e-3",
    "optim.head_lr=1e-2",
    "optim.warmup_ratio=0",
    "run.device=cpu",
    "run.threads=2",
    "loss.chrome=1.0",
    "data.max_train_articles=",
]


def train_cli(config: Path, overrides: list[str], *extra: str) -> subprocess.CompletedProcess:
    """Run the real training entry point, as a user would."""
    args = [sys.executable, "-m", "train", str(config)]
    for item in overrides:
        args += ["--set", item]
    return subprocess.run(
        [*args, *extra],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not (path / "kaznerd" / "IOB2_test.txt").exists():
        pytest.skip(f"shared corpus not found at {path} (set SALATAG_SHARED)")
    return path


@pytest.fixture(scope="session")
def fixture_data(tmp_path_factory) -> Path:
    """Three authored articles as train and dev (no ../shared needed)."""
    out = tmp_path_factory.mktemp("data")
    records = [
        compile_authored(REPO_ROOT / "data" / "authored" / f"{name}.ann") for name in FIXTURES
    ]
    write_records(records, out / "train.jsonl")
    write_records(records, out / "dev.jsonl")
    return out


@pytest.fixture(scope="session")
def tiny_model(fixture_data: Path, tmp_path_factory) -> Path:
    """A model overfit on the fixture articles by the real training script."""
    out = tmp_path_factory.mktemp("overfit")
    result = train_cli(
        REPO_ROOT / "configs" / "cpu-small.yaml",
        [
            *TINY,
            f"data.train={fixture_data}/train.jsonl",
            f"data.dev={fixture_data}/dev.jsonl",
            "optim.epochs=40",
            "run.patience=40",
            f"run.output_dir={out}",
        ],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def example_tags(tmp_path_factory) -> Path:
    """The authored examples (examples/*.txt and more-articles.jsonl) tagged by the
    shipped model through the Python API, as JSONL: the analysts' tools' input."""
    import json

    import salatag
    from salatag.batch import read_inputs

    items = read_inputs([str(REPO_ROOT / "examples")])
    inputs = [{"id": f"examples/{Path(i.id).name}", "text": i.text or ""} for i in items]
    with open(REPO_ROOT / "examples" / "more-articles.jsonl", encoding="utf-8") as fh:
        inputs += [json.loads(line) for line in fh if line.strip()]
    out = tmp_path_factory.mktemp("examples") / "tags.jsonl"
    tagger = salatag.load(device="cpu")
    with open(out, "w", encoding="utf-8") as fh:
        for record in tagger.pipe(inputs):
            fh.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
    return out
