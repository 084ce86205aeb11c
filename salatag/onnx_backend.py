"""The model's forward pass in ONNX Runtime, in int8 or fp32, for batch tagging on CPUs.

    python -m salatag.onnx_backend export MODEL_DIR [--precision int8|fp32]

Why: on a few CPU cores the fp32 forward pass is bound by matmul throughput; int8 weights
with dynamically quantised activations do the same matmuls at a higher rate. Only the
forward pass is swapped: windows, merging and decoding stay in `Tagger`, so a backend can
change the logits and nothing else (scripts/onnx_agreement.py measures how much).

The word embedding matrix (250 000 x 384 in fp32, four fifths of the model) stays out of
the graph: it is saved beside it as `embeddings.npy` and memory-mapped, so starting a
session reads ~90 MB instead of ~470 MB, a tagging run reads only the rows its tokens
use, and the numbers are those of the torch model. This module imports no torch unless
it exports: a one-article run on the CPU starts in about a second.

Exports are cached per model directory under `~/.cache/salatag/onnx/<hash>/<variant>/`
(or `$SALATAG_CACHE/onnx/...`), the hash covering every file of the model directory. A
variant is built in a temporary directory beside its final place, hashed into a manifest
and renamed into place; the hashes are checked before the first use in a process, so a
killed export or a corrupted file is rebuilt, never loaded.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from salatag import cachedir
from salatag.cachedir import sha256_file
from salatag.encoder.cache import load_fast_tokenizer, resolve_base_model
from salatag.errors import UsageError
from salatag.meta import ModelError, ModelMeta, read_meta

if TYPE_CHECKING:
    import torch

EXPORT_VERSION = 2  # bump when an exported graph changes; it is part of the cache key
PRECISIONS = ("int8", "fp32")
INPUTS = ("inputs_embeds", "attention_mask", "token_para", "slot_ids")
OUTPUTS = ("tag_logits", "sector_logits", "chrome_logits")
ONNX_FILE = "model.onnx"
EMBEDDINGS_FILE = "embeddings.npy"  # the word embedding matrix, memory-mapped at run time
OPT_LEVELS = ("all", "extended", "basic", "disable")

log = logging.getLogger(__name__)


class OnnxUnavailable(UsageError, RuntimeError):
    """onnxruntime (or onnx) is not installed; says how to install it."""


def _require_onnx(export: bool = False) -> Any:
    """onnxruntime; with `export`, also the packages an export needs (onnx is slow to
    import, so a run that finds its export cached does not import it)."""
    try:
        if export:
            import onnx  # noqa: F401
            import onnxscript  # noqa: F401
        import onnxruntime
    except ImportError as err:
        raise OnnxUnavailable(
            f"the ONNX backends need onnxruntime and onnx ({err.name} is missing): "
            f'pip install ".[onnx]"'
        ) from None
    return onnxruntime


@dataclass(frozen=True)
class ExportOptions:
    """How a variant is built; every field is part of its cache directory's name.

    int8 uses `quantize_dynamic`: weights quantised once, activations per call (one
    scale per tensor). `fp32_ffn_out` keeps the FFN output projection of those layers in
    fp32: its input (after GELU) holds the widest activations, and in e5-small the
    flips concentrate in few layers (layer 4 alone, quantised, flips ~1.8 % of the token tags).
    `fuse` runs ONNX Runtime's BERT fusions (attention, skip-layer-norm, bias-GELU) first.
    """

    precision: str = "int8"
    exporter: str = "dynamo"  # or "torchscript" (the older exporter; fuses attention)
    fuse: bool = False
    per_channel: bool = True
    reduce_range: bool = False
    op_types: tuple[str, ...] = ("MatMul", "Gather")
    fp32_ffn_out: tuple[int, ...] = (4,)

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: one of {', '.join(PRECISIONS)}")
        if self.exporter not in ("dynamo", "torchscript"):
            raise ValueError(f"exporter {self.exporter!r}: dynamo or torchscript")

    @property
    def name(self) -> str:
        parts = [self.precision, self.exporter[:2]] + (["fused"] if self.fuse else [])
        if self.precision == "int8":
            parts.append("pc" if self.per_channel else "pt")
            parts += ["rr"] if self.reduce_range else []
            parts.append("+".join(op.lower() for op in self.op_types))
            if self.fp32_ffn_out:
                parts.append("ffn32." + ".".join(map(str, self.fp32_ffn_out)))
        return "-".join(parts)

    def fp32_source(self) -> ExportOptions:
        """The fp32 variant an int8 one is quantised from."""
        return ExportOptions("fp32", self.exporter, self.fuse)


# chosen with scripts/onnx_agreement.py --sweep (reports/onnx/agreement.json)
DEFAULT_OPTIONS = {"int8": ExportOptions("int8"), "fp32": ExportOptions("fp32")}


# --- cache ---------------------------------------------------------------------------


def default_cache_dir() -> Path:
    root = os.environ.get("SALATAG_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "salatag") / "onnx"


def model_key(model_dir: Path, memo: Path | None = None) -> str:
    """Hash of every file in the model directory, the base encoder and the export version."""
    meta = read_meta(model_dir)
    base = meta.base_model
    if base.startswith("embedded:"):  # its cache directory's name holds its source's hash
        base += ":" + Path(resolve_base_model(base)).name
    h = hashlib.sha256(f"salatag-onnx:{EXPORT_VERSION}:{base}\n".encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        digest = sha256_file(path) if memo is None else cachedir.recalled_sha256(path, memo)
        if memo is not None:
            cachedir.remember_sha256(path, memo, digest)
        h.update(f"{path.relative_to(model_dir).as_posix()}:{digest}\n".encode())
    return h.hexdigest()[:16]


def verify(directory: Path) -> bool:
    """Whether the variant's ONNX file still has the sha256 its manifest recorded."""
    return cachedir.verify(directory, (ONNX_FILE, EMBEDDINGS_FILE))


