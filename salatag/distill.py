"""Knowledge distillation: a student with fewer encoder layers learns from a trained model.

Set by the config's `distill` section (salatag.config.DistillConfig). The student is
the teacher with only some of its encoder layers (renumbered 0..k-1) and a copy of its
heads, trained with `finetune.method: full` (embeddings frozen): its model directory is
an ordinary one, `encoder_layers: k`, that `load_model` and `Tagger.load` read as any
other (they rebuild the first k layers of the base encoder, then load the saved ones
over them, so the saved layer keys are 0..k-1).

The teacher runs per batch, in eval mode under `no_grad`, on the student's own padded
batch (`teacher_logits`), and the loss in `SalatagModel.forward` mixes its logits in.
Per batch rather than precomputed once: it costs a teacher forward (no backward) per
step, about a third of a full model's training step, but needs no store of per-token
logits that must match each epoch's windows and padding, and resuming, several
processes and group-by-length batching work unchanged.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, cast

from salatag.config import ConfigError, TrainConfig
from salatag.meta import ModelError, ModelMeta, read_meta

if TYPE_CHECKING:
    import torch

    from salatag.model import SalatagModel


def teacher_layer_count(meta: ModelMeta) -> int:
    """How many encoder layers the teacher has: its `encoder_layers`, else its base's."""
    if meta.encoder_layers is not None:
        return meta.encoder_layers
    from transformers import AutoConfig

    from salatag.encoder import resolve_base_model

    return int(AutoConfig.from_pretrained(resolve_base_model(meta.base_model)).num_hidden_layers)


def check_distill(cfg: TrainConfig) -> ModelMeta:
    """Fail before any weights are loaded if the `distill` section cannot work: the
    teacher is not a model directory, has another base model, has fewer layers than
    named, or the rest of the config contradicts the student. Returns the teacher's meta."""
    assert cfg.distill is not None
    teacher = cfg.distill.teacher
    if not teacher.is_dir():
        raise ConfigError(f"distill.teacher: {teacher} is not a directory")
    try:
        meta = read_meta(teacher)
    except ModelError as err:
        raise ConfigError(f"distill.teacher: {err}") from None
    if meta.base_model != cfg.base_model:
        raise ConfigError(
            f"distill.teacher: {teacher} was trained from {meta.base_model}, but base_model "
            f"is {cfg.base_model} (the student keeps the teacher's tokenizer and embeddings)"
        )
    have = teacher_layer_count(meta)
    layers = cfg.distill.layer_indices()
    if layers[-1] >= have:
        raise ConfigError(
            f"distill.layers: {cfg.distill.layers} names layer {layers[-1]}, but the teacher "
            f"{teacher} has {have} layers (0..{have - 1})"
        )
    if cfg.finetune.method != "full":
        raise ConfigError(
            f"finetune.method: distillation trains the student's layers in full, "
            f"not {cfg.finetune.method} (set finetune.method: full)"
        )
    if cfg.encoder_layers is not None and cfg.encoder_layers != len(layers):
        raise ConfigError(
            f"encoder_layers: {cfg.encoder_layers}, but distill.layers keeps {len(layers)}: "
            "leave encoder_layers out, the student's count follows distill.layers"
        )
    window = (cfg.window.max_length, cfg.window.stride, cfg.window.context)
    if window != (meta.max_length, meta.stride, meta.context):
        print(
            f"warning: the student's windows {window} differ from the teacher's "
            f"{(meta.max_length, meta.stride, meta.context)}: it learns from the teacher's "
            "outputs on windows the teacher was not trained on",
            file=sys.stderr,
        )
    return meta


def load_teacher(cfg: TrainConfig) -> SalatagModel:
    """The teacher, on the CPU in eval mode, its weights frozen (LoRA merged)."""
    from salatag.model import load_model

    assert cfg.distill is not None
    try:
        teacher, _, _ = load_model(cfg.distill.teacher)
    except ModelError as err:
        raise ModelError(f"distill.teacher: {err}") from None
    teacher.requires_grad_(False)
    return teacher.eval()


def build_student(
    cfg: TrainConfig, teacher: SalatagModel, pos_weight: torch.Tensor
) -> tuple[SalatagModel, ModelMeta]:
    """The student: the base encoder's embeddings (frozen, as `load_model` rebuilds them)
    with the teacher's `distill.layers` as its layers 0..k-1, and the teacher's heads.

    Refuses a teacher whose embeddings differ from the base model's (an older model
    directory that stored a whole tuned encoder): its student would not reload as it was
    trained."""
    import torch
    from torch import nn

    from salatag.model import SalatagModel, build_encoder
    from salatag.training import loss_settings

    assert cfg.distill is not None
    layers = cfg.distill.layer_indices()
    encoder = build_encoder(cfg.base_model, len(layers), "full", cfg.finetune.model_dump())
    source = teacher.encoder
    # transformers types these submodules loosely (Tensor | Module); they are modules
    student_layers = cast(nn.ModuleList, cast(nn.Module, encoder.encoder).layer)
    teacher_layers = cast(nn.ModuleList, cast(nn.Module, source.encoder).layer)
    for mine, theirs in zip(student_layers, layers, strict=True):
        mine.load_state_dict(teacher_layers[theirs].state_dict())
    base_embeddings = cast(nn.Module, encoder.embeddings).state_dict()
    for name, value in cast(nn.Module, source.embeddings).state_dict().items():
        if not torch.equal(value, base_embeddings[name]):
            raise ModelError(
                f"distill.teacher: {cfg.distill.teacher}'s embeddings ({name}) differ from "
                f"{cfg.base_model}'s: a student of it would not reload as trained"
            )
    student = SalatagModel(
        encoder, encoder.config.hidden_size, loss=loss_settings(cfg), pos_weight=pos_weight
    )
    copied = student.load_state_dict(teacher.heads_state(), strict=False)
    if copied.unexpected_keys or any(not k.startswith("encoder.") for k in copied.missing_keys):
        raise ModelError(f"distill.teacher: {cfg.distill.teacher}'s heads do not fit the student")
    meta = ModelMeta(
        base_model=cfg.base_model,
        encoder_layers=len(layers),
        finetune="full",
        max_length=cfg.window.max_length,
        stride=cfg.window.stride,
        context=cfg.window.context,
    )
    return student, meta


def teacher_logits(
    teacher: SalatagModel, batch: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The teacher's logits on the student's padded batch, named as
    `SalatagModel.forward` takes them (`teacher_tags`, `teacher_sectors`,
    `teacher_chrome`); no gradient, dropout off."""
    import torch

    with torch.no_grad():
        out = teacher(batch["input_ids"], batch["attention_mask"], batch["token_para"])
    return {
        "teacher_tags": out.tag_logits.detach(),
        "teacher_sectors": out.sector_logits.detach(),
        "teacher_chrome": out.chrome_logits.detach(),
    }


def describe(cfg: TrainConfig) -> str:
    """One line for the training log."""
    assert cfg.distill is not None
    d = cfg.distill
    return (
        f"distilling {d.teacher} into a {len(d.layer_indices())}-layer student "
        f"(its layers {d.layer_indices()}), weight {d.weight}, temperature {d.temperature}"
    )
