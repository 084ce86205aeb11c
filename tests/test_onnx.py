"""ONNX backends: fp32 equals torch, int8 tags like torch, the CLI uses it, the cache heals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from salatag import cachedir, onnx_backend
from salatag.article import Article
from salatag.corpus import REPO_ROOT
from salatag.encoder.cache import EMBEDDED_NAME, resolve_base_model
from salatag.labels import SECTORS
from salatag.model import load_model
from salatag.onnx_backend import ONNX_FILE, ExportOptions, load_onnx
from salatag.records import Record, quote_tokens
from salatag.tagger import Tagger
from salatag.validate import check_record

pytestmark = pytest.mark.slow  # the overfit model, trained, then exported to ONNX

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory) -> Path:
    """A $SALATAG_CACHE whose encoders/ is the real one (no second conversion)."""
    root = tmp_path_factory.mktemp("cache")
    (root / "encoders").symlink_to(Path(resolve_base_model(EMBEDDED_NAME)).parent)
    return root


@pytest.fixture(scope="module")
def articles(fixture_data: Path) -> list[Article]:
    gold = [json.loads(line) for line in (fixture_data / "dev.jsonl").read_text().splitlines()]
    return [Article.from_text(r["text"], r["id"]) for r in gold]


def _batch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three windows of different lengths (padded) over one to three paragraph slots."""
    ids = np.random.default_rng(0).integers(5, 5000, (3, 30))
    mask = np.ones((3, 30), dtype=np.int64)
    para = np.zeros((3, 30), dtype=np.int64)
    para[0, 10:], para[0, 20:] = 1, 2
    para[1, 15:] = 1
    mask[1, 25:], para[1, 25:] = 0, -1
    mask[2, 9:], para[2, 9:] = 0, -1
    para[:, 0] = -1
    return ids, mask, para


def test_fp32_equals_torch(tiny_model: Path, cache_root: Path, articles: list[Article]) -> None:
    model_dir = tiny_model / "model"
    onnx_model, tokenizer, meta = load_onnx(model_dir, "fp32", cache_root / "onnx")
    torch_model, _, _ = load_model(model_dir)
    batch = _batch()
    with torch.inference_mode():
        want = torch_model(*(torch.from_numpy(x) for x in batch))
    got = onnx_model.logits(*batch)
    for a, b in zip(got, (want.tag_logits, want.sector_logits, want.chrome_logits), strict=True):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a, b.numpy(), atol=1e-4, rtol=1e-4)
    # whole articles through the tagger (windows, batching, merging): same probabilities
    ref = Tagger(torch_model, tokenizer, meta, "cpu", 4).score(articles)
    out = Tagger(onnx_model, tokenizer, meta, "cpu", 4).score(articles)
    for r, o in zip(ref, out, strict=True):
        np.testing.assert_allclose(o.tag_probs, r.tag_probs, atol=1e-4)
        np.testing.assert_allclose(o.sector_probs, r.sector_probs, atol=1e-4)
        np.testing.assert_allclose(o.chrome_probs, r.chrome_probs, atol=1e-4)


def test_int8_tags_like_torch(tiny_model: Path, cache_root: Path, articles: list[Article]) -> None:
    model_dir = tiny_model / "model"
    options = ExportOptions("int8", fp32_ffn_out=(1,))  # the tiny model has layers 0 and 1
    onnx_model, tokenizer, meta = load_onnx(model_dir, options, cache_root / "onnx")
    fp32 = onnx_model.path.parents[1] / onnx_backend.DEFAULT_OPTIONS["fp32"].name / ONNX_FILE
    assert onnx_model.path.stat().st_size < 0.5 * fp32.stat().st_size  # int8 weights
    graph = onnx.load(str(onnx_model.path))
    assert len(onnx_backend.ffn_out_projections(onnx.load(str(fp32)))) == 2
    assert len(onnx_backend.ffn_out_projections(graph)) == 1  # layer 1's stays fp32
    torch_model, _, _ = load_model(model_dir)
    ref = Tagger(torch_model, tokenizer, meta, "cpu").tag(articles)
    got = Tagger(onnx_model, tokenizer, meta, "cpu").tag(articles)
    labels = [
        (s in p.sectors) == (s in q.sectors)
        for a, b in zip(ref, got, strict=True)
        for p, q in zip(a.paragraphs, b.paragraphs, strict=True)
        for s in SECTORS
    ]
    tokens = [
        x == y
        for a, b in zip(ref, got, strict=True)
        for x, y in zip(quote_tokens(a.text, a.quotes), quote_tokens(b.text, b.quotes), strict=True)
    ]
    assert sum(labels) / len(labels) >= 0.95
    assert sum(tokens) / len(tokens) >= 0.95


