"""``k4mlpf reco`` throughput on a CLD ttbar file: the shipped model at batch 1 against batched (events
sorted by size within each read chunk), TorchScript (``.pt``) against its torch.export + AOTInductor
package (``.pt2``), the shipped small model and an untrained paper-size one (speed only), where the time
of a whole ``reco`` run goes (read, pack, model, collections, write), and ``prepare`` events/s.

    python benchmarks/bench_reco.py [--file CLD.edm4hep.root] [--events 200] [--batch 32] [--threads 1]
                                    [--rounds 2] [--paper-events 32] [--no-pt2] [--no-paper]

Without --file, simulates CLD ttbar events at 365 GeV once (cached in /tmp). The ``.pt2`` packages are
compiled once (a few minutes on 2 cores) and cached in /tmp under the model's hash. Model timings
interleave the variants round by round (``--rounds``) so that a busy machine slows all alike; each
printed rate is the median over rounds. Every piece is importable (``benchmarks/bench_summary.py``).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from k4mlpf.detector import TRAINED_DIR
from k4mlpf.edm4hep.reader import EDM4hepFile
from k4mlpf.elements import ElementCollections, Elements, pack_elements
from k4mlpf.model import load_algorithm
from k4mlpf.reco import CPU_MAX_PADDING, reconstruct, run_model, size_ordered_batches

SHIPPED = TRAINED_DIR / "mlpf_cld_small.pt"
CACHE = Path(tempfile.gettempdir())


def sample(events: int) -> Path:
    """A CLD ttbar 365 GeV fast-simulation file of ``events`` events (made once, cached in /tmp)."""
    path = CACHE / f"k4mlpf_bench_cld_ttbar_{events}.edm4hep.root"
    if not path.exists():
        from fastsim.pipeline import RunConfig, run

        run(RunConfig(detector="CLD", process="ttbar", n_events=events, seed=31, chunk_size=50), str(path),
            jobs=1, progress=False)
    return path


def read_elements(path: str | os.PathLike, step_size: int = 200, events: int | None = None) -> list[Elements]:
    """The packed elements of the file's first ``events`` events, one ``Elements`` per read chunk (as reco)."""
    names = ElementCollections()
    with EDM4hepFile(path) as f:
        chunks = f.iterate(names.needed(f), step_size=step_size, entry_stop=events, skip=("covMatrix",))
        return [pack_elements(f, chunk, names) for chunk in chunks]


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:12]


def pt2_of(model: str | os.PathLike) -> Path:
    """The ``.pt2`` package of a TorchScript model file (``python_trainer export MODEL --format pt2``),
    compiled once and cached in /tmp under the model's hash and the torch version."""
    from k4mlpf.model import eager_algorithm, export_pt2

    model = Path(model)
    target = CACHE / f"k4mlpf_bench_{model.stem.removeprefix('k4mlpf_bench_')}_{_digest(model)}_torch{torch.__version__}.pt2"
    if not target.exists():
        start = time.perf_counter()
        export_pt2(eager_algorithm(model), target)
        print(f"  (compiled {target.name} in {time.perf_counter() - start:.0f} s, cached)")
    return target


def paper_model(b_field: float = 2.0) -> Path:
    """An untrained paper-size model (``model_paper.yaml``, ~52M parameters) as a TorchScript file, for
    speed only (its particles mean nothing); fixed seed, cached in /tmp."""
    from k4mlpf.model import MLPF, MLPFAlgorithm, load_config, save_algorithm

    target = CACHE / f"k4mlpf_bench_paper_untrained_b{b_field:g}_torch{torch.__version__}.pt"
    if not target.exists():
        torch.manual_seed(0)
        model = MLPF(load_config("paper"), b_field=b_field)
        save_algorithm(MLPFAlgorithm(model.eval(), detector="CLD_o2_v05",
                                     provenance={"note": "untrained, benchmarks/bench_reco.py"}), target)
    return target


