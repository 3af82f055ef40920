"""The collections written next to ``MLPFPFOs``: the particles' truth links and their particle IDs.

- ``MLPFMCTruthLink`` (``edm4hep::RecoMCParticleLink``): from each MLPF particle to every MCParticle
  that made its track (through the file's track truth links, e.g. ``SiTracksMCTruthLink``) or its
  cluster (``ClusterMCTruthLink``), with that link's weight, as Pandora's ``RecoMCTruthLink`` links
  PFOs to the particles behind their tracks and clusters.
- ``MLPFParticleIDs`` (``edm4hep::ParticleID``, k4PFHitML's convention): per MLPF particle,
  ``type`` = its MLPF class, ``PDG`` = its signed PDG code, ``likelihood`` = the probability of that class,
  ``parameters`` = the six class probabilities (none, charged hadron, neutral hadron, photon,
  electron, muon), ``particle`` = the MLPF particle.

Everything is vectorized over the events of a chunk (a sort-merge join of element keys, no loop per
particle).
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from .edm4hep.murmur import collection_id
from .elements import flat as _flat

TRACK_LINKS = "SiTracksMCTruthLink"
CLUSTER_LINKS = "ClusterMCTruthLink"


def _by_event(fields: dict, event: np.ndarray, n_events: int) -> ak.Array:
    order = np.argsort(event, kind="stable")
    record = ak.zip({k: (ak.zip({kk: vv[order] for kk, vv in v.items()}) if isinstance(v, dict) else v[order])
                     for k, v in fields.items()}, depth_limit=1)
    return ak.unflatten(record, np.bincount(event, minlength=n_events))


def _join(keys: np.ndarray, link_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with keys[i] == link_keys[j] (several links per key)."""
    order = np.argsort(link_keys, kind="stable")
    sorted_keys = link_keys[order]
    lo, hi = np.searchsorted(sorted_keys, keys, "left"), np.searchsorted(sorted_keys, keys, "right")
    n = hi - lo
    i = np.repeat(np.arange(len(keys)), n)
    j = order[np.repeat(lo, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)]
    return i, j


def truth_links(pfos: ak.Array, chunk: dict, collection: str, *, tracks_id: int, clusters_id: int,
                track_links: str = TRACK_LINKS, cluster_links: str = CLUSTER_LINKS) -> ak.Array:
    """``N * var * RecoMCParticleLink`` records from the particles of ``collection`` (``pfos``) to MCParticles."""
    n_events = len(pfos)
    counts = ak.to_numpy(ak.num(pfos, axis=1))
    p_event = np.repeat(np.arange(n_events), counts)
    p_local = np.arange(len(p_event)) - np.repeat(np.cumsum(counts) - counts, counts)
    pieces = []
    for relation, links_name, element_id in (("tracks", track_links, tracks_id), ("clusters", cluster_links, clusters_id)):
        if links_name not in chunk:
            continue
        per_particle = ak.num(pfos[relation], axis=2)
        has = _flat(per_particle) > 0
        first = _flat(ak.firsts(pfos[relation].index, axis=2)[per_particle > 0]) if has.any() else np.zeros(0)
        key = (p_event[has].astype(np.int64) << 32) + first.astype(np.int64)
        links = chunk[links_name]
        l_counts = ak.to_numpy(ak.num(links, axis=1))
        l_event = np.repeat(np.arange(n_events), l_counts)
        mine = _flat(links["from"].collectionID) == element_id
        l_key = (l_event[mine].astype(np.int64) << 32) + _flat(links["from"].index)[mine].astype(np.int64)
        i, j = _join(key, l_key)
        particle = np.flatnonzero(has)[i]
        pieces.append((p_event[particle], p_local[particle], _flat(links["to"].index)[mine][j],
                       _flat(links["to"].collectionID)[mine][j], _flat(links.weight)[mine][j]))
    event, local, to_index, to_id, weight = (np.concatenate([p[k] for p in pieces]) if pieces else np.zeros(0, int)
                                             for k in range(5))
    cid = np.uint32(collection_id(collection))
    return _by_event({"weight": weight.astype(np.float32),
                      "from": {"index": local.astype(np.int32), "collectionID": np.full(len(local), cid, np.uint32)},
                      "to": {"index": to_index.astype(np.int32), "collectionID": to_id.astype(np.uint32)}},
                     event.astype(np.int64), n_events)


def particle_ids(particles: dict[str, np.ndarray], n_per_event: np.ndarray, collection: str) -> ak.Array:
    """``N * var * ParticleID`` records, one per MLPF particle (``particles``: the kept rows of the
    model's output, in the order of the particle collection)."""
    prob = np.asarray(particles["probabilities"], np.float32).reshape(-1, 6)
    n = len(prob)
    local = np.arange(n) - np.repeat(np.cumsum(n_per_event) - n_per_event, n_per_event)
    record = ak.zip({
        "type": np.asarray(particles["cls"], np.int32), "PDG": np.asarray(particles["pdg"], np.int32),
        "algorithmType": np.zeros(n, np.int32),
        "likelihood": prob[np.arange(n), np.asarray(particles["cls"], np.int64)] if n else np.zeros(0, np.float32),
        "parameters": ak.unflatten(prob.ravel(), np.full(n, 6, np.int64)),
        "particle": ak.zip({"index": local.astype(np.int32),
                            "collectionID": np.full(n, collection_id(collection), np.uint32)}),
    }, depth_limit=1)
    return ak.unflatten(record, np.asarray(n_per_event, np.int64))
