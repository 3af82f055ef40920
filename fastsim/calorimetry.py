"""Calorimetry: from final-state particles to calorimeter hits, truth links and energy bookkeeping.

Each final-state particle is followed (helix or straight line) to the ECAL front face; its
showers (``showers.py``) are placed behind the entry point and their true deposits summed into
cells (``cells.py``). Visible hit energies get sampling fluctuations: a spot of true energy e
becomes e * g, g ~ Gamma(k = e / a^2) of mean 1, so a shower of energy E fluctuates by a / sqrt(E)
whatever its number of spots (a = ECAL or HCAL stochastic term), times (1 + c N(0, 1)) per particle.
Hits below threshold are dropped; random noise hits are added.

Energy bookkeeping (true energies, GeV), exact per particle:
    generated E = deposited (in ECAL/HCAL/MUON cells) + leaked (out of the back / escaping muons)
                + invisible (neutrinos, nucleon rest mass, a stopped muon's mass)
                + lost (never reaches the calorimeter: beam pipe, loopers; or the ECAL-HCAL gap)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import cells, showers
from .helix import calo_entry, trajectories
from .showers import PathMaterial, Spots
from .neighbours import norm3
from .truth import NEUTRINOS, TruthBatch

NUCLEON_MASS = 0.93827
C_MM_PER_NS = 299.792458


@dataclass
class CaloHits:
    """Hits of a chunk, sorted by (event, collection code, cellID)."""
    event: np.ndarray
    coll: np.ndarray
    cellid: np.ndarray
    energy: np.ndarray
    energy_error: np.ndarray
    time: np.ndarray
    position: np.ndarray
    type: np.ndarray
    link_hit: np.ndarray        # CalohitMCTruthLink: hit index (into these arrays)
    link_particle: np.ndarray   # global MCParticle index
    link_energy: np.ndarray     # true energy the particle deposited in the hit


@dataclass
class EnergyBook:
    generated: np.ndarray
    deposited: np.ndarray
    leaked: np.ndarray
    invisible: np.ndarray
    lost: np.ndarray


def _axes(d):
    """Two unit vectors orthogonal to each direction ``d``."""
    ref = np.where(np.abs(d[:, 2:3]) < 0.9, np.array([[0, 0, 1.0]]), np.array([[1.0, 0, 0]]))
    e1 = np.cross(d, ref)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    return e1, np.cross(d, e1)


def _classify(spots, pos, region, mat, card):
    """Collection code of each spot; -1 gap (lost), -2 behind the HCAL (leaked)."""
    h = card.hcal
    k = spots.particle
    s1, s2, s3 = mat.s1[k], mat.s2[k], mat.s3[k]
    az = np.abs(pos[:, 2])
    hcal = np.where(az >= h.endcap_inner_z_mm, cells.HCAL_ENDCAP,
                    np.where((az > h.barrel_half_length_mm) | (region[k] == 2),
                             cells.HCAL_OTHER, cells.HCAL_BARREL))
    ecal = np.where(region[k] == 1, cells.ECAL_BARREL, cells.ECAL_ENDCAP)
    return np.where(spots.s < s1, ecal, np.where(spots.s < s2, -1, np.where(spots.s < s3, hcal, -2)))


def _muon_chamber_points(pos, d, mu):
    """Crossings of straight lines (start ``pos``, direction ``d``) with the muon layers."""
    pts, owner = [], []
    for r in mu.barrel_layer_radius_mm:
        a = d[:, 0] ** 2 + d[:, 1] ** 2
        b = 2 * (pos[:, 0] * d[:, 0] + pos[:, 1] * d[:, 1])
        c = pos[:, 0] ** 2 + pos[:, 1] ** 2 - r**2
        s = (-b + np.sqrt(np.maximum(b**2 - 4 * a * c, 0))) / (2 * np.maximum(a, 1e-12))
        p = pos + s[:, None] * d
        ok = np.abs(p[:, 2]) <= mu.barrel_half_length_mm
        pts.append(p[ok]), owner.append(np.flatnonzero(ok))
    r_max = max(mu.barrel_layer_radius_mm)
    for z in mu.endcap_layer_z_mm:
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (np.sign(d[:, 2]) * z - pos[:, 2]) / d[:, 2]
        p = pos + np.nan_to_num(s)[:, None] * d
        ok = (s > 0) & (np.hypot(p[:, 0], p[:, 1]) < r_max) & (np.abs(p[:, 2]) > mu.barrel_half_length_mm)
        pts.append(p[ok]), owner.append(np.flatnonzero(ok))
    return np.concatenate(pts), np.concatenate(owner)


def _deposits(truth: TruthBatch, card, rng):
    """All spots of a chunk with their positions; plus the energy bookkeeping."""
    n = len(truth.pdg)
    book = EnergyBook(*(np.zeros(n) for _ in range(5)))
    fs = np.flatnonzero(truth.final_state())
    energy = truth.p4[:, 3]
    book.generated[fs] = energy[fs]
    nu = np.isin(np.abs(truth.pdg[fs]), NEUTRINOS)
    book.invisible[fs[nu]] = energy[fs[nu]]
    idx = fs[~nu]
    traj = trajectories(truth.p4[idx], truth.vertex[idx], truth.charge[idx], card.bfield_tesla)
    region, _, entry, d = calo_entry(traj, card.ecal, card.acceptance.max_abs_cos_theta)
    book.lost[idx[region == 0]] = energy[idx[region == 0]]
    ok = region > 0
    idx, region, entry, d = idx[ok], region[ok], entry[ok], d[ok]
    radial = entry[:, :2] / np.hypot(entry[:, 0], entry[:, 1])[:, None]
    cos_a = np.where(region == 1, np.abs((d[:, :2] * radial).sum(1)), np.abs(d[:, 2]))
    mat = PathMaterial.build(region, np.clip(cos_a, 0.15, 1.0), card)
    pdg = np.abs(truth.pdg[idx])
    e = energy[idx]
    baryon = truth.pdg[idx] > 1000
    book.invisible[idx[baryon]] = np.minimum(NUCLEON_MASS, e[baryon])
    e_shower = e - book.invisible[idx]
    local = np.arange(len(idx))
    em, mu = (pdg == 11) | (pdg == 22), pdg == 13
    had = ~em & ~mu
    parts = [showers.em_spots(local[em], e_shower[em], pdg[em] == 11, mat, card, rng),
             showers.hadron_spots(local[had], e_shower[had], truth.charge[idx[had]] != 0, mat, card, rng)]
    mu_spots, used = showers.mip_spots(local[mu], e[mu] - truth.mass[idx[mu]],
                                       np.full(mu.sum(), np.inf), mat, card)
    parts.append(mu_spots)
    stopped = used >= e[mu] - truth.mass[idx[mu]] - 1e-12
    book.invisible[idx[mu][stopped]] = truth.mass[idx[mu]][stopped]
    spots = Spots.concat(parts)
    pos = _spot_positions(spots, entry, d, rng)
    coll = _classify(spots, pos, region, mat, card)
    # muon chambers: muons with energy left after the calorimeters
    passing = local[mu][(e[mu] - used) > card.muon.min_energy_gev]
    mpos, owner = _muon_chamber_points(entry[passing], d[passing], card.muon)
    n_m = len(owner)
    spots = Spots.concat([spots, Spots(passing[owner], np.zeros(n_m), np.zeros(n_m),
                                       np.full(n_m, card.muon.hit_energy_gev), np.full(n_m, showers.MIP))])
    pos = np.concatenate([pos, mpos])
    coll = np.concatenate([coll, np.full(n_m, cells.MUON)])
    g = idx[spots.particle]
    inside = coll >= 0
    for acc, m in ((book.deposited, inside), (book.lost, coll == -1), (book.leaked, coll == -2)):
        acc += np.bincount(g[m], weights=spots.energy[m], minlength=n)
    # escaping muons carry the rest of their energy out
    left = np.zeros(len(idx))
    left[mu] = e[mu] - book.invisible[idx[mu]]
    in_mu = inside & mu[spots.particle]
    left -= np.bincount(spots.particle[in_mu], weights=spots.energy[in_mu], minlength=len(idx))
    book.leaked[idx[mu]] += np.maximum(left[mu], 0)
    return spots, pos, coll, g, inside, book


def _spot_positions(spots, entry, d, rng):
    """Spot positions: depth ``s`` along the particle's direction, ``r`` at a random azimuth."""
    e1, e2 = _axes(d)
    k = spots.particle
    phi = rng.uniform(0, 2 * np.pi, len(spots.s))
    cos, sin = np.cos(phi), np.sin(phi)
    pos = np.empty((3, len(k)))
    for i in range(3):   # per coordinate: the same arithmetic as the (n, 3) form, fewer temporaries
        pos[i] = entry[:, i][k] + spots.s * d[:, i][k] + spots.r * (cos * e1[:, i][k] + sin * e2[:, i][k])
    return pos.T.copy()


