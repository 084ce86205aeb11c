"""Training configuration: typed sections with defaults, loaded from YAML.

Every section knows its defaults, so a config file names only what it changes.
Unknown keys and wrong types are errors that name the key (`optim.epochs: Input
should be a valid integer`), raised before any model is loaded.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from salatag.errors import InputError


class ConfigError(InputError, ValueError):
    """A config that cannot be used; the message names the key."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(Section):
    train: Path = Path("data/build/train.jsonl")
    dev: Path = Path("data/build/dev.jsonl")
    max_train_articles: int | None = Field(None, ge=1, description="subsample for fast runs")


class WindowConfig(Section):
    max_length: int = Field(256, ge=32, le=512)
    stride: int = Field(64, ge=0)
    # article: windows run across paragraphs (neighbouring context, multi-line quotes);
    # paragraph: each paragraph alone (no context), kept to measure what context buys
    context: Literal["article", "paragraph"] = "article"


class FinetuneConfig(Section):
    method: Literal["lora", "full", "frozen"] = "lora"
    # full: the transformer layers are tuned, the embeddings stay frozen (they are rebuilt
    # from the base model, so the model directory stores only the layers, in fp16);
    # the lowest `freeze_layers` layers stay frozen too (cheaper steps on a CPU)
    freeze_layers: int = Field(0, ge=0)
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.1, ge=0, lt=1)
    lora_targets: list[str] = ["query", "key", "value", "dense"]


class OptimConfig(Section):
    encoder_lr: float = Field(3e-4, gt=0)
    head_lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    epochs: int = Field(8, ge=1)
    batch_size: int = Field(8, ge=1)
    grad_accum: int = Field(1, ge=1)
    max_grad_norm: float = Field(1.0, gt=0)
    # batches of similar lengths (shuffled, then sorted within groups of 50 batches):
    # paragraph windows vary from 10 to 500 tokens, and random batches pad to 2.3x
    group_by_length: bool = False


HEADS = ("sectors", "quotes", "chrome")  # each weighs `loss.<head>`; 0 trains it not at all


class LossConfig(Section):
    sectors: float = Field(1.0, ge=0)
    quotes: float = Field(1.0, ge=0)
    chrome: float = Field(0.2, ge=0)
    class_weighting: Literal["none", "pos_weight", "focal"] = "pos_weight"
    focal_gamma: float = Field(2.0, ge=0)
    max_pos_weight: float = Field(10.0, ge=1)


class RunConfig(Section):
    seed: int = 13
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool = False
    patience: int = Field(3, ge=1, description="epochs without dev improvement")
    checkpoint_every: int = Field(50, ge=1, description="optimizer steps")
    output_dir: Path = Path("runs/default")
    threads: int | None = Field(None, ge=1)
    # average the weights of the last N epochs (0: off); at the end the average is scored
    # on dev and replaces the best epoch's weights only if it scores higher
    average_last: int = Field(0, ge=0, description="epochs whose weights are averaged")

    @model_validator(mode="before")
    @classmethod
    def _removed_keys(cls, data: Any) -> Any:
        """`run.tensorboard` built nothing and is gone; the configs saved in older model
        directories say `tensorboard: false`, so that value still loads (true does not)."""
        if isinstance(data, dict) and data.get("tensorboard") is False:
            data = {k: v for k, v in data.items() if k != "tensorboard"}
        return data


