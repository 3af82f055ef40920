import math

import pytest
import torch

from k4mlpf import physics
from k4mlpf.model import MLPFAlgorithm, load_algorithm, read_metadata, save_algorithm
from k4mlpf.model.batch import pad_events
from k4mlpf.model.columns import CLASS_MASS, CLASS_PDG, CLUSTER_COLUMNS, HIT_COLUMNS, TRACK_COLUMNS
from k4mlpf.model.synthetic import random_event

OUTPUT_KEYS = ("cls", "pdg", "probabilities", "charge", "px", "py", "pz", "energy", "mass", "source_element",
               "valid", "skipped")


def perturb_heads(model, seed=0):
    """Non-zero regression heads and a particle-friendly binary head, so decoding has work to do."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for head in (model.pt_track, model.pt_cluster, model.e_track, model.e_cluster, model.eta,
                     model.sin_phi, model.cos_phi):
            last = head.net[-1]
            last.weight.copy_(0.1 * torch.randn(last.weight.shape, generator=g))
            last.bias.copy_(0.1 * torch.randn(last.bias.shape, generator=g) + 0.05)
        model.binary.net[-1].bias.copy_(torch.tensor([-1.0, 1.0]))


@pytest.fixture
def saved(algo, tmp_path):
    perturb_heads(algo.model)
    path = save_algorithm(algo, tmp_path / "models" / "mlpf.pt")
    return path, load_algorithm(path)


def assert_outputs_equal(a, b, atol=1e-5):
    assert set(a) == set(b) == set(OUTPUT_KEYS)
    for key in OUTPUT_KEYS:
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=1e-5, msg=key)


def test_scripted_saved_loaded_equals_eager(algo, saved, batch):
    path, loaded = saved
    with torch.no_grad():
        assert_outputs_equal(algo(*batch), loaded(*batch))
    assert [p.name for p in path.parent.iterdir()] == ["mlpf.pt"]      # no temp file left behind


def test_single_event_entry_point_matches_batch(saved, events, batch):
    _, loaded = saved
    with torch.no_grad():
        out = loaded(*batch)
        T = batch[0].shape[1]
        for i, (tracks, clusters, hits) in enumerate(events):
            one = loaded.reconstruct_event(tracks, clusters, hits)
            rows = list(range(len(tracks))) + [T + j for j in range(len(clusters))]
            for key in OUTPUT_KEYS:
                if key != "source_element":
                    torch.testing.assert_close(one[key], out[key][i, rows], atol=1e-5, rtol=1e-5, msg=key)
            assert one["source_element"].tolist() == list(range(len(tracks) + len(clusters)))


@pytest.mark.parametrize("sizes", [(0, 0, 0), (6, 0, 0)], ids=["empty", "tracks_only"])
def test_single_event_degenerate(saved, sizes):
    _, loaded = saved
    out = loaded.reconstruct_event(*random_event(*sizes))
    n = sizes[0] + sizes[1]
    assert out["cls"].shape == (n,) and out["probabilities"].shape == (n, 6)
    assert all(torch.isfinite(v.float()).all() for v in out.values())


def test_metadata(saved):
    path, loaded = saved
    meta = read_metadata(path)
    assert meta["detector"] == loaded.detector == "test_detector"
    assert meta["b_field"] == loaded.b_field == 2.0
    assert meta["track_columns"] == TRACK_COLUMNS and meta["cluster_columns"] == CLUSTER_COLUMNS
    assert meta["hit_columns"] == HIT_COLUMNS and meta["class_pdg"] == CLASS_PDG
    assert meta["config"]["width"] == 32 and meta["provenance"] == {"made_by": "tests/model"}
    assert loaded.metadata()["detector"] == '"test_detector"'


def test_element_type_decides_charged_or_neutral(model):
    """Even a model that *wants* a neutral hadron everywhere gives tracks only charged classes."""
    algo = MLPFAlgorithm(model, detector="test").eval()
    for favoured in range(1, 6):
        with torch.no_grad():
            model.binary.net[-1].bias.copy_(torch.tensor([-50.0, 50.0]))
            bias = torch.zeros(6)
            bias[favoured] = 100.0
            model.pid.net[-1].bias.copy_(bias)
            events = [random_event(8, 8, 50, generator=torch.Generator().manual_seed(s)) for s in range(3)]
            batch = pad_events(events)
            out = algo(*batch)
        T = batch[0].shape[1]
        track_cls = out["cls"][:, :T][batch[1]]
        cluster_cls = out["cls"][:, T:][batch[3]]
        assert set(track_cls.tolist()) <= {1, 4, 5} and set(cluster_cls.tolist()) <= {2, 3}
        assert (out["probabilities"][:, :T, 2:4] == 0).all() and (out["probabilities"][:, T:, [1, 4, 5]] == 0).all()
        torch.testing.assert_close(out["probabilities"].sum(-1), torch.ones(out["cls"].shape))


def test_decoded_kinematics_are_physical(saved, batch):
    _, loaded = saved
    with torch.no_grad():
        out = loaded(*batch)
    v = out["valid"]
    assert v.any() and not v[~torch.cat([batch[1], batch[3]], 1)].any()
    p2 = out["px"] ** 2 + out["py"] ** 2 + out["pz"] ** 2
    e = out["energy"]
    assert (e[v] ** 2 >= p2[v] * (1 - 1e-5)).all()
    # the mass is the class's, exactly (so no rounding of E - |p| can make one), and E, p, m agree
    assert torch.equal(out["mass"][v], torch.tensor(CLASS_MASS)[out["cls"][v]])
    torch.testing.assert_close(e[v] ** 2, p2[v] + out["mass"][v] ** 2, atol=1e-4, rtol=1e-5)
    assert (out["energy"][~v] == 0).all() and (out["charge"][~v] == 0).all() and (out["mass"][~v] == 0).all()


def test_charge_and_signed_pdg_follow_omega(model):
    """omega > 0 with B > 0 is a positive track: pi+ = 211, e+ = -11, mu+ = -13."""
    algo = MLPFAlgorithm(model, detector="test").eval()
    tracks, clusters, hits = random_event(6, 2, 10)
    tracks[:3, 2] = tracks[:3, 2].abs()
    tracks[3:, 2] = -tracks[3:, 2].abs()
    for cls, pdg in ((1, 211), (4, -11), (5, -13)):
        with torch.no_grad():
            model.binary.net[-1].bias.copy_(torch.tensor([-50.0, 50.0]))
            bias = torch.zeros(6)
            bias[cls] = 100.0
            model.pid.net[-1].bias.copy_(bias)
            out = algo.reconstruct_event(tracks, clusters, hits)
        assert out["charge"][:6].tolist() == [1, 1, 1, -1, -1, -1]
        assert out["pdg"][:6].tolist() == [pdg] * 3 + [-pdg] * 3
        # the TorchScript rule in the model file is the torch-free one of k4mlpf.physics
        assert out["pdg"][:6].tolist() == physics.signed_pdg([CLASS_PDG[cls]] * 6, out["charge"][:6].numpy()).tolist()
        assert (out["charge"][6:] == 0).all()


def test_untrained_model_returns_the_element_kinematics(model):
    """Zero-initialised regression heads: pt, eta, phi of a track element come back unchanged."""
    algo = MLPFAlgorithm(model, detector="test").eval()
    tracks, clusters, hits = random_event(1, 0, 0)
    with torch.no_grad():
        model.binary.net[-1].bias.copy_(torch.tensor([-50.0, 50.0]))
        out = algo.reconstruct_event(tracks, clusters, hits)
    pt = 2.99792458e-4 * 2.0 / tracks[0, 2].abs()
    assert math.hypot(out["px"][0], out["py"][0]) == pytest.approx(pt.item(), rel=1e-5)
    assert math.atan2(out["py"][0], out["px"][0]) == pytest.approx(tracks[0, 1].item(), abs=1e-5)
    assert out["pz"][0].item() == pytest.approx((pt * tracks[0, 4]).item(), rel=1e-4)
    p = math.sqrt(out["px"][0] ** 2 + out["py"][0] ** 2 + out["pz"][0] ** 2)
    mass = CLASS_MASS[out["cls"][0]]
    assert out["energy"][0].item() == pytest.approx(math.sqrt(p**2 + mass**2), rel=1e-5)  # E from |p| and the class mass


def test_non_finite_members_skip_their_element(saved):
    """A NaN/inf track, cluster or hit member: that element is skipped and flagged, nothing else changes,
    and no output is non-finite (a NaN omega once became a muon of 2.6e8 GeV)."""
    _, loaded = saved
    tracks, clusters, hits = random_event(5, 4, 40, generator=torch.Generator().manual_seed(3))
    hits[:, 5] = torch.arange(40) % 4                                  # every cluster owns hits
    with torch.no_grad():
        clean = loaded.reconstruct_event(tracks, clusters, hits)
        tracks[1, 2] = float("nan")                                    # omega
        tracks[3, 4] = float("inf")                                    # tanLambda
        clusters[0, 0] = float("-inf")                                 # energy
        hits[6, 1] = float("nan")                                      # a hit of cluster 6 % 4 = 2
        out = loaded.reconstruct_event(tracks, clusters, hits)
    assert out["skipped"].tolist() == [False, True, False, True, False, True, False, True, False]
    assert not out["valid"][out["skipped"]].any()
    for key, value in out.items():
        assert torch.isfinite(value.float()).all(), key
    assert not clean["skipped"].any()
