"""Train salatag from a config file.

    python -m train configs/default.yaml [--set optim.epochs=3 ...] [--resume]
    accelerate launch -m train configs/default.yaml      # several GPUs / processes
    accelerate launch --multi_gpu --num_processes 2 -m train configs/cpu-small.yaml
                                                         # processes on CPU (gloo)

optim.batch_size is per process: the global batch is batch_size x processes.

Writes OUTPUT_DIR/model (the self-contained model directory inference loads),
OUTPUT_DIR/log.jsonl (one line of dev metrics per epoch), OUTPUT_DIR/config.yaml, and
OUTPUT_DIR/checkpoint (for --resume; at most `run.checkpoint_every` steps are lost).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from salatag.config import ConfigError, TrainConfig, load_config
from salatag.errors import InputError
from salatag.labels import SECTORS
from salatag.validate import validate_files


class TrainError(InputError, RuntimeError):
    """A problem found before or during training that the user can fix."""


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
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def load_windows(cfg: TrainConfig, tokenizer):  # type: ignore[no-untyped-def]
    """Tokenise the corpus into windows with `datasets` (Arrow, cached between runs)."""
    import datasets

    from salatag.features import featurize_batch

    raw = datasets.load_dataset(
        "json", data_files={"train": str(cfg.data.train), "dev": str(cfg.data.dev)}
    )
    train = raw["train"]
    if cfg.data.max_train_articles and cfg.data.max_train_articles < len(train):
        train = train.shuffle(seed=cfg.run.seed).select(range(cfg.data.max_train_articles))
    kwargs = {
        "tokenizer": tokenizer,
        "max_length": cfg.window.max_length,
        "stride": cfg.window.stride,
        "context": cfg.window.context,
    }
    windows = train.map(
        featurize_batch,
        batched=True,
        batch_size=16,
        fn_kwargs=kwargs,
        remove_columns=train.column_names,
        desc="tokenising train",
    )
    return windows, raw["dev"]


def collate(rows: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(r["input_ids"]) for r in rows)
    slots = max(max(len(r["para_sectors"]) for r in rows), 1)
    batch = {
        "input_ids": torch.full((len(rows), width), pad_id, dtype=torch.long),
        "attention_mask": torch.zeros((len(rows), width), dtype=torch.long),
        "token_para": torch.full((len(rows), width), -1, dtype=torch.long),
        "tags": torch.full((len(rows), width), -100, dtype=torch.long),
        "sectors": torch.zeros((len(rows), slots, len(SECTORS))),
        "chrome": torch.zeros((len(rows), slots)),
        "slot_mask": torch.zeros((len(rows), slots), dtype=torch.bool),
    }
    for i, r in enumerate(rows):
        n, p = len(r["input_ids"]), len(r["para_sectors"])
        batch["input_ids"][i, :n] = torch.tensor(r["input_ids"])
        batch["attention_mask"][i, :n] = 1
        batch["token_para"][i, :n] = torch.tensor(r["token_para"])
        batch["tags"][i, :n] = torch.tensor(r["tags"])
        if p:
            batch["sectors"][i, :p] = torch.tensor(r["para_sectors"])
            batch["chrome"][i, :p] = torch.tensor(r["para_chrome"])
            batch["slot_mask"][i, :p] = True
    return batch


def positive_weights(windows, cfg: TrainConfig) -> torch.Tensor:  # type: ignore[no-untyped-def]
    counts = np.zeros(len(SECTORS))
    total = 0
    for row in windows["para_sectors"]:
        for para in row:
            counts += np.array(para)
            total += 1
    weights = (total - counts) / np.maximum(counts, 1)
    return torch.tensor(np.clip(weights, 1.0, cfg.loss.max_pos_weight), dtype=torch.float32)


def compute_loss(out, batch, cfg: TrainConfig, pos_weight: torch.Tensor) -> torch.Tensor:  # type: ignore[no-untyped-def]
    import torch.nn.functional as F

    loss = torch.zeros((), device=out.tag_logits.device)
    mask = batch["slot_mask"]
    slots = out.sector_logits.shape[1]
    if cfg.heads.quotes and cfg.loss.quotes:
        tag_loss = F.cross_entropy(
            out.tag_logits.float().reshape(-1, out.tag_logits.shape[-1]),
            batch["tags"].reshape(-1),
            ignore_index=-100,
        )
        loss = loss + cfg.loss.quotes * tag_loss
    if cfg.heads.sectors and cfg.loss.sectors and mask.any():
        logits = out.sector_logits.float()[mask[:, :slots]]
        target = batch["sectors"][:, :slots][mask[:, :slots]]
        weight = pos_weight.to(logits.device) if cfg.loss.class_weighting == "pos_weight" else None
        per = F.binary_cross_entropy_with_logits(
            logits, target, pos_weight=weight, reduction="none"
        )
        if cfg.loss.class_weighting == "focal":
            p = torch.sigmoid(logits)
            p_t = p * target + (1 - p) * (1 - target)
            per = per * (1 - p_t) ** cfg.loss.focal_gamma
        loss = loss + cfg.loss.sectors * per.mean()
    if cfg.heads.chrome and cfg.loss.chrome and mask.any():
        logits = out.chrome_logits.float()[mask[:, :slots]]
        target = batch["chrome"][:, :slots][mask[:, :slots]]
        loss = loss + cfg.loss.chrome * F.binary_cross_entropy_with_logits(logits, target)
    return loss


def evaluate_dev(model, tokenizer, meta, dev_records, articles, device) -> tuple[dict, list]:  # type: ignore[no-untyped-def]
    from salatag.metrics import body_accuracy, dev_score, quote_metrics, sector_metrics
    from salatag.tagger import Tagger

    was_training = model.training
    tagger = Tagger(model, tokenizer, meta, device=device.type, batch_size=32)
    preds = tagger.tag(articles, include_text=False)
    for pred, gold in zip(preds, dev_records, strict=True):
        pred["text"] = gold["text"]
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


def trainable_state(model) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k in names}


def save_checkpoint(path: Path, model, optimizer, scheduler, progress: dict) -> None:  # type: ignore[no-untyped-def]
    """Atomic: written beside, then renamed over the old checkpoint."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(
        {
            "model": trainable_state(model),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "numpy": np.random.get_state(),
                "python": random.getstate(),
            },
        },
        tmp / "state.pt",
    )
    (tmp / "progress.json").write_text(json.dumps(progress, indent=1))
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)


