"""The training loop behind `python -m train`: one config in, one model directory out.

`fit(cfg)` checks the data, tokenises it into windows, builds the model (the loss lives
in `SalatagModel.forward`), trains with accelerate on one or several processes, scores
dev after every epoch (early stopping on the dev score), tunes the per-label thresholds
on dev with the best epoch's weights and writes the self-contained model directory.
With a `distill` section the model is a student of a trained model directory, which
runs beside it on every batch (salatag.distill).

Resuming: a checkpoint (`OUTPUT_DIR/checkpoint`, every `run.checkpoint_every` optimizer
steps and after every epoch) holds accelerate's `save_state` (trainable weights only,
optimizer, scheduler, every process's RNG states) and `progress.json` (epoch, batch,
best score, the log so far); `--resume` restores it and skips the batches already done
with `skip_first_batches`, so a killed run ends where an uninterrupted one does.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from salatag.config import TrainConfig
from salatag.errors import InputError
from salatag.features import pad, pad_windows
from salatag.labels import SECTORS
from salatag.meta import ModelMeta
from salatag.model import LossSettings, SalatagModel
from salatag.records import Record
from salatag.validate import validate_files

if TYPE_CHECKING:
    import datasets
    from accelerate import Accelerator

    from salatag.article import Article

PROGRESS_FILE = "progress.json"
# files of a run directory
CHECKPOINT, BEST_STATE, LOG = "checkpoint", "best_state.pt", "log.jsonl"
AVERAGE_STATE = "average_state.pt"


class TrainError(InputError, RuntimeError):
    """A problem found before or during training that the user can fix."""


# --- data ---------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_data(cfg: TrainConfig) -> None:
    """Fail before any model is loaded if the data is missing or malformed."""
    for key in ("train", "dev"):
        path = getattr(cfg.data, key)
        if not path.exists():
            raise TrainError(
                f"data.{key}: {path} not found (build the corpus: python -m salatag.data build)"
            )
    problems = validate_files([cfg.data.train]) + validate_files([cfg.data.dev])
    if problems:
        shown = "\n  ".join(str(p) for p in problems[:10])
        raise TrainError(f"the training data has {len(problems)} problem(s):\n  {shown}")
    leaks = [p for p in validate_files([cfg.data.train, cfg.data.dev]) if p.field == "text"]
    if leaks:
        print(
            f"warning: {len(leaks)} dev article(s) also in train (e.g. {leaks[0].record_id}): "
            "dev metrics and tuned thresholds will be optimistic",
            file=sys.stderr,
        )


def seed_everything(seed: int) -> None:
    """Same config and data give the same metrics on CPU."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def load_windows(cfg: TrainConfig, tokenizer: Any) -> datasets.Dataset:
    """Tokenise the training articles into windows with `datasets` (Arrow, cached
    between runs, so a rerun or a second process does not tokenise again)."""
    import datasets

    from salatag.features import featurize_batch

    train = datasets.load_dataset("json", data_files={"train": str(cfg.data.train)})["train"]
    if cfg.data.max_train_articles and cfg.data.max_train_articles < len(train):
        train = train.shuffle(seed=cfg.run.seed).select(range(cfg.data.max_train_articles))
    kwargs = {
        "tokenizer": tokenizer,
        "max_length": cfg.window.max_length,
        "stride": cfg.window.stride,
        "context": cfg.window.context,
    }
    return train.map(
        featurize_batch,
        batched=True,
        batch_size=16,
        fn_kwargs=kwargs,
        remove_columns=train.column_names,
        desc="tokenising train",
    )


