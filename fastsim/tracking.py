"""Tracking: which charged particles make a track, and the measured helix with its covariance.

A charged final-state particle makes a track when its helix crosses at least ``min_hits`` tracker
layers (barrel cylinders within their half length, endcap disks within [rmin, rmax]) before it
leaves the tracker; a looper with 2R below the needed layer radii, or a particle at too small
angle, makes none. Only the outgoing half turn of a helix is used (pattern recognition does not
follow curling loopers). The resolution on 1/pt follows Gluckstern for N points of r-phi precision
sigma over the transverse lever arm L, plus multiple scattering:

    sigma(1/pt) = sigma / (0.3 B L^2) sqrt(720 / (N + 4))  (+)  0.0136 sqrt(1.43 x/X0 / sin theta) / (0.3 B L beta pt)

(pt in GeV, B in T, L in m), both terms scale as 1/B. D0, Z0, phi and tan(lambda) get
a (+) b/p terms from the card, with correlated (D0, phi, omega) and (Z0, tanLambda) errors.
Parameters follow EDM4hep/LCIO: omega = q * 3e-4 B / pt [1/mm], D0/Z0 at the point of closest
approach to the reference point (the origin for AtIP), phi the momentum azimuth there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from k4mlpf.physics import C_LIGHT, track_momentum

from .helix import Trajectory, calo_entry, trajectories

AT_IP, AT_FIRST_HIT, AT_LAST_HIT, AT_CALORIMETER = 1, 2, 3, 4
N_SUBDETECTORS = 6            # VXD barrel/endcap, IT barrel/endcap, OT barrel/endcap
MIP_DQDX_GEV_PER_MM = 2.8e-7
# |omega| [1/mm] = C_LIGHT * B [T] / pt [GeV] (~3e-4 B / pt): k4mlpf.physics, the model's own constant
OMEGA_GEV_PER_MM_T = C_LIGHT
CORR_D0_PHI_OMEGA = np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.4], [0.3, 0.4, 1.0]])
CORR_Z0_TANL = np.array([[1.0, -0.5], [-0.5, 1.0]])


@dataclass
class Tracks:
    particle: np.ndarray     # global index of the MCParticle (truth link, weight = hit fraction)
    hit_fraction: np.ndarray
    params: np.ndarray       # (n, 5) measured D0, phi, omega, Z0, tanLambda at the IP
    cov: np.ndarray          # (n, 5, 5)
    states: np.ndarray       # (n, 4, 5) params of AtIP, AtFirstHit, AtLastHit, AtCalorimeter
    ref_points: np.ndarray   # (n, 4, 3)
    calo_region: np.ndarray  # 0 if the measured helix misses the calorimeter
    n_hits: np.ndarray
    hit_numbers: np.ndarray  # (n, 6) hits per tracker subdetector
    chi2: np.ndarray
    ndf: np.ndarray
    dqdx: np.ndarray
    dqdx_error: np.ndarray

    def take(self, order: np.ndarray) -> "Tracks":
        """The tracks in the given order (every array member reindexed)."""
        return Tracks(**{k: v[order] for k, v in vars(self).items()})


def layer_crossings(traj: Trajectory, tracker):
    """(n, n_layers) turning angle of each crossed layer (NaN if not crossed) and layer systems."""
    bl, ed = tracker.barrel_layers, tracker.endcap_disks
    r0 = np.hypot(traj.vertex[:, 0], traj.vertex[:, 1])
    t_out = np.fmin(traj.to_radius(tracker.outer_radius_mm),
                    traj.to_plane(tracker.half_length_mm))
    # pattern recognition follows the outgoing arc only: crossings within half a turn
    t_out = np.where(np.isnan(t_out), np.pi, np.minimum(t_out, np.pi))
    cols = []
    for r, half in zip(bl.radius_mm, bl.half_length_mm):
        t = traj.to_radius(r)
        ok = (np.abs(traj.position(t)[:, 2]) <= half) & (r > r0) & (t <= t_out)
        cols.append(np.where(ok, t, np.nan))
    for z, rmin, rmax in zip(ed.z_mm, ed.rmin_mm, ed.rmax_mm):
        t = traj.to_plane(z)
        rad = traj.radius_at(t)
        ok = (rad >= rmin) & (rad <= rmax) & (t <= t_out) & (np.abs(traj.vertex[:, 2]) < z)
        cols.append(np.where(ok, t, np.nan))
    systems = np.concatenate([bl.system, ed.system]).astype(int)
    return np.stack(cols, axis=1), systems


def inv_pt_resolution(pt, p, mass, n_hits, lever_m, sin_theta, bfield, tracker):
    """sigma(1/pt) [1/GeV]: Gluckstern point term (+) multiple scattering, both ~ 1/B."""
    sigma_m = tracker.point_resolution_um * 1e-6
    lever = np.maximum(lever_m, 0.01)
    point = sigma_m / (0.3 * bfield * lever**2) * np.sqrt(720.0 / (n_hits + 4))
    beta = p / np.sqrt(p**2 + mass**2)
    ms = 0.0136 * np.sqrt(1.43 * tracker.material_x0 / np.maximum(sin_theta, 0.05)) \
        / (0.3 * bfield * lever * beta * pt)
    return np.hypot(point, ms)


def helix_at_ip(traj: Trajectory, bfield: float) -> np.ndarray:
    """True (D0, phi, omega, Z0, tanLambda) at the point of closest approach to the z axis."""
    d = np.hypot(traj.cx, traj.cy)
    ux, uy = traj.cx / d, traj.cy / d
    phi = np.arctan2(traj.q * ux, -traj.q * uy)
    x, y = traj.cx - traj.R * ux, traj.cy - traj.R * uy
    d0 = -x * np.sin(phi) + y * np.cos(phi)
    dpsi = np.mod(traj.q * (traj.phi0 - phi) + np.pi, 2 * np.pi) - np.pi
    z0 = traj.vertex[:, 2] - traj.R * dpsi * traj.tan_lambda
    omega = traj.q * OMEGA_GEV_PER_MM_T * bfield / traj.pt
    return np.stack([d0, phi, omega, z0, traj.tan_lambda], axis=1)


def covariances(sig: np.ndarray) -> np.ndarray:
    """(n, 5) sigmas of (D0, phi, omega, Z0, tanL) -> (n, 5, 5) covariance with fixed correlations."""
    corr = np.zeros((5, 5))
    corr[np.ix_([0, 1, 2], [0, 1, 2])] = CORR_D0_PHI_OMEGA
    corr[np.ix_([3, 4], [3, 4])] = CORR_Z0_TANL
    return sig[:, :, None] * corr[None] * sig[:, None, :]


def dqdx_bethe_bloch(beta_gamma: np.ndarray) -> np.ndarray:
    """Most probable dQ/dx relative to a MIP: 1/beta^2 rise at low beta-gamma, Fermi plateau."""
    bg = np.clip(beta_gamma, 0.05, 1e6)
    b2 = bg**2 / (1 + bg**2)
    k = 8.68                                  # ln(2 m_e c^2 / I) for silicon
    f = (k + 2 * np.log(np.minimum(bg, 30.0)) - b2) / b2
    f_min = (k + 2 * np.log(3.5) - 3.5**2 / (1 + 3.5**2)) / (3.5**2 / (1 + 3.5**2))
    return f / f_min


def _measured_trajectory(params, bfield):
    d0, phi, omega, z0, tanl = params.T
    q = np.sign(omega)
    vertex = np.stack([-d0 * np.sin(phi), d0 * np.cos(phi), z0], axis=1)
    p3 = track_momentum(phi, omega, tanl, bfield)
    return Trajectory(vertex=vertex, p3=p3, q=q, bfield=bfield)


def _state_at(traj: Trajectory, t, bfield):
    """Params at a point of the trajectory used as reference point (D0 = Z0 = 0 there)."""
    direction = traj.direction(t)
    phi = np.arctan2(direction[:, 1], direction[:, 0])
    omega = traj.q * OMEGA_GEV_PER_MM_T * bfield / traj.pt
    zeros = np.zeros_like(phi)
    return np.stack([zeros, phi, omega, zeros, traj.tan_lambda], axis=1), traj.position(t)


def simulate_tracks(idx, p4, vertex, charge, mass, card, rng) -> Tracks:
    """Tracks of the charged final-state particles ``idx`` (global indices)."""
    tr, bfield = card.tracker, card.bfield_tesla
    traj = trajectories(p4[idx], vertex[idx], charge[idx], bfield)
    crossings, systems = layer_crossings(traj, tr)
    hit = np.isfinite(crossings)
    n_hits = hit.sum(axis=1)
    keep = (n_hits >= tr.min_hits) & (rng.random(len(idx)) < tr.efficiency)
    dup = keep & (rng.random(len(idx)) < tr.duplicate_rate)
    sel = np.concatenate([np.flatnonzero(keep), np.flatnonzero(dup)])
    traj = trajectories(p4[idx[sel]], vertex[idx[sel]], charge[idx[sel]], bfield)
    crossings, hit, n_hits = crossings[sel], hit[sel], n_hits[sel]
    n_dup = int(dup.sum())
    frac = np.ones(len(sel))
    frac[len(sel) - n_dup:] = 0.5           # a duplicate shares its hits with the original track
    t_first = np.nanmin(np.where(hit, crossings, np.inf), axis=1)
    t_last = np.nanmax(np.where(hit, crossings, -np.inf), axis=1)
    first, last = traj.position(t_first), traj.position(t_last)
    lever_m = np.hypot(*(last - first)[:, :2].T) * 1e-3
    sin_t = traj.pt / traj.p
    m = mass[idx[sel]]
    s_inv_pt = inv_pt_resolution(traj.pt, traj.p, m, n_hits, lever_m, sin_t, bfield, tr)
    a, b = tr.d0_resolution_um
    s_d0 = np.hypot(a, b / (traj.p * sin_t**1.5)) * 1e-3
    a, b = tr.z0_resolution_um
    s_z0 = np.hypot(a, b / (traj.p * sin_t**1.5)) * 1e-3
    a, b = tr.theta_resolution_mrad
    s_th = np.hypot(a, b / traj.p) * 1e-3
    s_omega = OMEGA_GEV_PER_MM_T * bfield * s_inv_pt
    sig = np.stack([s_d0, s_th / sin_t, s_omega, s_z0, s_th / sin_t**2], axis=1)
    cov = covariances(sig)
    true = helix_at_ip(traj, bfield)
    chol = np.linalg.cholesky(cov)
    params = true + np.einsum("nij,nj->ni", chol, rng.standard_normal(true.shape))
    params[:, 1] = np.mod(params[:, 1] + np.pi, 2 * np.pi) - np.pi
    meas = _measured_trajectory(params, bfield)
    region, t_calo, _, _ = calo_entry(meas, card.ecal, 1.0)
    st_first, ref_first = _state_at(meas, meas.to_radius(np.hypot(*first[:, :2].T)), bfield)
    st_last, ref_last = _state_at(meas, meas.to_radius(np.hypot(*last[:, :2].T)), bfield)
    st_calo, ref_calo = _state_at(meas, t_calo, bfield)
    states = np.stack([params, st_first, st_last, st_calo], axis=1)
    refs = np.stack([np.zeros_like(first), ref_first, ref_last, ref_calo], axis=1)
    hit_numbers = np.stack([(hit & (systems == s)).sum(axis=1) for s in range(N_SUBDETECTORS)], 1)
    ndf = 2 * n_hits - 5
    bg = traj.p / np.maximum(m, 1e-6)
    dqdx = MIP_DQDX_GEV_PER_MM * dqdx_bethe_bloch(bg) * (1 + tr.dqdx_resolution * rng.standard_normal(len(sel)))
    return Tracks(particle=idx[sel], hit_fraction=frac, params=params, cov=cov, states=states,
                  ref_points=refs, calo_region=region, n_hits=n_hits, hit_numbers=hit_numbers,
                  chi2=rng.chisquare(np.maximum(ndf, 1)), ndf=ndf, dqdx=dqdx,
                  dqdx_error=dqdx * tr.dqdx_resolution)
