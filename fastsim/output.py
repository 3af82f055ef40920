"""Flat per-chunk arrays -> EDM4hep collections (awkward ``N * var * record``) in CLD names.

Every collection is built from flat numpy arrays over all objects of the chunk plus the event of
each object (objects already grouped by event); relations are podio ObjectIDs with indices local
to the event. Collection names and types are those of the CLD reconstruction chain.
"""

from __future__ import annotations

import json

import awkward as ak
import numpy as np

from k4mlpf.edm4hep.murmur import collection_id
from k4mlpf.edm4hep.refs import collection_type

from . import cells

TRACKS, DQDX, CLUSTERS, PFOS = "SiTracks_Refitted", "SiTracks_Refitted_dQdx", "PandoraClusters", "BaselinePFOs"
TYPES = {
    "MCParticles": collection_type("MCParticle"), "EventHeader": collection_type("EventHeader"),
    TRACKS: collection_type("Track"), DQDX: collection_type("RecDqdx"),
    CLUSTERS: collection_type("Cluster"), PFOS: collection_type("ReconstructedParticle"),
    **{name: collection_type("CalorimeterHit") for name in cells.COLLECTION_NAMES},
    "SiTracksMCTruthLink": collection_type("TrackMCParticleLink"),
    "CalohitMCTruthLink": collection_type("CaloHitMCParticleLink"),
    "ClusterMCTruthLink": collection_type("ClusterMCParticleLink"),
    "RecoMCTruthLink": collection_type("RecoMCParticleLink"),
}


def _local(event, n_events):
    """Index of each object within its event (objects grouped by event)."""
    counts = np.bincount(event, minlength=n_events)
    starts = np.cumsum(counts) - counts
    return np.arange(len(event)) - starts[event], counts


def _content(value):
    return value if isinstance(value, ak.contents.Content) else ak.contents.NumpyArray(np.ascontiguousarray(value))


def _record(fields: dict, length: int | None = None):
    """A record layout of equal-length numpy columns or layouts (``ak.zip`` without its overhead)."""
    contents = [_content(v) for v in fields.values()]
    return ak.contents.RecordArray(contents, list(fields), length=length)


def _ref(index, cid):
    index = np.asarray(index, np.int32)
    return _record({"index": index, "collectionID": np.broadcast_to(np.asarray(cid, np.uint32), index.shape).copy()})


def _vec(a, dtype=np.float32):
    return _record({k: np.asarray(a[:, i], dtype) for i, k in enumerate("xyz")})


def _array_member(values):
    """A ``std::array`` member (n, k) as ``ak.zip({"values": values})`` lays it out: k * {values}."""
    flat = _record({"values": values.reshape(-1)})
    return ak.contents.RegularArray(flat, values.shape[1], zeros_length=len(values))


def _lists(values, counts):
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return ak.contents.ListOffsetArray(ak.index.Index64(offsets), _content(values))


def _events(fields: dict, event, n_events):
    _, counts = _local(event, n_events)
    return ak.Array(_lists(_record(fields, length=len(event)), counts))


def mc_particles(truth):
    cid = collection_id("MCParticles")
    n_par, n_dau = np.diff(truth.parent_offsets), np.diff(truth.daughter_offsets)
    zero3 = np.zeros((len(truth.pdg), 3))
    fields = {
        "PDG": truth.pdg, "generatorStatus": truth.status,
        "simulatorStatus": np.zeros(len(truth.pdg), np.int32), "charge": truth.charge,
        "time": truth.time, "mass": truth.mass, "vertex": _vec(truth.vertex, np.float64),
        "endpoint": _vec(zero3, np.float64), "momentum": _vec(truth.p4[:, :3], np.float64),
        "momentumAtEndpoint": _vec(zero3, np.float64), "helicity": np.full(len(truth.pdg), 9, np.int32),
        "parents": _lists(_ref(truth.parents, cid), n_par),
        "daughters": _lists(_ref(truth.daughters, cid), n_dau),
    }
    return _events(fields, truth.event, truth.n_events)


def hit_collections(hits, n_events):
    out = {}
    for code, name in enumerate(cells.COLLECTION_NAMES):
        m = hits.coll == code
        out[name] = _events({"cellID": hits.cellid[m], "energy": hits.energy[m].astype(np.float32),
                             "energyError": hits.energy_error[m].astype(np.float32),
                             "time": hits.time[m].astype(np.float32), "position": _vec(np.compress(m, hits.position, axis=0)),
                             "type": hits.type[m]}, hits.event[m], n_events)
    return out


def hit_refs(hits, index):
    """(local index, collectionID) of hits ``index`` (global)."""
    local = np.zeros(len(hits.event), np.int64)
    cids = np.array([collection_id(n) for n in cells.COLLECTION_NAMES], np.uint32)
    for code in range(len(cells.COLLECTION_NAMES)):
        m = np.flatnonzero(hits.coll == code)
        local[m] = _local(hits.event[m], int(hits.event.max(initial=0)) + 1)[0]
    return local[index], cids[hits.coll[index]]


