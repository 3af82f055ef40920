"""Element features from raw EDM4hep members: the one implementation everybody uses.

All functions are pure, TorchScript-able and run inside the algorithm module, so the trainer, the
Python reconstruction and the C++ Gaudi algorithm cannot disagree about a feature. (TorchScript cannot
read module-level floats, so the constants below reach the functions as default arguments.)

Raw features (physical units: GeV, mm, rad, ns) follow the reference layout (17 columns, element type
in column 0, pt/E_T in column 1, p/E in column 5) because the regression heads use them as skip
connections. The network itself sees `normalize_*` of them: a fixed, documented per-column transform.
"""
import math
from typing import List, Tuple

import torch
from torch import Tensor

from k4mlpf.model.columns import CLUSTER_FEATURES, ELEM_CLUSTER, ELEM_TRACK, N_FEATURES, TRACK_FEATURES

from k4mlpf.physics import C_LIGHT  # pt [GeV] = C_LIGHT * |B [T]| / |omega [1/mm]|, shared with the simulation
MIN_OMEGA = 1e-12  # 1/mm; a straight track (omega = 0) gets a huge but finite pt
MIN_THETA = 1e-6   # rad; keeps eta finite for clusters exactly on the beam axis
MIN_SCALE = 1e-6   # GeV; floor for the element pt/E used in log-ratios (zero-energy clusters)

# ---------------------------------------------------------------------------------------------------
# raw features


def track_pt(omega: Tensor, b_field: float, c_light: float = C_LIGHT, min_omega: float = MIN_OMEGA) -> Tensor:
    """Transverse momentum [GeV] from the signed curvature omega [1/mm] in a solenoid field [T]."""
    return c_light * abs(b_field) / omega.abs().clamp_min(min_omega)


def track_charge(omega: Tensor, b_field: float) -> Tensor:
    """Charge of a track, +-1: sign(omega) * sign(B), the LCIO/EDM4hep helix convention (MarlinUtil
    HelixClass: charge = omega / |omega| for B along +z). omega = 0 counts as positive."""
    sign_omega = torch.where(omega >= 0, torch.ones_like(omega), -torch.ones_like(omega))
    return sign_omega * (1.0 if b_field >= 0.0 else -1.0)


def track_features(tracks: Tensor, b_field: float, elem_type: int = ELEM_TRACK) -> Tensor:
    """tracks [..., T, 13] in TRACK_COLUMNS order -> raw track features [..., T, 17] (TRACK_FEATURES + 0)."""
    d0, phi, omega, z0 = tracks[..., 0], tracks[..., 1], tracks[..., 2], tracks[..., 3]
    tan_lambda, time, chi2, ndf = tracks[..., 4], tracks[..., 5], tracks[..., 6], tracks[..., 7]
    pt = track_pt(omega, b_field)
    eta = torch.asinh(tan_lambda)               # eta of the momentum direction at the IP
    p = pt * torch.cosh(eta)                    # = sqrt(pt^2 + (pt tanLambda)^2)
    radius = torch.hypot(tracks[..., 10], tracks[..., 11])  # radiusOfInnermostHit from AtFirstHit
    one, zero = torch.ones_like(pt), torch.zeros_like(pt)
    cols = [one * elem_type, pt, eta, torch.sin(phi), torch.cos(phi), p, chi2, ndf,
            tracks[..., 8], tracks[..., 9], radius, tan_lambda, d0, omega, z0, time, zero]
    return torch.stack(cols, dim=-1)


def cluster_direction(clusters: Tensor, min_theta: float = MIN_THETA) -> Tuple[Tensor, Tensor]:
    """(theta, phi) [..., C] of the clusters: iTheta/iPhi, or the position direction where they are 0.

    iTheta = 0 (along the beam) or iPhi = 0 with a nonzero transverse position means the
    producer did not fill the intrinsic direction; then the centroid direction is the better estimate.
    """
    x, y, z = clusters[..., 1], clusters[..., 2], clusters[..., 3]
    i_theta, i_phi = clusters[..., 4], clusters[..., 5]
    rho = torch.hypot(x, y)
    theta = torch.where((i_theta == 0) & ((rho > 0) | (z != 0)), torch.atan2(rho, z), i_theta)
    phi = torch.where((i_phi == 0) & (rho > 0), torch.atan2(y, x), i_phi)
    return theta.clamp(min_theta, math.pi - min_theta), phi


