"""Jets, MET and particle metrics against values computed by hand."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from k4mlpf.evaluation import Particles, cluster_jets, jet_performance, match_jets, met, particle_performance, \
    response_summary


def _back_to_back(n_events=4, scale=1.0, extra=None):
    """Per event two 5-particle sprays of 10 GeV each along +x and -x (two 50 GeV jets)."""
    rows = []
    for _ in range(n_events):
        for sign in (1, -1):
            for k in range(5):
                rows.append([sign * 10.0 * scale, 0.02 * k * scale, 0.0, 10.0 * scale])
        if extra is not None:
            rows.append(extra)
    rows = np.array(rows)
    per_event = 10 + (extra is not None)
    return Particles.from_rows(rows, np.full(n_events, per_event))


def test_jets_are_the_two_sprays():
    jets = cluster_jets(_back_to_back(2))
    assert [len(j) for j in jets.pt.tolist()] == [2, 2]
    np.testing.assert_allclose(sorted(jets.pt[0].tolist()), [50.0, 50.0], rtol=1e-3)


def test_jet_response_and_resolution_by_hand():
    truth = _back_to_back(4)
    perf = jet_performance(_back_to_back(4, scale=1.1), truth)
    assert perf["response"]["median"] == pytest.approx(1.1, rel=1e-6)
    assert perf["response"]["resolution"] == pytest.approx(0.0, abs=1e-9)
    assert perf["efficiency"] == 1.0 and perf["n_truth_jets"] == 8


def test_jets_below_5_gev_and_far_jets_do_not_count():
    truth = _back_to_back(1)
    soft = _back_to_back(1, scale=0.08)  # 4 GeV jets: below the 5 GeV threshold
    assert jet_performance(soft, truth)["efficiency"] == 0.0
    reco = cluster_jets(truth)
    moved = ak.zip({"pt": reco.pt, "eta": reco.eta + 0.15, "phi": reco.phi, "E": reco.E})  # ΔR = 0.15 > 0.1
    assert match_jets(moved, reco)["n_matched"] == 0
    assert match_jets(reco, reco)["n_matched"] == 2


def test_met_by_hand():
    # event 0 balanced, event 1 with an extra 3 GeV along y and 4 GeV along x: MET = 5 GeV
    rows = np.array([[1.0, 0, 0, 1], [-1.0, 0, 0, 1], [4.0, 3.0, 0, 5.0]])
    p = Particles.from_rows(rows, np.array([2, 1]))
    np.testing.assert_allclose(met(p), [0.0, 5.0])


def test_response_summary_by_hand():
    s = response_summary(np.array([0.8, 0.9, 1.0, 1.1, 1.2]))
    assert s["median"] == pytest.approx(1.0) and s["iqr"] == pytest.approx(0.2)
    assert s["resolution"] == pytest.approx(0.2)
    assert response_summary(np.array([]))["n"] == 0


def test_particle_efficiency_and_fake_rate_by_hand():
    true = np.array([1, 1, 2, 3, 0, 0])
    pred = np.array([1, 2, 2, 3, 3, 0])
    out = particle_performance(pred, true, np.ones(6), np.ones(6), ["none", "ch", "nh", "ph", "e", "mu"])
    assert out["ch"]["efficiency"] == 0.5 and out["ch"]["fake_rate"] == 0.0
    assert out["nh"]["efficiency"] == 1.0 and out["nh"]["fake_rate"] == 0.5
    assert out["ph"]["efficiency"] == 1.0 and out["ph"]["fake_rate"] == 0.5


def test_resolution_ratios_divide_jet_resolution_and_met_spread():
    from k4mlpf.evaluation import resolution_ratios

    result = {"jets": {"A": {"response": {"resolution": 0.08}}, "B": {"response": {"resolution": 0.1}}},
              "met": {"A": {"delta": {"iqr": 6.0}}, "B": {"delta": {"iqr": 12.0}}}}
    assert resolution_ratios(result, "A", "B") == pytest.approx((0.8, 0.5))
