"""EDM4hep collections -> the raw element columns the MLPF algorithm module takes.

One implementation for the trainer (``prepare``), the Python reconstruction and evaluation; the C++
Gaudi algorithm packs the same columns (``k4mlpf.model.columns``). Vectorized over all events of a
chunk: every output is a flat float32 array over all objects plus per-event counts.

* tracks  [sum T, 13]: AtIP helix parameters (first state if no AtIP), chi2, ndf, dQ/dx from
  ``<tracks>_dQdx`` (EDM4hep >= 0.99) or ``Track.dEdx`` (0.10), AtFirstHit reference point
  (EDM4hep 0.10: ``radiusOfInnermostHit`` put on the x axis);
* clusters [sum C, 6]: energy, position, iTheta, iPhi;
* hits [sum H, 6]: energy, position, subsystem (ECAL 0 / HCAL 1 / other 2, from the hit collection's
  name) and the index of the owning cluster in its event.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from .edm4hep.reader import EDM4hepFile
from .model.columns import (CLUSTER_COLUMNS, HIT_COLUMNS, SUBSYSTEM_OTHER, TRACK_COLUMNS,  # noqa: F401
                            subsystem_of)  # subsystem_of re-exported: the rule lives in the model's contract

AT_IP, AT_FIRST_HIT = 1, 2


@dataclass
class ElementCollections:
    """Which collections hold the elements (CLD / CLICdet reconstruction names by default)."""

    tracks: str = "SiTracks_Refitted"
    clusters: str = "PandoraClusters"
    dqdx: str | None = None  # default: "<tracks>_dQdx" when the file has it

    def needed(self, f: EDM4hepFile) -> list[str]:
        """Collections to read from ``f``: tracks, clusters, dQdx and every hit collection of clusters."""
        available = f.collections()
        missing = [c for c in (self.tracks, self.clusters) if c not in available]
        if missing:
            from .edm4hep.errors import CollectionNotFoundError, EDM4hepError

            if not any(i.type in RECONSTRUCTED_TYPES for i in available.values()) and any(
                    i.type in SIMULATED_TYPES for i in available.values()):
                raise EDM4hepError(f"no {' or '.join(missing)}: this looks like a simulation (SIM) file without "
                                   "reconstruction; run the reconstruction (e.g. CLDReconstruction.py) first",
                                   file_path=f.path)
            raise CollectionNotFoundError(missing[0], list(available), file_path=f.path)
        names = [self.tracks, self.clusters]
        dqdx = self.dqdx or f"{self.tracks}_dQdx"
        if dqdx in available:
            names.append(dqdx)
        names += hit_collections(f)
        return names


RECONSTRUCTED_TYPES = {"edm4hep::TrackCollection", "edm4hep::ClusterCollection", "edm4hep::CalorimeterHitCollection"}
SIMULATED_TYPES = {"edm4hep::SimCalorimeterHitCollection", "edm4hep::SimTrackerHitCollection"}


def hit_collections(f: EDM4hepFile) -> list[str]:
    """The collections cluster hits can point to, whatever their names (``ECALBarrel``,
    ``ECalBarrelCollection``, ...): every collection of the type of the Cluster ``hits`` relation in
    the file's own datamodel definition (CalorimeterHit), subset collections excepted (they hold
    references, not hits; clusters point at the hits themselves)."""
    hit_type = "edm4hep::CalorimeterHit"
    spec = (f.metadata.datamodel_definition("edm4hep").get("datatypes") or {}).get("edm4hep::Cluster", {})
    for relation in spec.get("OneToManyRelations") or []:
        words = relation.split("//", 1)[0].split()
        if len(words) >= 2 and words[-1] == "hits":
            hit_type = words[0]
    return [n for n, i in f.collections().items() if i.value_type == hit_type and not i.is_subset]


@dataclass
class Elements:
    """Flat element columns of a chunk of events, with per-event counts."""

    tracks: np.ndarray  # [sum T, len(TRACK_COLUMNS)]
    track_counts: np.ndarray  # [N]
    clusters: np.ndarray  # [sum C, len(CLUSTER_COLUMNS)]
    cluster_counts: np.ndarray
    hits: np.ndarray  # [sum H, len(HIT_COLUMNS)]
    hit_counts: np.ndarray

    def __len__(self) -> int:
        return len(self.track_counts)

    def event(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(tracks, clusters, hits) of event ``i``."""
        out = []
        for data, counts in ((self.tracks, self.track_counts), (self.clusters, self.cluster_counts),
                             (self.hits, self.hit_counts)):
            start = int(counts[:i].sum())
            out.append(data[start:start + int(counts[i])])
        return tuple(out)