def cluster_hit_sums(hits: Tensor, hit_mask: Tensor, n_clusters: int) -> Tensor:
    """Per-cluster hit summaries [B, C, 7]: E_ecal, E_hcal, E_other, n_hits, sigma_x, sigma_y, sigma_z.

    hits [B, H, 6] (HIT_COLUMNS), hit_mask [B, H]. Hits whose cluster index is outside [0, C) or that
    are masked go to a discarded overflow slot. sigma = energy-weighted RMS of the hit positions
    (negative hit energies get zero weight), computed in two passes (mean, then spread) because
    E[x^2] - E[x]^2 loses all precision in float32 at calorimeter radii (~2000 mm).
    """
    B, H = hits.shape[0], hits.shape[1]
    energy, pos = hits[..., 0], hits[..., 1:4]                                # [B,H], [B,H,3]
    subsystem = hits[..., 4].round().long()
    cluster = hits[..., 5].round().long()
    ok = hit_mask & (cluster >= 0) & (cluster < n_clusters)
    batch = torch.arange(B, device=hits.device).unsqueeze(1).expand(B, H)
    slot = torch.where(ok, batch * n_clusters + cluster, B * n_clusters).reshape(-1)  # [B*H]
    n_slots = B * n_clusters + 1

    w = energy.clamp_min(0.0)
    is_ecal = (subsystem == 0).to(energy.dtype)
    is_hcal = (subsystem == 1).to(energy.dtype)
    is_other = 1.0 - is_ecal - is_hcal
    first = torch.stack([energy * is_ecal, energy * is_hcal, energy * is_other,
                         torch.ones_like(energy), w], dim=-1)                    # [B,H,5]
    first = torch.cat([first, w.unsqueeze(-1) * pos], dim=-1).reshape(B * H, 8)
    sums = torch.zeros(n_slots, 8, dtype=hits.dtype, device=hits.device).index_add_(0, slot, first)
    sum_w = sums[:, 4:5].clamp_min(1e-12)
    mean = sums[:, 5:8] / sum_w                                                  # [slots,3]

    dev2 = w.reshape(-1, 1) * (pos.reshape(-1, 3) - mean[slot]) ** 2            # [B*H,3]
    var = torch.zeros(n_slots, 3, dtype=hits.dtype, device=hits.device).index_add_(0, slot, dev2)
    sigma = torch.sqrt((var / sum_w).clamp_min(0.0))
    out = torch.cat([sums[:, 0:4], sigma], dim=-1)[:-1]                          # drop overflow slot
    return out.reshape(B, n_clusters, 7)


def cluster_features(clusters: Tensor, hits: Tensor, hit_mask: Tensor, elem_type: int = ELEM_CLUSTER) -> Tensor:
    """clusters [B, C, 6], hits [B, H, 6], hit_mask [B, H] -> raw cluster features [B, C, 17]."""
    energy = clusters[..., 0]
    theta, phi = cluster_direction(clusters)
    eta = -torch.log(torch.tan(theta / 2))
    head = torch.stack([torch.ones_like(energy) * elem_type, energy * torch.sin(theta), eta,
                        torch.sin(phi), torch.cos(phi), energy, clusters[..., 1], clusters[..., 2],
                        clusters[..., 3], clusters[..., 4]], dim=-1)             # [B,C,10]
    return torch.cat([head, cluster_hit_sums(hits, hit_mask, clusters.shape[1])], dim=-1)


