"""Shower physics: the energy deposits ("spots") of each particle entering the calorimeter.

Every particle's energy is split into spots of known true energy, each placed along the
particle's straight path behind its ECAL entry point at a depth s [mm] and a lateral distance r:

* EM showers (e, gamma): longitudinal Gamma profile in radiation lengths,
  dE/dt ~ t^(a-1) e^(-b t), b = 0.5, t_max = (a-1)/b = ln(E/E_c) + C (C = -1 e, -0.5 gamma);
  lateral core + tail f(r) ~ 2 r R^2 / (r^2 + R^2)^2 with R = 0.25 and 1.0 Moliere radii.
* hadrons: first interaction after an exponential depth in interaction lengths (charged hadrons
  leave MIP deposits before it); the shower then has a fluctuating EM fraction
  f_em ~ 1 - E^-0.18 (+- 0.12) with compact deposits, and a wide hadronic part, both with a
  Gamma(2, 0.2 ln E + 0.7) profile in interaction lengths.
* muons: one MIP deposit per layer until they stop or leave the HCAL.

Depths convert to path lengths with the ``PathMaterial`` of each particle (ECAL, gap, HCAL as
the card gives them, stretched by 1/cos of the incidence angle). Nothing here applies sampling
fluctuations: spots carry true energy, so that energy bookkeeping is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EM, HAD, MIP = 0, 1, 2
E_CRITICAL_GEV = 0.010
EM_SPOT_GEV, HAD_SPOT_GEV, MAX_SPOTS = 0.05, 0.1, 200


@dataclass
class PathMaterial:
    """Piecewise material along each path: ECAL [0, s1), gap [s1, s2), HCAL [s2, s3), then out."""
    s1: np.ndarray
    s2: np.ndarray
    s3: np.ndarray
    x0_per_mm: tuple      # (ECAL, HCAL)
    lam_per_mm: tuple

    @classmethod
    def build(cls, region, cos_a, card):
        e, h = card.ecal, card.hcal
        barrel = region == 1
        gap = np.where(barrel, h.barrel_inner_radius_mm - e.barrel_inner_radius_mm - e.depth_mm,
                       h.endcap_inner_z_mm - e.endcap_inner_z_mm - e.depth_mm)
        h_depth = np.where(barrel, h.depth_mm, h.endcap_outer_z_mm - h.endcap_inner_z_mm)
        s1 = e.depth_mm / cos_a
        s2 = s1 + np.maximum(gap, 0) / cos_a
        return cls(s1, s2, s2 + h_depth / cos_a, (e.depth_x0 / e.depth_mm, h.depth_x0 / h.depth_mm),
                   (e.depth_lambda / e.depth_mm, h.depth_lambda / h.depth_mm))

    def path_length(self, depth, j, lam: bool) -> np.ndarray:
        """Path length s of a material depth (X0, or lambda if ``lam``) for particles ``j``."""
        de, dh = self.lam_per_mm if lam else self.x0_per_mm
        d1 = self.s1[j] * de
        return np.where(depth < d1, depth / de, self.s2[j] + (depth - d1) / dh)

    def depth(self, s, j, lam: bool) -> np.ndarray:
        de, dh = self.lam_per_mm if lam else self.x0_per_mm
        return np.where(s < self.s1[j], s * de,
                        self.s1[j] * de + np.maximum(s - self.s2[j], 0) * dh)


@dataclass
class Spots:
    particle: np.ndarray   # index into the calorimeter-particle arrays
    s: np.ndarray          # path length behind the entry point [mm]
    r: np.ndarray          # lateral distance from the axis [mm]
    energy: np.ndarray     # true energy [GeV]
    kind: np.ndarray       # EM, HAD or MIP

    @staticmethod
    def concat(parts):
        return Spots(*[np.concatenate([getattr(p, f) for p in parts])
                       for f in ("particle", "s", "r", "energy", "kind")])


def _split(energy, spot_gev):
    n = np.clip(np.ceil(energy / spot_gev), 4, MAX_SPOTS).astype(np.int64)
    n = np.where(energy > 0, n, 0)
    j = np.repeat(np.arange(len(energy)), n)
    return j, (energy / np.maximum(n, 1))[j]


def _lateral(rng, n, r_core, r_tail, p_core, u_max=0.95):
    u = rng.uniform(0, u_max, n)
    radius = np.where(rng.random(n) < p_core, r_core, r_tail)
    return radius * np.sqrt(u / (1 - u))


def em_spots(idx, energy, is_electron, mat, card, rng, start_x0=None):
    """EM showers of particles ``idx`` (energies [GeV]) starting at depth ``start_x0``."""
    j, e_spot = _split(energy, EM_SPOT_GEV)
    p = idx[j]
    b = 0.5
    t_max = np.log(np.maximum(energy, 2 * E_CRITICAL_GEV) / E_CRITICAL_GEV) - np.where(is_electron, 1.0, 0.5)
    a = np.maximum(b * t_max + 1, 1.2)[j]
    t = rng.gamma(a, 1 / b) + (0 if start_x0 is None else start_x0[j])
    rm = card.ecal.moliere_radius_mm
    r = _lateral(rng, len(p), 0.25 * rm, rm, 0.8)
    return Spots(p, mat.path_length(t, p, lam=False), r, e_spot, np.full(len(p), EM))


def mip_spots(idx, budget, stop_s, mat, card):
    """One deposit per calorimeter layer along the path up to ``stop_s`` or until ``budget`` is spent.

    Returns the spots and the energy each particle deposited.
    """
    e, h = card.ecal, card.hcal
    le, lh = e.layers, h.layers
    frac = np.arange(le + lh) + 0.5
    s1, s2, s3 = mat.s1[idx], mat.s2[idx], mat.s3[idx]
    s = np.where(np.arange(le + lh) < le, frac / le * s1[:, None],
                 s2[:, None] + (frac - le) / lh * (s3 - s2)[:, None])
    inv_cos = (s1 / e.depth_mm)[:, None]                   # longer path at oblique incidence
    de = np.where(np.arange(le + lh) < le, e.mip_gev, h.mip_gev) * inv_cos
    de = np.where(s < stop_s[:, None], de, 0.0)
    cum = np.cumsum(de, axis=1)
    de = np.clip(np.minimum(cum, budget[:, None]) - (cum - de), 0, None)
    keep = de > 0
    rows = np.broadcast_to(idx[:, None], s.shape)[keep]
    spots = Spots(rows, s[keep], np.zeros(keep.sum()), de[keep], np.full(keep.sum(), MIP))
    return spots, de.sum(axis=1)


def hadron_spots(idx, energy, charged, mat, card, rng):
    """Hadronic showers (incl. MIP track before the first interaction) of particles ``idx``."""
    t_int = rng.exponential(1.0, len(idx))
    s_int = mat.path_length(t_int, idx, lam=True)
    mips, used = mip_spots(idx, np.where(charged, energy, 0.0), np.where(charged, s_int, 0.0), mat, card)
    rest = energy - used
    f_mean = 1 - np.maximum(rest, 1.0) ** -0.18
    f_em = np.clip(f_mean + 0.12 * rng.standard_normal(len(idx)), 0, 0.95)
    theta = 0.2 * np.log(np.maximum(rest, 0.2)) + 0.7
    parts = [mips]
    for frac, spot_gev, r_core, r_tail, p_core, kind in (
            (f_em, EM_SPOT_GEV, 0.5 * card.ecal.moliere_radius_mm, 2 * card.ecal.moliere_radius_mm, 0.8, EM),
            (1 - f_em, HAD_SPOT_GEV, 30.0, 90.0, 0.6, HAD)):
        j, e_spot = _split(rest * frac, spot_gev)
        p = idx[j]
        t = t_int[j] + rng.gamma(2.0, theta[j])
        r = _lateral(rng, len(p), r_core, r_tail, p_core)
        parts.append(Spots(p, mat.path_length(t, p, lam=True), r, e_spot, np.full(len(p), kind)))
    return Spots.concat(parts)
