"""Training targets from EDM4hep truth: which particle each track or cluster should reconstruct.

The paper's rule (arXiv:2503.00131, Sec. IV.1):

1. *Truth particles*: generator status 1, no neutrinos.
2. *Target particles*: truth particles that reached the detector directly or through their
   descendants: every MC particle with a track link or a calorimeter-hit link is credited to its
   nearest status-1 ancestor (itself if it is one).
3. Each target particle is assigned to the one element that took most of it: *tracks first* (track
   link weight), then clusters (sum of the hit-link energies of the cluster's hits). An element takes
   at most one particle; when several want the same element, the most energetic wins and the
   others try their next best (greedy by energy, computed in vectorized proposal rounds).
4. A target particle left without an element of its own (every cluster it touched went to a more
   energetic particle) is *merged*: its four-momentum is added to the particle that owns its
   highest-weight cluster, as the reference does. Without this, energy that the calorimeter did
   measure (two photons of a pi0 in one cluster) would be missing from the targets, and a model
   trained on them would learn to drop it. A particle with only track links left over is dropped.
5. Track targets get charged classes, cluster targets neutral ones (``force_element_type``).

The same links give the *oracle particle flow* (``oracle_particles``): every visible particle
reconstructed from its own measurements with perfect pattern recognition, the physical limit of
particle flow on a detector.

Everything is vectorized over all events of a chunk with global indices (event offset + index).
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from k4mlpf.elements import flat, offsets
from k4mlpf.model.columns import CLASS_MASS, TRACK_COLUMNS
from k4mlpf.particles import class_of, force_element_type, kinematics
from k4mlpf.physics import track_momentum, visible_final_state

#: columns of the per-element target and PF-candidate arrays
PARTICLE_COLUMNS = ["cls", "charge", "pt", "eta", "sin_phi", "cos_phi", "energy", "px", "py", "pz"]
COLUMN = {c: i for i, c in enumerate(PARTICLE_COLUMNS)}  # column index by name


@dataclass
class TruthCollections:
    mc: str = "MCParticles"
    track_links: str = "SiTracksMCTruthLink"
    hit_links: str = "CalohitMCTruthLink"


def _event_of(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts)


def status1_ancestor(mc, mc_offsets: np.ndarray) -> np.ndarray:
    """Global index of each MC particle's nearest generator-status-1 ancestor (itself if status 1), or -1."""
    n = int(mc_offsets[-1])
    status1 = flat(mc.generatorStatus) == 1
    n_parents = flat(ak.num(mc.parents, axis=2))
    first_parent = np.full(n, -1, np.int64)
    has_parent = n_parents > 0
    if has_parent.any():
        parent_index = flat(mc.parents.index).astype(np.int64)
        first_of = offsets(n_parents)[:-1][has_parent]
        event = _event_of(np.diff(mc_offsets))
        first_parent[has_parent] = mc_offsets[event[has_parent]] + parent_index[first_of]
    # pointer jumping: up[i] is i for status-1 particles, else the parent (or -1 at the top)
    up = np.where(status1, np.arange(n), first_parent)
    for _ in range(64):
        valid = up >= 0
        nxt = up.copy()
        nxt[valid] = up[up[valid]]
        nxt[valid & status1[np.maximum(up, 0)]] = up[valid & status1[np.maximum(up, 0)]]
        if np.array_equal(nxt, up):
            break
        up = nxt
    return np.where((up >= 0) & status1[np.maximum(up, 0)], up, -1)