def finite_elements(tracks: Tensor, track_mask: Tensor, clusters: Tensor, cluster_mask: Tensor,
                    hits: Tensor, hit_mask: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """The one rule for non-finite inputs: an element with a NaN or infinite member is skipped.

    A track with any non-finite column, a cluster with any non-finite column or with a non-finite hit,
    are left out (mask False); a non-finite hit is left out too. Returns the new (track_mask,
    cluster_mask, hit_mask) and `skipped` [B, T+C]: the real elements that were left out, so that
    callers can name them in a warning.
    """
    hit_bad = hit_mask & ~torch.isfinite(hits).all(dim=-1)                       # [B,H]
    n_clusters = clusters.shape[1]
    owner = torch.nan_to_num(hits[..., 5], nan=-1.0, posinf=-1.0, neginf=-1.0).round().long()
    slot = torch.where(hit_bad & (owner >= 0) & (owner < n_clusters), owner, torch.full_like(owner, n_clusters))
    bad_hits_of = torch.zeros(clusters.shape[0], n_clusters + 1, dtype=hits.dtype, device=hits.device)
    bad_hits_of = bad_hits_of.scatter_add_(1, slot, hit_bad.to(hits.dtype))[:, :n_clusters] > 0
    track_bad = track_mask & ~torch.isfinite(tracks).all(dim=-1)
    cluster_bad = cluster_mask & (~torch.isfinite(clusters).all(dim=-1) | bad_hits_of)
    skipped = torch.cat([track_bad, cluster_bad], dim=1)
    return track_mask & ~track_bad, cluster_mask & ~cluster_bad, hit_mask & ~hit_bad, skipped


def element_features(tracks: Tensor, track_mask: Tensor, clusters: Tensor, cluster_mask: Tensor,
                     hits: Tensor, hit_mask: Tensor, b_field: float) -> Tuple[Tensor, Tensor]:
    """Raw EDM4hep members -> (features [B, N, 17], mask [B, N]) with N = T + C, tracks first.

    Non-finite inputs are replaced by 0 first (one NaN would otherwise reach every element of the
    event through attention; `finite_elements` decides which elements are skipped); padded rows are
    exactly zero (element type 0, as in the reference).
    """
    tracks = torch.nan_to_num(tracks, nan=0.0, posinf=0.0, neginf=0.0)
    clusters = torch.nan_to_num(clusters, nan=0.0, posinf=0.0, neginf=0.0)
    hits = torch.nan_to_num(hits, nan=0.0, posinf=0.0, neginf=0.0)
    x = torch.cat([track_features(tracks, b_field), cluster_features(clusters, hits, hit_mask)], dim=1)
    mask = torch.cat([track_mask, cluster_mask], dim=1)
    return torch.where(mask.unsqueeze(-1), x, torch.zeros_like(x)), mask


def log_cosh(x: Tensor) -> Tensor:
    """log(cosh(x)) without overflow (|p| = pt cosh(eta) in log space)."""
    return x.abs() + torch.log1p(torch.exp(-2.0 * x.abs())) - math.log(2.0)


def reference_scales(x: Tensor, floor: float = MIN_SCALE) -> Tuple[Tensor, Tensor]:
    """The element pt (track pt, cluster E_T) and E (track p, cluster energy) that the log-ratio
    regression targets and predictions refer to, floored at MIN_SCALE. Used by model, decode and loss."""
    return x[..., 1].clamp_min(floor), x[..., 5].clamp_min(floor)


# ---------------------------------------------------------------------------------------------------
# fixed normalisation: y = x / scale, then signed log1p where `log` is set
# (the reference feeds raw GeV / mm into the network; these put every input at O(1))

# (feature, scale, signed log1p?) per column; every normalised input ends up O(1)
TRACK_NORM = [
    ("elemtype", 1.0, False),
    ("pt", 1.0, True),                       # GeV
    ("eta", 1.0, False),
    ("sin_phi", 1.0, False),
    ("cos_phi", 1.0, False),
    ("p", 1.0, True),                        # GeV
    ("chi2", 1.0, True),
    ("ndf", 1.0, True),
    ("dEdx", 1e-7, True),                    # GeV/mm; a MIP in the CLD tracker gives ~3e-7
    ("dEdxError", 1e-7, True),
    ("radiusOfInnermostHit", 1000.0, False),  # mm -> m
    ("tanLambda", 1.0, True),
    ("D0", 0.1, True),                       # mm; resolution ~5 um, displaced tracks ~100 mm
    ("omega", 1.0, True),                    # replaced by charge/pt [1/GeV], see normalize_tracks
    ("Z0", 1.0, True),                       # mm
    ("time", 1.0, True),                     # ns
    ("pad", 1.0, False),
]
CLUSTER_NORM = [
    ("elemtype", 1.0, False),
    ("et", 1.0, True),                       # GeV
    ("eta", 1.0, False),
    ("sin_phi", 1.0, False),
    ("cos_phi", 1.0, False),
    ("energy", 1.0, True),                   # GeV
    ("x", 1000.0, False),                    # mm -> m
    ("y", 1000.0, False),
    ("z", 1000.0, False),
    ("iTheta", 1.0, False),                  # rad
    ("energy_ecal", 1.0, True),              # GeV
    ("energy_hcal", 1.0, True),
    ("energy_other", 1.0, True),
    ("num_hits", 1.0, True),
    ("sigma_x", 10.0, True),                 # mm; shower widths ~10-100 mm
    ("sigma_y", 10.0, True),
    ("sigma_z", 10.0, True),
]
assert [n for n, _, _ in TRACK_NORM] == TRACK_FEATURES + ["pad"]
assert [n for n, _, _ in CLUSTER_NORM] == CLUSTER_FEATURES and len(CLUSTER_NORM) == N_FEATURES


def normalization_table(spec: List[Tuple[str, float, bool]]) -> Tensor:
    """[2, 17] tensor (row 0: scale, row 1: 1 where signed log1p applies), stored as a model buffer."""
    return torch.tensor([[scale for _, scale, _ in spec], [1.0 if log else 0.0 for _, _, log in spec]])


def normalize(x: Tensor, table: Tensor) -> Tensor:
    """x [..., 17] raw -> normalised with a `normalization_table`."""
    y = x / table[0]
    return torch.where(table[1] > 0, torch.sign(y) * torch.log1p(y.abs()), y)


def normalize_tracks(x: Tensor, table: Tensor) -> Tensor:
    """Track block: omega is replaced by charge/pt [1/GeV] (= omega / (c B)), so the network sees a
    curvature that does not depend on the detector's field (pre-train on 4 T, fine-tune on 2 T)."""
    q_over_pt = torch.sign(x[..., 13]) / x[..., 1].clamp_min(1e-3)
    x = torch.cat([x[..., :13], q_over_pt.unsqueeze(-1), x[..., 14:]], dim=-1)
    return normalize(x, table)