def model_rates(algos: dict, elements: list[Elements], modes: tuple, rounds: int = 2, warmup_events: int = 4) -> dict:
    """Events/s of ``run_model`` (what reco runs: padding, the module, unpadding) for every algorithm
    and mode ``(batch size, max_padding)``, median over ``rounds`` interleaved rounds, after an untimed
    warm-up of each (TorchScript optimizes its graph on the first calls): ``{key: {"wall": events/s,
    "cpu": events/s of this process's CPU time}}`` (the second is steadier on a shared machine)."""
    n = sum(len(e) for e in elements)
    warm = _head(elements[0], warmup_events)
    seconds: dict = {(name, mode): {"wall": [], "cpu": []} for name in algos for mode in modes}
    for name, algo in algos.items():
        for b, cap in modes:
            run_model(algo, warm, b, max_padding=cap)
            run_model(algo, warm, b, max_padding=cap)
    for _ in range(rounds):
        for name, algo in algos.items():
            for mode in modes:
                wall, cpu = time.perf_counter(), time.process_time()
                for e in elements:
                    run_model(algo, e, mode[0], max_padding=mode[1])
                seconds[(name, mode)]["wall"].append(time.perf_counter() - wall)
                seconds[(name, mode)]["cpu"].append(time.process_time() - cpu)
    return {key: {k: n / statistics.median(v) for k, v in t.items()} for key, t in seconds.items()}