def _visible(spots, coll, g, card, rng, n_particles):
    """Visible (calibrated, fluctuating) energy of each spot."""
    a = np.where(coll <= cells.ECAL_ENDCAP, card.ecal.sampling_term, card.hcal.sampling_term)
    k = np.where(spots.kind == showers.MIP, 4.0, spots.energy / np.maximum(a, 1e-6) ** 2)
    k = np.where(coll == cells.MUON, 1e6, k)
    vis = spots.energy * rng.gamma(k, 1.0 / k)
    c = np.where(coll <= cells.ECAL_ENDCAP, card.ecal.constant_term, card.hcal.constant_term)
    scale = rng.standard_normal(n_particles)
    return vis * np.maximum(1 + c * scale[g], 0)


def _noise(n_events, card, rng):
    """Random noise hits in the ECAL and HCAL barrels (positions, collection codes, energies)."""
    out = []
    for code, sec, r0 in ((cells.ECAL_BARREL, card.ecal, card.ecal.barrel_inner_radius_mm),
                          (cells.HCAL_BARREL, card.hcal, card.hcal.barrel_inner_radius_mm)):
        n = rng.poisson(sec.noise_hits_per_event, n_events)
        tot = n.sum()
        r = r0 + rng.uniform(0, sec.depth_mm, tot)
        phi = rng.uniform(-np.pi, np.pi, tot)
        z = rng.uniform(-sec.barrel_half_length_mm, sec.barrel_half_length_mm, tot)
        e = sec.mip_gev * sec.hit_threshold_mip * (1 + rng.exponential(0.5, tot))
        out.append((np.repeat(np.arange(n_events), n), np.stack([r * np.cos(phi), r * np.sin(phi), z], 1),
                    np.full(tot, code), e))
    return [np.concatenate(x) for x in zip(*out)]