def greedy_assign(element: np.ndarray, particle: np.ndarray, weight: np.ndarray, particle_energy: np.ndarray,
                  taken_particles: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Match particles to elements: the result of taking particles in decreasing energy, each
    choosing its highest-weight element still free (ties: the lowest element index).

    Computed by deferred acceptance, vectorized over all particles: every unmatched particle
    proposes to its next-best element, every element keeps the most energetic particle it has
    seen and releases the one it held. With one energy ranking shared by all elements this stable
    matching is unique and equals the sequential greedy. Returns matched (element, particle) pairs.
    """
    usable = np.ones(len(particle), bool) if taken_particles is None else ~np.isin(particle, taken_particles)
    element, particle, weight = element[usable], particle[usable], weight[usable]
    if len(element) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((element, -weight, particle))  # per particle, its elements best first
    element, particle = element[order], particle[order]
    parts, start, count = np.unique(particle, return_index=True, return_counts=True)
    pointer, end = start.copy(), start + count  # next option of each particle (by position in `parts`)
    matched = np.zeros(len(parts), bool)
    holder = np.full(int(element.max()) + 1, -1, np.int64)  # element -> index into `parts`
    energy = particle_energy[parts]
    while True:
        proposing = np.flatnonzero(~matched & (pointer < end))
        if len(proposing) == 0:
            break
        target = element[pointer[proposing]]
        current = holder[target]
        # candidates per element: this round's proposers and the element's current holder
        cand_elem = np.concatenate([target, target[current >= 0]])
        cand_part = np.concatenate([proposing, current[current >= 0]])
        pick = np.lexsort((-energy[cand_part], cand_elem))
        first = np.unique(cand_elem[pick], return_index=True)[1]
        win_elem, win_part = cand_elem[pick][first], cand_part[pick][first]
        released = holder[win_elem]
        released = released[(released >= 0) & (released != win_part)]
        matched[released] = False
        pointer[released] += 1  # that element is gone for good for them
        holder[win_elem] = win_part
        matched[win_part] = True
        losers = proposing[~matched[proposing]]
        pointer[losers] += 1
    taken = np.flatnonzero(holder >= 0)
    return taken, parts[holder[taken]]


def _sum_pairs(element: np.ndarray, particle: np.ndarray, weight: np.ndarray):
    """Merge duplicate (element, particle) pairs, summing their weights."""
    if len(element) == 0:
        return element, particle, weight
    # one int64 key per pair (element-major, as np.unique(axis=0) orders rows, but a 1-D sort: ~10x faster)
    element, particle = element.astype(np.int64), particle.astype(np.int64)
    low = int(particle.min())
    span = int(particle.max()) - low + 1
    unique, inverse = np.unique(element * span + (particle - low), return_inverse=True)
    return unique // span, unique % span + low, np.bincount(inverse.ravel(), weights=weight)


def _hit_keys(event_a, id_a, index_a, event_b, id_b, index_b) -> tuple[np.ndarray, np.ndarray]:
    """One int64 key per hit reference (event, collection, index), consistent between the two sets."""
    ids, codes = np.unique(np.concatenate([id_a, id_b]).astype(np.int64), return_inverse=True)
    n_codes = max(len(ids), 1)
    code_a, code_b = codes[: len(id_a)], codes[len(id_a):]
    key_a = (event_a.astype(np.int64) * n_codes + code_a) * (1 << 32) + index_a.astype(np.int64)
    key_b = (event_b.astype(np.int64) * n_codes + code_b) * (1 << 32) + index_b.astype(np.int64)
    return key_a, key_b


def oracle_particles(t_elem: np.ndarray, t_part: np.ndarray, t_weight: np.ndarray, h_part: np.ndarray,
                     h_energy: np.ndarray, track_columns: np.ndarray, b_field: float, pdg, charge, px, py, pz,
                     true_energy: np.ndarray, is_truth: np.ndarray, mc_event: np.ndarray, n_events: int) -> dict[str, np.ndarray]:
    """The oracle particle flow: each visible truth particle from its own measurements, no confusion.

    A charged particle with a track (its highest-weight track, ancestor-credited links) gets the
    track's measured momentum (AtIP helix) and its true class among the charged ones (e, mu, charged
    hadron); its calorimeter deposits are not counted again. Any other particle with calorimeter
    deposits gets the sum of its hit-link energies (every hit, clustered or not: the deposited energy
    on the calibrated scale, with the calorimeter's resolution, thresholds and leakage; a hit shared
    by several particles is split in proportion to their link weights), along its
    true direction, with the neutral class (photon for e/gamma, else neutral hadron) and the class's
    mass, calibrated like any particle flow calibrates: divided by the median response (deposit over
    true energy) of its class in its bin of deposited energy (``calibrate_deposits``). A particle with
    neither is lost, as in the detector. Returns ``oracle`` [n, 4] (px, py, pz, E),
    ``oracle_cls`` and ``oracle_counts`` per event, in MC-particle order.
    """
    n = len(pdg)
    best_track = np.full(n, -1, np.int64)
    if len(t_part):
        order = np.lexsort((t_elem, -t_weight, t_part))
        first = np.unique(t_part[order], return_index=True)[1]
        best_track[t_part[order][first]] = t_elem[order][first]
    best_track[np.asarray(charge) == 0] = -1
    calo = np.bincount(h_part[h_part >= 0], weights=h_energy[h_part >= 0], minlength=n) if len(h_part) \
        else np.zeros(n)
    tracked = is_truth & (best_track >= 0)
    calorimetric = is_truth & ~tracked & (calo > 0)
    keep = tracked | calorimetric
    cls = force_element_type(class_of(pdg, charge), tracked)
    mass = np.asarray(CLASS_MASS)[cls]
    p4 = np.zeros((n, 4))
    trk = track_columns[best_track[tracked]].astype(np.float64)
    col = {c: TRACK_COLUMNS.index(c) for c in ("phi", "omega", "tanLambda")}
    p3 = track_momentum(trk[:, col["phi"]], trk[:, col["omega"]], trk[:, col["tanLambda"]], b_field)
    p4[tracked, :3] = p3
    p4[tracked, 3] = np.sqrt((p3**2).sum(1) + mass[tracked] ** 2)
    true_p = np.stack([px, py, pz], axis=1).astype(np.float64)[calorimetric]
    unit = true_p / np.maximum(np.linalg.norm(true_p, axis=1, keepdims=True), 1e-12)
    energy = calibrate_deposits(calo[calorimetric], true_energy[calorimetric], cls[calorimetric])
    p4[calorimetric, :3] = unit * np.sqrt(np.maximum(energy**2 - mass[calorimetric] ** 2, 0.0))[:, None]
    p4[calorimetric, 3] = energy
    return {"oracle": p4[keep].astype(np.float32), "oracle_cls": cls[keep].astype(np.int8),
            "oracle_counts": np.bincount(mc_event[keep], minlength=n_events).astype(np.int64)}


def measured_share(hit_key: np.ndarray, weight: np.ndarray, hit_energy: np.ndarray | None) -> np.ndarray:
    """Each hit link's share of its hit's measured energy: energy x weight / (sum of the hit's link
    weights). Where the hit's energy is unknown (NaN, or no energies given) the weight itself."""
    if hit_energy is None or len(weight) == 0:
        return weight.astype(np.float64)
    _, which = np.unique(hit_key, return_inverse=True)
    total = np.bincount(which.ravel(), weights=weight)[which.ravel()]
    share = hit_energy * weight / np.where(total > 0, total, 1.0)
    return np.where(np.isfinite(share), share, weight)