def offsets(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def flat(array) -> np.ndarray:
    """Every value of a (jagged, possibly nested) awkward array as one numpy array."""
    return np.asarray(ak.to_numpy(ak.flatten(array, axis=None)))


def _first_state(location: np.ndarray, state_offsets: np.ndarray, wanted: int) -> tuple[np.ndarray, np.ndarray]:
    """Per track, the flat index of its first state at ``wanted`` and whether it has one.

    Tracks without such a state get their first state (the reference's choice for AtIP); tracks
    without any state get index -1.
    """
    n_tracks = len(state_offsets) - 1
    counts = np.diff(state_offsets)
    big = np.iinfo(np.int64).max
    candidate = np.where(location == wanted, np.arange(len(location)), big)
    first = np.full(n_tracks, big, np.int64)
    nonempty = counts > 0
    if len(location):
        first[nonempty] = np.minimum.reduceat(candidate, state_offsets[:-1][nonempty])
    has = first != big
    first = np.where(has, first, np.where(nonempty, state_offsets[:-1], -1))
    return first, has


def pack_tracks(chunk: dict, names: ElementCollections) -> tuple[np.ndarray, np.ndarray]:
    tracks = chunk[names.tracks]
    counts = np.asarray(ak.num(tracks, axis=1), np.int64)
    n = int(counts.sum())
    out = np.zeros((n, len(TRACK_COLUMNS)), np.float32)
    if n == 0:
        return out, counts
    col = {c: i for i, c in enumerate(TRACK_COLUMNS)}
    states = tracks.trackStates
    state_offsets = offsets(np.asarray(ak.to_numpy(ak.flatten(ak.num(states, axis=2), axis=1)), np.int64))
    location = flat(states.location)
    ip, _ = _first_state(location, state_offsets, AT_IP)
    for member in ("D0", "phi", "omega", "Z0", "tanLambda", "time"):
        values = flat(states[member])
        out[:, col[member]] = np.where(ip >= 0, values[np.maximum(ip, 0)] if len(values) else 0.0, 0.0)
    out[:, col["chi2"]] = flat(tracks.chi2)
    out[:, col["ndf"]] = flat(tracks.ndf)
    first_hit, has_first = _first_state(location, state_offsets, AT_FIRST_HIT)
    for axis, column in (("x", "firstHitX"), ("y", "firstHitY"), ("z", "firstHitZ")):
        values = flat(states.referencePoint[axis])
        out[:, col[column]] = np.where(has_first, values[np.maximum(first_hit, 0)] if len(values) else 0.0, 0.0)
    if "radiusOfInnermostHit" in tracks.fields and not has_first.any():  # EDM4hep 0.10
        out[:, col["firstHitX"]] = flat(tracks.radiusOfInnermostHit)
    dqdx_name = names.dqdx or f"{names.tracks}_dQdx"
    if dqdx_name in chunk and len(chunk[dqdx_name]):
        dqdx = chunk[dqdx_name]
        per_event = np.asarray(ak.num(dqdx, axis=1), np.int64)
        event = np.repeat(np.arange(len(per_event)), per_event)
        index = flat(dqdx.track.index).astype(np.int64)
        target = offsets(counts)[event] + index
        ok = (index >= 0) & (index < counts[event])
        out[target[ok], col["dQdx"]] = flat(dqdx.dQdx.value)[ok]
        out[target[ok], col["dQdxError"]] = flat(dqdx.dQdx.error)[ok]
    elif "dEdx" in tracks.fields:  # EDM4hep 0.10 kept dE/dx on the track
        out[:, col["dQdx"]] = flat(tracks.dEdx)
        out[:, col["dQdxError"]] = flat(tracks.dEdxError)
    return out, counts


def pack_clusters(chunk: dict, names: ElementCollections, hit_names: list[str], id_of) -> tuple:
    clusters = chunk[names.clusters]
    counts = np.asarray(ak.num(clusters, axis=1), np.int64)
    n = int(counts.sum())
    out = np.zeros((n, len(CLUSTER_COLUMNS)), np.float32)
    if n:
        out[:, 0] = flat(clusters.energy)
        out[:, 1] = flat(clusters.position.x)
        out[:, 2] = flat(clusters.position.y)
        out[:, 3] = flat(clusters.position.z)
        out[:, 4] = flat(clusters.iTheta)
        out[:, 5] = flat(clusters.iPhi)
    # the hits of every cluster, gathered from whichever collection each relation points to
    hits_per_cluster = np.asarray(ak.to_numpy(ak.flatten(ak.num(clusters.hits, axis=2), axis=1)), np.int64) \
        if n else np.zeros(0, np.int64)
    hits_per_event = np.asarray(ak.sum(ak.num(clusters.hits, axis=2), axis=1), np.int64) if len(counts) \
        else np.zeros(0, np.int64)
    n_hits = int(hits_per_cluster.sum())
    hit_out = np.zeros((n_hits, len(HIT_COLUMNS)), np.float32)
    if n_hits:
        ref_index = flat(clusters.hits.index).astype(np.int64)
        ref_id = flat(clusters.hits.collectionID).astype(np.int64)
        ref_event = np.repeat(np.arange(len(counts)), hits_per_event)
        cluster_in_event = np.repeat(np.arange(n) - np.repeat(offsets(counts)[:-1], counts), hits_per_cluster)
        hit_out[:, 5] = cluster_in_event
        hit_out[:, 4] = SUBSYSTEM_OTHER
        known = np.isin(ref_id, [id_of(name) for name in hit_names])
        if not known.all():
            raise ValueError(f"{int((~known).sum())} hit(s) of {names.clusters!r} point to collection ID(s) "
                             f"{sorted(set(ref_id[~known].tolist()))} that are not among the hit collections "
                             f"read ({hit_names})")
        for name in hit_names:
            hits = chunk[name]
            select = ref_id == id_of(name)
            if not select.any():
                continue
            per_event = np.asarray(ak.num(hits, axis=1), np.int64)
            idx = ref_index[select]
            ev = ref_event[select]
            if np.any((idx < 0) | (idx >= per_event[ev])):
                raise ValueError(f"a cluster hit points outside collection {name!r}")
            where = offsets(per_event)[ev] + idx
            hit_out[select, 0] = flat(hits.energy)[where]
            hit_out[select, 1] = flat(hits.position.x)[where]
            hit_out[select, 2] = flat(hits.position.y)[where]
            hit_out[select, 3] = flat(hits.position.z)[where]
            hit_out[select, 4] = subsystem_of(name)
    return out, counts, hit_out, hits_per_event


def referenced_hit_energy(refs, chunk: dict, hit_names: list[str], id_of) -> np.ndarray:
    """The ``energy`` of each hit a flat list of references (``refs.collectionID``/``refs.index`` per
    event, e.g. the ``from`` side of CalohitMCTruthLink) points to; NaN where it points into a
    collection that was not read."""
    counts = np.asarray(ak.num(refs.index, axis=1), np.int64)
    ref_index, ref_id = flat(refs.index).astype(np.int64), flat(refs.collectionID).astype(np.int64)
    ref_event = np.repeat(np.arange(len(counts)), counts)
    out = np.full(len(ref_index), np.nan)
    for name in hit_names:
        select = ref_id == id_of(name)
        if not select.any():
            continue
        per_event = np.asarray(ak.num(chunk[name], axis=1), np.int64)
        idx, ev = ref_index[select], ref_event[select]
        ok = (idx >= 0) & (idx < per_event[ev])
        values = np.full(len(idx), np.nan)
        values[ok] = flat(chunk[name].energy)[offsets(per_event)[ev[ok]] + idx[ok]]
        out[select] = values
    return out


def _check_hit_references(f: EDM4hepFile, clusters, clusters_name: str, hit_names: list[str]) -> None:
    """Every cluster hit must point into a hit collection that was read (else its features would be 0)."""
    ids = np.unique(np.asarray(ak.to_numpy(ak.flatten(clusters.hits.collectionID, axis=None)), np.int64))
    read = {f.collection(name).collection_id for name in hit_names}
    missing = [int(i) for i in ids if int(i) not in read]
    if missing:
        from .edm4hep.errors import EDM4hepError

        where = ", ".join(f"{f.collection_name(i)!r} (not read)" if f.collection_name(i) else
                          f"collection ID {i} (not in the file)" for i in missing)
        raise EDM4hepError(f"hits of clusters {clusters_name!r} point to {where}; the hits of every cluster are "
                           "needed for its features", file_path=f.path)


def pack_elements(f: EDM4hepFile, chunk: dict, names: ElementCollections | None = None) -> Elements:
    """Raw element columns of the events in ``chunk`` (collections read from ``f`` with ``names.needed``)."""
    names = names or ElementCollections()
    tracks, track_counts = pack_tracks(chunk, names)
    hit_names = [n for n in hit_collections(f) if n in chunk]
    infos = f.collections()
    _check_hit_references(f, chunk[names.clusters], names.clusters, hit_names)
    clusters, cluster_counts, hits, hit_counts = pack_clusters(
        chunk, names, hit_names, lambda name: infos[name].collection_id)
    return Elements(tracks, track_counts, clusters, cluster_counts, hits, hit_counts)
