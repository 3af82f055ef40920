"""``python -m k4mlpf reco``: run an exported MLPF model on an EDM4hep file, without Gaudi.

Reads tracks, clusters and their hits, runs the TorchScript algorithm module (the same file the
Gaudi algorithm loads) and writes every input collection plus ``MLPFPFOs``
(``edm4hep::ReconstructedParticle``: PDG, energy, momentum, charge, mass, goodnessOfPID = the class
probability, and the track or cluster it came from), ``MLPFParticleIDs`` (the class probabilities)
and, where the input has track/cluster truth links, ``MLPFMCTruthLink`` (``k4mlpf.reco_links``) to
a new file. Uses only the model file and the
I/O layer, never the trainer.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

import awkward as ak
import numpy as np
import torch

from .cli_support import check_device, check_output_file
from .detector import check_model, file_detector, shipped_model
from .edm4hep.reader import EDM4hepFile
from .edm4hep.refs import collection_type
from .edm4hep.output import copy_with_additions
from .elements import ElementCollections, Elements, offsets, pack_elements
from .model import load_algorithm
from .model.batch import outputs_to_elements, pad_blocks
from .reco_links import CLUSTER_LINKS, TRACK_LINKS, particle_ids, truth_links


CPU_MAX_PADDING = 0.25  # see size_ordered_batches: ~10% more events/s at batch 32 on CPU than fixed batches


def size_ordered_batches(elements: Elements, batch_size: int, max_padding: float | None = None) -> list[np.ndarray]:
    """Event indices in batches of similar size (sorted by elements and hits), so that padding to the
    largest event of a batch costs little.

    A batch holds at most ``batch_size`` events; with ``max_padding`` it also closes early when padding
    to its largest event would make the attention work, B x (T_max + C_max)^2, exceed the events' own,
    sum of (T + C)^2, by more than that fraction. Events sorted by size still differ a lot within a
    batch of 32 of a 200-event chunk (1.4x the attention work of batch 1 on CLD ttbar), and on a CPU
    that padding costs as much as the per-call overhead batching saves."""
    tracks, clusters = elements.track_counts, elements.cluster_counts
    size = (tracks + clusters) * 64 + elements.hit_counts
    order = np.argsort(size, kind="stable")
    if max_padding is None:
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    batches, start, t_max, c_max, own = [], 0, 0, 0, 0
    for pos, event in enumerate(order.tolist()):
        t, c = int(tracks[event]), int(clusters[event])
        padded = (pos - start + 1) * (max(t_max, t) + max(c_max, c)) ** 2
        if pos > start and (pos - start >= batch_size or padded > (1 + max_padding) * (own + (t + c) ** 2)):
            batches.append(order[start:pos])
            start, t_max, c_max, own = pos, 0, 0, 0
        t_max, c_max, own = max(t_max, t), max(c_max, c), own + (t + c) ** 2
    if len(order):
        batches.append(order[start:])
    return batches


def run_model(algo, elements: Elements, batch_size: int = 32, device: str = "cpu",
              max_padding: float | None | str = "auto") -> dict[str, np.ndarray]:
    """Decoded particles of every element (flat, per event: tracks then clusters), in batches of
    events of similar size (``size_ordered_batches``). ``max_padding`` "auto": CPU_MAX_PADDING on a
    CPU, no limit on a GPU (where the per-call overhead weighs more; not measured there yet)."""
    if max_padding == "auto":
        max_padding = CPU_MAX_PADDING if torch.device(device).type == "cpu" else None
    keys = ("cls", "pdg", "charge", "px", "py", "pz", "energy", "mass", "probabilities", "skipped")
    blocks = ((elements.tracks, elements.track_counts), (elements.clusters, elements.cluster_counts),
              (elements.hits, elements.hit_counts))
    elem_counts = elements.track_counts + elements.cluster_counts
    elem_off = offsets(elem_counts)
    result: dict[str, np.ndarray] = {}
    for events in size_ordered_batches(elements, batch_size, max_padding):
        batch = pad_blocks(blocks, events)
        with torch.no_grad():
            out = algo(*(t.to(device) for t in batch))
        counts = elem_counts[events]        # where this batch's elements go in the event order
        dest = np.repeat(elem_off[events] - offsets(counts)[:-1], counts) + np.arange(int(counts.sum()))
        values = outputs_to_elements({k: out[k].cpu().numpy() for k in keys}, elements.track_counts[events],
                                     elements.cluster_counts[events], batch[0].shape[1])
        for k, value in values.items():
            if k not in result:
                result[k] = np.zeros((int(elem_off[-1]),) + value.shape[1:], value.dtype)
            result[k][dest] = value
    return result if result else {k: np.zeros(0) for k in keys}


def particles_collection(particles: dict[str, np.ndarray], elements: Elements, *, tracks_id: int,
                         clusters_id: int) -> ak.Array:
    """``N * var * ReconstructedParticle`` records of the predicted particles (class != 0)."""
    counts = elements.track_counts + elements.cluster_counts
    event = np.repeat(np.arange(len(counts)), counts)
    local = np.arange(len(event)) - offsets(counts)[event]
    is_track = local < elements.track_counts[event]
    keep = particles["cls"] != 0
    n_per_event = np.bincount(event[keep], minlength=len(counts))
    f32 = np.float32
    ref_index = np.where(is_track, local, local - elements.track_counts[event])[keep].astype(np.int32)
    ref = ak.zip({"index": ref_index, "collectionID": np.where(is_track[keep], tracks_id, clusters_id).astype(np.uint32)})
    on_track = is_track[keep]
    tracks = ak.unflatten(ref[on_track], on_track.astype(np.int64))  # one track, or none
    clusters = ak.unflatten(ref[~on_track], (~on_track).astype(np.int64))
    prob = particles["probabilities"][keep]
    record = ak.zip({
        "PDG": particles["pdg"][keep].astype(np.int32),
        "energy": particles["energy"][keep].astype(f32),
        "momentum": ak.zip({"x": particles["px"][keep].astype(f32), "y": particles["py"][keep].astype(f32),
                            "z": particles["pz"][keep].astype(f32)}),
        "charge": particles["charge"][keep].astype(f32),
        "mass": particles["mass"][keep].astype(f32),
        "goodnessOfPID": (prob.max(axis=1) if len(prob) else np.zeros(0)).astype(f32),
        "tracks": tracks, "clusters": clusters,
    }, depth_limit=1)
    return ak.unflatten(record, n_per_event)


def skipped_elements(skipped: np.ndarray, elements: Elements, names: ElementCollections,
                     first_event: int = 0) -> list[tuple[str, int, int]]:
    """(collection, event, index) of every element the model skipped for non-finite members."""
    counts = elements.track_counts + elements.cluster_counts
    flat_index = np.flatnonzero(skipped)
    event = np.searchsorted(offsets(counts), flat_index, side="right") - 1
    local = flat_index - offsets(counts)[event]
    on_track = local < elements.track_counts[event]
    return [(names.tracks if t else names.clusters, int(e) + first_event, int(i if t else i - nt))
            for t, e, i, nt in zip(on_track, event, local, elements.track_counts[event])]


def reconstruct(input_path: str | os.PathLike, output_path: str | os.PathLike,
                model_path: str | os.PathLike | None = None, *, collection: str = "MLPFPFOs",
                tracks: str = "SiTracks_Refitted", clusters: str = "PandoraClusters", device: str = "cpu",
                batch_size: int = 32, step_size: int = 200, progress: bool = True, detector: str | None = None,
                b_field: float | None = None, allow_detector_mismatch: bool = False,
                say: Callable[[str], None] | None = None, timings: dict | None = None) -> int:
    """Write ``input_path`` + the MLPF particles to ``output_path``; returns the number of events.

    ``model_path`` None: the model shipped for the file's detector. A model for another detector than
    the file's is refused (DetectorMismatchError) unless ``allow_detector_mismatch``. Notes and
    warnings go to ``say`` (default: stderr).

    ``timings``, if given, accumulates where the time went, in seconds: "start-up" (checking the input,
    loading the model), "read" (the input's chunks, converted to today's layout), "pack", "model",
    "collections" (the particles, their IDs and truth links) and "write" (the output, closed).
    """
    clock: dict = {} if timings is None else timings
    started = time.perf_counter()

    def spent(key: str, since: float) -> float:
        now = time.perf_counter()
        clock[key] = clock.get(key, 0.0) + now - since
        return now

    from tqdm import tqdm

    say = say or (lambda text: print(text, file=sys.stderr))
    if batch_size < 1:
        raise ValueError(f"--batch-size must be positive, got {batch_size}")
    device = check_device(device)
    check_output_file(output_path, [input_path])
    names = ElementCollections(tracks=tracks, clusters=clusters)
    stem = collection.removesuffix("PFOs")
    link_name, pid_name = f"{stem}MCTruthLink", f"{stem}ParticleIDs"
    with EDM4hepFile(input_path) as f:
        needed = names.needed(f)
        total = f.num_entries()
        taken = [n for n in (collection, link_name, pid_name) if n in f.collections()]
        if taken:
            from .edm4hep.errors import WriteError

            raise WriteError(f"the input already has a collection {taken[0]!r}; choose another --collection",
                             file_path=os.fspath(input_path))
        data_detector = file_detector(f, detector, b_field)
        truth = [n for n in (TRACK_LINKS, CLUSTER_LINKS) if n in f.collections()]
        needed += truth
    if model_path is None:
        model_path = shipped_model(data_detector)
        say(f"model: {model_path.name} (shipped for {data_detector.describe()})")
    algo = load_algorithm(model_path, device=device)  # loaded once: its metadata travels with it
    meta = {key: json.loads(value) for key, value in algo.metadata().items()}
    note = check_model(meta.get("detector", "unknown"), float(meta.get("b_field", 0.0)), data_detector,
                       path=os.fspath(input_path), allow_mismatch=allow_detector_mismatch)
    if note:
        say(note)
    bar = tqdm(total=total, desc=f"MLPF ({meta.get('detector')})", unit="ev", disable=not progress)
    skipped: list[tuple[str, int, int]] = []
    events_done = [0]

    def produce(chunk, source):
        tick = time.perf_counter()
        elements = pack_elements(source, chunk, names)
        tick = spent("pack", tick)
        particles = run_model(algo, elements, batch_size, device)
        tick = spent("model", tick)
        skipped.extend(skipped_elements(particles["skipped"], elements, names, events_done[0]))
        events_done[0] += len(elements)
        infos = source.collections()
        ids = {"tracks_id": infos[tracks].collection_id, "clusters_id": infos[clusters].collection_id}
        out = particles_collection(particles, elements, **ids)
        kept = {k: v[particles["cls"] != 0] for k, v in particles.items()}
        made = {collection: out, pid_name: particle_ids(kept, ak.to_numpy(ak.num(out, axis=1)), collection)}
        types = {collection: collection_type("ReconstructedParticle"), pid_name: collection_type("ParticleID")}
        if truth:
            made[link_name] = truth_links(out, chunk, collection, **ids)
            types[link_name] = collection_type("RecoMCParticleLink")
        spent("collections", tick)
        return made, types

    spent("start-up", started)
    copied: dict = {}
    try:
        n = copy_with_additions(input_path, output_path, produce, inputs=needed, step_size=step_size,
                                progress=bar.update, timings=copied)
    finally:  # an error's one line then starts on a line of its own
        bar.close()
        for key in ("read", "write"):
            clock[key] = clock.get(key, 0.0) + copied.get(key, 0.0)
    if skipped:
        shown = ", ".join(f"{c} event {e} index {i}" for c, e, i in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        say(f"warning: {len(skipped)} element(s) with non-finite members were skipped: {shown}{more}")
    return n