def collate(rows: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """A batch of windows with their labels, named as `SalatagModel.forward` takes them."""
    slots = max(max(len(r["para_sectors"]) for r in rows), 1)
    arrays = {
        **pad_windows([r["input_ids"] for r in rows], [r["token_para"] for r in rows], pad_id),
        "tags": pad([r["tags"] for r in rows], -100),
        "sectors": pad([r["para_sectors"] for r in rows], 0.0, np.float32, slots, (len(SECTORS),)),
        "chrome": pad([r["para_chrome"] for r in rows], 0.0, np.float32, slots),
        "slot_mask": pad([[True] * len(r["para_sectors"]) for r in rows], False, np.bool_, slots),
    }
    return {name: torch.from_numpy(a) for name, a in arrays.items()}


def positive_weights(windows: datasets.Dataset, cfg: TrainConfig) -> torch.Tensor:
    """Per-sector negatives/positives over the training paragraphs, clipped: rare
    sectors would otherwise be drowned by the paragraphs that are about nothing."""
    counts = np.zeros(len(SECTORS))
    total = 0
    for row in windows["para_sectors"]:
        for para in row:
            counts += np.array(para)
            total += 1
    weights = (total - counts) / np.maximum(counts, 1)
    return torch.tensor(np.clip(weights, 1.0, cfg.loss.max_pos_weight), dtype=torch.float32)


# --- model and optimiser ------------------------------------------------------------


def loss_settings(cfg: TrainConfig) -> LossSettings:
    """The config's loss weights (a head weighing 0 is not trained)."""
    return LossSettings(
        quotes=cfg.loss.quotes,
        sectors=cfg.loss.sectors,
        chrome=cfg.loss.chrome,
        class_weighting=cfg.loss.class_weighting,
        focal_gamma=cfg.loss.focal_gamma,
        distill=cfg.distill.weight if cfg.distill else 0.0,
        temperature=cfg.distill.temperature if cfg.distill else 1.0,
    )


def build_model(
    cfg: TrainConfig, pos_weight: torch.Tensor, teacher: SalatagModel | None = None
) -> tuple[SalatagModel, ModelMeta]:
    """The model to train and the meta that inference will need to rebuild it; with a
    `teacher` (distillation), its student (salatag.distill.build_student)."""
    from salatag.model import build_encoder

    if teacher is not None:
        from salatag.distill import build_student

        return build_student(cfg, teacher, pos_weight)

    encoder = build_encoder(
        cfg.base_model, cfg.encoder_layers, cfg.finetune.method, cfg.finetune.model_dump()
    )
    model = SalatagModel(
        encoder, encoder.config.hidden_size, loss=loss_settings(cfg), pos_weight=pos_weight
    )
    meta = ModelMeta(
        base_model=cfg.base_model,
        encoder_layers=cfg.encoder_layers,
        finetune=cfg.finetune.method,
        max_length=cfg.window.max_length,
        stride=cfg.window.stride,
        context=cfg.window.context,
    )
    return model, meta


def optimizer_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """Heads and encoder learn at their own rates; frozen encoder weights are left out."""
    head = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    encoder = [
        p for n, p in model.named_parameters() if n.startswith("encoder.") and p.requires_grad
    ]
    groups = [{"params": head, "lr": cfg.optim.head_lr}]
    if encoder:
        groups.append({"params": encoder, "lr": cfg.optim.encoder_lr})
    return groups


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k in names}


# --- one run --------------------------------------------------------------------------


@dataclass
class Run:
    """What a run carries from setup through the epochs to the saved model."""

    cfg: TrainConfig
    accelerator: Accelerator
    model: torch.nn.Module  # prepared by accelerate (DDP-wrapped on several processes)
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    tokenizer: Any
    meta: ModelMeta
    windows: datasets.Dataset
    lengths: list[int]  # tokens per window, for group_by_length
    dev_records: list[Record]
    dev_articles: list[Article]
    progress: dict[str, Any]
    best_state: dict[str, torch.Tensor] | None = None
    teacher: SalatagModel | None = None  # distillation: run per batch, no grad

    @property
    def out_dir(self) -> Path:
        return self.cfg.run.output_dir

    def file(self, name: str) -> Path:
        """A file of the run directory: CHECKPOINT, BEST_STATE, AVERAGE_STATE, LOG."""
        return self.out_dir / name

    @property
    def unwrapped(self) -> SalatagModel:
        return self.accelerator.unwrap_model(self.model)


