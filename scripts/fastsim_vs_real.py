#!/usr/bin/env python3
"""Where the fast simulation differs from a real CLD full-simulation file: per-event numbers of tracks,
clusters, hits per cluster, the cluster energy spectrum and the ECAL/HCAL split, side by side.

    python scripts/fastsim_vs_real.py [REAL.edm4hep.root] [--events 200] [--output docs/fastsim_vs_real.md]

The fast-simulation sample is CLD ZH at 240 GeV (seeded), the process of the shared real file. The real
file has one event: its numbers are one draw, not a distribution; read the table for differences of
factors, not of percent.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import awkward as ak
import numpy as np

from k4mlpf.edm4hep import EDM4hepFile
from k4mlpf.elements import ElementCollections, pack_elements

REPO = Path(__file__).resolve().parent.parent
REAL = REPO.parent / "shared" / "fixtures" / "real" / "cld_o2_v05_hbb240_rec.edm4hep.root"


def numbers(path: Path) -> dict:
    names = ElementCollections()
    with EDM4hepFile(path) as f:
        chunk = f.arrays(names.needed(f))
        e = pack_elements(f, chunk, names)
    n = len(e)
    clusters = e.clusters[:, 0]
    hits = e.hits
    owner = hits[:, 5].astype(np.int64) + np.repeat(np.cumsum(e.cluster_counts) - e.cluster_counts, e.hit_counts)
    ecal = np.bincount(owner, weights=hits[:, 0] * (hits[:, 4] == 0), minlength=len(clusters))
    hcal = np.bincount(owner, weights=hits[:, 0] * (hits[:, 4] == 1), minlength=len(clusters))
    total = np.maximum(ecal + hcal, 1e-12)
    return {
        "events": n, "tracks / event": e.track_counts.mean(), "clusters / event": e.cluster_counts.mean(),
        "hits / event (in clusters)": e.hit_counts.mean(),
        "hits / cluster (median)": float(np.median(np.bincount(owner, minlength=len(clusters)))),
        "cluster energy sum / event [GeV]": clusters.sum() / n,
        "clusters < 0.5 GeV (fraction)": float((clusters < 0.5).mean()),
        "clusters 0.5-5 GeV (fraction)": float(((clusters >= 0.5) & (clusters < 5)).mean()),
        "clusters > 5 GeV (fraction)": float((clusters >= 5).mean()),
        "cluster energy median [GeV]": float(np.median(clusters)),
        "ECAL share of cluster hit energy": float(ecal.sum() / total.sum()),
        "clusters with > 90% ECAL (fraction)": float((ecal / total > 0.9).mean()),
        "tracks with dQ/dx": float((e.tracks[:, 8] != 0).mean()) if len(e.tracks) else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real", nargs="?", default=str(REAL))
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--output", help="write the table as Markdown here")
    args = parser.parse_args()
    from fastsim.pipeline import RunConfig, run

    sim = Path(tempfile.gettempdir()) / f"k4mlpf_fastsim_cld_zh240_{args.events}.edm4hep.root"
    if not sim.exists():
        run(RunConfig(detector="CLD", process="zh", n_events=args.events, seed=61, ecm=240.0, chunk_size=50),
            str(sim), jobs=1, progress=False)
    real, fast = numbers(Path(args.real)), numbers(sim)
    lines = [f"| per event | real CLD full simulation ({real['events']} event) | fast simulation CLD ZH 240 GeV "
             f"({fast['events']} events, seed 61) | fast / real |", "|---|---|---|---|"]
    for key in real:
        if key == "events":
            continue
        r, s = real[key], fast[key]
        lines.append(f"| {key} | {r:.3g} | {s:.3g} | {s / r if r else float('nan'):.2f} |")
    table = "\n".join(lines)
    print(table)
    if args.output:
        Path(args.output).write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
