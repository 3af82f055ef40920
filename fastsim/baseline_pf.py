"""Rule-based particle flow (the "baseline PF"; it is not Pandora and is never called so).

1. Track-cluster linking: each track's AtCalorimeter state is continued as a straight line into
   the calorimeter; of the clusters whose front (first layers) or centroid lies within ``LINK_MM`` of that line
   (and behind the entry point), the most energetic is linked to the track.
2. Charged particles, one per track, momentum from the AtIP helix (pt = 0.3e-3 B / |omega|):
   a muon if muon-chamber hits lie within ``MUON_CONE`` of the track's calorimeter entry
   direction; an electron if its cluster is electromagnetic (ECAL fraction > 0.9) with
   0.7 < E/p < 1.4; a charged pion otherwise.
3. Fragment absorption: an unlinked cluster near a linked one whose energy is short of its
   tracks' momentum joins it (Pandora-like fragment removal).
4. Charged-energy subtraction: a linked cluster whose energy exceeds the linked momenta by more
   than ``K_SIGMA`` of the calorimeter resolution gives a neutral particle with the excess.
5. Remaining unlinked clusters are neutral: photons when ECAL fraction > ``PHOTON_EM_FRACTION``,
   neutral hadrons (PDG 2112, Pandora's convention) otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from k4mlpf.physics import CHARGED_PION_MASS as PION_MASS, ELECTRON_MASS, KLONG_MASS, MUON_MASS, signed_pdg, \
    track_momentum

from . import cells
from .neighbours import best_per_first, nearest_in_angle, pairs_by_event
from .tracking import AT_CALORIMETER

LINK_MM = 120.0
MUON_CONE = 0.1
K_SIGMA = 2.0
FRAGMENT_ANGLE = 0.3
PHOTON_EM_FRACTION = 0.8


@dataclass
class PFOs:
    event: np.ndarray
    pdg: np.ndarray
    energy: np.ndarray
    momentum: np.ndarray   # (n, 3)
    charge: np.ndarray
    mass: np.ndarray
    track: np.ndarray      # global track index or -1
    cluster: np.ndarray    # global cluster index or -1


def link_tracks_to_clusters(track_event, tracks, clusters):
    """Global cluster index linked to each track (-1 if none)."""
    state = tracks.states[:, AT_CALORIMETER - 1]
    entry = tracks.ref_points[:, AT_CALORIMETER - 1]
    d = np.stack([np.cos(state[:, 1]), np.sin(state[:, 1]), state[:, 4]], 1)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    i, j = pairs_by_event(track_event, clusters.event)
    perp = np.full(len(i), np.inf)
    along = np.zeros(len(i))
    # per pair only scalars: along = (P - e).d, perp^2 = |P - e|^2 - along^2
    ed, ee = (entry * d).sum(1), (entry * entry).sum(1)
    dx, dy, dz, ex, ey, ez = (c[i] for c in (*d.T, *entry.T))
    for point in (clusters.front, clusters.position):   # the nearer of a cluster's front and centroid
        px, py, pz = (c[j] for c in point.T)
        a = px * dx + py * dy + pz * dz - ed[i]
        pp2 = (px * px + py * py + pz * pz) - 2 * (px * ex + py * ey + pz * ez) + ee[i] - a * a
        pp = np.sqrt(np.maximum(pp2, 0.0))
        along = np.where(pp < perp, a, along)
        perp = np.minimum(pp, perp)
    ok = (perp < LINK_MM) & (along > -50.0) & (tracks.calo_region[i] > 0)
    # among the clusters the track passes, the most energetic one (a merged shower of several
    # charged particles then collects all their tracks, so its charged energy is subtracted)
    best = best_per_first(i[ok], -clusters.energy[j[ok]], len(track_event))
    return np.where(best >= 0, j[ok][np.maximum(best, 0)], -1)


def _muon_ids(track_event, tracks, hits):
    mu = np.flatnonzero(hits.coll == cells.MUON)
    entry = tracks.ref_points[:, AT_CALORIMETER - 1]
    u = entry / np.maximum(np.linalg.norm(entry, axis=1, keepdims=True), 1e-9)
    hpos = hits.position[mu]
    hu = hpos / np.linalg.norm(hpos, axis=1, keepdims=True)
    i, j = pairs_by_event(track_event, hits.event[mu])
    close = ((u[i] * hu[j]).sum(1) > np.cos(MUON_CONE)) & (tracks.calo_region[i] > 0)
    return np.bincount(i[close], minlength=len(track_event)) >= 2


def absorb_fragments(clusters, linked, sum_p):
    """Unlinked clusters near a track-linked cluster short of its track momentum join it.

    A fragment k joins the linked cluster c nearest in angle (within ``FRAGMENT_ANGLE``) when
    that brings c's energy closer to its tracks' momentum: |E_c + E_k - p| < |E_c - p|.
    Returns the clusters' energies after absorption and the mask of absorbed clusters.
    """
    energy = clusters.energy.copy()
    lk, un = np.flatnonzero(linked), np.flatnonzero(~linked)
    u = clusters.position / np.linalg.norm(clusters.position, axis=1, keepdims=True)
    best, _ = nearest_in_angle(clusters.event[un], u[un], clusters.event[lk], u[lk], FRAGMENT_ANGLE)
    k, c = un[best >= 0], lk[best[best >= 0]]
    ok = np.abs(energy[c] + energy[k] - sum_p[c]) < np.abs(energy[c] - sum_p[c])
    np.add.at(energy, c[ok], energy[k[ok]])
    absorbed = np.zeros(len(energy), bool)
    absorbed[k[ok]] = True
    return energy, absorbed


def baseline_pf(track_event, tracks, clusters, hits, card) -> PFOs:
    n_t, n_c = len(track_event), len(clusters.energy)
    link = link_tracks_to_clusters(track_event, tracks, clusters)
    d0, phi, omega, z0, tanl = tracks.params.T
    p3 = track_momentum(phi, omega, tanl, card.bfield_tesla)
    p = np.linalg.norm(p3, axis=1)
    q = np.sign(omega)
    em_frac = clusters.subdetector_energies[:, 0] / np.maximum(clusters.energy, 1e-12)
    e_clu = np.where(link >= 0, clusters.energy[np.maximum(link, 0)], 0.0)
    em_clu = np.where(link >= 0, em_frac[np.maximum(link, 0)], 0.0)
    is_mu = _muon_ids(track_event, tracks, hits)
    is_e = ~is_mu & (link >= 0) & (em_clu > 0.9) & (e_clu > 0.7 * p) & (e_clu < 1.4 * p)
    mass = np.select([is_mu, is_e], [MUON_MASS, ELECTRON_MASS], PION_MASS)
    pdg = signed_pdg(np.select([is_mu, is_e], [13, 11], 211), q).astype(np.int32)
    e_trk = np.sqrt(p**2 + mass**2)
    # charged-energy subtraction on linked clusters (after absorbing their fragments)
    sum_p = np.bincount(link[link >= 0], weights=p[link >= 0], minlength=n_c)
    linked = np.bincount(link[link >= 0], minlength=n_c) > 0
    energy, absorbed = absorb_fragments(clusters, linked, sum_p)
    a = np.where(em_frac > 0.9, card.ecal.sampling_term, card.hcal.sampling_term)
    excess = energy - sum_p
    neutral_e = np.where(linked, np.where(excess > K_SIGMA * a * np.sqrt(np.maximum(sum_p, 1e-9)), excess, 0.0),
                         np.where(absorbed, 0.0, energy))
    nc = np.flatnonzero(neutral_e > 0)
    photon = em_frac[nc] > PHOTON_EM_FRACTION
    e_n = neutral_e[nc]
    m_n = np.where(photon, 0.0, KLONG_MASS)
    p_n = np.sqrt(np.maximum(e_n**2 - m_n**2, 0.0))
    u = clusters.position[nc] / np.linalg.norm(clusters.position[nc], axis=1, keepdims=True)
    event = np.concatenate([track_event, clusters.event[nc]])
    order = np.argsort(event, kind="stable")
    cat = lambda x, y: np.concatenate([x, y])[order]  # noqa: E731
    return PFOs(event=event[order],
                pdg=cat(pdg, np.where(photon, 22, 2112).astype(np.int32)),
                energy=cat(e_trk, e_n), momentum=cat(p3, p_n[:, None] * u),
                charge=cat(q, np.zeros(len(nc))), mass=cat(mass, m_n),
                track=cat(np.arange(n_t), np.full(len(nc), -1)),
                cluster=cat(link, nc))