def calibrate_deposits(deposit: np.ndarray, true_energy: np.ndarray, cls: np.ndarray, bins: int = 8,
                       min_entries: int = 20) -> np.ndarray:
    """Deposits divided by the median deposit/true-energy response of their class in quantile bins of
    the deposit (the class's overall median where a bin has fewer than ``min_entries``)."""
    out = deposit.astype(np.float64).copy()
    response = deposit / np.maximum(true_energy, 1e-9)
    for c in np.unique(cls):
        sel = np.flatnonzero(cls == c)
        overall = np.median(response[sel])
        edges = np.quantile(deposit[sel], np.linspace(0, 1, bins + 1))
        which = np.clip(np.searchsorted(edges, deposit[sel], side="right") - 1, 0, bins - 1)
        for b in range(bins):
            in_bin = sel[which == b]
            scale = np.median(response[in_bin]) if len(in_bin) >= min_entries else overall
            out[in_bin] /= scale if scale > 0 else 1.0
    return out


def build_targets(chunk: dict, track_counts: np.ndarray, cluster_counts: np.ndarray, *,
                  tracks: str = "SiTracks_Refitted", clusters: str = "PandoraClusters",
                  truth: TruthCollections | None = None, track_columns: np.ndarray | None = None,
                  b_field: float | None = None, link_hit_energy: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per element (tracks then clusters of each event) the target particle, plus the truth particles.

    Returns ``targets`` [sum(T+C), len(PARTICLE_COLUMNS)] (class 0 = no target), ``target_mc``
    (global MC index or -1), ``truth`` [n, 4] (px, py, pz, E of truth particles) and ``truth_counts``;
    with ``track_columns`` (the packed track elements), ``b_field`` and ``link_hit_energy`` (the measured
    energy of the hit of each hit link, ``elements.referenced_hit_energy``) also the oracle particle
    flow (``oracle_particles``).
    """
    truth = truth or TruthCollections()
    mc = chunk[truth.mc]
    n_events = len(mc)
    mc_counts = np.asarray(ak.num(mc, axis=1), np.int64)
    mc_off = offsets(mc_counts)
    ancestor = status1_ancestor(mc, mc_off)
    px, py, pz = (flat(mc.momentum[c]) for c in "xyz")
    mass = flat(mc.mass)
    energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    pdg, charge = flat(mc.PDG), flat(mc.charge)
    is_truth = visible_final_state(flat(mc.generatorStatus), pdg)

    trk_off, clu_off = offsets(track_counts), offsets(cluster_counts)
    n_tracks = int(trk_off[-1])

    # tracks: link weight per (track, status-1 ancestor)
    links = chunk[truth.track_links]
    link_event = _event_of(np.asarray(ak.num(links, axis=1), np.int64))
    t_elem = trk_off[link_event] + flat(links["from"].index).astype(np.int64)
    t_part = ancestor[mc_off[link_event] + flat(links["to"].index).astype(np.int64)] if len(link_event) \
        else np.zeros(0, np.int64)
    keep = (t_part >= 0) & is_truth[np.maximum(t_part, 0)] if len(t_part) else np.zeros(0, bool)
    t_elem, t_part, t_w = _sum_pairs(t_elem[keep], t_part[keep], flat(links.weight).astype(np.float64)[keep])

    # clusters: deposited energy per (cluster, ancestor), joining hit links with the cluster->hit relation
    hit_links = chunk[truth.hit_links]
    h_event = _event_of(np.asarray(ak.num(hit_links, axis=1), np.int64))
    h_part = ancestor[mc_off[h_event] + flat(hit_links["to"].index).astype(np.int64)] if len(h_event) \
        else np.zeros(0, np.int64)
    h_w = flat(hit_links.weight).astype(np.float64)
    cl = chunk[clusters]
    hits_per_cluster = flat(ak.num(cl.hits, axis=2)).astype(np.int64)
    cluster_global = np.repeat(np.arange(int(clu_off[-1])), hits_per_cluster)
    c_event = _event_of(cluster_counts)[cluster_global] if len(cluster_global) else np.zeros(0, np.int64)
    h_key, c_key = _hit_keys(h_event, flat(hit_links["from"].collectionID), flat(hit_links["from"].index),
                             c_event, flat(cl.hits.collectionID), flat(cl.hits.index))
    order = np.argsort(c_key, kind="stable")
    pos = np.searchsorted(c_key[order], h_key)
    pos = np.minimum(pos, max(len(order) - 1, 0))
    found = (len(order) > 0) & (c_key[order][pos] == h_key) if len(order) else np.zeros(len(h_key), bool)
    keep = found & (h_part >= 0) & is_truth[np.maximum(h_part, 0)] if len(h_part) else np.zeros(0, bool)
    c_elem = n_tracks + cluster_global[order][pos][keep] if len(order) else np.zeros(0, np.int64)
    c_elem, c_part, c_w = _sum_pairs(c_elem, h_part[keep], h_w[keep])

    # tracks first, then clusters; elements numbered: all tracks, then all clusters (global)
    te, tp = greedy_assign(t_elem, t_part, t_w, energy)
    ce, cp = greedy_assign(c_elem, c_part, c_w, energy, taken_particles=tp)
    element_mc = np.full(n_tracks + int(clu_off[-1]), -1, np.int64)
    element_mc[te] = tp
    element_mc[ce] = cp

    # reorder to per-event [tracks, clusters] blocks
    elem_counts = track_counts + cluster_counts
    event_of_track, event_of_cluster = _event_of(track_counts), _event_of(cluster_counts)
    position = np.empty(len(element_mc), np.int64)
    elem_off = offsets(elem_counts)
    position[:n_tracks] = elem_off[event_of_track] + (np.arange(n_tracks) - trk_off[event_of_track])
    n_clusters = int(clu_off[-1])
    position[n_tracks:] = elem_off[event_of_cluster] + track_counts[event_of_cluster] + \
        (np.arange(n_clusters) - clu_off[event_of_cluster])
    target_mc = np.full(len(element_mc), -1, np.int64)
    target_mc[position] = element_mc
    merge_elem, merge_part = merge_leftovers(c_elem, c_part, c_w, element_mc, np.concatenate([t_part, c_part]))
    merged = np.zeros((len(element_mc), 4))                  # four-momentum merged into each element
    np.add.at(merged, position[merge_elem], np.stack([px, py, pz, energy], axis=1)[merge_part])
    is_track = np.zeros(len(element_mc), bool)
    is_track[position[:n_tracks]] = True
    targets = particle_table(target_mc, is_track, pdg, charge, px, py, pz, energy, extra=merged)

    truth_counts = np.bincount(_event_of(mc_counts)[is_truth], minlength=n_events).astype(np.int64)
    truth_p4 = np.stack([px[is_truth], py[is_truth], pz[is_truth], energy[is_truth]], axis=1).astype(np.float32)
    out = {"targets": targets, "target_mc": target_mc, "element_counts": elem_counts, "truth": truth_p4,
           "truth_counts": truth_counts}
    if track_columns is not None:
        measured = measured_share(h_key, h_w, link_hit_energy)
        all_hits = (h_part >= 0) & is_truth[np.maximum(h_part, 0)] if len(h_part) else np.zeros(0, bool)
        out.update(oracle_particles(t_elem, t_part, t_w, h_part[all_hits], measured[all_hits], track_columns,
                                    b_field, pdg, charge, px, py, pz, energy, is_truth, _event_of(mc_counts),
                                    n_events))
    return out


def merge_leftovers(c_elem: np.ndarray, c_part: np.ndarray, c_weight: np.ndarray, element_mc: np.ndarray,
                    candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidates (particles with any link) that own no element -> (element, particle) pairs: the
    cluster with the particle's highest weight, where that cluster has an owner (ties: lowest index)."""
    left = np.setdiff1d(candidates, element_mc[element_mc >= 0])
    sel = np.isin(c_part, left)
    e, p, w = c_elem[sel], c_part[sel], c_weight[sel]
    if len(e) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((e, -w, p))
    first = np.unique(p[order], return_index=True)[1]
    best_elem, best_part = e[order][first], p[order][first]
    owned = element_mc[best_elem] >= 0
    return best_elem[owned], best_part[owned]


def particle_table(source: np.ndarray, is_track: np.ndarray, pdg, charge, px, py, pz, energy,
                   extra: np.ndarray | None = None) -> np.ndarray:
    """Rows of PARTICLE_COLUMNS for elements pointing (``source`` >= 0) at particles; zeros elsewhere.
    ``extra`` [rows, 4]: px, py, pz, E added to a row's particle (merged particles); the class and
    charge stay the owner's."""
    out = np.zeros((len(source), len(PARTICLE_COLUMNS)), np.float32)
    has = source >= 0
    s = source[has]
    cls = force_element_type(class_of(pdg[s], charge[s]), is_track[has])
    p4 = np.stack([px[s], py[s], pz[s], energy[s]], axis=1).astype(np.float64)
    if extra is not None:
        p4 += extra[has]
    kin = kinematics(p4[:, 0], p4[:, 1], p4[:, 2], p4[:, 3])
    columns = {"cls": cls, "charge": charge[s], "pt": kin["pt"], "eta": kin["eta"], "sin_phi": kin["sin_phi"],
               "cos_phi": kin["cos_phi"], "energy": p4[:, 3], "px": p4[:, 0], "py": p4[:, 1], "pz": p4[:, 2]}
    for i, name in enumerate(PARTICLE_COLUMNS):
        out[has, i] = columns[name]
    return out


def pf_candidates(chunk: dict, pf: str, track_counts: np.ndarray, cluster_counts: np.ndarray, *,
                  tracks_id: int, clusters_id: int) -> np.ndarray:
    """The PF collection's particles attached to elements: a PFO sits on its first track, else its
    first cluster (rows of PARTICLE_COLUMNS per element, tracks then clusters of each event)."""
    pfos = chunk[pf]
    counts = np.asarray(ak.num(pfos, axis=1), np.int64)
    event = _event_of(counts)
    n = int(counts.sum())
    elem_off = offsets(track_counts + cluster_counts)
    element = np.full(n, -1, np.int64)
    n_trk = flat(ak.num(pfos.tracks, axis=2)).astype(np.int64)
    n_clu = flat(ak.num(pfos.clusters, axis=2)).astype(np.int64)
    if n:
        first_trk = flat(pfos.tracks.index).astype(np.int64)[offsets(n_trk)[:-1][n_trk > 0]]
        sel = n_trk > 0
        trk_ok = flat(pfos.tracks.collectionID)[offsets(n_trk)[:-1][sel]] == tracks_id
        element[np.flatnonzero(sel)[trk_ok]] = elem_off[event[sel][trk_ok]] + first_trk[trk_ok]
        sel = (element < 0) & (n_clu > 0)
        first = offsets(n_clu)[:-1][sel]
        clu_ok = flat(pfos.clusters.collectionID)[first] == clusters_id
        idx = np.flatnonzero(sel)[clu_ok]
        element[idx] = elem_off[event[idx]] + track_counts[event[idx]] + \
            flat(pfos.clusters.index).astype(np.int64)[first][clu_ok]
    total = int(elem_off[-1])
    source = np.full(total, -1, np.int64)
    ok = element >= 0
    # several PFOs on one element: the first one stays
    rev = np.flatnonzero(ok)[::-1]
    source[element[rev]] = rev
    elem_event = _event_of(track_counts + cluster_counts)
    is_track = (np.arange(total) - elem_off[elem_event]) < track_counts[elem_event]
    px, py, pz = (flat(pfos.momentum[c]) for c in "xyz")
    table = particle_table(source, is_track, flat(pfos.PDG), flat(pfos.charge), px, py, pz, flat(pfos.energy))
    # a PF particle keeps its own class (PDG), not the element-type rule
    has = source >= 0
    table[has, 0] = class_of(flat(pfos.PDG)[source[has]], flat(pfos.charge)[source[has]])
    return table
