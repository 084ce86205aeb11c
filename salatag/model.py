"""One encoder, three small heads: sectors and chrome per paragraph, BIO tags per token.

Paragraph heads mean-pool the hidden states of the paragraph's tokens inside a
window, so a paragraph sees its neighbours through attention. The saved model
directory is self-contained: base-model reference, LoRA adapter (or full encoder),
heads, thresholds, label maps and the run's config and metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from salatag.decoding import TAGS
from salatag.encoder import load_encoder, load_tokenizer
from salatag.labels import SECTORS
from salatag.meta import ModelError, ModelMeta, read_meta, write_meta

if TYPE_CHECKING:
    from transformers import PreTrainedModel

__all__ = ["ModelError", "ModelMeta", "SalatagModel", "load_model", "read_meta", "save_model"]

ENCODER_FILE = "encoder.safetensors"  # full fine-tuning: the layers, without embeddings


@dataclass
class Output:
    tag_logits: torch.Tensor  # (B, T, tags)
    sector_logits: torch.Tensor  # (B, P, sectors)
    chrome_logits: torch.Tensor  # (B, P)
    loss: torch.Tensor | None = None  # only when forward was given the labels
    # the distillation term alone (before the weight), when forward was given the
    # teacher's logits too; logged by training
    distill_loss: torch.Tensor | None = None


@dataclass
class LossSettings:
    """How the three heads' losses are weighed; a head weighing 0 is not trained.

    Training builds it from the config's `loss` section; inference never
    needs it (forward without labels computes no loss)."""

    quotes: float = 1.0
    sectors: float = 1.0
    chrome: float = 0.2
    class_weighting: Literal["none", "pos_weight", "focal"] = "pos_weight"
    focal_gamma: float = 2.0
    distill: float = 0.0  # the distillation term's share of the loss (alpha)
    temperature: float = 1.0  # softens the tag distributions it compares


class SalatagModel(nn.Module):
    pos_weight: torch.Tensor | None  # a buffer, see __init__

    def __init__(
        self,
        encoder: PreTrainedModel,
        hidden: int,
        dropout: float = 0.1,
        loss: LossSettings | None = None,
        pos_weight: torch.Tensor | None = None,
    ) -> None:
        """`pos_weight`: the sector head's positive-class weights (from the training
        data's label counts), used when `loss.class_weighting` is `pos_weight`."""
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.tag_head = nn.Linear(hidden, len(TAGS))
        self.sector_head = nn.Linear(hidden, len(SECTORS))
        self.chrome_head = nn.Linear(hidden, 1)
        self.loss_settings = loss or LossSettings()
        # not persistent: it follows the model between devices but is never saved
        self.register_buffer("pos_weight", pos_weight, persistent=False)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_para: torch.Tensor,
        slot_ids: torch.Tensor | None = None,
        tags: torch.Tensor | None = None,
        sectors: torch.Tensor | None = None,
        chrome: torch.Tensor | None = None,
        slot_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        teacher_tags: torch.Tensor | None = None,
        teacher_sectors: torch.Tensor | None = None,
        teacher_chrome: torch.Tensor | None = None,
    ) -> Output:
        """`slot_ids` is `arange(P)`; an ONNX export passes it so that the number of
        paragraph slots is an input shape, not a data-dependent `.item()`.

        Given the labels (a training batch: `tags`, `sectors`, `chrome`, `slot_mask`),
        the output carries the weighted loss as well, so training and the model cannot
        disagree about what the heads mean. `inputs_embeds` (the word embeddings of the
        ids, instead of the ids) is how the ONNX export leaves the embedding matrix out.

        `teacher_*` (a teacher's tag, sector and chrome logits on the same padded batch,
        for knowledge distillation) add the distillation term: see `distill_loss`."""
        given = (
            {"input_ids": input_ids} if inputs_embeds is None else {"inputs_embeds": inputs_embeds}
        )
        hidden = self.encoder(attention_mask=attention_mask, **given).last_hidden_state
        if slot_ids is None:
            slots = int(token_para.max().item()) + 1 if token_para.numel() else 0
            slot_ids = torch.arange(max(slots, 1), device=token_para.device)
        member = token_para.unsqueeze(1) == slot_ids[None, :, None]  # (B, P, T)
        weights = member.to(hidden.dtype)
        pooled = weights @ hidden / weights.sum(-1, keepdim=True).clamp(min=1)
        pooled = self.dropout(pooled)
        out = Output(
            self.tag_head(self.dropout(hidden)),
            self.sector_head(pooled),
            self.chrome_head(pooled).squeeze(-1),
        )
        labels = (tags, sectors, chrome, slot_mask)
        if any(x is not None for x in labels):
            if tags is None or sectors is None or chrome is None or slot_mask is None:
                raise ValueError("the loss needs all four labels: tags, sectors, chrome, slot_mask")
            out.loss = self.loss(out, tags, sectors, chrome, slot_mask)
            teacher = (teacher_tags, teacher_sectors, teacher_chrome)
            if any(x is not None for x in teacher):
                if teacher_tags is None or teacher_sectors is None or teacher_chrome is None:
                    raise ValueError("distillation needs all three teacher logits")
                soft = Output(teacher_tags, teacher_sectors, teacher_chrome)
                out.distill_loss = self.distill_loss(out, soft, tags, slot_mask)
                alpha = self.loss_settings.distill
                out.loss = (1 - alpha) * out.loss + alpha * out.distill_loss
        return out

    def loss(
        self,
        out: Output,
        tags: torch.Tensor,
        sectors: torch.Tensor,
        chrome: torch.Tensor,
        slot_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Weighted sum of the tag cross-entropy and the sector and chrome BCE over the
        paragraph slots in use; `focal` down-weighs the easy sector decisions."""
        settings = self.loss_settings
        loss = torch.zeros((), device=out.tag_logits.device)
        slots = out.sector_logits.shape[1]
        mask = slot_mask[:, :slots]
        if settings.quotes:
            tag_loss = F.cross_entropy(
                out.tag_logits.float().reshape(-1, out.tag_logits.shape[-1]),
                tags.reshape(-1),
                ignore_index=-100,
            )
            loss = loss + settings.quotes * tag_loss
        if settings.sectors and slot_mask.any():
            logits = out.sector_logits.float()[mask]
            target = sectors[:, :slots][mask]
            weight = self.pos_weight if settings.class_weighting == "pos_weight" else None
            per = F.binary_cross_entropy_with_logits(
                logits, target, pos_weight=weight, reduction="none"
            )
            if settings.class_weighting == "focal":
                p = torch.sigmoid(logits)
                p_t = p * target + (1 - p) * (1 - target)
                per = per * (1 - p_t) ** settings.focal_gamma
            loss = loss + settings.sectors * per.mean()
        if settings.chrome and slot_mask.any():
            logits = out.chrome_logits.float()[mask]
            target = chrome[:, :slots][mask]
            loss = loss + settings.chrome * F.binary_cross_entropy_with_logits(logits, target)
        return loss

    def distill_loss(
        self, out: Output, teacher: Output, tags: torch.Tensor, slot_mask: torch.Tensor
    ) -> torch.Tensor:
        """How far the student's outputs are from the teacher's, weighed per head like
        the gold loss: zero when they are equal.

        Tags: KL(teacher || student) of the tag distributions softened by the
        temperature T, times T^2 (Hinton et al.: keeps the gradients' scale as T
        changes), averaged over the real tokens (those the gold tag loss scores: no
        special tokens, no padding). Sectors and chrome: the BCE of the student's logits
        against the teacher's probabilities, less the teacher's own entropy (the same
        gradient; the binary KL, so 0 at a perfect match), averaged over the paragraph
        slots in use; no pos_weight, as the teacher's probabilities already carry it."""
        settings = self.loss_settings
        loss = torch.zeros((), device=out.tag_logits.device)
        real = tags != -100
        if settings.quotes and real.any():
            t = settings.temperature
            student = F.log_softmax(out.tag_logits.float()[real] / t, -1)
            target = F.log_softmax(teacher.tag_logits.float()[real] / t, -1)
            kl = F.kl_div(student, target, log_target=True, reduction="batchmean")
            loss = loss + settings.quotes * t * t * kl
        mask = slot_mask[:, : out.sector_logits.shape[1]]
        pairs = (
            (settings.sectors, out.sector_logits, teacher.sector_logits),
            (settings.chrome, out.chrome_logits, teacher.chrome_logits),
        )
        for weight, student_logits, teacher_logits in pairs:
            if weight and mask.any():
                logits, target_logits = student_logits.float()[mask], teacher_logits.float()[mask]
                p = torch.sigmoid(target_logits)
                bce = F.binary_cross_entropy_with_logits(logits, p)
                entropy = F.binary_cross_entropy_with_logits(target_logits, p)
                loss = loss + weight * (bce - entropy)
        return loss

    def on(self, device: str = "auto") -> SalatagModel:
        """On `device` (auto: a GPU when there is one), in eval mode, for the tagger."""
        return self.to(pick_device(device)).eval()

    @property
    def device_name(self) -> str:
        return str(next(self.parameters()).device)

    @torch.inference_mode()
    def probabilities(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_para: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tag, sector and chrome probabilities of a padded batch, as numpy: the one call
        the tagger makes, so an ONNX Runtime session can stand in for the model."""
        device = next(self.parameters()).device
        ids, mask, para = (
            torch.from_numpy(x).to(device) for x in (input_ids, attention_mask, token_para)
        )
        out = self(ids, mask, para)
        return (
            out.tag_logits.float().softmax(-1).cpu().numpy(),
            out.sector_logits.float().sigmoid().cpu().numpy(),
            out.chrome_logits.float().sigmoid().cpu().numpy(),
        )

    def heads_state(self) -> dict[str, torch.Tensor]:
        return {
            k: v.detach().cpu().contiguous()
            for k, v in self.state_dict().items()
            if not k.startswith("encoder.")
        }


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but no CUDA GPU is available")
    return torch.device(name)


def build_encoder(
    base_model: str, encoder_layers: int | None, finetune: str, lora: dict[str, Any] | None = None
) -> PreTrainedModel:
    """The encoder to train (under LoRA a peft model around it, which passes attribute
    access such as `.config` through)."""
    encoder = load_encoder(base_model).float()
    if encoder_layers is not None:
        layers = encoder.encoder.layer
        if encoder_layers > len(layers):
            raise ModelError(f"encoder_layers={encoder_layers} but the model has {len(layers)}")
        encoder.encoder.layer = layers[:encoder_layers]
        encoder.config.num_hidden_layers = encoder_layers
    if finetune == "lora":
        from peft import LoraConfig, get_peft_model

        lora = lora or {}
        encoder = get_peft_model(
            encoder,
            LoraConfig(
                r=lora.get("lora_r", 16),
                lora_alpha=lora.get("lora_alpha", 32),
                lora_dropout=lora.get("lora_dropout", 0.1),
                target_modules=lora.get("lora_targets", ["query", "key", "value", "dense"]),
            ),
        )
    elif finetune == "full":
        encoder.embeddings.requires_grad_(False)
        for layer in encoder.encoder.layer[: (lora or {}).get("freeze_layers", 0)]:
            layer.requires_grad_(False)
    elif finetune == "frozen":
        encoder.requires_grad_(False)
    return encoder


def tuned_encoder_state(encoder: nn.Module) -> dict[str, torch.Tensor]:
    """What full fine-tuning changed: every tensor outside the frozen embeddings, fp16."""
    return {
        k: v.detach().cpu().to(torch.float16).contiguous()
        for k, v in encoder.state_dict().items()
        if not k.startswith("embeddings.")
    }


def save_model(
    model: SalatagModel, meta: ModelMeta, out: Path, extra_files: dict[str, str] | None = None
) -> None:
    """Write the model directory; the weights are small when the encoder is LoRA-tuned."""
    out.mkdir(parents=True, exist_ok=True)
    save_file(model.heads_state(), str(out / "heads.safetensors"))
    if meta.finetune == "lora":
        model.encoder.save_pretrained(str(out / "adapter"))
    elif meta.finetune == "full":
        save_file(tuned_encoder_state(model.encoder), str(out / ENCODER_FILE))
    write_meta(out, meta)
    for name, content in (extra_files or {}).items():
        (out / name).write_text(content, encoding="utf-8")


def _load_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.exists():
        raise ModelError(f"{path} is missing: the model directory is incomplete")
    try:
        return load_file(str(path))
    except Exception as err:  # safetensors raises its own error types for damaged files
        raise ModelError(f"{path} cannot be read ({err}): the file is damaged") from err


def load_model(model_dir: Path | str, merge: bool = True) -> tuple[SalatagModel, Any, ModelMeta]:
    """Load model, tokenizer and meta; LoRA weights are merged for faster inference."""
    model_dir = Path(model_dir)
    meta = read_meta(model_dir)
    if meta.finetune == "full" and (model_dir / "encoder").is_dir():  # older layout
        encoder = load_encoder(str(model_dir / "encoder")).float()
    elif meta.finetune == "full":
        encoder = build_encoder(meta.base_model, meta.encoder_layers, "frozen")
        tuned = {k: v.float() for k, v in _load_weights(model_dir / ENCODER_FILE).items()}
        result = encoder.load_state_dict(tuned, strict=False)
        if result.unexpected_keys or any(
            not k.startswith("embeddings.") for k in result.missing_keys
        ):
            raise ModelError(f"{model_dir}/{ENCODER_FILE} does not match {meta.base_model}")
    else:
        encoder = build_encoder(meta.base_model, meta.encoder_layers, "frozen")
        if meta.finetune == "lora":
            from peft import PeftModel

            encoder = PeftModel.from_pretrained(encoder, str(model_dir / "adapter"))
            if merge:
                encoder = encoder.merge_and_unload()
    model = SalatagModel(encoder, encoder.config.hidden_size)
    missing = model.load_state_dict(_load_weights(model_dir / "heads.safetensors"), strict=False)
    if missing.unexpected_keys or any(not k.startswith("encoder.") for k in missing.missing_keys):
        raise ModelError(f"{model_dir}/heads.safetensors does not match the model's heads")
    model.eval()
    return model, load_tokenizer(meta.base_model), meta
