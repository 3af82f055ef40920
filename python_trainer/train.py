"""The training loop: pretrain and finetune share it.

* AdamW, linear warm-up then cosine decay (per step), gradient clipping;
* validation loss every epoch, early stopping with patience, ``best.pt`` kept;
* a checkpoint after every epoch, written atomically (``last.pt``): model, optimizer, scheduler,
  epoch, best loss, history, configs. ``--resume`` continues exactly (each epoch's event order is a
  function of seed and epoch, so an interrupted run and an uninterrupted one reach the same weights);
* Ctrl-C / SIGTERM stop after saving nothing half-written: at most the current epoch is lost;
* CUDA: bf16 autocast (SDPA picks flash/efficient kernels); several GPUs: ``torchrun`` (DDP), only
  rank 0 logs and writes;
* per-epoch log as CSV and JSON next to the checkpoints.

Single process::

    python -m python_trainer pretrain shards/clic/*.npz --output runs/clic
DDP::

    torchrun --nproc_per_node 4 -m python_trainer pretrain shards/clic/*.npz --output runs/clic
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch

from k4mlpf.atomic import atomic_path
from k4mlpf.model import MLPF, MLPFConfig, load_config, mlpf_loss

from .checkpoint import CHECKPOINT_FORMAT, CheckpointError, load_checkpoint, load_state_checked, save_checkpoint
from .data import EventSet, batches, make_batch, model_inputs

STRATEGIES = ("full", "heads", "freeze-cls", "freeze-reg", "scratch")


@dataclass
class TrainConfig:
    model: str = "small"
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    lr_scale_with_world: bool = True
    weight_decay: float = 0.01
    warmup_steps: int = 50
    min_lr_ratio: float = 0.01
    grad_clip: float = 1.0
    patience: int = 5
    val_fraction: float = 0.1
    seed: int = 1
    strategy: str = "full"
    max_steps: int = 0  # stop after this many optimizer steps in total (0: no limit); for smoke runs
    schedule_steps: int = 0  # steps the warm-up + cosine runs over (0: epochs x steps per epoch)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, overrides: dict | None = None) -> "TrainConfig":
        import yaml

        with open(path) as stream:
            values = yaml.safe_load(stream) or {}
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{path}: unknown training option(s) {unknown}; known: {sorted(known)}")
        config = cls(**values)
        if config.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, not {config.strategy!r}")
        return config


# -- distributed ------------------------------------------------------------------------------------
@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> tuple[Dist, torch.device]:
    """DDP when launched by torchrun (RANK set), else one process. Resolves --device auto|cpu|cuda."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda requested but no CUDA device is available")
    if int(os.environ.get("RANK", -1)) == -1:
        return Dist(), torch.device(device)
    import torch.distributed as dist

    info = Dist(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    if device == "cuda":
        torch.cuda.set_device(info.local_rank)
        return info, torch.device("cuda", info.local_rank)
    return info, torch.device("cpu")


# -- model set-up -----------------------------------------------------------------------------------
def apply_strategy(model: MLPF, strategy: str) -> None:
    """Freeze parts of a fine-tuned model: heads only, or one of the two encoders."""
    frozen = {"heads": ("id_encoder", "reg_encoder"), "freeze-cls": ("id_encoder",),
              "freeze-reg": ("reg_encoder",)}.get(strategy, ())
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(not name.startswith(frozen))


# -- schedule -----------------------------------------------------------------------------------------
def lr_lambda(warmup: int, total: int, min_ratio: float):
    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def _raise_stop(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt


# -- the loop -------------------------------------------------------------------------------------------
def evaluate_loss(model, events: EventSet, batch_size: int, device, amp) -> dict[str, float]:
    model.eval()
    sums: dict[str, float] = {}
    n = 0
    with torch.no_grad():
        for index in batches(len(events), batch_size, seed=None):
            batch = make_batch(events, index)
            with amp():
                out = model(*model_inputs(batch, device))
            _, parts = mlpf_loss(_float(out), {k: v.to(device) for k, v in batch.items() if k.startswith("target_")})
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + float(v) * len(index)
            n += len(index)
    return {k: v / max(n, 1) for k, v in sums.items()}


def _float(out: dict) -> dict:
    return {k: (v.float() if torch.is_floating_point(v) else v) for k, v in out.items()}


@dataclass
class Progress:
    """What a checkpoint carries besides the weights: where the run stands."""

    epoch: int = 0
    step: int = 0
    best: float = math.inf
    stale: int = 0
    history: list = field(default_factory=list)


def configure_optimizers(model: MLPF, config: TrainConfig, world: int, steps_per_epoch: int):
    """AdamW (weight decay on matrices only; lr scaled with the number of processes) and the
    per-step warm-up + cosine schedule."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    lr = config.lr * (world if config.lr_scale_with_world else 1)
    decay = [p for p in trainable if p.dim() >= 2]
    no_decay = [p for p in trainable if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    total_steps = config.schedule_steps or steps_per_epoch * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(config.warmup_steps, total_steps,
                                                                       config.min_lr_ratio))
    return optimizer, scheduler


def build_model(train_events: EventSet, config: TrainConfig, output: Path, *, resume: bool,
                init_state: dict | None, model_config: MLPFConfig | None) -> tuple[MLPF, dict | None, MLPFConfig]:
    """The model to train: resumed from OUTPUT/last.pt, or fresh (optionally from a backbone state),
    with the fine-tuning strategy's parameters frozen. Returns (model, resumed checkpoint, config)."""
    last = output / "last.pt"
    checkpoint = None
    if resume:
        if not last.exists():
            raise CheckpointError(f"{last}: nothing to resume (no last.pt in {output})")
        checkpoint = load_checkpoint(last)
        model_config = MLPFConfig.from_dict(checkpoint["model_config"])
        if abs(checkpoint["b_field"] - train_events.b_field) > 1e-6:
            raise CheckpointError(f"{last}: trained for B = {checkpoint['b_field']} T, data has {train_events.b_field} T")
    model_config = model_config or load_config(config.model)
    model = MLPF(model_config, b_field=train_events.b_field)
    if checkpoint is not None:
        load_state_checked(model, checkpoint["model"], str(last))
    elif init_state is not None:
        load_state_checked(model, init_state, "backbone")
    apply_strategy(model, config.strategy)
    return model, checkpoint, model_config


def run_epoch(net, events: EventSet, config: TrainConfig, optimizer, scheduler, progress: Progress, dev, amp,
              dist_info: Dist, show: bool) -> tuple[dict[str, float], int]:
    """One pass over the training events (a seeded, size-bucketed order); returns the summed loss
    parts per event and the number of events seen. Stops early at ``config.max_steps``."""
    from tqdm import tqdm

    net.train()
    trainable = [p for p in net.parameters() if p.requires_grad]
    sums, n = {}, 0
    sizes = events.arrays["track_counts"] + events.arrays["cluster_counts"]
    order = batches(len(events), config.batch_size, seed=config.seed * 1000 + progress.epoch,
                    rank=dist_info.rank, world=dist_info.world, sizes=sizes)
    bar = tqdm(list(order), desc=f"epoch {progress.epoch + 1}/{config.epochs}", unit="batch", disable=not show,
               leave=False)
    for index in bar:
        batch = make_batch(events, index)
        with amp():
            out = net(*model_inputs(batch, dev))
        loss, parts = mlpf_loss(_float(out), {k: v.to(dev) for k, v in batch.items() if k.startswith("target_")})
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
        optimizer.step()
        scheduler.step()
        progress.step += 1
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + float(v) * len(index)
        n += len(index)
        bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{scheduler.get_last_lr()[0]:.2e}")
        if config.max_steps and progress.step >= config.max_steps:
            break
    return sums, n


def train(train_events: EventSet, val_events: EventSet, config: TrainConfig, output: str | os.PathLike, *,
          device: str = "auto", resume: bool = False, init_state: dict | None = None,
          model_config: MLPFConfig | None = None, info: dict | None = None, progress: bool = True) -> dict:
    """Train; returns the summary (best validation loss, epochs run, timing). Writes into ``output``."""
    dist_info, dev = init_distributed(device)
    output = Path(output)
    if dist_info.main:
        output.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed + dist_info.rank)
    last, best_path = output / "last.pt", output / "best.pt"
    model, checkpoint, model_config = build_model(train_events, config, output, resume=resume,
                                                  init_state=init_state, model_config=model_config)
    model.to(dev)
    steps_per_epoch = math.ceil(len(train_events) / (config.batch_size * dist_info.world))
    optimizer, scheduler = configure_optimizers(model, config, dist_info.world, steps_per_epoch)
    state = Progress()
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        state = Progress(checkpoint["epoch"], checkpoint["step"], checkpoint["best"], checkpoint["stale"],
                         checkpoint["history"])
    net = model
    if dist_info.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if dev.type == "cuda" else nullcontext

    def payload() -> dict:
        return {"format": CHECKPOINT_FORMAT, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": state.epoch, "step": state.step, "best": state.best,
                "stale": state.stale, "history": state.history, "model_config": model_config.to_dict(),
                "train_config": config.__dict__, "b_field": train_events.b_field, "detector": train_events.detector,
                "info": info or {}}

    previous = signal.signal(signal.SIGTERM, _raise_stop)
    started = time.perf_counter()
    events_seen = 0
    try:
        while state.epoch < config.epochs:
            if state.stale >= config.patience or (config.max_steps and state.step >= config.max_steps):
                break
            epoch_start = time.perf_counter()
            sums, n = run_epoch(net, train_events, config, optimizer, scheduler, state, dev, amp, dist_info,
                                show=progress and dist_info.main)
            events_seen += n
            train_time = time.perf_counter() - epoch_start
            val = evaluate_loss(model, val_events, config.batch_size, dev, amp)
            improved = val["total"] < state.best
            state.best, state.stale = (val["total"], 0) if improved else (state.best, state.stale + 1)
            state.epoch += 1
            row = {"epoch": state.epoch, "step": state.step, "lr": scheduler.get_last_lr()[0],
                   "train_loss": sums.get("total", 0.0) / max(n, 1), "val_loss": val["total"],
                   **{f"val_{k}": v for k, v in val.items() if k != "total"},
                   "train_events_per_s": n * dist_info.world / max(train_time, 1e-9), "seconds": train_time}
            state.history.append(row)
            if dist_info.main:
                save_checkpoint(payload(), last)
                if improved:
                    save_checkpoint(payload(), best_path)
                _write_logs(output, state.history)
                if progress:
                    print(f"epoch {state.epoch}: train {row['train_loss']:.4f}  val {val['total']:.4f}"
                          f"{'  (best)' if improved else ''}  {row['train_events_per_s']:.0f} events/s", flush=True)
    except KeyboardInterrupt:
        if dist_info.main:
            print(f"\ninterrupted: the last complete epoch is in {last}; continue with --resume", flush=True)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        if dist_info.world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()
    elapsed = time.perf_counter() - started
    return {"rank": dist_info.rank, "best_val_loss": state.best, "epochs": len(state.history), "steps": state.step,
            "seconds": elapsed, "events_per_s": events_seen * dist_info.world / max(elapsed, 1e-9),
            "history": state.history, "parameters": model.num_parameters(), "output": str(output)}


def _write_logs(output: Path, history: list[dict]) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))
    with atomic_path(output / "log.csv") as tmp, open(tmp, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=keys)
        writer.writeheader()
        writer.writerows(history)
    with atomic_path(output / "log.json") as tmp, open(tmp, "w") as stream:
        json.dump(history, stream, indent=1)
