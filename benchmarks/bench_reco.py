"""``k4mlpf reco`` throughput with the shipped model on a CLD ttbar file: batch 1 against batched (events
sorted by size within each read chunk), and where the time goes (read, pack, model, write).

    python benchmarks/bench_reco.py [--file CLD.edm4hep.root] [--events 200] [--batch 32] [--threads 1]

Without --file, simulates CLD ttbar events at 365 GeV once (cached in /tmp). Interleaves batch-1 and
batched model runs (--rounds) so that a busy machine slows both alike.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from k4mlpf.detector import TRAINED_DIR
from k4mlpf.edm4hep.reader import EDM4hepFile
from k4mlpf.elements import ElementCollections, pack_elements
from k4mlpf.model import load_algorithm
from k4mlpf.reco import reconstruct, run_model


def sample(events: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"k4mlpf_bench_cld_ttbar_{events}.edm4hep.root"
    if not path.exists():
        from fastsim.pipeline import RunConfig, run

        run(RunConfig(detector="CLD", process="ttbar", n_events=events, seed=31, chunk_size=50), str(path),
            jobs=1, progress=False)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", help="CLD REC file (default: simulate --events ttbar events)")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default=str(TRAINED_DIR / "mlpf_cld_small.pt"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    path = Path(args.file) if args.file else sample(args.events)
    algo = load_algorithm(args.model)
    names = ElementCollections()

    start = time.perf_counter()
    with EDM4hepFile(path) as f:
        needed = names.needed(f)
        chunks = list(f.iterate(needed, step_size=200, skip=("covMatrix",)))
        t_read = time.perf_counter() - start
        start = time.perf_counter()
        elements = [pack_elements(f, chunk, names) for chunk in chunks]
        t_pack = time.perf_counter() - start
    n = sum(len(e) for e in elements)
    times = {1: [], args.batch: []}
    for _ in range(args.rounds):
        for batch in times:
            start = time.perf_counter()
            for e in elements:
                run_model(algo, e, batch)
            times[batch].append(time.perf_counter() - start)
    t1, tb = min(times[1]), min(times[args.batch])
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        reconstruct(path, os.path.join(tmp, "out.edm4hep.root"), args.model, batch_size=args.batch, progress=False,
                    say=lambda _: None)
        t_total = time.perf_counter() - start
    sizes = np.concatenate([e.track_counts + e.cluster_counts for e in elements])
    print(f"{path.name}: {n} events, {sizes.mean():.0f} elements/event; model {Path(args.model).name}; "
          f"CPU, {args.threads} thread(s)")
    print(f"  model, batch 1:          {n / t1:7.1f} events/s")
    print(f"  model, batch {args.batch:<3d} (sorted): {n / tb:7.1f} events/s   ratio {t1 / tb:.2f}")
    print(f"  reco end to end, batch {args.batch}: {n / t_total:7.1f} events/s ({t_total:.1f} s)")
    write = t_total - t_read - t_pack - tb
    for label, t in (("read", t_read), ("pack", t_pack), ("model", tb), ("write + start-up", write)):
        print(f"    {label:<17s} {t:6.2f} s  {100 * t / t_total:5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
