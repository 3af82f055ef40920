"""Every number issue #13 asks for, in one run, on one CLD ttbar file with the shipped model:

- ``k4mlpf reco`` model events/s at batch 1 and batched (fixed and padding-capped batches), the ratio,
  and why it is what it is (per-call floor, share of dense compute, padded work);
- TorchScript (.pt) against the torch.export + AOTInductor package (.pt2), shipped small model and an
  untrained paper-size one (speed only);
- where a whole ``reco`` run spends its time (start-up, read, pack, model, collections, write);
- ``python_trainer prepare`` events/s;
- the EDM4hep reader against raw uproot on the same branches (what prepare/reco read).

    python benchmarks/bench_summary.py [--file CLD.edm4hep.root] [--events 500] [--model-events 200]
        [--batch 32] [--threads 1] [--rounds 2] [--io-rounds 7] [--no-pt2] [--no-paper]

Without --file, simulates --events CLD ttbar events at 365 GeV once (cached in /tmp). The pieces live
in bench_reco.py and bench_io.py (each runs alone too); this script only puts them together.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from bench_io import format_reader_vs_uproot, reader_vs_uproot
from bench_reco import SHIPPED, report, sample


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", help="CLD REC file (default: simulate --events ttbar events)")
    parser.add_argument("--events", type=int, default=500, help="events to simulate without --file")
    parser.add_argument("--model-events", type=int, default=200, help="events of the model timings")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the model and reco timings")
    parser.add_argument("--io-rounds", type=int, default=9, help="interleaved rounds of reader against uproot")
    parser.add_argument("--io-step", type=int, default=200, help="step size of reader against uproot (reco's)")
    parser.add_argument("--paper-events", type=int, default=16)
    parser.add_argument("--model", default=str(SHIPPED))
    parser.add_argument("--no-pt2", action="store_true", help="skip the .pt2 packages (compiling one takes minutes)")
    parser.add_argument("--no-paper", action="store_true", help="skip the paper-size model")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    path = Path(args.file) if args.file else sample(args.events)
    start = time.perf_counter()
    print(f"== k4mlpf benchmark summary: {path} ({os.path.getsize(path) / 1e6:.0f} MB); {platform.processor() or 'CPU'}, "
          f"{os.cpu_count()} cores visible, load average {os.getloadavg()[0]:.1f} at start")
    print("\n== reconstruction (benchmarks/bench_reco.py)")
    report(path, model=args.model, batch=args.batch, rounds=args.rounds, events=args.model_events,
           pt2=not args.no_pt2, paper=not args.no_paper, paper_events=args.paper_events)
    print("\n== EDM4hep reader against raw uproot (benchmarks/bench_io.py), what prepare/reco read, "
          "without covariance matrices")
    print(format_reader_vs_uproot(reader_vs_uproot(path, events=500, step_size=args.io_step, rounds=args.io_rounds)))
    print(f"\n(total {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.1f} at the end)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
