"""Trajectories in the solenoid: helices for charged particles, straight lines for neutrals.

Units: mm, GeV, T. A particle of transverse momentum pt [GeV] in a field B [T] along +z moves on a
circle of radius R = pt / (0.3 B) m = 1000 pt / (0.3 B) mm; a positive charge turns clockwise seen
from +z. We parametrise the trajectory by the turning angle psi >= 0: the azimuth of the momentum
is phi(psi) = phi0 - q psi, the transverse path R psi, and z(psi) = z0 + R psi tan(lambda) with
tan(lambda) = pz / pt. Neutral particles are the R -> infinity limit; they are handled with the
path length s and the same interface (``Trajectory.position(t)``), t being psi or s.
All functions are vectorised over particles; NaN marks "never reached".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MM_PER_GEV_PER_T = 1000.0 / 0.299792458   # R[mm] = pt[GeV] / B[T] * this


@dataclass
class Trajectory:
    vertex: np.ndarray     # (n, 3) production point [mm]
    p3: np.ndarray         # (n, 3) momentum [GeV]
    q: np.ndarray          # (n,) sign of the charge (0 for neutrals)
    bfield: float

    def __post_init__(self):
        self.pt = np.hypot(self.p3[:, 0], self.p3[:, 1])
        self.p = np.linalg.norm(self.p3, axis=1)
        self.charged = (self.q != 0) & (self.pt > 0)
        self.R = np.where(self.charged, self.pt / self.bfield * MM_PER_GEV_PER_T, np.inf)
        self.phi0 = np.arctan2(self.p3[:, 1], self.p3[:, 0])
        with np.errstate(divide="ignore", invalid="ignore"):
            self.tan_lambda = self.p3[:, 2] / self.pt
            self.u = self.p3 / self.p[:, None]       # unit momentum (straight lines)
        q = np.where(self.charged, self.q, 0.0)
        finite_r = np.where(self.charged, self.R, 0.0)
        self.cx = self.vertex[:, 0] + finite_r * q * np.sin(self.phi0)
        self.cy = self.vertex[:, 1] - finite_r * q * np.cos(self.phi0)

    # -- position and direction ------------------------------------------------------------
    def position(self, t: np.ndarray) -> np.ndarray:
        """Point at turning angle psi (charged) or path length s (neutral)."""
        t = np.where(np.isfinite(t), t, 0.0)
        phi = self.phi0 - self.q * t
        with np.errstate(invalid="ignore"):
            hx = self.cx - self.R * self.q * np.sin(phi)
            hy = self.cy + self.R * self.q * np.cos(phi)
            hz = self.vertex[:, 2] + self.R * t * self.tan_lambda
        sx, sy, sz = (self.vertex + t[:, None] * self.u).T
        c = self.charged
        return np.stack([np.where(c, hx, sx), np.where(c, hy, sy), np.where(c, hz, sz)], axis=1)

    def direction(self, t: np.ndarray) -> np.ndarray:
        """Unit momentum vector at ``t``."""
        t = np.where(np.isfinite(t), t, 0.0)
        phi = self.phi0 - self.q * t
        sin_l = np.where(self.charged, self.p3[:, 2] / np.maximum(self.p, 1e-30), 0.0)
        cos_l = np.sqrt(1 - sin_l**2)
        helix = np.stack([cos_l * np.cos(phi), cos_l * np.sin(phi), sin_l], axis=1)
        return np.where(self.charged[:, None], helix, self.u)

    def radius_at(self, t: np.ndarray) -> np.ndarray:
        pos = self.position(t)
        return np.hypot(pos[:, 0], pos[:, 1])

    # -- crossings ------------------------------------------------------------------------
    def to_radius(self, r) -> np.ndarray:
        """First t > 0 at which the trajectory reaches cylindrical radius ``r`` (NaN: never)."""
        r = np.broadcast_to(np.asarray(r, float), self.pt.shape)
        out = np.full(self.pt.shape, np.nan)
        c = self.charged
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.hypot(self.cx, self.cy)
            w = self.q * (r**2 - d**2 - self.R**2) / (2 * self.R * d)
            alpha = np.arctan2(self.cy, self.cx)
            a = np.arcsin(w)
            psi1 = np.mod(self.q * (self.phi0 - (alpha - a)), 2 * np.pi)
            psi2 = np.mod(self.q * (self.phi0 - (alpha - np.pi + a)), 2 * np.pi)
            psi = np.fmin(psi1, psi2)
            out[c] = np.where(np.abs(w[c]) <= 1, psi[c], np.nan)
            # straight line: |v_T + s u_T| = r, larger root
            ux, uy = self.u[:, 0], self.u[:, 1]
            vx, vy = self.vertex[:, 0], self.vertex[:, 1]
            a2 = ux**2 + uy**2
            b = 2 * (vx * ux + vy * uy)
            disc = b**2 - 4 * a2 * (vx**2 + vy**2 - r**2)
            s = (-b + np.sqrt(disc)) / (2 * a2)
        n = ~c
        out[n] = np.where((disc[n] >= 0) & (s[n] > 0), s[n], np.nan)
        return out

    def to_plane(self, z) -> np.ndarray:
        """t > 0 at which the trajectory reaches |z| = ``z`` on the side it moves to (NaN: never)."""
        z = np.broadcast_to(np.asarray(z, float), self.pt.shape)
        pz = self.p3[:, 2]
        target = np.sign(pz) * z
        with np.errstate(invalid="ignore", divide="ignore"):
            dz = target - self.vertex[:, 2]
            t = np.where(self.charged, dz / (self.R * self.tan_lambda), dz / self.u[:, 2])
        return np.where((pz != 0) & (t >= 0), t, np.nan)


def trajectories(p4: np.ndarray, vertex: np.ndarray, charge: np.ndarray, bfield: float) -> Trajectory:
    return Trajectory(vertex=np.asarray(vertex, float), p3=np.asarray(p4, float)[:, :3],
                      q=np.sign(np.asarray(charge, float)), bfield=float(bfield))


def calo_entry(traj: Trajectory, ecal, max_abs_cos_theta: float):
    """Where each trajectory enters the ECAL front face.

    Returns ``(region, t, position, direction)``: region 1 barrel cylinder (r = inner radius,
    |z| <= half length), 2 endcap disk (|z| = endcap z, r >= inner radius), 0 never (beam pipe /
    forward acceptance, or a looper that never leaves the tracker volume).
    """
    t_b = traj.to_radius(ecal.barrel_inner_radius_mm)
    z_b = traj.position(t_b)[:, 2]
    barrel = np.isfinite(t_b) & (np.abs(z_b) <= ecal.barrel_half_length_mm)
    t_e = traj.to_plane(ecal.endcap_inner_z_mm)
    r_e = traj.radius_at(t_e)
    endcap = ~barrel & np.isfinite(t_e) & (r_e >= ecal.endcap_inner_radius_mm)
    cos_theta = np.divide(traj.p3[:, 2], traj.p, out=np.zeros_like(traj.p), where=traj.p > 0)
    accepted = np.abs(cos_theta) <= max_abs_cos_theta
    region = np.where(accepted & barrel, 1, np.where(accepted & endcap, 2, 0))
    t = np.where(region == 1, t_b, np.where(region == 2, t_e, np.nan))
    return region, t, traj.position(t), traj.direction(t)
