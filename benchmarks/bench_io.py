"""Reading throughput of the EDM4hep reader for CLD-size events.

Writes (once, cached) a 1,000-event file with the project's writer, each event with ~50 tracks
(4 track states each), ~90 clusters and ~2,000 calorimeter hits, then reads tracks + track states +
clusters + cluster->hit relations + hits and prints events/s and MB/s (file bytes / time).

    python benchmarks/bench_io.py [--events 1000] [--repeat 3] [--step-size 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import awkward as ak
import numpy as np

from k4mlpf.edm4hep import EDM4hepFile
from k4mlpf.edm4hep.refs import collection_type, refs
from k4mlpf.edm4hep.writer import EDM4hepWriter


def _jagged(rng, n_events, mean):
    counts = rng.poisson(mean, n_events)
    return counts, int(counts.sum())


def make_file(path: str, n_events: int, seed: int = 1, compression: int = 401, basket: int = 256000) -> None:
    rng = np.random.default_rng(seed)
    f32 = np.float32
    n_trk_ev, n_trk = _jagged(rng, n_events, 50)
    states = ak.zip({"location": np.tile(np.arange(1, 5, dtype=np.int32), n_trk),
                     "D0": rng.normal(0, 0.1, 4 * n_trk).astype(f32),
                     "phi": rng.uniform(-3.14, 3.14, 4 * n_trk).astype(f32),
                     "omega": rng.normal(0, 1e-3, 4 * n_trk).astype(f32),
                     "Z0": rng.normal(0, 0.1, 4 * n_trk).astype(f32),
                     "tanLambda": rng.normal(0, 1, 4 * n_trk).astype(f32),
                     "referencePoint": ak.zip({c: rng.normal(0, 500, 4 * n_trk).astype(f32) for c in "xyz"}),
                     "covMatrix": ak.zip({"values": ak.to_regular(ak.unflatten(
                         rng.normal(0, 1e-4, 21 * 4 * n_trk).astype(f32), 21))})}, depth_limit=1)
    tracks = ak.zip({"chi2": rng.chisquare(20, n_trk).astype(f32), "ndf": np.full(n_trk, 20, np.int32),
                     "trackStates": ak.unflatten(states, np.full(n_trk, 4))}, depth_limit=1)
    n_clu_ev, n_clu = _jagged(rng, n_events, 90)
    hits_per_cluster = rng.poisson(22, n_clu)
    hits_per_event = np.add.reduceat(hits_per_cluster, np.r_[0, np.cumsum(n_clu_ev)[:-1]]) \
        if n_clu else np.zeros(n_events, int)
    hits_per_event[n_clu_ev == 0] = 0
    n_hit = int(hits_per_cluster.sum())
    hit_index_in_event = np.arange(n_hit) - np.repeat(np.r_[0, np.cumsum(hits_per_event)[:-1]], hits_per_event)
    clusters = ak.zip({"energy": rng.exponential(3, n_clu).astype(f32),
                       "position": ak.zip({c: rng.normal(0, 1500, n_clu).astype(f32) for c in "xyz"}),
                       "iTheta": rng.uniform(0, 3.14, n_clu).astype(f32),
                       "iPhi": rng.uniform(-3.14, 3.14, n_clu).astype(f32),
                       "subdetectorEnergies": ak.unflatten(rng.exponential(1, 3 * n_clu).astype(f32), 3),
                       "hits": ak.unflatten(refs("ECALBarrel", hit_index_in_event), hits_per_cluster)},
                      depth_limit=1)
    hits = ak.zip({"cellID": rng.integers(0, 2**63, n_hit, dtype=np.uint64),
                   "energy": rng.exponential(0.01, n_hit).astype(f32),
                   "position": ak.zip({c: rng.normal(0, 1500, n_hit).astype(f32) for c in "xyz"})}, depth_limit=1)
    with EDM4hepWriter(path, compression=compression, basket_size=basket) as w:
        w.write_events({"SiTracks_Refitted": ak.unflatten(tracks, n_trk_ev),
                        "PandoraClusters": ak.unflatten(clusters, n_clu_ev),
                        "ECALBarrel": ak.unflatten(hits, hits_per_event)},
                       {"SiTracks_Refitted": collection_type("Track"),
                        "PandoraClusters": collection_type("Cluster"),
                        "ECALBarrel": collection_type("CalorimeterHit")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--step-size", type=int, default=1000)
    parser.add_argument("--compression", type=int, default=401,
                        help="ROOT compression of the written file (401 LZ4 = k4mlpf default, 101 zlib = podio default, 505 ZSTD)")
    parser.add_argument("--basket-size", type=int, default=256000)
    args = parser.parse_args()
    path = os.path.join(tempfile.gettempdir(),
                        f"k4mlpf_bench_io_{args.events}_{args.compression}_{args.basket_size}.edm4hep.root")
    if not os.path.exists(path):
        t0 = time.perf_counter()
        make_file(path, args.events, compression=args.compression, basket=args.basket_size)
        dt = time.perf_counter() - t0
        print(f"wrote {args.events} events in {dt:.2f} s ({args.events / dt:.0f} events/s): {path}")
    size_mb = os.path.getsize(path) / 1e6
    with EDM4hepFile(path) as f:
        a = f.arrays(["SiTracks_Refitted", "PandoraClusters", "ECALBarrel"], entry_stop=100)
        per_event = [float(ak.mean(ak.num(a[c], axis=1))) for c in a]
    print(f"per event: {per_event[0]:.0f} tracks, {per_event[1]:.0f} clusters, {per_event[2]:.0f} hits; "
          f"file {size_mb:.1f} MB")
    for label, skip in (("every member", ()), ("without covariance matrices (what prepare/reco read)",
                                               ("covMatrix",))):
        best, n = None, 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            with EDM4hepFile(path) as f:  # opening the file is part of the time
                n = 0
                for chunk in f.iterate(["SiTracks_Refitted", "PandoraClusters", "ECALBarrel"],
                                       step_size=args.step_size, skip=skip):
                    n += len(chunk["PandoraClusters"])
                    assert ak.sum(ak.num(chunk["SiTracks_Refitted"].trackStates, axis=2)) > 0
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        print(f"read tracks+states+clusters+hit relations+hits, {label}: {n} events in {best:.3f} s "
              f"(best of {args.repeat}): {n / best:.0f} events/s, {size_mb / best:.1f} MB/s of file")


if __name__ == "__main__":
    main()