def _cell_keys(event, coll, cellid):
    """One uint64 per point that orders like (event, collection, cellID).

    Within a collection the cellID's system, module, stave and submodule fields are fixed, so its
    order is that of (y, x, layer, side): 16 + 16 + 9 + 2 bits, below 3 bits of collection code.
    """
    u = np.uint64
    key = (((cellid >> u(48)) << u(27)) | (((cellid >> u(32)) & u(0xFFFF)) << u(11))
           | (((cellid >> u(19)) & u(0x1FF)) << u(2)) | ((cellid >> u(5)) & u(3)))
    return key | (coll.astype(u) << u(43)) | (event.astype(u) << u(46))


def _group_cells(event, coll, cellid):
    """Group points by cell: hit index of every point (hits ordered by event, collection, cellID),
    one point per hit, and the grouping order of the points."""
    if len(event) and event.max() >= 1 << 18:              # beyond the packed key: the slow way
        order = np.lexsort((cellid, coll, event))
        change_keys = (event[order], cellid[order])
    else:
        key = _cell_keys(event, coll, cellid)
        order = np.argsort(key)
        change_keys = (key[order],)
    change = np.ones(len(order), bool)
    change[1:] = np.logical_or.reduce([k[1:] != k[:-1] for k in change_keys])
    hit_sorted = np.cumsum(change) - 1
    hit_of = np.empty(len(order), np.int64)
    hit_of[order] = hit_sorted
    return hit_of, order[change], order


