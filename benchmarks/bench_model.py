"""MLPF model size, memory and inference throughput for CLD-size events.

Events are synthetic (k4mlpf.model.synthetic) with Poisson sizes around ~50 tracks, ~90 clusters and
~2,000 hits. For each config prints the parameter count, events/s of the scripted algorithm module
for one event at a time (`reconstruct_event`, what the Gaudi algorithm calls) and for padded batches,
and the peak memory (CUDA: max allocated per config; CPU: the process's peak RSS so far, so run the
configs smallest first).

    python benchmarks/bench_model.py [--configs small,paper] [--device cpu|cuda|auto] [--batch 32]
                                     [--threads 1] [--single-events 10] [--batches 2] [--warmup 3]
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from k4mlpf.model import MLPF, MLPFAlgorithm, load_config, script_algorithm
from k4mlpf.model.batch import pad_events
from k4mlpf.model.synthetic import random_event


def make_events(n: int, seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    return [random_event(int(rng.poisson(50)), int(rng.poisson(90)), int(rng.poisson(2000)), 2.0, g)
            for _ in range(n)]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_memory_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def time_single(algo, events: list, warmup: int, device: torch.device) -> float:
    """events/s calling reconstruct_event once per event (after `warmup` calls on the first event)."""
    events = [tuple(t.to(device) for t in ev) for ev in events]
    for _ in range(warmup):
        algo.reconstruct_event(*events[0])
    sync(device)
    start = time.perf_counter()
    for ev in events:
        algo.reconstruct_event(*ev)
    sync(device)
    return len(events) / (time.perf_counter() - start)


def time_batched(algo, events: list, batch: int, warmup: int, device: torch.device) -> float:
    """events/s on padded batches of `batch` events (after `warmup` calls on the first batch)."""
    batches = [tuple(t.to(device) for t in pad_events(events[i:i + batch]))
               for i in range(0, len(events) - batch + 1, batch)]
    for _ in range(warmup):
        algo(*batches[0])
    sync(device)
    start = time.perf_counter()
    for b in batches:
        algo(*b)
    sync(device)
    return batch * len(batches) / (time.perf_counter() - start)


def bench_config(name: str, args, device: torch.device) -> None:
    config = load_config(name)
    model = MLPF(config, b_field=2.0)
    algo = script_algorithm(MLPFAlgorithm(model, detector="bench")).to(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        single = time_single(algo, make_events(args.single_events), args.warmup, device)
        batched = time_batched(algo, make_events(args.batch * args.batches), args.batch, args.warmup, device)
    print(f"{name:>6} | {model.num_parameters() / 1e6:8.2f}M | {single:10.1f} | {batched:13.1f} | "
          f"{peak_memory_mib(device):9.0f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="small,paper", help="model configs (default: small,paper)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"], help="default: cpu")
    parser.add_argument("--batch", type=int, default=32, help="events per batch (default: 32)")
    parser.add_argument("--batches", type=int, default=2, help="timed batches (default: 2)")
    parser.add_argument("--single-events", type=int, default=10, help="timed single events (default: 10)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed calls first; TorchScript optimises after 2 profiling runs (default: 3)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (default: 1; on a shared machine more threads oversubscribe)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device visible to torch")
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    torch.set_num_threads(args.threads)
    what = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {args.threads} threads"
    print(f"MLPF inference, scripted algorithm module, {what}, torch {torch.__version__}")
    print(f"events: Poisson(50) tracks, Poisson(90) clusters, Poisson(2000) hits; batch {args.batch}")
    print("config |   params  | single ev/s | batched ev/s | peak MiB")
    for name in args.configs.split(","):
        bench_config(name, args, device)


if __name__ == "__main__":
    main()
