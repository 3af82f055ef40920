"""Training throughput (events/s) of MLPF configs: forward + loss + backward + AdamW step.

Uses prepared shards when given (real fast-simulation events, size-bucketed batches as the trainer
makes them), else synthetic CLD-size events (~50 tracks, ~90 clusters, ~2,000 hits) with targets
that respect the element-type rule.

    python benchmarks/bench_training.py [--configs tiny,small] [--device cpu|cuda|auto] [--batch 16]
                                        [--steps 8] [--shards data/shards/cld_train]
"""

from __future__ import annotations

import argparse
import glob
import os
import time

import numpy as np
import torch

from k4mlpf.model import MLPF, load_config, mlpf_loss
from k4mlpf.model.batch import pad_events
from k4mlpf.model.columns import CHARGED_CLASSES, NEUTRAL_CLASSES
from k4mlpf.model.synthetic import random_event


def synthetic_batches(n_batches: int, batch: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    for _ in range(n_batches):
        events = [random_event(int(rng.poisson(50)), int(rng.poisson(90)), int(rng.poisson(2000)), 2.0, g)
                  for _ in range(batch)]
        tracks, tmask, clusters, cmask, hits, hmask = pad_events(events)
        t, c = tracks.shape[1], clusters.shape[1]
        cls = torch.cat([torch.tensor(CHARGED_CLASSES)[torch.randint(0, 3, (batch, t))],
                         torch.tensor(NEUTRAL_CLASSES)[torch.randint(0, 2, (batch, c))]], dim=1)
        cls = torch.where(torch.cat([tmask, cmask], 1) & (torch.rand(batch, t + c) < 0.7), cls, 0)
        pt = torch.exp(torch.randn(batch, t + c))
        targets = {"target_cls": cls, "target_pt": pt, "target_energy": pt * 1.3, "target_eta": torch.randn(batch, t + c),
                   "target_sin_phi": torch.zeros(batch, t + c), "target_cos_phi": torch.ones(batch, t + c)}
        yield (tracks, tmask, clusters, cmask, hits, hmask), targets, batch


def shard_batches(path: str, n_batches: int, batch: int):
    from python_trainer.data import EventSet, batches, make_batch, model_inputs

    files = sorted(glob.glob(os.path.join(path, "*.npz"))) if os.path.isdir(path) else [path]
    events = EventSet.load(files)
    sizes = events.arrays["track_counts"] + events.arrays["cluster_counts"]
    for i, index in enumerate(batches(len(events), batch, seed=1, sizes=sizes)):
        if i == n_batches:
            break
        b = make_batch(events, index)
        yield model_inputs(b), {k: v for k, v in b.items() if k.startswith("target_")}, len(index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", default="tiny,small")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=8, help="timed optimizer steps (after 2 warm-up steps)")
    parser.add_argument("--shards", help="prepared shards (folder or .npz); default: synthetic events")
    args = parser.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    print(f"device {device}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"{'shards ' + args.shards if args.shards else 'synthetic CLD-size events'}")
    for name in args.configs.split(","):
        model = MLPF(load_config(name), b_field=2.0).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        amp = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
        source = shard_batches(args.shards, args.steps + 2, args.batch) if args.shards else \
            synthetic_batches(args.steps + 2, args.batch)
        n_events, start = 0, None
        for step, (inputs, targets, size) in enumerate(source):
            if step == 2:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            with amp:
                out = model(*(x.to(device) for x in inputs))
            out = {k: v.float() if torch.is_floating_point(v) else v for k, v in out.items()}
            loss, _ = mlpf_loss(out, {k: v.to(device) for k, v in targets.items()})
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step >= 2:
                n_events += size
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        print(f"{name:>6}: {model.num_parameters() / 1e6:6.2f}M parameters, {n_events / elapsed:7.1f} training events/s")


if __name__ == "__main__":
    main()