def tracks(tr, track_event, n_events):
    n = len(track_event)
    states = _record({
        "location": np.tile(np.arange(1, 5, dtype=np.int32), n),
        **{k: tr.states[:, :, i].ravel().astype(np.float32)
           for i, k in enumerate(["D0", "phi", "omega", "Z0", "tanLambda"])},
        "time": np.zeros(4 * n, np.float32),
        "referencePoint": _vec(tr.ref_points.reshape(-1, 3)),
        "covMatrix": _array_member(np.repeat(_cov21(tr.cov), 4, axis=0)),
    })
    hit_numbers = np.concatenate([tr.hit_numbers, tr.hit_numbers], axis=1).astype(np.int32)
    fields = {"type": np.zeros(n, np.int32), "chi2": tr.chi2.astype(np.float32), "ndf": tr.ndf.astype(np.int32),
              "subdetectorHitNumbers": _lists(hit_numbers.ravel(), np.full(n, 12)),
              "trackStates": _lists(states, np.full(n, 4))}
    local, _ = _local(track_event, n_events)
    dqdx = {"dQdx": _record({"type": np.zeros(n, np.int32), "value": tr.dqdx.astype(np.float32),
                             "error": tr.dqdx_error.astype(np.float32)}),
            "track": _ref(local, collection_id(TRACKS))}
    return _events(fields, track_event, n_events), _events(dqdx, track_event, n_events)


def _cov21(cov5):
    """(n, 5, 5) -> (n, 21) lower triangle of the 6x6 (D0, phi, omega, Z0, tanL, time) matrix."""
    full = np.zeros((len(cov5), 6, 6))
    full[:, :5, :5] = cov5
    r, c = np.tril_indices(6)
    return full[:, r, c].astype(np.float32)


def clusters(cl, hits, n_events):
    n = len(cl.event)
    idx, cid = hit_refs(hits, cl.hit_index)
    fields = {"type": np.zeros(n, np.int32), "energy": cl.energy.astype(np.float32),
              "energyError": cl.energy_error.astype(np.float32), "position": _vec(cl.position),
              "positionError": _array_member(cl.position_error.astype(np.float32)),
              "iTheta": cl.itheta.astype(np.float32), "iPhi": cl.iphi.astype(np.float32),
              "shapeParameters": _lists(cl.shape.ravel().astype(np.float32), np.full(n, 6)),
              "subdetectorEnergies": _lists(cl.subdetector_energies.ravel().astype(np.float32), np.full(n, 3)),
              "hits": _lists(_ref(idx, cid), np.diff(cl.hit_offsets))}
    return _events(fields, cl.event, n_events)


def pfos(pf, track_event, cluster_event, n_events):
    t_local, _ = _local(track_event, n_events)
    c_local, _ = _local(cluster_event, n_events)
    has_t, has_c = pf.track >= 0, pf.cluster >= 0
    fields = {"PDG": pf.pdg, "energy": pf.energy.astype(np.float32), "momentum": _vec(pf.momentum),
              "charge": pf.charge.astype(np.float32), "mass": pf.mass.astype(np.float32),
              "tracks": _lists(_ref(t_local[pf.track[has_t]], collection_id(TRACKS)), has_t.astype(np.int64)),
              "clusters": _lists(_ref(c_local[pf.cluster[has_c]], collection_id(CLUSTERS)), has_c.astype(np.int64))}
    return _events(fields, pf.event, n_events)


def links(from_name, from_local, to_local, weight, event, n_events, from_cid=None, to_name="MCParticles"):
    order = np.argsort(event, kind="stable")
    fcid = collection_id(from_name) if from_cid is None else np.asarray(from_cid)[order]
    fields = {"weight": np.asarray(weight, np.float32)[order],
              "from": _ref(np.asarray(from_local)[order], fcid),
              "to": _ref(np.asarray(to_local)[order], collection_id(to_name))}
    return _events(fields, np.asarray(event)[order], n_events)


def event_headers(n_events, first_event, run):
    return _events({"eventNumber": np.arange(first_event, first_event + n_events, dtype=np.uint64),
                    "runNumber": np.full(n_events, run, np.uint32),
                    "timeStamp": np.zeros(n_events, np.uint64), "weight": np.ones(n_events),
                    "weights": _lists(np.zeros(0), np.zeros(n_events, np.int64))},
                   np.arange(n_events), n_events)


def metadata(card, sample: dict | None = None) -> dict:
    meta = {f"{name}__CellIDEncoding": [cells.CELLID_ENCODING] for name in cells.COLLECTION_NAMES}
    meta[f"{CLUSTERS}__subdetectorNames"] = ["ECAL", "HCAL", "other"]
    meta[f"{CLUSTERS}__shapeParameterNames"] = ["FirstLayer", "ShowerMax", "Length", "Width", "Asym", "Extra"]
    meta["k4mlpf_detector"] = [card.name]
    meta["k4mlpf_bfield_tesla"] = [float(card.bfield_tesla)]
    if sample is not None:  # what was generated: process, energy, seed, events (JSON; prepare keeps it)
        meta["k4mlpf_sample"] = [json.dumps(sample, sort_keys=True)]
    return meta
