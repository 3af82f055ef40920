"""Reading throughput of the EDM4hep reader for CLD-size events, and the reader against plain uproot.

Writes (once, cached) a 1,000-event file with the project's writer, each event with ~50 tracks
(4 track states each), ~90 clusters and ~2,000 calorimeter hits, then reads tracks + track states +
clusters + cluster->hit relations + hits and prints events/s and MB/s (file bytes / time).

Then the reader (``EDM4hepFile.iterate``) against raw uproot (``uproot.open(path)["events"].arrays``
of exactly the branches the reader reads, ``EDM4hepFile.branches``), same events, same step size,
in interleaved rounds (reader, uproot, uproot, reader, ...; each round opens the file), medians of
wall and CPU time and of each round's reader/uproot ratio: on that file and, with ``--file``, on a CLD REC file for the collections
``prepare``/``reco`` read (``ElementCollections.needed``).

    python benchmarks/bench_io.py [--events 1000] [--repeat 3] [--step-size 1000]
        [--file /tmp/bench_cld.edm4hep.root] [--compare-events 500] [--compare-step 200] [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def reader_vs_uproot(path: str | os.PathLike, collections: list[str] | None = None, *, events: int = 500,
                     step_size: int = 200, rounds: int = 7, skip=("covMatrix",)) -> dict:
    """Median wall and CPU seconds of reading ``collections`` (default: what ``prepare``/``reco`` read)
    for the first ``events`` events in chunks of ``step_size``: the reader against ``tree.arrays`` of
    the same branches; interleaved rounds after one untimed warm-up of each."""
    import uproot

    from k4mlpf.elements import ElementCollections

    with EDM4hepFile(path) as f:
        collections = collections or ElementCollections().needed(f)
        branches = f.branches(collections, skip=skip)
        stop = min(events, f.num_entries())

    def reader() -> int:
        n = 0
        with EDM4hepFile(path) as f:
            for chunk in f.iterate(collections, step_size=step_size, entry_stop=stop, skip=skip):
                n += len(chunk[collections[0]])
        return n

    def raw() -> int:
        n = 0
        with uproot.open(path) as u:
            tree = u["events"]
            for start in range(0, stop, step_size):
                n += len(tree.arrays(branches, entry_start=start, entry_stop=min(start + step_size, stop)))
        return n

    times: dict[str, dict[str, list]] = {"reader": {"wall": [], "cpu": []}, "uproot": {"wall": [], "cpu": []}}
    reader(), raw()
    for i in range(rounds):  # which goes first alternates, so that neither always follows the other
        for name, read in (("reader", reader), ("uproot", raw))[::1 if i % 2 == 0 else -1]:
            wall, cpu = time.perf_counter(), time.process_time()
            n = read()
            times[name]["wall"].append(time.perf_counter() - wall)
            times[name]["cpu"].append(time.process_time() - cpu)
            assert n == stop, (name, n, stop)
    med = {name: {k: statistics.median(v) for k, v in t.items()} for name, t in times.items()}
    paired = {k: statistics.median(a / b for a, b in zip(times["reader"][k], times["uproot"][k])) for k in ("wall", "cpu")}
    return {"file": os.fspath(path), "collections": collections, "branches": len(branches), "events": stop,
            "step_size": step_size, "rounds": rounds, "median": med,
            "ratio_wall": med["reader"]["wall"] / med["uproot"]["wall"],
            "ratio_cpu": med["reader"]["cpu"] / med["uproot"]["cpu"], "ratio_paired": paired}


def format_reader_vs_uproot(r: dict) -> str:
    m = r["median"]
    return (f"{os.path.basename(r['file'])}: {len(r['collections'])} collections, {r['branches']} branches, "
            f"{r['events']} events in steps of {r['step_size']}, median of {r['rounds']} interleaved rounds\n"
            f"  reader     {m['reader']['wall']:.3f} s wall ({r['events'] / m['reader']['wall']:6.0f} events/s), "
            f"{m['reader']['cpu']:.3f} s CPU\n"
            f"  raw uproot {m['uproot']['wall']:.3f} s wall ({r['events'] / m['uproot']['wall']:6.0f} events/s), "
            f"{m['uproot']['cpu']:.3f} s CPU\n"
            f"  reader / raw uproot: {r['ratio_wall']:.2f} (wall), {r['ratio_cpu']:.2f} (CPU); median of the rounds' own "
            f"ratios {r['ratio_paired']['wall']:.2f} (wall), {r['ratio_paired']['cpu']:.2f} (CPU)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--step-size", type=int, default=1000)
    parser.add_argument("--compression", type=int, default=401,
                        help="ROOT compression of the written file (401 LZ4 = k4mlpf default, 101 zlib = podio default, 505 ZSTD)")
    parser.add_argument("--basket-size", type=int, default=256000)
    parser.add_argument("--file", help="also compare reader and raw uproot on this EDM4hep file (e.g. a CLD REC "
                                       "file from `python -m fastsim generate --detector CLD`)")
    parser.add_argument("--compare-events", type=int, default=500)
    parser.add_argument("--compare-step", type=int, default=200, help="step size of the comparison (reco's: 200)")
    parser.add_argument("--rounds", type=int, default=9)
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
    print("\nreader against raw uproot on the same branches (without covariance matrices):")
    for path_ in [path] + ([args.file] if args.file else []):
        collections = ["SiTracks_Refitted", "PandoraClusters", "ECALBarrel"] if path_ == path else None
        print(format_reader_vs_uproot(reader_vs_uproot(path_, collections, events=args.compare_events,
                                                       step_size=args.compare_step, rounds=args.rounds)))


if __name__ == "__main__":
    main()