def train(cfg: TrainConfig, resume: bool = False) -> dict:
    from accelerate import Accelerator
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup
    from transformers.trainer_pt_utils import get_length_grouped_indices

    from salatag.article import Article
    from salatag.encoder import load_tokenizer
    from salatag.metrics import quote_metrics, sector_metrics, tune_thresholds
    from salatag.model import ModelMeta, SalatagModel, build_encoder, save_model
    from salatag.records import read_records

    check_data(cfg)
    out_dir = cfg.run.output_dir
    ckpt_dir = out_dir / "checkpoint"
    if resume and not (ckpt_dir / "progress.json").exists():
        raise TrainError(f"--resume: no checkpoint in {ckpt_dir}")
    seed_everything(cfg.run.seed)
    if cfg.run.threads:
        torch.set_num_threads(cfg.run.threads)
    accelerator = Accelerator(
        cpu=cfg.run.device == "cpu", mixed_precision="bf16" if cfg.run.bf16 else "no"
    )
    if cfg.run.device == "cuda" and accelerator.device.type != "cuda":
        raise TrainError("run.device: cuda asked for, but no CUDA GPU is available")
    out_dir.mkdir(parents=True, exist_ok=True)
    if accelerator.is_main_process:
        (out_dir / "config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")

    tokenizer = load_tokenizer(cfg.base_model)
    with accelerator.main_process_first():  # one process fills the datasets cache first
        windows, _dev_raw = load_windows(cfg, tokenizer)
    dev_records = [r.to_dict() for r in read_records(cfg.data.dev)]
    dev_articles = [Article.from_text(r["text"], r["id"]) for r in dev_records]
    pos_weight = positive_weights(windows, cfg)

    encoder = build_encoder(
        cfg.base_model, cfg.encoder_layers, cfg.finetune.method, cfg.finetune.model_dump()
    )
    model = SalatagModel(encoder, encoder.config.hidden_size)
    meta = ModelMeta(
        cfg.base_model,
        cfg.encoder_layers,
        cfg.finetune.method,
        cfg.window.max_length,
        cfg.window.stride,
        cfg.window.context,
    )
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    enc_params = [
        p for n, p in model.named_parameters() if n.startswith("encoder.") and p.requires_grad
    ]
    groups = [{"params": head_params, "lr": cfg.optim.head_lr}]
    if enc_params:
        groups.append({"params": enc_params, "lr": cfg.optim.encoder_lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=cfg.optim.weight_decay)
    pad = tokenizer.pad_token_id
    # optimizer steps each process takes: the loader's batches are dealt out to processes
    batches = math.ceil(math.ceil(len(windows) / cfg.optim.batch_size) / accelerator.num_processes)
    steps_per_epoch = math.ceil(batches / cfg.optim.grad_accum)
    total = steps_per_epoch * cfg.optim.epochs
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(total * cfg.optim.warmup_ratio), total
    )
    progress = {
        "epoch": 0,
        "batch": 0,
        "global_step": 0,
        "best": -1.0,
        "bad_epochs": 0,
        "history": [],
    }
    if resume:
        state = torch.load(ckpt_dir / "state.pt", weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
        progress = json.loads((ckpt_dir / "progress.json").read_text())
        accelerator.print(f"resuming at epoch {progress['epoch'] + 1}, batch {progress['batch']}")
    model, optimizer = accelerator.prepare(model, optimizer)
    log_path = out_dir / "log.jsonl"
    if resume:  # drop lines the killed run wrote after its last checkpoint
        log_path.write_text("".join(json.dumps(h) + "\n" for h in progress["history"]))
    best_state = None
    best_path = out_dir / "best_state.pt"
    if resume and best_path.exists():
        best_state = torch.load(best_path, weights_only=False)

    lengths = [len(ids) for ids in windows["input_ids"]]
    for epoch in range(progress["epoch"], cfg.optim.epochs):
        shuffle = torch.Generator().manual_seed(cfg.run.seed + epoch)
        if cfg.optim.group_by_length:
            order = get_length_grouped_indices(lengths, cfg.optim.batch_size, generator=shuffle)
        else:
            order = torch.randperm(len(windows), generator=shuffle).tolist()
        loader = DataLoader(
            windows.select(order),
            batch_size=cfg.optim.batch_size,
            shuffle=False,
            collate_fn=lambda rows: collate(rows, pad),
            # its own generator: starting an iterator draws a seed, and drawing it from the
            # global RNG would shift every dropout mask after a mid-epoch resume
            generator=torch.Generator().manual_seed(cfg.run.seed + epoch),
        )
        loader = accelerator.prepare(loader)
        model.train()
        bar = tqdm(
            total=len(loader),
            desc=f"epoch {epoch + 1}/{cfg.optim.epochs}",
            disable=None if accelerator.is_main_process else True,
        )
        skip = progress["batch"]
        running = 0.0
        started = time.time()
        for i, batch in enumerate(loader):
            if i < skip:
                bar.update(1)
                continue
            with accelerator.accumulate(model), accelerator.autocast():
                out = model(batch["input_ids"], batch["attention_mask"], batch["token_para"])
                loss = compute_loss(out, batch, cfg, pos_weight) / cfg.optim.grad_accum
                accelerator.backward(loss)
            if (i + 1) % cfg.optim.grad_accum == 0 or i + 1 == len(loader):
                accelerator.clip_grad_norm_(model.parameters(), cfg.optim.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                progress["global_step"] += 1
                if progress["global_step"] % cfg.run.checkpoint_every == 0:
                    progress["batch"] = i + 1
                    if accelerator.is_main_process:
                        save_checkpoint(
                            ckpt_dir,
                            accelerator.unwrap_model(model),
                            optimizer,
                            scheduler,
                            progress,
                        )
            running += loss.item() * cfg.optim.grad_accum
            bar.update(1)
            bar.set_postfix(loss=f"{running / (i + 1 - skip):.4f}")
            if bar.disable and (i + 1) % max(len(loader) // 10, 1) == 0:  # logs, not a TTY
                accelerator.print(
                    f"epoch {epoch + 1} batch {i + 1}/{len(loader)} "
                    f"loss {running / (i + 1 - skip):.4f} "
                    f"({time.time() - started:.0f}s)",
                    flush=True,
                )
        bar.close()
        unwrapped = accelerator.unwrap_model(model)
        dev, _ = evaluate_dev(
            unwrapped, tokenizer, meta, dev_records, dev_articles, accelerator.device
        )
        # each process saw its own batches: the mean of their means is the epoch's loss
        train_loss = running / max(len(loader) - skip, 1)
        if accelerator.num_processes > 1:
            train_loss = accelerator.reduce(
                torch.tensor(train_loss, device=accelerator.device), reduction="mean"
            ).item()
        line = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "processes": accelerator.num_processes,
            "seconds": round(time.time() - started, 1),
            **dev,
        }
        progress["history"].append(line)
        if accelerator.is_main_process:
            with open(log_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line) + "\n")
            accelerator.print(json.dumps(line))
        improved = dev["score"] > progress["best"]
        if improved:
            progress["best"], progress["bad_epochs"] = dev["score"], 0
            best_state = trainable_state(unwrapped) | {
                k: v.detach().cpu().clone() for k, v in unwrapped.heads_state().items()
            }
            if accelerator.is_main_process:
                torch.save(best_state, best_path)
        else:
            progress["bad_epochs"] += 1
        progress["epoch"], progress["batch"] = epoch + 1, 0
        if accelerator.is_main_process:
            save_checkpoint(ckpt_dir, unwrapped, optimizer, scheduler, progress)
        if progress["bad_epochs"] >= cfg.run.patience:
            accelerator.print(f"early stop: no dev improvement for {cfg.run.patience} epochs")
            break

    unwrapped = accelerator.unwrap_model(model)
    if best_state is not None:
        unwrapped.load_state_dict(best_state, strict=False)
    _, preds = evaluate_dev(
        unwrapped, tokenizer, meta, dev_records, dev_articles, accelerator.device
    )
    meta.thresholds = tune_thresholds(dev_records, preds)
    tuned, _ = evaluate_dev(
        unwrapped, tokenizer, meta, dev_records, dev_articles, accelerator.device
    )
    metrics = {
        "dev": tuned,
        "dev_at_0.5": progress["history"] and max(progress["history"], key=lambda h: h["score"]),
        "thresholds": meta.thresholds,
        "sector_dev": sector_metrics(
            dev_records,
            _retag(unwrapped, tokenizer, meta, dev_articles, dev_records, accelerator.device),
        ),
    }
    del quote_metrics  # dev quote figures are in metrics["dev"]
    data_hashes = {"train": sha256(cfg.data.train), "dev": sha256(cfg.data.dev)}
    if accelerator.is_main_process:
        save_model(
            unwrapped,
            meta,
            out_dir / "model",
            {
                "config.yaml": cfg.to_yaml(),
                "metrics.json": json.dumps(metrics, indent=2) + "\n",
                "data.json": json.dumps(data_hashes, indent=2) + "\n",
            },
        )
        accelerator.print(f"saved {out_dir / 'model'}  dev: {json.dumps(tuned)}")
    return metrics


def _retag(model, tokenizer, meta, articles, records, device) -> list[dict]:  # type: ignore[no-untyped-def]
    from salatag.tagger import Tagger

    preds = Tagger(model, tokenizer, meta, device=device.type).tag(articles, include_text=False)
    for p, g in zip(preds, records, strict=True):
        p["text"] = g["text"]
    return preds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", type=Path, help="YAML config, e.g. configs/default.yaml")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (repeatable)",
    )
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, args.overrides)
        train(cfg, resume=args.resume)
    except (ConfigError, TrainError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # user-facing errors from the libraries we call
        from salatag.encoder import EncoderError
        from salatag.model import ModelError

        if isinstance(err, EncoderError | ModelError):
            print(f"error: {err}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
