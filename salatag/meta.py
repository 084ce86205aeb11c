"""The model directory's `salatag.json`: what inference needs besides the weights.

A validated pydantic model with one writer and one reader, and no torch: the CPU fast
path (a cached ONNX export) reads it to start in about a second. A wrong or missing key
is a `ModelError` that names the key and the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from salatag.decoding import TAGS, DecoderSettings
from salatag.errors import SetupError
from salatag.labels import SECTORS

FORMAT = 1
META_FILE = "salatag.json"


class ModelError(SetupError, RuntimeError):
    """A model directory that cannot be loaded; says what is missing."""


class ModelMeta(BaseModel):
    """What inference needs to rebuild and use the model, without the training config."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    base_model: str
    encoder_layers: int | None = Field(default=None, ge=1)
    finetune: Literal["lora", "full", "frozen"]
    max_length: int = Field(ge=8)
    stride: int = Field(ge=0)
    context: Literal["article", "paragraph"]
    sectors: list[str] = Field(default_factory=lambda: list(SECTORS))
    tags: list[str] = Field(default_factory=lambda: list(TAGS))
    thresholds: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(SECTORS, 0.5))
    chrome_threshold: float = 0.5
    decoder: dict[str, Any] = Field(default_factory=dict)  # DecoderSettings overrides
    format: int = FORMAT


def write_meta(model_dir: Path, meta: ModelMeta) -> None:
    """Writes the decoder settings out in full, so a later default cannot change them."""
    meta.decoder = DecoderSettings(**meta.decoder).model_dump()
    text = json.dumps(meta.model_dump(), indent=2, ensure_ascii=False) + "\n"
    (model_dir / META_FILE).write_text(text, encoding="utf-8")


def read_meta(model_dir: Path | str) -> ModelMeta:
    """The model's meta without loading its weights."""
    path = Path(model_dir) / META_FILE
    if not path.is_file():
        raise ModelError(f"{model_dir} is not a salatag model directory (no {META_FILE})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"{path} cannot be read ({err}): the file is damaged") from None
    if isinstance(raw, dict) and raw.get("format", FORMAT) != FORMAT:
        raise ModelError(f"{model_dir}: model format {raw['format']}, this salatag reads {FORMAT}")
    try:
        return ModelMeta.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(the whole file)"
        raise ModelError(f"{path}: {key}: {first['msg']}") from None
