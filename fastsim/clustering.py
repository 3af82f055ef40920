"""Calorimeter clustering: connected components of hits on voxel grids (a topological clustering).

Hits are grouped into cubic voxels: ``ECAL_VOXEL_MM`` for ECAL hits, ``HCAL_VOXEL_MM`` for HCAL
hits. Hits sharing a voxel are neighbours, and occupied voxels touching each other (26-neighbour
adjacency, event by event) are neighbours. ECAL hits of the last ``BRIDGE_LAYERS`` layers also
enter the HCAL grid, which links a shower across the ECAL/HCAL gap (barrel and endcap alike,
the grids being Cartesian). Connected components of this graph, found with vectorised
hook-and-compress union-find, are the clusters. A component becomes a cluster only when it
holds a seed hit (energy >= ``SEED_MIP`` MIPs); the rest stay unclustered, like isolated noise.

Like real clustering, this merges showers closer than about one voxel (two photons from a
boosted pi0, a photon beside a charged hadron) and breaks sparse hadronic showers into a core
and fragments: the confusion particle flow has to undo. Muon-chamber hits are not clustered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import cells
from .calorimetry import CaloHits
from .neighbours import dense_labels, dot3, group_pairs, nearest_in_angle, norm3, stable_argsort_small

ECAL_VOXEL_MM, HCAL_VOXEL_MM = 20.0, 80.0
BRIDGE_LAYERS = 6
SEED_MIP = 1.5
FRONT_LAYERS = 8               # layers behind a cluster's first one that define its front
FRAGMENT_MAX_HITS = 3          # components this small are fragments ...
FRAGMENT_MAX_ANGLE = 0.12      # ... merged into the nearest bigger cluster within this angle [rad]
_BITS = 11
_OFF = 1 << (_BITS - 1)
_COLUMNS = ((0, 1), (1, -1), (1, 0), (1, 1))     # forward z-columns of the 26-neighbourhood


@dataclass
class Clusters:
    event: np.ndarray
    energy: np.ndarray
    energy_error: np.ndarray
    position: np.ndarray         # (n, 3) energy-weighted [mm]
    position_error: np.ndarray   # (n, 6) xx, xy, yy, xz, yz, zz [mm^2]
    itheta: np.ndarray
    iphi: np.ndarray
    subdetector_energies: np.ndarray   # (n, 3) ECAL, HCAL, other
    shape: np.ndarray            # (n, 6) FirstLayer, ShowerMax, Length, Width, Asym, Extra
    front: np.ndarray            # (n, 3) energy-weighted position of the first FRONT_LAYERS layers
    hit_offsets: np.ndarray      # CSR: hits of cluster i are hit_index[hit_offsets[i]:hit_offsets[i+1]]
    hit_index: np.ndarray        # indices into the CaloHits arrays
    link_cluster: np.ndarray     # ClusterMCTruthLink
    link_particle: np.ndarray
    link_weight: np.ndarray      # energy fraction of the cluster's true energy


def _voxel_keys(event, pos, size):
    v = np.floor(pos / size).astype(np.int64) + _OFF
    return ((event.astype(np.int64) << (3 * _BITS)) | (v[:, 0] << (2 * _BITS))
            | (v[:, 1] << _BITS) | v[:, 2])


def _grid_edges(keys, node_offset):
    """Node id (voxel) of each entry and edges between touching occupied voxels.

    The 13 "forward" neighbours of a voxel are (0, 0, +1) and the z-columns (0, +1), (+1, -1),
    (+1, 0), (+1, +1) at z - 1 .. z + 1. Keys sort by (event, x, y, z), so the occupied voxels of
    such a column segment are the (at most 3) consecutive ones from the first key >= its start.
    """
    uniq, node = np.unique(keys, return_inverse=True)
    n = len(uniq)
    up = np.flatnonzero(uniq[1:] == uniq[:-1] + 1)
    edges = [np.stack([up, up + 1], 1)]
    for dx, dy in _COLUMNS:
        lo_key = uniq + ((dx << (2 * _BITS)) + (dy << _BITS) - 1)
        lo = np.searchsorted(uniq, lo_key)
        for k in range(3):
            pos = np.minimum(lo + k, n - 1)
            hit = (lo + k < n) & (uniq[pos] <= lo_key + 2)
            edges.append(np.stack([np.flatnonzero(hit), pos[hit]], 1))
    return node + node_offset, np.concatenate(edges) + node_offset, n


def connected_components(n: int, edges: np.ndarray) -> np.ndarray:
    """Smallest node id of each node's component (hook-and-compress union-find)."""
    label = np.arange(n)
    a, b = edges[:, 0], edges[:, 1]
    while True:
        la, lb = label[a], label[b]
        diff = la != lb
        if not diff.any():
            return label
        a, b, la, lb = a[diff], b[diff], la[diff], lb[diff]   # joined pairs stay joined
        lo, hi = np.minimum(la, lb), np.maximum(la, lb)
        np.minimum.at(label, hi, lo)
        while True:
            nxt = label[label]
            if np.array_equal(nxt, label):
                break
            label = nxt


