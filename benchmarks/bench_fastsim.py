"""Throughput of the fast simulation: CLD ttbar at 365 GeV, end to end.

Prints events/s for generation + tracking + calorimetry + clustering + baseline PF + writing, and
the ratio to Pythia generation (including reading the event record) alone. One-time start-up
(Pythia initialisation, ROOT's import and its compilation of the EDM4hep structs, ~2-3 s per job)
happens before the clock starts and is printed separately. The machine may be shared: run it a few
times and take the best.

    .venv/bin/python benchmarks/bench_fastsim.py [--events 500] [--detector CLD] [--jobs 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # run from a checkout


def _cpu_seconds() -> float:
    import os

    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--detector", default="CLD")
    parser.add_argument("--process", default="ttbar")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()

    from fastsim.generator import generate_pythia
    from fastsim.pipeline import RunConfig, run
    from k4mlpf.edm4hep.datamodel import Registry
    from k4mlpf.edm4hep.writer import _declare

    t0 = time.perf_counter()
    generate_pythia(args.process, 1, seed=99)           # Pythia initialisation, not timed
    _declare(Registry())                                # ROOT import + struct declarations, not timed
    t_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    generate_pythia(args.process, args.events, seed=1, chunk=0)
    t_gen = time.perf_counter() - t0
    cfg = RunConfig(detector=args.detector, process=args.process, n_events=args.events, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), _cpu_seconds()
        total = run(cfg, str(Path(tmp) / "bench.edm4hep.root"), jobs=args.jobs, progress=False)
        t_all, t_cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    n = args.events
    print(f"{args.detector} {args.process}: {n / t_all:.1f} events/s end to end ({args.jobs} job(s), "
          f"{n / t_all / args.jobs:.1f} per job), Pythia alone {n / t_gen:.1f} events/s, "
          f"ratio {t_all * args.jobs / t_gen:.2f}x Pythia time; one-time start-up {t_start:.1f} s")
    print(f"CPU time (this process and its workers): {t_cpu / n * 1e3:.1f} ms/event = "
          f"{n / t_cpu:.1f} events per CPU-second (wall-clock rates suffer when the cores are shared)")
    print(f"per event: {total['tracks'] / n:.1f} tracks, {total['clusters'] / n:.1f} clusters, "
          f"{total['hits'] / n:.0f} hits, {total['pfos'] / n:.1f} baseline PFOs")


if __name__ == "__main__":
    main()
