import math

import numpy as np
import pytest
import torch

from k4mlpf.model import features as feat
from k4mlpf.model.columns import CLUSTER_FEATURES, TRACK_FEATURES
from k4mlpf.model.synthetic import random_event

C = 2.99792458e-4


def one_track(omega=1e-3, tan_lambda=0.5, phi=0.3):
    #              D0    phi  omega  Z0   tanL        time chi2  ndf  dQdx  err   fhX  fhY  fhZ
    return torch.tensor([[0.02, phi, omega, -0.4, tan_lambda, 0.1, 12.0, 20.0, 3e-7, 2e-8, 3.0, 4.0, 7.0]])


@pytest.mark.parametrize("b_field", [2.0, 4.0], ids=["CLD_2T", "CLIC_4T"])
@pytest.mark.parametrize("omega", [1e-3, -2.5e-4], ids=["positive", "negative"])
def test_track_features_by_hand(b_field, omega):
    x = feat.track_features(one_track(omega=omega), b_field)[0]
    pt = C * b_field / abs(omega)
    want = {
        "elemtype": 1.0, "pt": pt, "eta": math.asinh(0.5), "sin_phi": math.sin(0.3), "cos_phi": math.cos(0.3),
        "p": pt * math.sqrt(1 + 0.25), "chi2": 12.0, "ndf": 20.0, "dEdx": 3e-7, "dEdxError": 2e-8,
        "radiusOfInnermostHit": 5.0, "tanLambda": 0.5, "D0": 0.02, "omega": omega, "Z0": -0.4, "time": 0.1,
    }
    assert x.shape == (17,)
    for i, name in enumerate(TRACK_FEATURES):
        assert x[i].item() == pytest.approx(want[name], rel=1e-5), name
    assert x[16].item() == 0.0
    assert feat.track_charge(torch.tensor([omega]), b_field).item() == math.copysign(1.0, omega)


def hand_built_cluster():
    clusters = torch.tensor([[10.0, 1000.0, 0.0, 1000.0, math.pi / 4, 0.2],
                             [2.0, 0.0, 2000.0, 0.0, math.pi / 2, math.pi / 2]])
    hits = torch.tensor([
        [1.0, 1000.0, 0.0, 1000.0, 0, 0],    # ECAL, cluster 0
        [3.0, 1010.0, 0.0, 1000.0, 0, 0],    # ECAL, cluster 0
        [2.0, 1000.0, 20.0, 990.0, 1, 0],    # HCAL, cluster 0
        [0.5, 0.0, 2000.0, 0.0, 2, 1],       # other (muon), cluster 1
        [9.0, 0.0, 0.0, 0.0, 0, 5],          # cluster index out of range: ignored
        [9.0, 0.0, 0.0, 0.0, 0, 0],          # masked: ignored
    ])
    hit_mask = torch.tensor([True] * 5 + [False])
    return clusters, hits, hit_mask


def test_cluster_features_by_hand():
    clusters, hits, hit_mask = hand_built_cluster()
    x = feat.cluster_features(clusters[None], hits[None], hit_mask[None])[0]
    e, pos = np.array([1.0, 3.0, 2.0]), np.array([[1000, 0, 1000], [1010, 0, 1000], [1000, 20, 990.0]])
    mean = (e[:, None] * pos).sum(0) / e.sum()
    sigma = np.sqrt((e[:, None] * (pos - mean) ** 2).sum(0) / e.sum())
    want = {
        "elemtype": 2.0, "et": 10 * math.sin(math.pi / 4), "eta": -math.log(math.tan(math.pi / 8)),
        "sin_phi": math.sin(0.2), "cos_phi": math.cos(0.2), "energy": 10.0, "x": 1000.0, "y": 0.0, "z": 1000.0,
        "iTheta": math.pi / 4, "energy_ecal": 4.0, "energy_hcal": 2.0, "energy_other": 0.0, "num_hits": 3.0,
        "sigma_x": sigma[0], "sigma_y": sigma[1], "sigma_z": sigma[2],
    }
    for i, name in enumerate(CLUSTER_FEATURES):
        assert x[0, i].item() == pytest.approx(want[name], rel=1e-5, abs=1e-5), name
    assert x[1, 2].item() == pytest.approx(0.0, abs=1e-6)             # eta at theta = pi/2
    assert x[1, 10:14].tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0])
    assert x[1, 14:].tolist() == pytest.approx([0.0, 0.0, 0.0])      # one hit: no spread


def test_cluster_direction_falls_back_to_position():
    clusters = torch.tensor([[5.0, 0.0, -1500.0, 1500.0, 0.0, 0.0]])    # iTheta, iPhi not filled
    theta, phi = feat.cluster_direction(clusters)
    assert theta.item() == pytest.approx(math.pi / 4)
    assert phi.item() == pytest.approx(-math.pi / 2)


def test_non_finite_inputs_are_zeroed_and_padding_is_zero():
    tracks, clusters, hits = random_event(3, 2, 10)
    tracks[0, 5] = float("nan")
    clusters[1, 0] = float("inf")
    pad = torch.zeros(1, 2, dtype=torch.bool)
    x, mask = feat.element_features(torch.cat([tracks[None], torch.zeros(1, 2, 13)], 1),
                                    torch.cat([torch.ones(1, 3, dtype=torch.bool), pad], 1),
                                    clusters[None], torch.ones(1, 2, dtype=torch.bool), hits[None],
                                    torch.ones(1, 10, dtype=torch.bool), 2.0)
    assert torch.isfinite(x).all()
    assert (x[0, 3:5] == 0).all() and not mask[0, 3:5].any()
    assert x[0, 0, 15].item() == 0.0                                       # NaN time -> 0


def test_normalised_features_are_order_one():
    tracks, clusters, hits = random_event(200, 200, 4000, generator=torch.Generator().manual_seed(3))
    ones = lambda n: torch.ones(1, n, dtype=torch.bool)  # noqa: E731
    x, _ = feat.element_features(tracks[None], ones(200), clusters[None], ones(200), hits[None], ones(4000), 2.0)
    xt = feat.normalize_tracks(x[:, :200], feat.normalization_table(feat.TRACK_NORM))
    xc = feat.normalize(x[:, 200:], feat.normalization_table(feat.CLUSTER_NORM))
    assert xt.abs().max() < 10 and xc.abs().max() < 15


def test_curvature_feature_is_field_independent():
    """Same pt in 2 T and 4 T -> same normalised track features (q/pt replaces omega)."""
    table = feat.normalization_table(feat.TRACK_NORM)
    x2 = feat.normalize_tracks(feat.track_features(one_track(omega=C * 2.0 / 5.0), 2.0), table)
    x4 = feat.normalize_tracks(feat.track_features(one_track(omega=C * 4.0 / 5.0), 4.0), table)
    assert torch.allclose(x2, x4, atol=1e-6)