def exported(
    model_dir: Path | str,
    options: ExportOptions | str = "int8",
    cache_dir: Path | None = None,
) -> Path:
    """The ONNX file of `model_dir` in the variant `options`, exported on first use."""
    _require_onnx()
    model_dir = Path(model_dir)
    if isinstance(options, str):
        options = DEFAULT_OPTIONS[options]
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    final = root / model_key(model_dir, root / ".model-digests.json") / options.name
    if not verify(final):
        _require_onnx(export=True)
        source = None
        if options.precision == "int8":
            source = exported(model_dir, options.fp32_source(), cache_dir)
        _build(model_dir, options, source, final)
    return final / ONNX_FILE


def _build(model_dir: Path, options: ExportOptions, source: Path | None, final: Path) -> None:
    def fill(tmp: Path) -> dict:
        if source is None:
            export_fp32(model_dir, tmp / ONNX_FILE, options)
        else:
            quantize(source, tmp / ONNX_FILE, options)
            os.link(source.parent / EMBEDDINGS_FILE, tmp / EMBEDDINGS_FILE)
        return {
            "model_dir": str(model_dir.resolve()),
            "options": asdict(options),
            "export_version": EXPORT_VERSION,
        }

    log.warning(
        "salatag: exporting %s to ONNX (%s) for the CPU, once (about 30 s)", model_dir, options.name
    )
    cachedir.build(final, fill, (ONNX_FILE, EMBEDDINGS_FILE), ModelError)


# --- export --------------------------------------------------------------------------