def merge_fragments(cid, c_event, pos, energy):
    """Relabel small components (<= FRAGMENT_MAX_HITS hits) to the nearest bigger one in angle."""
    n = len(c_event)
    nhit = np.bincount(cid, minlength=n)
    centre = np.stack([np.bincount(cid, weights=energy * pos[:, i], minlength=n) for i in range(3)], 1)
    centre /= norm3(centre)[:, None]
    frag = np.flatnonzero(nhit <= FRAGMENT_MAX_HITS)
    big = np.flatnonzero(nhit > FRAGMENT_MAX_HITS)
    best, _ = nearest_in_angle(c_event[frag], centre[frag], c_event[big], centre[big], FRAGMENT_MAX_ANGLE)
    target = np.arange(n)
    target[frag[best >= 0]] = big[best[best >= 0]]
    return target[cid]


def _layers(hits, card):
    layer = cells.decode_field(hits.cellid, 19, 9, False)
    return np.where(hits.coll <= cells.ECAL_ENDCAP, layer, layer + card.ecal.layers)


def cluster_hits(hits: CaloHits, card, n_particles: int) -> Clusters:
    use = np.flatnonzero(hits.coll != cells.MUON)
    ecal = hits.coll[use] <= cells.ECAL_ENDCAP
    layer = _layers(hits, card)[use]
    ev, pos = hits.event[use], np.take(hits.position, use, axis=0)
    # nodes: ECAL voxels, HCAL voxels; ECAL hits near the back also sit in the HCAL grid
    node_e, edges_e, n_e = _grid_edges(_voxel_keys(ev[ecal], np.compress(ecal, pos, axis=0), ECAL_VOXEL_MM), 0)
    bridge = ~ecal | (layer >= card.ecal.layers - BRIDGE_LAYERS)
    node_h, edges_h, n_h = _grid_edges(_voxel_keys(ev[bridge], np.compress(bridge, pos, axis=0), HCAL_VOXEL_MM), n_e)
    hit_node = np.empty(len(use), np.int64)
    hit_node[ecal] = node_e
    hit_node[~ecal] = node_h[~ecal[bridge]]
    both = bridge & ecal
    bridge_edges = np.stack([hit_node[both], node_h[ecal[bridge]]], 1)
    label = connected_components(n_e + n_h, np.concatenate([edges_e, edges_h, bridge_edges]))
    comp = label[hit_node]
    # keep components with a seed hit
    mip = np.where(ecal, card.ecal.mip_gev, card.hcal.mip_gev)
    seed = np.zeros(n_e + n_h, bool)
    seed[comp[hits.energy[use] >= SEED_MIP * mip]] = True
    ok = seed[comp]
    use, comp, layer, ecal = use[ok], comp[ok], layer[ok], ecal[ok]
    uniq, cid = dense_labels(comp, n_e + n_h)
    c_event = np.zeros(len(uniq), np.int64)
    c_event[cid] = hits.event[use]
    cid = merge_fragments(cid, c_event, np.compress(ok, pos, axis=0), hits.energy[use])
    # clusters ordered by event, then by decreasing energy
    uniq, cid = dense_labels(cid, len(uniq))
    c_event = c_event[uniq]
    energy = np.bincount(cid, weights=hits.energy[use])
    order = np.lexsort((-energy, c_event))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    cid = rank[cid]
    return _properties(hits, use, cid, layer, ecal, c_event[order], card, n_particles)