def setup(cfg: TrainConfig, resume: bool) -> Run:
    """Everything before the first step, in the order that keeps the RNG reproducible."""
    from accelerate import Accelerator
    from transformers import get_linear_schedule_with_warmup

    from salatag.article import Article
    from salatag.encoder import load_tokenizer
    from salatag.records import read_records

    check_data(cfg)
    if cfg.distill is not None:
        from salatag.distill import check_distill

        check_distill(cfg)
    if resume and not (cfg.run.output_dir / "checkpoint" / PROGRESS_FILE).exists():
        raise TrainError(f"--resume: no checkpoint in {cfg.run.output_dir / 'checkpoint'}")
    seed_everything(cfg.run.seed)
    if cfg.run.threads:
        torch.set_num_threads(cfg.run.threads)
    accelerator = Accelerator(
        cpu=cfg.run.device == "cpu", mixed_precision="bf16" if cfg.run.bf16 else "no"
    )
    if cfg.run.device == "cuda" and accelerator.device.type != "cuda":
        raise TrainError("run.device: cuda asked for, but no CUDA GPU is available")
    cfg.run.output_dir.mkdir(parents=True, exist_ok=True)
    if not resume and accelerator.is_main_process:  # an older run's sum is not this run's
        (cfg.run.output_dir / "average_state.pt").unlink(missing_ok=True)
    if accelerator.is_main_process:
        (cfg.run.output_dir / "config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")

    tokenizer = load_tokenizer(cfg.base_model)
    with accelerator.main_process_first():  # one process fills the datasets cache first
        windows = load_windows(cfg, tokenizer)
    dev_records = list(read_records(cfg.data.dev))
    dev_articles = [Article.from_text(r.text, r.id) for r in dev_records]
    teacher = None
    if cfg.distill is not None:
        from salatag.distill import describe, load_teacher

        accelerator.print(describe(cfg))
        teacher = load_teacher(cfg).to(accelerator.device)
    model, meta = build_model(cfg, positive_weights(windows, cfg), teacher)
    optimizer = torch.optim.AdamW(optimizer_groups(model, cfg), weight_decay=cfg.optim.weight_decay)
    # optimizer steps each process takes: the loader's batches are dealt out to processes
    batches = math.ceil(math.ceil(len(windows) / cfg.optim.batch_size) / accelerator.num_processes)
    total = math.ceil(batches / cfg.optim.grad_accum) * cfg.optim.epochs
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(total * cfg.optim.warmup_ratio), total
    )
    # not `prepare`d: accelerate's scheduler wrapper would step once per process per step
    accelerator.register_for_checkpointing(scheduler)
    accelerator.register_save_state_pre_hook(_save_trainable)
    accelerator.register_load_state_pre_hook(_load_trainable)
    model, optimizer = accelerator.prepare(model, optimizer)
    run = Run(
        cfg=cfg,
        accelerator=accelerator,
        model=model,
        optimizer=optimizer,
        scheduler=scheduler,
        tokenizer=tokenizer,
        meta=meta,
        windows=windows,
        lengths=[len(ids) for ids in windows["input_ids"]],
        dev_records=dev_records,
        dev_articles=dev_articles,
        progress={
            "epoch": 0,
            "batch": 0,
            "global_step": 0,
            "best": -1.0,
            "bad_epochs": 0,
            "history": [],
        },
        teacher=teacher,
    )
    if resume:
        load_checkpoint(run)
    return run


def _save_trainable(models: list[torch.nn.Module], weights: list[dict], _dir: str) -> None:
    """accelerate's save_state hook: keep the weights that train (LoRA or layers, heads),
    by their names in the unwrapped model. The frozen rest is rebuilt from the base
    model and would be most of the bytes."""
    from accelerate.utils import extract_model_from_parallel

    for i, model in enumerate(models):
        inner = extract_model_from_parallel(model)
        names = {n for n, p in inner.named_parameters() if p.requires_grad}
        state = inner.state_dict()
        weights[i] = {k: state[k].detach().cpu().contiguous() for k in sorted(names)}


def _load_trainable(models: list[torch.nn.Module], input_dir: str) -> None:
    """accelerate's load_state hook, the other half of `_save_trainable`: the weights go
    into the unwrapped model, and a checkpoint that lacks one of them is refused (a
    non-strict load would silently keep the fresh weights)."""
    from accelerate.utils import extract_model_from_parallel
    from safetensors.torch import load_file

    for i, model in enumerate(models):
        path = Path(input_dir) / ("model.safetensors" if i == 0 else f"model_{i}.safetensors")
        inner = extract_model_from_parallel(model)
        result = inner.load_state_dict(load_file(str(path)), strict=False)
        trainable = {n for n, p in inner.named_parameters() if p.requires_grad}
        if result.unexpected_keys or trainable & set(result.missing_keys):
            raise TrainError(
                f"--resume: the checkpoint in {input_dir} is not of this config's model"
            )
    models.clear()  # loaded: accelerate's own loading skips them


