"""Random events with realistic ranges, in the input contract's columns (tests, benchmarks, smoke runs).

Not a simulation: values are plausible (pt 0.2-50 GeV tracks, clusters at the ECAL face, hits spread
around their cluster), so that features, normalisation and timing see realistic numbers.
"""
import math
from typing import Optional, Tuple

import torch
from torch import Tensor

from k4mlpf.model.features import C_LIGHT


def random_event(n_tracks: int = 50, n_clusters: int = 90, n_hits: int = 2000, b_field: float = 2.0,
                 generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """-> tracks [T,13], clusters [C,6], hits [H,6] (TRACK_COLUMNS, CLUSTER_COLUMNS, HIT_COLUMNS)."""
    g = generator

    def u(n: int, lo: float, hi: float) -> Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=g)

    def n_(n: int, sigma: float) -> Tensor:
        return sigma * torch.randn(n, generator=g)

    T, C, H = n_tracks, n_clusters, n_hits
    pt = torch.exp(u(T, math.log(0.2), math.log(50.0)))
    sign = torch.where(torch.rand(T, generator=g) < 0.5, -1.0, 1.0)
    r_first = u(T, 15.0, 60.0)
    phi_t = u(T, -math.pi, math.pi)
    tracks = torch.stack([n_(T, 0.05), phi_t, sign * C_LIGHT * b_field / pt, n_(T, 0.3), n_(T, 1.2),
                          n_(T, 0.05), u(T, 5.0, 50.0), torch.randint(10, 40, (T,), generator=g).float(),
                          3e-7 * (1 + n_(T, 0.1)), 2e-8 * (1 + n_(T, 0.1)), r_first * torch.cos(phi_t),
                          r_first * torch.sin(phi_t), n_(T, 50.0)], dim=1)

    theta, phi = u(C, 0.2, math.pi - 0.2), u(C, -math.pi, math.pi)
    radius = 2150.0
    clusters = torch.stack([torch.exp(u(C, math.log(0.1), math.log(40.0))), radius * torch.cos(phi),
                            radius * torch.sin(phi), radius / torch.tan(theta), theta, phi], dim=1)

    owner = torch.randint(0, max(C, 1), (H,), generator=g)
    centre = clusters[owner, 1:4] if C > 0 else torch.zeros(H, 3)
    hits = torch.cat([u(H, 0.001, 0.5).unsqueeze(1), centre + 30.0 * torch.randn(H, 3, generator=g),
                      torch.randint(0, 3, (H, 1), generator=g).float(), owner.float().unsqueeze(1)], dim=1)
    return tracks, clusters, hits