@contextlib.contextmanager
def _quiet_stderr():
    """torch.profiler's C++ side prints two lines to stderr per profile: keep the report clean."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


DENSE_OPS = ("aten::addmm", "aten::mm", "aten::bmm", "aten::matmul",
             "aten::_scaled_dot_product_flash_attention_for_cpu", "aten::_scaled_dot_product_attention_math")


def dense_share(algo, elements: Elements, events: int = 8) -> float:
    """Share of the module's own CPU time (torch.profiler, batch 1) spent in matrix products and
    attention kernels, the work that batching does not reduce."""
    from torch.profiler import ProfilerActivity, profile

    from k4mlpf.model.batch import pad_blocks

    e = _head(elements, events)
    blocks = ((e.tracks, e.track_counts), (e.clusters, e.cluster_counts), (e.hits, e.hit_counts))
    batches = [pad_blocks(blocks, np.array([i])) for i in range(len(e))]
    with torch.no_grad():
        for b in batches[:2]:
            algo(*b)
        with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU]) as prof:
            for b in batches:
                algo(*b)
    averages = prof.key_averages()
    total = sum(a.self_cpu_time_total for a in averages)
    return sum(a.self_cpu_time_total for a in averages if a.key in DENSE_OPS) / max(total, 1e-12)


def padding_work(elements: list[Elements], batch: int, max_padding: float | None) -> float:
    """Attention work of the padded batches, sum of B x (T_max + C_max)^2, over that of batch 1."""
    padded = own = 0
    for e in elements:
        n = e.track_counts + e.cluster_counts
        own += int((n.astype(np.int64) ** 2).sum())
        for b in size_ordered_batches(e, batch, max_padding):
            padded += len(b) * int(e.track_counts[b].max() + e.cluster_counts[b].max()) ** 2
    return padded / max(own, 1)


def call_floor(algo, repeats: int = 30) -> dict:
    """Seconds per ``run_model`` call (padding, the module, unpadding) on a 1-track, 1-cluster, 10-hit
    event, by wall clock and by CPU time: the fixed cost of one call, all that batching can save per event."""
    from k4mlpf.model.synthetic import random_event

    tracks, clusters, hits = (t.numpy() for t in random_event(1, 1, 10, 2.0, torch.Generator().manual_seed(0)))
    one = np.ones(1, np.int64)
    tiny = Elements(tracks, one, clusters, one, hits, np.array([len(hits)]))
    for _ in range(3):
        run_model(algo, tiny, 1)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        run_model(algo, tiny, 1)
    return {"wall": (time.perf_counter() - wall) / repeats, "cpu": (time.process_time() - cpu) / repeats}


def _head(e: Elements, n: int) -> Elements:
    """The first ``n`` events of ``e``."""
    nt, nc, nh = (int(c[:n].sum()) for c in (e.track_counts, e.cluster_counts, e.hit_counts))
    return Elements(e.tracks[:nt], e.track_counts[:n], e.clusters[:nc], e.cluster_counts[:n], e.hits[:nh],
                    e.hit_counts[:n])


def reco_split(path: str | os.PathLike, model: str | os.PathLike, batch: int) -> dict:
    """One whole ``reconstruct`` run (the ``k4mlpf reco`` command's function): events, total seconds and
    its own timings (start-up, read, pack, model, collections, write; "other": the rest)."""
    timings: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        n = reconstruct(path, os.path.join(tmp, "out.edm4hep.root"), model, batch_size=batch, progress=False,
                        say=lambda _: None, timings=timings)
        total = time.perf_counter() - start
    timings["other"] = total - sum(timings.values())
    return {"events": n, "seconds": total, "timings": timings}


def prepare_rate(path: str | os.PathLike) -> dict:
    """``python_trainer prepare`` of one file (elements, targets, PF candidates, shard written)."""
    from python_trainer.prepare import PrepareOptions, prepare_file

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        _, n, _, _ = prepare_file(str(path), tmp, PrepareOptions(pf_collection="BaselinePFOs"))
        seconds = time.perf_counter() - start
    return {"events": n, "seconds": seconds}


def report(path: Path, *, model: str | os.PathLike = SHIPPED, batch: int = 32, rounds: int = 2,
           events: int | None = None, pt2: bool = True, paper: bool = True, paper_events: int = 16,
           say=print) -> dict:
    """Print (through ``say``) and return every number of this benchmark for one file."""
    result: dict = {}
    elements = read_elements(path, events=events)
    n = sum(len(e) for e in elements)
    sizes = np.concatenate([e.track_counts + e.cluster_counts for e in elements])
    hits = np.concatenate([e.hit_counts for e in elements])
    say(f"{path.name}: {n} events, {sizes.mean():.0f} elements and {hits.mean():.0f} hits per event; "
        f"CPU, {torch.get_num_threads()} thread(s), torch {torch.__version__}")
    variants = {"small": {"TorchScript": load_algorithm(model)}}
    if pt2:
        variants["small"][".pt2"] = load_algorithm(pt2_of(model))
    if paper:
        paper_pt = paper_model()
        variants["paper"] = {"TorchScript": load_algorithm(paper_pt)}
        if pt2:
            variants["paper"][".pt2"] = load_algorithm(pt2_of(paper_pt))
    say(f"model (run_model: pad, module, unpad), events/s by wall clock (and by this process's CPU time), median of "
        f"{rounds} interleaved rounds; batch {batch} with events sorted by size, 'capped': closing a batch early "
        f"rather than padding the attention work beyond +{100 * CPU_MAX_PADDING:.0f}% (reco's default on CPU):")
    say(f"  {'model':<34} {'format':<11} {'batch 1':>13} {f'{batch} fixed':>13} {f'{batch} capped':>13} {'ratio':>11}")
    for size, algos in variants.items():
        use = elements if size == "small" else read_elements(path, events=min(paper_events, n))
        b = batch if size == "small" else min(batch, sum(len(e) for e in use))
        modes = ((1, None), (b, None), (b, CPU_MAX_PADDING))
        rates = model_rates(algos, use, modes, rounds)
        label = f"{Path(model).name} (small, trained)" if size == "small" else \
            f"paper, untrained, {sum(len(e) for e in use)} ev, batch {b}"
        for name in algos:
            r = [rates[(name, mode)] for mode in modes]
            result[f"{size} {name}"] = {"batch_1": r[0], f"batch_{b}": r[1], f"batch_{b}_capped": r[2],
                                        "ratio": {k: r[2][k] / r[0][k] for k in ("wall", "cpu")}}
            say(f"  {label:<34} {name:<11} " + " ".join(f"{x['wall']:6.1f} ({x['cpu']:4.1f})" for x in r)
                + f"  {r[2]['wall'] / r[0]['wall']:4.2f} ({r[2]['cpu'] / r[0]['cpu']:4.2f})")
            label = ""
        if ".pt2" in algos:
            say(f"  {'':<34} {'.pt2 / .pt':<11} " + " ".join(
                f"{rates[('.pt2', m)]['wall'] / rates[('TorchScript', m)]['wall']:6.2f} "
                f"({rates[('.pt2', m)]['cpu'] / rates[('TorchScript', m)]['cpu']:4.2f})" for m in modes))
    small = variants["small"]["TorchScript"]
    floor, dense = call_floor(small), dense_share(small, elements[0])
    per_event = {k: 1 / result["small TorchScript"]["batch_1"][k] for k in ("wall", "cpu")}
    work = {f"{batch} fixed": padding_work(elements, batch, None), f"{batch} capped":
            padding_work(elements, batch, CPU_MAX_PADDING)}
    result["why"] = {"call_floor_s": floor, "batch_1_s_per_event": per_event, "dense_share": dense,
                     "padded_attention_work": work}
    f, e = floor["cpu"], per_event["cpu"]
    say(f"why batching gains little on CPU (CPU times; wall {1e3 * floor['wall']:.1f} / {1e3 * per_event['wall']:.1f} ms): "
        f"a call on a 1-track/1-cluster event takes {1e3 * f:.1f} ms, a CLD event at batch 1 {1e3 * e:.1f} ms, so "
        f"batching can save at most that fixed {100 * f / e:.0f}% per event (ratio <= {e / max(e - f, 1e-9):.2f} "
        f"with no padding at all); at batch 1, {100 * dense:.0f}% of the module's CPU time is matrix products and "
        f"attention (torch.profiler), work that grows with the events; and padding a batch to its largest event "
        f"adds attention work (against batch 1: " + ", ".join(f"{k} x{v:.2f}" for k, v in work.items()) + ")")
    first = reco_split(path, model, batch)  # apart: the first reco of a process imports ROOT, declares the EDM4hep types
    splits: dict = {1: [], batch: []}
    for _ in range(rounds):
        for b in splits:
            splits[b].append(reco_split(path, model, b))
    for b, runs in splits.items():
        total = statistics.median(r["seconds"] for r in runs)
        t = {k: statistics.median(r["timings"][k] for r in runs) for k in runs[0]["timings"]}
        events = runs[0]["events"]
        result[f"reco batch {b}"] = {"events": events, "seconds": total, "timings": t}
        say(f"k4mlpf reco ({Path(model).name}, TorchScript, batch {b}): {events / total:.1f} events/s end to end "
            f"({total:.1f} s for {events} events, median of {rounds}; ROOT already started)")
        say("    " + ", ".join(f"{k} {v:.2f} s ({100 * v / total:.0f}%)" for k, v in t.items()))
    later = result[f"reco batch {batch}"]
    result["reco first run"] = first
    once = {k: r["timings"]["write"] + r["timings"]["other"] for k, r in (("first", first), ("later", later))}
    say(f"  the first reco of a process (batch {batch}, {first['seconds']:.1f} s) spent {once['first']:.1f} s in write + "
        f"other against {once['later']:.1f} s later: importing ROOT and declaring the EDM4hep types, once per "
        "`k4mlpf reco` command")
    say(f"  reco batch {batch} / batch 1: {result['reco batch 1']['seconds'] / result[f'reco batch {batch}']['seconds']:.2f}"
        f" end to end, {result['reco batch 1']['timings']['model'] / result[f'reco batch {batch}']['timings']['model']:.2f}"
        " on the model")
    prep = prepare_rate(path)
    result["prepare"] = prep
    say(f"python_trainer prepare: {prep['events'] / prep['seconds']:.0f} events/s ({prep['seconds']:.1f} s for "
        f"{prep['events']} events: read, elements, targets, PF candidates, shard written)")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", help="CLD REC file (default: simulate --events ttbar events)")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--model", default=str(SHIPPED))
    parser.add_argument("--paper-events", type=int, default=16, help="events for the paper-size model (slow)")
    parser.add_argument("--no-pt2", action="store_true", help="skip the .pt2 packages (compiling one takes minutes)")
    parser.add_argument("--no-paper", action="store_true", help="skip the paper-size model")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    path = Path(args.file) if args.file else sample(args.events)
    report(path, model=args.model, batch=args.batch, rounds=args.rounds, events=args.events if args.file else None,
           pt2=not args.no_pt2, paper=not args.no_paper, paper_events=args.paper_events)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