def _group_links(hit_of, particle, energy, order, n_particles):
    """Truth links: the (hit, particle) pairs of the real (particle >= 0) points, ordered, with
    their summed true energy (summed in point order). ``order`` groups the points by hit."""
    order = order[particle[order] >= 0]
    key = hit_of[order] * (n_particles + 1) + particle[order]
    by_key = np.argsort(key, kind="stable")       # runs of equal hits: a nearly sorted array
    key_s = key[by_key]
    change = np.ones(len(key_s), bool)
    change[1:] = key_s[1:] != key_s[:-1]
    link_of = np.empty(len(hit_of), np.int64)
    link_of[order[by_key]] = np.cumsum(change) - 1
    real = particle >= 0
    uniq = key_s[change]
    e = np.bincount(link_of[real], weights=energy[real], minlength=len(uniq))
    return uniq // (n_particles + 1), uniq % (n_particles + 1), e


def simulate_calorimetry(truth: TruthBatch, card, rng) -> tuple[CaloHits, EnergyBook]:
    spots, pos, coll, g, inside, book = _deposits(truth, card, rng)
    vis = _visible(spots, coll, g, card, rng, len(truth.pdg))
    event = truth.event[g][inside]
    pos = np.compress(inside, pos, axis=0)        # (rows of (n, 3) arrays: take/compress, not a[mask])
    coll, g, vis, e_true = coll[inside], g[inside], vis[inside], spots.energy[inside]
    n_ev, n_pos, n_coll, n_e = _noise(truth.n_events, card, rng)
    event = np.concatenate([event, n_ev])
    pos = np.concatenate([pos, n_pos])
    coll = np.concatenate([coll, n_coll])
    vis = np.concatenate([vis, n_e])
    g = np.concatenate([g, np.full(len(n_ev), -1)])
    e_true = np.concatenate([e_true, np.zeros(len(n_ev))])
    cellid, index, centre = cells.locate(coll, pos, card)
    hit_of, first, order = _group_cells(event, coll, cellid)
    hcoll = coll[first]
    centre = cells.cell_centres(hcoll, [i[first] for i in index], np.take(centre, first, axis=0), card)
    energy = np.bincount(hit_of, weights=vis)
    threshold = np.select([hcoll <= cells.ECAL_ENDCAP, hcoll == cells.MUON],
                          [card.ecal.mip_gev * card.ecal.hit_threshold_mip, 0.0],
                          card.hcal.mip_gev * card.hcal.hit_threshold_mip)
    keep = energy >= threshold
    new_index = np.cumsum(keep) - 1
    term = np.where(hcoll <= cells.ECAL_ENDCAP, card.ecal.sampling_term, card.hcal.sampling_term)
    time = norm3(centre) / C_MM_PER_NS + 0.1 * rng.standard_normal(len(first))
    # truth links: (hit, particle) -> summed true energy
    link_hit, link_particle, link_e = _group_links(hit_of, g, e_true, order, len(truth.pdg))
    lkeep = keep[link_hit]
    kept = first[keep]
    hits = CaloHits(event=event[kept], coll=hcoll[keep], cellid=cellid[kept],
                    energy=energy[keep], energy_error=term[keep] * np.sqrt(energy[keep]),
                    time=time[keep], position=np.compress(keep, centre, axis=0),
                    type=cells.HIT_TYPES[hcoll[keep]], link_hit=new_index[link_hit[lkeep]],
                    link_particle=link_particle[lkeep], link_energy=link_e[lkeep])
    return hits, book
