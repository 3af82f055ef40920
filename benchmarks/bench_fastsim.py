"""Throughput of the fast simulation: CLD ttbar at 365 GeV, end to end, one core.

Prints events/s for generation + tracking + calorimetry + clustering + baseline PF + writing,
and the ratio to Pythia generation (including reading the event record) alone.

    .venv/bin/python benchmarks/bench_fastsim.py [--events 200] [--detector CLD]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--detector", default="CLD")
    parser.add_argument("--process", default="ttbar")
    args = parser.parse_args()

    from fastsim.generator import generate_pythia
    from fastsim.pipeline import RunConfig, run

    generate_pythia(args.process, 1, seed=99)           # Pythia initialisation, not timed
    t0 = time.perf_counter()
    generate_pythia(args.process, args.events, seed=1, chunk=0)
    t_gen = time.perf_counter() - t0
    cfg = RunConfig(detector=args.detector, process=args.process, n_events=args.events, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        total = run(cfg, str(Path(tmp) / "bench.edm4hep.root"), jobs=1, progress=False)
        t_all = time.perf_counter() - t0
    n = args.events
    print(f"{args.detector} {args.process}: {n / t_all:.1f} events/s end to end (1 core), "
          f"Pythia alone {n / t_gen:.1f} events/s, ratio {t_all / t_gen:.2f}x Pythia time")
    print(f"per event: {total['tracks'] / n:.1f} tracks, {total['clusters'] / n:.1f} clusters, "
          f"{total['hits'] / n:.0f} hits, {total['pfos'] / n:.1f} baseline PFOs")


if __name__ == "__main__":
    main()
