"""``prepare``: EDM4hep REC files -> cached training shards (one ``.npz`` per input file).

A shard holds, for every event, the raw element columns the model module takes (tracks, clusters,
cluster hits; ``k4mlpf.elements``), the target particle of each element (``targets``), the PF
collection's particle on each element (``candidates``), and the truth particles (status 1, no
neutrinos) for jets and MET. A shard is rebuilt only when its input file or the options change, so
a second ``prepare`` is instant.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from k4mlpf.atomic import atomic_path
from k4mlpf.compare import REFERENCE_PF, reference_pf
from k4mlpf.detector import DetectorInfo, file_detector
from k4mlpf.edm4hep import CollectionNotFoundError, EDM4hepError, EDM4hepFile
from k4mlpf.elements import ElementCollections, hit_collections, pack_elements, referenced_hit_energy
from k4mlpf.evaluation import pfo_particles

from .targets import TruthCollections, build_targets, pf_candidates

SHARD_VERSION = 4  # 2: left-over particles merged into the owner of their best cluster; 3: the whole PF
# collection; 4: the oracle particle flow (oracle, oracle_cls, oracle_counts) and the sample (meta "sample")
UNUSED_MEMBERS = ("covMatrix", "positionError", "directionError")  # not read: ~25% faster


@dataclass(frozen=True)
class PrepareOptions:
    pf_collection: str | None = None  # default: PandoraPFOs if present, else BaselinePFOs
    tracks: str = "SiTracks_Refitted"
    clusters: str = "PandoraClusters"
    mc: str = "MCParticles"
    track_links: str = "SiTracksMCTruthLink"
    hit_links: str = "CalohitMCTruthLink"
    detector: str | None = None  # default: what the file says (fast simulation) or CLD
    b_field: float | None = None  # tesla; default: from the file or the detector
    step_size: int = 500


def detector_and_field(f: EDM4hepFile, options: PrepareOptions) -> tuple[str, float]:
    """The file's detector and B field (k4mlpf.detector's rules; CLD when nothing says)."""
    found = file_detector(f, options.detector, options.b_field)
    if found.name is None and found.b_field is None:
        found = DetectorInfo("CLD_o2_v05", 2.0, "the default")
    if found.b_field is None:
        raise EDM4hepError(f"unknown B field for detector {found.name!r}: pass --bfield", file_path=f.path)
    return found.name or "unknown", float(found.b_field)


def shard_path(input_path: str | os.PathLike, output_dir: str | os.PathLike, options: PrepareOptions) -> Path:
    stat = os.stat(input_path)
    key = json.dumps([os.path.abspath(input_path), stat.st_size, stat.st_mtime_ns, asdict(options),
                      SHARD_VERSION], sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    stem = Path(input_path).name.removesuffix(".root").removesuffix(".edm4hep")
    return Path(output_dir) / f"{stem}-{digest}.npz"


class Rows(NamedTuple):
    rows: np.ndarray    # [n, 4] px, py, pz, E (float32)
    counts: np.ndarray  # per event


def whole_collection(pfos) -> Rows:
    """Every particle of the PF collection (px, py, pz, E as float32, per-event counts): jets and MET of
    the PF reference are made from these, as ``k4mlpf compare`` makes them from the file."""
    p = pfo_particles(pfos)
    return Rows(np.stack([p.px, p.py, p.pz, p.energy], axis=1).astype(np.float32), p.counts)


def sample_of(f: EDM4hepFile) -> dict | None:
    """What the fast simulation says it generated (process, energy, seed, events, gun), or None."""
    from k4mlpf.detector import metadata_value

    text = metadata_value(f, "k4mlpf_sample")
    return json.loads(text) if text else None


def pf_collection_of(f: EDM4hepFile, options: PrepareOptions) -> str:
    """``--pf-collection``, else PandoraPFOs if the file has it, else BaselinePFOs."""
    available = f.collections()
    chosen = options.pf_collection or reference_pf(available)
    if chosen is None:
        raise CollectionNotFoundError(" or ".join(REFERENCE_PF), list(available), file_path=f.path)
    return chosen


def prepare_file(input_path: str, output_dir: str, options: PrepareOptions) -> tuple[Path, int, bool, str]:
    """Build (or reuse) the shard of one file. Returns (shard path, events, rebuilt?, PF collection)."""
    target = shard_path(input_path, output_dir, options)
    if target.exists():
        with np.load(target) as shard:
            meta = json.loads(str(shard["meta"]))
            events = int(len(shard["track_counts"]))
        remove_superseded(target, meta.get("source", os.path.abspath(input_path)))
        return target, events, False, meta.get("pf_collection", "?")
    names = ElementCollections(tracks=options.tracks, clusters=options.clusters)
    truth = TruthCollections(options.mc, options.track_links, options.hit_links)
    parts: dict[str, list] = {}
    with EDM4hepFile(input_path) as f:
        pf_name = pf_collection_of(f, options)
        needed = names.needed(f) + [truth.mc, truth.track_links, truth.hit_links, pf_name]
        available = f.collections()
        for name in needed:
            if name not in available:
                raise CollectionNotFoundError(name, list(available), file_path=f.path)
        detector, b_field = detector_and_field(f, options)
        sample = sample_of(f)
        ids = {n: available[n].collection_id for n in (options.tracks, options.clusters)}
        hit_names = [n for n in hit_collections(f) if n in needed]
        id_of = lambda name: available[name].collection_id  # noqa: E731
        for chunk in f.iterate(list(dict.fromkeys(needed)), step_size=options.step_size, skip=UNUSED_MEMBERS):
            elements = pack_elements(f, chunk, names)
            targets = build_targets(chunk, elements.track_counts, elements.cluster_counts,
                                    tracks=options.tracks, clusters=options.clusters, truth=truth,
                                    track_columns=elements.tracks, b_field=b_field,
                                    link_hit_energy=referenced_hit_energy(chunk[truth.hit_links]["from"], chunk,
                                                                          hit_names, id_of))
            pf = whole_collection(chunk[pf_name])
            candidates = pf_candidates(chunk, pf_name, elements.track_counts,
                                       elements.cluster_counts, tracks_id=ids[options.tracks],
                                       clusters_id=ids[options.clusters])
            for key, value in (("tracks", elements.tracks), ("track_counts", elements.track_counts),
                               ("clusters", elements.clusters), ("cluster_counts", elements.cluster_counts),
                               ("hits", elements.hits), ("hit_counts", elements.hit_counts),
                               ("targets", targets["targets"]), ("candidates", candidates),
                               ("truth", targets["truth"]), ("truth_counts", targets["truth_counts"]),
                               ("pf", pf.rows), ("pf_counts", pf.counts), ("oracle", targets["oracle"]),
                               ("oracle_cls", targets["oracle_cls"]), ("oracle_counts", targets["oracle_counts"])):
                parts.setdefault(key, []).append(value)
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    meta = {"source": os.path.abspath(input_path), "detector": detector, "b_field": b_field,
            "options": asdict(options), "pf_collection": pf_name, "version": SHARD_VERSION, "sample": sample}
    with atomic_path(target, suffix=".tmp.npz") as tmp:
        np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
    remove_superseded(target, meta["source"])
    return target, int(len(arrays["track_counts"])), True, pf_name


def remove_superseded(target: Path, source: str) -> list[Path]:
    """Delete the other shards of the same input file in ``target``'s folder (an older version of the
    file, other options or an older shard format): a folder of shards is a training set, and a stale
    shard beside the new one would put the same events in it twice."""
    stem = target.name.rsplit("-", 1)[0]
    removed = []
    for other in target.parent.glob(f"{stem}-*.npz"):
        if other == target or len(other.stem) != len(target.stem) or other.name.endswith(".tmp.npz"):
            continue
        try:
            with np.load(other) as shard:
                same = json.loads(str(shard["meta"])).get("source") == source
        except (OSError, ValueError, KeyError):
            continue  # not a shard of ours: leave it alone
        if same:
            other.unlink(missing_ok=True)
            removed.append(other)
    return removed


def prepare(inputs: list[str], output_dir: str, options: PrepareOptions, jobs: int = 1,
            progress: bool = True, report: list | None = None) -> list[Path]:
    """Prepare every input (in parallel over files); returns the shard paths in input order.

    The output folder is made only when the first shard is written, so a bad input leaves nothing
    behind. ``report``, if given, receives (input, shard, events, rebuilt?, PF collection) per file.
    """
    from tqdm import tqdm

    from k4mlpf.cli_support import check_output_dir, ignore_interrupts_in_worker

    missing = [p for p in inputs if not os.path.exists(p)]
    if missing:
        raise EDM4hepError("no such file", file_path=missing[0])
    check_output_dir(output_dir)
    results: list = [None] * len(inputs)
    with tqdm(total=len(inputs), desc="prepare", unit="file", disable=not progress) as bar:  # closed on errors too
        if jobs <= 1 or len(inputs) == 1:
            for i, path in enumerate(inputs):
                results[i] = prepare_file(path, output_dir, options)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=jobs, initializer=ignore_interrupts_in_worker) as pool:
                futures = {pool.submit(prepare_file, p, output_dir, options): i for i, p in enumerate(inputs)}
                for future in futures:
                    results[futures[future]] = future.result()
                    bar.update()
    if report is not None:
        report.extend((path, *result) for path, result in zip(inputs, results))
    return [r[0] for r in results]