def test_infer_cli_with_the_int8_backend(
    tiny_model: Path, cache_root: Path, tmp_path: Path
) -> None:
    text = (
        "Қазақстан мен Қырғызстан су бөлу мәселесін талқылады\n"
        "– Біз суды бірге пайдаланамыз, – деді министр."
    )
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    args = [sys.executable, "-m", "infer", str(tmp_path / "a.txt"), "--out", str(out)]
    args += ["--model", str(tiny_model / "model"), "--backend", "onnx-int8"]
    env = {**os.environ, "SALATAG_CACHE": str(cache_root)}
    result = subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record["text"] == text and len(record["paragraphs"]) == 2
    assert check_record(Record.from_dict(record)) == []


def test_missing_onnxruntime_is_a_one_line_usage_error(tiny_model: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocked" / "onnxruntime"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('blocked', name='onnxruntime')\n")
    (tmp_path / "a.txt").write_text("Қазақстан су туралы.", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(blocker.parent)}
    args = [
        sys.executable,
        "-m",
        "infer",
        str(tmp_path / "a.txt"),
        "--out",
        str(tmp_path / "o.jsonl"),
    ]
    args += ["--model", str(tiny_model / "model"), "--backend", "onnx-int8"]
    result = subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT, env=env)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and 'pip install ".[onnx]"' in lines[0], result.stderr


def test_a_corrupt_cached_export_is_rebuilt_not_loaded(tiny_model: Path, cache_root: Path) -> None:
    model_dir = tiny_model / "model"
    path = onnx_backend.exported(model_dir, "int8", cache_root / "onnx")
    manifest = json.loads((path.parent / cachedir.MANIFEST).read_text())
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # same size, flipped bytes in the weights
        fh.seek(size // 2)
        fh.write(b"\xff" * 64)
    assert not onnx_backend.verify(path.parent)
    rebuilt = onnx_backend.exported(model_dir, "int8", cache_root / "onnx")
    assert rebuilt == path and onnx_backend.verify(path.parent)
    assert (
        cachedir.sha256_file(rebuilt)
        == json.loads((path.parent / cachedir.MANIFEST).read_text())["files"][ONNX_FILE]
    )
    assert (
        manifest["options"] == json.loads((path.parent / cachedir.MANIFEST).read_text())["options"]
    )
    tags, _, _ = onnx_backend.OnnxModel(rebuilt).logits(*_batch())
    assert np.isfinite(tags).all()
    # a half-written export (killed before the rename) is never what gets loaded
    assert not list(path.parents[1].glob(".*.partial"))


def test_a_cpu_run_with_its_export_cached_imports_no_torch(
    tiny_model: Path, cache_root: Path, tmp_path: Path
) -> None:
    """The default backend on a CPU is ONNX Runtime in fp32: the first run exports the
    model once (with torch), every later one starts without torch or transformers (the
    time to first output), and both write the same bytes as `--backend torch`."""
    text = "Қазақстан мен Қырғызстан су бөлу мәселесін талқылады.\n– Біз келістік, – деді ол."
    (tmp_path / "a.txt").write_text(text, encoding="utf-8")
    env = {**os.environ, "SALATAG_CACHE": str(cache_root)}
    model = ["--model", str(tiny_model / "model"), "--device", "cpu"]

    def infer(out: str, *python_options: str, backend: str = "auto") -> subprocess.CompletedProcess:
        args = [sys.executable, *python_options, "-m", "infer", str(tmp_path / "a.txt")]
        args += ["--out", str(tmp_path / out), *model, "--backend", backend]
        return subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT, env=env)

    assert infer("first.jsonl").returncode == 0
    second = infer("second.jsonl", "-X", "importtime")
    assert second.returncode == 0, second.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in second.stderr.splitlines() if "|" in line}
    assert "onnxruntime" in imported
    assert not imported & {"torch", "transformers", "peft", "onnx"}
    assert (tmp_path / "first.jsonl").read_bytes() == (tmp_path / "second.jsonl").read_bytes()
    assert infer("torch.jsonl", backend="torch").returncode == 0
    got, want = (json.loads((tmp_path / n).read_text()) for n in ("second.jsonl", "torch.jsonl"))
    assert len(got["quotes"]) == len(want["quotes"])
    for a, b in zip(got["quotes"], want["quotes"], strict=True):
        assert abs(a.pop("score") - b.pop("score")) <= 1e-4 and a == b
    for p, q in zip(got["paragraphs"], want["paragraphs"], strict=True):
        assert (p["body"], p["sectors"]) == (q["body"], q["sectors"])
        assert all(abs(p["scores"][k] - q["scores"][k]) <= 1e-4 for k in SECTORS)