def save_checkpoint(run: Run) -> None:
    """Atomic: written beside, then renamed over the old checkpoint. Every process
    calls it (each saves its own RNG state); the main process writes the rest."""
    acc, path = run.accelerator, run.file(CHECKPOINT)
    tmp = path.with_name(path.name + ".tmp")
    if acc.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
    acc.wait_for_everyone()
    acc.save_state(str(tmp))
    acc.wait_for_everyone()
    if acc.is_main_process:
        (tmp / PROGRESS_FILE).write_text(json.dumps(run.progress, indent=1))
        old = path.with_name(path.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    acc.wait_for_everyone()


def load_checkpoint(run: Run) -> None:
    """Weights, optimizer, scheduler and RNG states as saved; the log cut back to the
    checkpoint (a killed run may have written lines after it)."""
    checkpoint = run.file(CHECKPOINT)
    if not (checkpoint / "optimizer.bin").exists():
        raise TrainError(
            f"--resume: {checkpoint} has no optimizer.bin (an older salatag's checkpoint, "
            "or a damaged one): start the run again without --resume"
        )
    run.accelerator.load_state(str(run.file(CHECKPOINT)))
    run.progress = json.loads((run.file(CHECKPOINT) / PROGRESS_FILE).read_text())
    if run.accelerator.is_main_process:
        run.file(LOG).write_text("".join(json.dumps(h) + "\n" for h in run.progress["history"]))
    if run.file(BEST_STATE).exists():
        run.best_state = torch.load(run.file(BEST_STATE), weights_only=False)
    run.accelerator.print(
        f"resuming at epoch {run.progress['epoch'] + 1}, batch {run.progress['batch']}"
    )


# --- the epochs -----------------------------------------------------------------------


def epoch_loader(run: Run, epoch: int) -> torch.utils.data.DataLoader:
    """The epoch's batches in a seeded order (the same after a resume)."""
    from torch.utils.data import DataLoader
    from transformers.trainer_pt_utils import get_length_grouped_indices

    cfg = run.cfg
    shuffle = torch.Generator().manual_seed(cfg.run.seed + epoch)
    if cfg.optim.group_by_length:
        order = get_length_grouped_indices(run.lengths, cfg.optim.batch_size, generator=shuffle)
    else:
        order = torch.randperm(len(run.windows), generator=shuffle).tolist()
    pad_id = run.tokenizer.pad_token_id
    loader = DataLoader(
        run.windows.select(order),
        batch_size=cfg.optim.batch_size,
        shuffle=False,
        collate_fn=lambda rows: collate(rows, pad_id),
        # its own generator: starting an iterator draws a seed, and drawing it from the
        # global RNG would shift every dropout mask after a mid-epoch resume
        generator=torch.Generator().manual_seed(cfg.run.seed + epoch),
    )
    return run.accelerator.prepare(loader)


def train_epoch(run: Run, epoch: int) -> dict[str, float]:
    """One pass over the epoch's batches (those after the checkpoint when resuming);
    returns this process's mean batch loss (`train_loss`) and, when distilling, the
    mean of the distillation term alone (`train_distill_loss`, before its weight)."""
    from tqdm.auto import tqdm

    from salatag.distill import teacher_logits

    acc, cfg, progress = run.accelerator, run.cfg, run.progress
    loader = epoch_loader(run, epoch)
    skip, n = progress["batch"], len(loader)
    batches = acc.skip_first_batches(loader, skip) if skip else loader
    run.model.train()
    bar = tqdm(
        total=n,
        initial=skip,
        desc=f"epoch {epoch + 1}/{cfg.optim.epochs}",
        disable=None if acc.is_main_process else True,
    )
    running, distilling, started = 0.0, 0.0, time.time()
    for i, batch in enumerate(batches, start=skip):
        with acc.accumulate(run.model), acc.autocast():
            if run.teacher is not None:
                batch |= teacher_logits(run.teacher, batch)
            out = run.model(**batch)
            loss = out.loss / cfg.optim.grad_accum
            acc.backward(loss)
        if out.distill_loss is not None:
            distilling += out.distill_loss.item()
        if (i + 1) % cfg.optim.grad_accum == 0 or i + 1 == n:
            acc.clip_grad_norm_(run.model.parameters(), cfg.optim.max_grad_norm)
            run.optimizer.step()
            run.scheduler.step()
            run.optimizer.zero_grad()
            progress["global_step"] += 1
            if progress["global_step"] % cfg.run.checkpoint_every == 0:
                progress["batch"] = i + 1
                save_checkpoint(run)
        running += loss.item() * cfg.optim.grad_accum
        mean = running / (i + 1 - skip)
        bar.update(1)
        bar.set_postfix(loss=f"{mean:.4f}")
        if bar.disable and (i + 1) % max(n // 10, 1) == 0:  # logs, not a TTY
            acc.print(
                f"epoch {epoch + 1} batch {i + 1}/{n} loss {mean:.4f} "
                f"({time.time() - started:.0f}s)",
                flush=True,
            )
    bar.close()
    means = {"train_loss": running / max(n - skip, 1)}
    if run.teacher is not None:
        means["train_distill_loss"] = distilling / max(n - skip, 1)
    return means


def evaluate_dev(
    model: SalatagModel,
    tokenizer: Any,
    meta: ModelMeta,
    dev_records: list[Record],
    articles: list[Article],
    device: torch.device,
) -> tuple[dict[str, float], list[Record]]:
    """Dev metrics through the real tagger (windows, merging, decoding), so early
    stopping watches what users get; returns the summary and the predictions."""
    from salatag.metrics import body_accuracy, dev_score, quote_metrics, sector_metrics
    from salatag.tagger import Tagger

    was_training = model.training
    tagger = Tagger(model, tokenizer, meta, device=device.type, batch_size=32)
    preds = tagger.tag(articles, include_text=False)  # scored on the gold text
    model.train(was_training)
    sectors, quotes = sector_metrics(dev_records, preds), quote_metrics(dev_records, preds)
    summary = {
        "sector_macro_f1": sectors["macro_f1"],
        "sector_micro_f1": sectors["micro_f1"],
        "sector_pr_auc": float(np.nanmean([v["pr_auc"] for v in sectors["per_label"].values()])),
        "quote_token_f1": quotes["token"]["f1"],
        "quote_span_f1": quotes["span_overlap"]["f1"],
        "speaker_accuracy": quotes["speaker_accuracy"],
        "body_accuracy": body_accuracy(dev_records, preds),
        "score": dev_score(dev_records, preds),
    }
    return summary, preds


def end_epoch(run: Run, epoch: int, train: dict[str, float], started: float) -> bool:
    """Score dev, log, keep the best weights, checkpoint; True when patience ran out.
    `train`: the epoch's mean losses, from `train_epoch`."""
    acc, progress = run.accelerator, run.progress
    unwrapped = run.unwrapped
    dev, _ = evaluate_dev(
        unwrapped, run.tokenizer, run.meta, run.dev_records, run.dev_articles, acc.device
    )
    if acc.num_processes > 1:  # each process saw its own batches: the mean of their means
        train = {
            k: acc.reduce(torch.tensor(v, device=acc.device), "mean").item()
            for k, v in train.items()
        }
    line = {
        "epoch": epoch + 1,
        **train,
        "processes": acc.num_processes,
        "seconds": round(time.time() - started, 1),  # training and dev scoring
        **dev,
    }
    progress["history"].append(line)
    if acc.is_main_process:
        with open(run.file(LOG), "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
        acc.print(json.dumps(line))
    if dev["score"] > progress["best"]:
        progress["best"], progress["bad_epochs"] = dev["score"], 0
        run.best_state = saved_weights(unwrapped)
        if acc.is_main_process:
            torch.save(run.best_state, run.file(BEST_STATE))
    else:
        progress["bad_epochs"] += 1
    if epoch + 1 > run.cfg.optim.epochs - run.cfg.run.average_last and acc.is_main_process:
        add_to_average(run.file(AVERAGE_STATE), saved_weights(unwrapped), epoch + 1)
    progress["epoch"], progress["batch"] = epoch + 1, 0
    save_checkpoint(run)
    return progress["bad_epochs"] >= run.cfg.run.patience


def saved_weights(model: SalatagModel) -> dict[str, torch.Tensor]:
    """What a model directory stores: the weights that train, and the heads."""
    heads = {k: v.detach().cpu().clone() for k, v in model.heads_state().items()}
    return trainable_state(model) | heads


def add_to_average(path: Path, weights: dict[str, torch.Tensor], epoch: int) -> None:
    """A running sum on disk (written beside, then renamed), keyed by epoch, so a run
    killed and resumed averages the same epochs, once each, as an unbroken one."""
    total = torch.load(path, weights_only=False) if path.exists() else {"epochs": [], "sum": {}}
    if epoch in total["epochs"]:
        return
    for k, v in weights.items():
        total["sum"][k] = total["sum"].get(k, 0) + v.float()
    total["epochs"].append(epoch)
    tmp = path.with_suffix(".tmp")
    torch.save(total, tmp)
    tmp.replace(path)


def take_average_if_better(run: Run) -> None:
    """Score the averaged weights on dev; keep them when they beat the best epoch."""
    if not run.cfg.run.average_last or not run.file(AVERAGE_STATE).exists():
        return
    total = torch.load(run.file(AVERAGE_STATE), weights_only=False)
    n = len(total["epochs"])
    if n < 2:
        return
    dtypes = {k: v.dtype for k, v in run.unwrapped.state_dict().items()}
    average = {k: (v / n).to(dtypes[k]) for k, v in total["sum"].items()}
    run.unwrapped.load_state_dict(average, strict=False)
    args = (run.tokenizer, run.meta, run.dev_records, run.dev_articles, run.accelerator.device)
    dev, _ = evaluate_dev(run.unwrapped, *args)
    line = {"averaged_epochs": total["epochs"], **dev, "best_epoch_score": run.progress["best"]}
    if run.accelerator.is_main_process:
        with open(run.file(LOG), "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
        run.accelerator.print(json.dumps(line))
    if dev["score"] > run.progress["best"]:
        run.best_state = average


# --- the end ------------------------------------------------------------------------


def finish(run: Run) -> Path:
    """Back to the best epoch's weights, thresholds tuned on dev, the model directory
    written (by the main process); returns its path."""
    from salatag.metrics import sector_metrics, tune_thresholds
    from salatag.model import save_model

    acc, cfg, meta = run.accelerator, run.cfg, run.meta
    unwrapped = run.unwrapped
    take_average_if_better(run)
    if run.best_state is not None:
        unwrapped.load_state_dict(run.best_state, strict=False)
    args = (run.tokenizer, meta, run.dev_records, run.dev_articles, acc.device)
    _, preds = evaluate_dev(unwrapped, *args)
    meta.thresholds = tune_thresholds(run.dev_records, preds)
    tuned, preds = evaluate_dev(unwrapped, *args)
    history = run.progress["history"]
    metrics = {
        "dev": tuned,
        "dev_at_0.5": history and max(history, key=lambda h: h["score"]),
        "thresholds": meta.thresholds,
        "sector_dev": sector_metrics(run.dev_records, preds),
    }
    data_hashes = {"train": sha256(cfg.data.train), "dev": sha256(cfg.data.dev)}
    model_dir = run.out_dir / "model"
    if acc.is_main_process:
        files = {
            "config.yaml": cfg.to_yaml(),
            "metrics.json": json.dumps(metrics, indent=2) + "\n",
            "data.json": json.dumps(data_hashes, indent=2) + "\n",
        }
        save_model(unwrapped, meta, model_dir, files)
        acc.print(f"saved {model_dir}  dev: {json.dumps(tuned)}")
    return model_dir


def fit(cfg: TrainConfig, resume: bool = False) -> Path:
    """Train from `cfg` (or continue its killed run); returns the model directory."""
    run = setup(cfg, resume)
    for epoch in range(run.progress["epoch"], cfg.optim.epochs):
        started = time.time()
        if end_epoch(run, epoch, train_epoch(run, epoch), started):
            run.accelerator.print(f"early stop: no dev improvement for {cfg.run.patience} epochs")
            break
    return finish(run)
