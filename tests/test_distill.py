"""Knowledge distillation: a student with fewer layers learns a teacher's outputs.

Fast: the config section, and the distillation term in the model's loss (zero at a
perfect match, the share `weight` of the loss, and a few steps on it alone bring a
student to its teacher). Slow: a tiny real teacher distilled into a 1-layer student
through `python -m train`; the student is built from the teacher's layers, saves and
reloads (torch and ONNX) to the same predictions, and a bad `distill` key is one line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from conftest import TINY, train_cli
from stubs import stub_model

from salatag.config import ConfigError, load_config
from salatag.corpus import REPO_ROOT
from salatag.labels import SECTORS
from salatag.model import SalatagModel
from salatag.training import collate

STUDENT = [
    *TINY,
    "encoder_layers=",  # the student's count follows distill.layers
    "finetune.method=full",
    "optim.encoder_lr=1e-3",
    "distill.layers=[1]",  # the teacher's top layer, renumbered 0
    "distill.weight=0.7",
    "distill.temperature=2.0",
]


# --- fast: config and loss -------------------------------------------------------------


def test_distill_section_is_typed_and_refuses_unknown_keys() -> None:
    cfg = load_config(None, ["distill.teacher=models/default", "distill.layers=[0,2,4]"])
    assert cfg.distill is not None and cfg.distill.layer_indices() == [0, 2, 4]
    assert load_config(None, ["distill.teacher=t", "distill.layers=3"]).distill.layer_indices() == [
        0,
        1,
        2,
    ]
    assert load_config(None, []).distill is None
    for overrides, message in [
        (["distill.teacher=t", "distill.layrs=3"], "distill.layrs: unknown key (did you mean"),
        (["distill.layers=3"], "distill.teacher: Field required"),
        (["distill.teacher=t", "distill.layers=[2,1]"], "distill.layers: Value error"),
        (["distill.teacher=t", "distill.layers=[]"], "distill.layers: Value error"),
        (["distill.teacher=t", "distill.weight=1.5"], "distill.weight: Input should be"),
        (["distill.teacher=t", "distill.temperature=0"], "distill.temperature: Input should be"),
    ]:
        with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
            load_config(None, overrides)


ROWS = [
    {
        "input_ids": [0, 5, 6, 7, 8, 2],
        "token_para": [-1, 0, 0, 1, 1, -1],
        "tags": [-100, 1, 2, 0, 3, -100],
        "para_sectors": [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]],
        "para_chrome": [0.0, 1.0],
    },
    {
        "input_ids": [0, 9, 2],
        "token_para": [-1, 0, -1],
        "tags": [-100, 0, -100],
        "para_sectors": [[0.0, 0.0, 0.0, 0.0, 1.0]],
        "para_chrome": [0.0],
    },
]


def stub(seed: int, **loss: float | str) -> SalatagModel:
    return stub_model(seed, **loss)


def teacher_of(model: SalatagModel, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    from salatag.distill import teacher_logits

    return teacher_logits(model.eval(), batch)


def test_the_distillation_term_is_zero_at_a_match_and_weighed_by_alpha() -> None:
    batch = collate(ROWS, pad_id=1)
    teacher = stub(1)
    soft = teacher_of(teacher, batch)
    for alpha in (0.0, 0.3, 1.0):
        same = stub(1, distill=alpha, temperature=2.0).eval()
        out = same(**batch, **soft)
        assert out.distill_loss is not None and abs(out.distill_loss.item()) < 1e-6
        gold = same(**batch).loss
        assert torch.allclose(out.loss, (1 - alpha) * gold, atol=1e-6)
    student = stub(0, distill=0.3, temperature=2.0).eval()
    out = student(**batch, **soft)
    gold = student(**batch).loss
    assert out.distill_loss > 0.01
    assert torch.allclose(out.loss, 0.7 * gold + 0.3 * out.distill_loss)
    # padding and special tokens do not count: more padding leaves the term as it was
    extra = {"input_ids": 1, "attention_mask": 0, "token_para": -1, "tags": -100}
    wider = dict(batch)
    for name, value in extra.items():
        wider[name] = torch.cat([batch[name], torch.full((2, 3), value)], dim=1)
    again = student(**wider, **teacher_of(teacher, wider)).distill_loss
    assert math.isclose(again.item(), out.distill_loss.item(), rel_tol=1e-5)
    with pytest.raises(ValueError, match="all three teacher logits"):
        student(**batch, teacher_tags=soft["teacher_tags"])


def test_steps_on_the_distillation_term_alone_bring_the_student_to_its_teacher() -> None:
    """With weight 1 the gold labels are ignored: the student moves towards the teacher
    (a term that passed no gradient, or compared the wrong tensors, would not)."""
    batch = collate(ROWS, pad_id=1)
    batch["tags"][batch["tags"] >= 0] = 0  # gold that contradicts the teacher
    soft = teacher_of(stub(1), batch)
    student = stub(0, distill=1.0, temperature=2.0)
    student.dropout.p = 0.0
    optim = torch.optim.Adam(student.parameters(), lr=0.05)
    terms = []
    for _ in range(40):
        out = student(**batch, **soft)
        terms.append(out.distill_loss.item())
        optim.zero_grad()
        out.loss.backward()
        optim.step()
    assert all(math.isfinite(t) for t in terms)
    assert terms[-1] < 0.2 * terms[0], terms[::8]


# --- slow: a real teacher and student --------------------------------------------------


@pytest.fixture(scope="module")
def student_run(tiny_model: Path, fixture_data: Path, tmp_path_factory) -> Path:
    """The tiny overfit teacher (2 layers, LoRA) distilled into a 1-layer student by
    `python -m train`."""
    out = tmp_path_factory.mktemp("student")
    result = train_cli(
        REPO_ROOT / "configs" / "cpu-small.yaml",
        [
            *STUDENT,
            f"distill.teacher={tiny_model / 'model'}",
            f"data.train={fixture_data}/train.jsonl",
            f"data.dev={fixture_data}/dev.jsonl",
            "optim.epochs=8",
            "run.patience=8",
            f"run.output_dir={out}",
        ],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "distilling" in result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory) -> Path:
    """A $SALATAG_CACHE whose encoders/ is the real one (no second conversion)."""
    from salatag.encoder.cache import EMBEDDED_NAME, resolve_base_model

    root = tmp_path_factory.mktemp("cache")
    (root / "encoders").symlink_to(Path(resolve_base_model(EMBEDDED_NAME)).parent)
    return root


def _articles(fixture_data: Path) -> tuple[list[dict], list]:
    from salatag.article import Article

    gold = [json.loads(line) for line in (fixture_data / "dev.jsonl").read_text().splitlines()]
    return gold, [Article.from_text(r["text"], r["id"]) for r in gold]


def _decisions(records: list) -> list:
    """What a user reads off a record, without the rounded probabilities."""
    rows = [r.to_dict() for r in records]
    return [
        (
            [(p["start"], p["end"], p["body"], p["sectors"]) for p in r["paragraphs"]],
            r["quotes"],
        )
        for r in rows
    ]


@pytest.mark.slow
def test_the_student_is_a_one_layer_model_that_learnt_from_its_teacher(
    student_run: Path, fixture_data: Path, cache_root: Path, monkeypatch
) -> None:
    from safetensors.torch import load_file

    from salatag.metrics import dev_score, quote_metrics, sector_metrics
    from salatag.model import load_model
    from salatag.tagger import Tagger

    model_dir = student_run / "model"
    meta = json.loads((model_dir / "salatag.json").read_text())
    assert meta["encoder_layers"] == 1 and meta["finetune"] == "full"
    keys = load_file(str(model_dir / "encoder.safetensors"))
    assert {k.split(".")[2] for k in keys if k.startswith("encoder.layer.")} == {"0"}
    model, _, _ = load_model(model_dir)
    assert len(model.encoder.encoder.layer) == 1

    log = [json.loads(line) for line in (student_run / "log.jsonl").read_text().splitlines()]
    terms = [h["train_distill_loss"] for h in log]
    assert all(math.isfinite(t) for t in terms) and terms[-1] < 0.5 * terms[0], terms

    # the predictions of the model as it was in memory at the end of training (its dev
    # metrics, written with the tuned thresholds) are those of the model reloaded, by
    # torch and by ONNX Runtime fp32 (the backend `auto` picks on a CPU)
    monkeypatch.setenv("SALATAG_CACHE", str(cache_root))
    gold, articles = _articles(fixture_data)
    saved = json.loads((model_dir / "metrics.json").read_text())["dev"]
    by_backend = {}
    for backend in ("torch", "onnx-fp32"):
        tagger = Tagger.load(model_dir, device="cpu", backend=backend)
        assert type(tagger.model).__name__ == (
            "SalatagModel" if backend == "torch" else "OnnxModel"
        )
        preds = tagger.tag(articles)
        got = {
            "score": dev_score(gold, preds),
            "sector_macro_f1": sector_metrics(gold, preds)["macro_f1"],
            "quote_token_f1": quote_metrics(gold, preds)["token"]["f1"],
            "quote_span_f1": quote_metrics(gold, preds)["span_overlap"]["f1"],
        }
        for key, value in got.items():
            assert math.isclose(value, saved[key], abs_tol=1e-9), (backend, key)
        by_backend[backend] = _decisions(preds)
    assert by_backend["torch"] == by_backend["onnx-fp32"]


@pytest.mark.slow
def test_student_built_from_teacher_layers_saves_and_reloads_to_the_same_predictions(
    tiny_model: Path, fixture_data: Path, cache_root: Path, tmp_path: Path, monkeypatch
) -> None:
    """In memory, the student is the teacher's layer 1 as its layer 0 and the teacher's
    heads; saved (layers in fp16) and reloaded by `load_model` and `Tagger.load` (torch,
    ONNX), it tags as it did in memory."""
    from salatag.distill import build_student, load_teacher
    from salatag.encoder import load_tokenizer
    from salatag.model import save_model
    from salatag.tagger import Tagger

    cfg = load_config(
        REPO_ROOT / "configs" / "cpu-small.yaml",
        [*STUDENT, f"distill.teacher={tiny_model / 'model'}"],
    )
    teacher = load_teacher(cfg)
    student, meta = build_student(cfg, teacher, torch.ones(len(SECTORS)))
    theirs, mine = teacher.encoder.encoder.layer[1].state_dict(), student.encoder.encoder.layer[0]
    assert all(torch.equal(v, theirs[k]) for k, v in mine.state_dict().items())
    assert torch.equal(student.tag_head.weight, teacher.tag_head.weight)
    assert not any(p.requires_grad for p in student.encoder.embeddings.parameters())
    with torch.no_grad():  # what saving in fp16 keeps, so that in memory = on disk
        for p in student.encoder.encoder.parameters():
            p.copy_(p.half().float())

    _, articles = _articles(fixture_data)
    tokenizer = load_tokenizer(cfg.base_model)
    in_memory = Tagger(student, tokenizer, meta, device="cpu").tag(articles)
    save_model(student, meta, tmp_path / "student")
    monkeypatch.setenv("SALATAG_CACHE", str(cache_root))
    for backend in ("torch", "onnx-fp32"):
        reloaded = Tagger.load(tmp_path / "student", device="cpu", backend=backend).tag(articles)
        if backend == "torch":
            assert reloaded == in_memory
        assert _decisions(reloaded) == _decisions(in_memory), backend
        for a, b in zip(reloaded, in_memory, strict=True):
            for p, q in zip(a.paragraphs, b.paragraphs, strict=True):
                assert p.scores is not None and q.scores is not None
                for label in SECTORS:
                    assert abs(p.scores[label] - q.scores[label]) <= 2e-4


@pytest.mark.slow
def test_a_bad_distill_section_is_one_line_naming_the_key(
    tiny_model: Path, fixture_data: Path, tmp_path: Path
) -> None:
    data = [f"data.train={fixture_data}/train.jsonl", f"data.dev={fixture_data}/dev.jsonl"]
    teacher = f"distill.teacher={tiny_model / 'model'}"
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for name in ("salatag.json", "adapter"):
        src = tiny_model / "model" / name
        (damaged / name).symlink_to(src, target_is_directory=src.is_dir())
    cases = [
        ([teacher, "distill.tempreature=2"], 2, "distill.tempreature: unknown key"),
        ([teacher, "distill.layers=[0,2]"], 2, "distill.layers: [0, 2] names layer 2, but"),
        ([teacher, "distill.layers=3"], 2, "distill.layers: 3 names layer 2"),
        ([f"distill.teacher={not_a_model}"], 2, "distill.teacher: "),
        ([f"distill.teacher={tmp_path / 'none'}"], 2, "distill.teacher: "),
        ([teacher, "finetune.method=lora"], 2, "finetune.method: distillation"),
        ([teacher, "encoder_layers=2"], 2, "encoder_layers: 2, but distill.layers keeps 1"),
        ([f"distill.teacher={damaged}"], 3, "distill.teacher: "),
    ]
    for overrides, code, message in cases:
        result = train_cli(
            REPO_ROOT / "configs" / "cpu-small.yaml",
            [*STUDENT, *data, *overrides, f"run.output_dir={tmp_path / 'out'}"],
        )
        lines = result.stderr.strip().splitlines()
        assert result.returncode == code, (overrides, result.stderr[-2000:])
        assert lines[-1].startswith("error: ") and message in lines[-1], (overrides, lines[-3:])
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_configs_student_keeps_every_other_layer_of_the_shipped_model() -> None:
    """The real teacher (fully fine-tuned, 12 layers): student layer i is its layer 2i,
    the embeddings are the base model's (what load_model rebuilds) and stay frozen."""
    from salatag.distill import build_student, check_distill, load_teacher

    cfg = load_config(REPO_ROOT / "configs" / "student.yaml")
    cfg.distill.teacher = REPO_ROOT / cfg.distill.teacher
    check_distill(cfg)
    teacher = load_teacher(cfg)
    student, meta = build_student(cfg, teacher, torch.ones(len(SECTORS)))
    assert meta.encoder_layers == 6 and len(student.encoder.encoder.layer) == 6
    assert student.encoder.config.num_hidden_layers == 6
    for mine, theirs in enumerate([0, 2, 4, 6, 8, 10]):
        want = teacher.encoder.encoder.layer[theirs].state_dict()
        got = student.encoder.encoder.layer[mine].state_dict()
        assert all(torch.equal(v, want[k]) for k, v in got.items()), mine
    assert not any(p.requires_grad for p in student.encoder.embeddings.parameters())
    assert all(p.requires_grad for p in student.encoder.encoder.parameters())