def _example(hidden: int) -> tuple[Any, ...]:
    """Two windows, one padded, three paragraph slots: no size is 0 or 1 (no specialising)."""
    import torch

    embeds = torch.randn(2, 17, hidden, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(2, 17, dtype=torch.long)
    mask[1, 12:] = 0
    para = torch.zeros(2, 17, dtype=torch.long)
    para[:, 8:] = 1
    para[0, 14:] = 2
    para[:, 0] = para[0, 16] = -1
    para[1, 11:] = -1
    return embeds, mask, para, torch.arange(3)


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter's warnings ("torchvision is not installed", ...) and transformers'
    "Loading weights" bar say nothing to a user whose first run exports the model."""
    from transformers.utils import logging as hf_logging

    log = logging.getLogger("torch.onnx")
    level, bar = log.level, hf_logging.is_progress_bar_enabled()
    log.setLevel(logging.ERROR)
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)
        if bar:
            hf_logging.enable_progress_bar()


def export_fp32(model_dir: Path, out: Path, options: ExportOptions) -> None:
    """Export with dynamic batch, sequence and slot axes (LoRA merged, eager attention:
    a plain softmax graph that ONNX Runtime's fusions recognise), the graph taking the
    word embeddings of the ids, and the embedding matrix saved beside it."""
    import torch
    from torch import nn

    from salatag.model import load_model

    class Exportable(nn.Module):
        """Tuple outputs; `slot_ids` an input so the slot count is a dynamic shape."""

        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, inputs_embeds, attention_mask, token_para, slot_ids):  # type: ignore[no-untyped-def]
            out = self.model(
                None, attention_mask, token_para, slot_ids, inputs_embeds=inputs_embeds
            )
            return out.tag_logits, out.sector_logits, out.chrome_logits

    with _quiet_exporter():
        model, _, _ = load_model(model_dir)
    encoder = model.encoder
    encoder.set_attn_implementation("eager")
    weight = cast("torch.Tensor", encoder.get_input_embeddings().weight)
    table = weight.detach().float().numpy()
    np.save(out.parent / EMBEDDINGS_FILE, table)
    wrapped = Exportable(model).eval()
    example = _example(table.shape[1])
    with _quiet_exporter(), torch.inference_mode(False), torch.no_grad():
        if options.exporter == "dynamo":
            batch, seq, slots = (torch.export.Dim(n) for n in ("batch", "seq", "slots"))
            shapes = {0: batch, 1: seq}
            program = torch.onnx.export(
                wrapped,
                example,
                dynamo=True,
                verbose=False,
                input_names=list(INPUTS),
                output_names=list(OUTPUTS),
                dynamic_shapes=(shapes, shapes, shapes, {0: slots}),
            )
            assert program is not None  # the dynamo exporter returns its program
            program.save(str(out), external_data=False)
        else:
            tokens = {0: "batch", 1: "seq"}
            per_slot = {0: "batch", 1: "slots"}
            torch.onnx.export(
                wrapped,
                example,
                str(out),
                dynamo=False,
                opset_version=17,
                input_names=list(INPUTS),
                output_names=list(OUTPUTS),
                dynamic_axes={
                    **dict.fromkeys(INPUTS[:3], tokens),
                    "slot_ids": {0: "slots"},
                    "tag_logits": tokens,
                    "sector_logits": per_slot,
                    "chrome_logits": per_slot,
                },
            )
    if options.fuse:
        from onnxruntime.transformers.optimizer import optimize_model

        config = encoder.config
        fused = optimize_model(
            str(out),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
            opt_level=0,
        )
        fused.save_model_to_file(str(out))


def quantize(source: Path, out: Path, options: ExportOptions) -> None:
    """int8 weights (per tensor or per output channel), activations quantised per call."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep = []
    if options.fp32_ffn_out:
        ffn_out = ffn_out_projections(onnx.load(str(source)))
        keep = [ffn_out[i] for i in options.fp32_ffn_out if i < len(ffn_out)]
    quantize_dynamic(
        str(source),
        str(out),
        op_types_to_quantize=list(options.op_types),
        per_channel=options.per_channel,
        reduce_range=options.reduce_range,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=keep,
        # fused contrib ops defeat shape inference; their outputs are all float
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def ffn_out_projections(model: Any) -> list[str]:
    """Names of the FFN output MatMuls, first layer first: the only weights shaped
    (intermediate, hidden), i.e. with the most input rows."""
    shapes = {t.name: tuple(t.dims) for t in model.graph.initializer}
    weights = [
        (n.name, shapes[n.input[1]])
        for n in model.graph.node
        if n.op_type == "MatMul" and len(shapes.get(n.input[1], ())) == 2
    ]
    rows = max((shape[0] for _, shape in weights), default=0)
    return [name for name, shape in weights if shape[0] == rows]


# --- inference -----------------------------------------------------------------------


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class OnnxModel:
    """Stands in for `SalatagModel` in `Tagger` (`probabilities`), on the CPU, no torch."""

    def __init__(self, path: Path | str, threads: int | None = None, opt_level: str = "all"):
        ort = _require_onnx()
        levels = {
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        }
        so = ort.SessionOptions()
        # like torch: OMP_NUM_THREADS when set, else ONNX Runtime's choice (physical cores)
        so.intra_op_num_threads = threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
        so.inter_op_num_threads = 1
        so.graph_optimization_level = levels[opt_level]
        so.log_severity_level = 3  # hardware-specific-optimisation notices are not errors
        self.path = Path(path)
        self.embeddings = np.load(self.path.parent / EMBEDDINGS_FILE, mmap_mode="r")
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.device_name = "cpu"

    def logits(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_para: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        para = np.asarray(token_para, dtype=np.int64)
        slots = max(int(para.max()) + 1 if para.size else 0, 1)
        feed = {
            "inputs_embeds": np.ascontiguousarray(self.embeddings[np.asarray(input_ids)]),
            "attention_mask": np.asarray(attention_mask, dtype=np.int64),
            "token_para": para,
            "slot_ids": np.arange(slots, dtype=np.int64),
        }
        tags, sectors, chrome = self.session.run(list(OUTPUTS), feed)
        return tags, sectors, chrome

    def probabilities(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_para: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tags, sectors, chrome = self.logits(input_ids, attention_mask, token_para)
        return _softmax(tags), _sigmoid(sectors), _sigmoid(chrome)

    def on(self, device: str = "auto") -> OnnxModel:
        if device not in ("auto", "cpu"):
            raise UsageError(f"the ONNX backends run on the CPU, not {device}: use --device cpu")
        return self


def load_onnx(
    model_dir: Path | str,
    options: ExportOptions | str = "int8",
    cache_dir: Path | None = None,
    threads: int | None = None,
    opt_level: str = "all",
) -> tuple[OnnxModel, Any, ModelMeta]:
    """Like `load_model`, with the forward pass in ONNX Runtime (exported if not cached)
    and the tokenizer read by `tokenizers` alone: no torch, no transformers."""
    model_dir = Path(model_dir)
    meta = read_meta(model_dir)
    path = exported(model_dir, options, cache_dir)
    with ThreadPoolExecutor(1) as pool:  # both mostly outside the GIL: together, not in turn
        tokenizer = pool.submit(load_fast_tokenizer, meta.base_model)
        model = OnnxModel(path, threads, opt_level)
        return model, tokenizer.result(), meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m salatag.onnx_backend", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    export = sub.add_parser("export", help="export a model directory (cached)")
    export.add_argument("model_dir", type=Path)
    export.add_argument("--precision", choices=PRECISIONS, default="int8")
    export.add_argument("--cache-dir", type=Path, help="default: $SALATAG_CACHE/onnx")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = exported(args.model_dir, args.precision, args.cache_dir)
    except (ModelError, OnnxUnavailable) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