def _properties(hits, use, cid, layer, ecal, c_event, card, n_particles) -> Clusters:
    n = len(c_event)
    w = hits.energy[use]
    pos = np.take(hits.position, use, axis=0)
    energy = np.bincount(cid, weights=w, minlength=n)
    e_ecal = np.bincount(cid, weights=w * ecal, minlength=n)
    mean = np.stack([np.bincount(cid, weights=w * pos[:, i], minlength=n) for i in range(3)], 1) / energy[:, None]
    d = pos - np.take(mean, cid, axis=0)
    cov = np.stack([np.bincount(cid, weights=w * d[:, i] * d[:, j], minlength=n)
                    for i, j in ((0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2))], 1) / energy[:, None]
    axis = mean / norm3(mean)[:, None]
    along = dot3(d, np.take(axis, cid, axis=0))
    width2 = np.bincount(cid, weights=w * (dot3(d, d) - along**2), minlength=n) / energy
    first = np.full(n, 10**6)
    np.minimum.at(first, cid, layer)
    last = np.zeros(n, np.int64)
    np.maximum.at(last, cid, layer)
    nhit = np.bincount(cid, minlength=n)
    wf = w * (layer < first[cid] + FRONT_LAYERS)
    ef = np.bincount(cid, weights=wf, minlength=n)
    front = np.stack([np.bincount(cid, weights=wf * pos[:, i], minlength=n) for i in range(3)], 1) / ef[:, None]
    shower_max = np.bincount(cid, weights=w * layer, minlength=n) / energy
    shape = np.stack([first, shower_max, last - first, np.sqrt(np.maximum(width2, 0)),
                      e_ecal / energy, nhit], 1)
    err = np.sqrt(card.ecal.sampling_term**2 * e_ecal + card.hcal.sampling_term**2 * (energy - e_ecal))
    order = stable_argsort_small(cid, n)
    hit_offsets = np.zeros(n + 1, np.int64)
    np.cumsum(nhit, out=hit_offsets[1:])
    # truth: true energy of each particle in each cluster, as a fraction of the cluster's
    cluster_of_hit = np.full(len(hits.energy), -1)
    cluster_of_hit[use] = cid
    lc = cluster_of_hit[hits.link_hit]
    m = lc >= 0
    l_cluster, l_particle, inv = group_pairs(lc[m], hits.link_particle[m], n, n_particles + 1)
    e_link = np.bincount(inv, weights=hits.link_energy[m])
    total = np.bincount(l_cluster, weights=e_link, minlength=n)
    return Clusters(event=c_event, energy=energy, energy_error=err, position=mean,
                    position_error=cov, itheta=np.arctan2(np.hypot(mean[:, 0], mean[:, 1]), mean[:, 2]),
                    iphi=np.arctan2(mean[:, 1], mean[:, 0]),
                    subdetector_energies=np.stack([e_ecal, energy - e_ecal, np.zeros(n)], 1),
                    shape=shape, front=front, hit_offsets=hit_offsets, hit_index=use[order],
                    link_cluster=l_cluster, link_particle=l_particle,
                    link_weight=e_link / np.maximum(total[l_cluster], 1e-12))