class DistillConfig(Section):
    """Knowledge distillation: a smaller student learns from a trained model's outputs.

    The student starts as the teacher with only `layers` of its encoder (renumbered
    0..k-1), and its heads; it is trained with `finetune.method: full` on
    `(1 - weight) * gold loss + weight * distillation loss` (see `SalatagModel.loss`).
    """

    teacher: Path = Field(description="a salatag model directory, e.g. models/default")
    # the teacher layers the student keeps, lowest first (DistilBERT: every other one),
    # or a count N meaning the first N
    layers: int | list[int] = Field(6)
    weight: float = Field(0.5, ge=0, le=1, description="share of the distillation loss")
    temperature: float = Field(2.0, gt=0, description="softens the tag distributions")

    @field_validator("layers")
    @classmethod
    def _layers(cls, value: int | list[int]) -> int | list[int]:
        if isinstance(value, int):
            if value < 1:
                raise ValueError("a count of layers must be at least 1")
            return value
        if not value:
            raise ValueError("name at least one teacher layer")
        if any(i < 0 for i in value) or sorted(set(value)) != value:
            raise ValueError("teacher layer indices must be >= 0, increasing, each once")
        return value

    def layer_indices(self) -> list[int]:
        """The teacher layers the student keeps, as indices."""
        return list(range(self.layers)) if isinstance(self.layers, int) else list(self.layers)


class TrainConfig(Section):
    base_model: str = "embedded:multilingual-e5-small"
    encoder_layers: int | None = Field(None, ge=1, description="keep the first N layers")
    data: DataConfig = DataConfig()
    window: WindowConfig = WindowConfig()
    finetune: FinetuneConfig = FinetuneConfig()
    optim: OptimConfig = OptimConfig()
    loss: LossConfig = LossConfig()
    run: RunConfig = RunConfig()
    distill: DistillConfig | None = None

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)

    @model_validator(mode="before")
    @classmethod
    def _removed_heads(cls, data: Any) -> Any:
        """`heads.*` is gone: it built every head anyway and only zeroed the loss of a
        head switched off, which `loss.*: 0` says. The configs saved in older model
        directories still load, meaning what they meant: `heads.quotes: false` is
        `loss.quotes: 0`, and `true` is the default."""
        heads = data.get("heads") if isinstance(data, dict) else None
        if not isinstance(heads, dict) or not set(heads) <= set(HEADS):
            return data
        if not all(isinstance(on, bool) for on in heads.values()):
            return data
        data = {k: v for k, v in data.items() if k != "heads"}
        off = {head: 0.0 for head, on in heads.items() if not on}
        if off and isinstance(data.get("loss", {}), dict):
            data["loss"] = {**data.get("loss", {}), **off}
        return data


class UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice: the second would silently win."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ConfigError(f"line {line}: key {key!r} is given twice")
            seen.add(key)
        return super().construct_mapping(node, deep)


def _known_keys(model: type[BaseModel], path: list[str]) -> list[str]:
    for key in path:
        field = model.model_fields.get(key)
        # an optional section (`distill: DistillConfig | None`) names its keys too
        kinds = (get_args(field.annotation) or (field.annotation,)) if field else ()
        sections = [k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)]
        if not sections:
            return []
        model = sections[0]
    return list(model.model_fields)


def _explain(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = [str(x) for x in e["loc"]]
        key = ".".join(loc)
        if e["type"] == "extra_forbidden":
            near = difflib.get_close_matches(loc[-1], _known_keys(TrainConfig, loc[:-1]), n=1)
            hint = f" (did you mean {'.'.join([*loc[:-1], near[0]])}?)" if near else ""
            lines.append(f"{key}: unknown key{hint}")
        else:
            lines.append(f"{key}: {e['msg']} (got {e.get('input')!r})")
    return "; ".join(lines)


def _set(tree: dict[str, Any], dotted: str, raw: str) -> None:
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {dotted}: {key} is not a section")
    node[keys[-1]] = yaml.safe_load(raw) if raw != "" else None


def load_config(path: Path | str | None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a YAML config and apply `key.sub=value` overrides, validating all of it."""
    tree: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file {path} not found")
        try:
            tree = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML ({err})") from None
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. optim.epochs=3")
        key, _, value = item.partition("=")
        _set(tree, key.strip(), value.strip())
    try:
        return TrainConfig.model_validate(tree)
    except ValidationError as err:
        where = f"{path}: " if path else ""
        raise ConfigError(where + _explain(err)) from None
