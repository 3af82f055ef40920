import numpy as np
import pytest

from fastsim.clustering import connected_components
from fastsim.generator import generate_pythia
from fastsim.pipeline import detector_response


def reconstruct(truth, card, seed=0):
    r = detector_response(truth, card, np.random.default_rng(seed))
    return r.tracks, r.track_event, r.hits, r.clusters, r.pfos


def test_connected_components():
    edges = np.array([[0, 1], [1, 2], [3, 4], [6, 5]])
    np.testing.assert_array_equal(connected_components(7, edges), [0, 0, 0, 3, 3, 5, 5])


@pytest.mark.parametrize("detector, process", [("cld", "ttbar"), ("clic", "qq")])
def test_visible_energy_response(request, detector, process):
    card = request.getfixturevalue(detector)
    truth = generate_pythia(process, 50, seed=11, ecm=365.0 if process == "ttbar" else 91.2)
    *_, pf = reconstruct(truth, card)
    vis = truth.visible_final_state()
    e_true = np.bincount(truth.event[vis], weights=truth.p4[vis, 3], minlength=truth.n_events)
    e_reco = np.bincount(pf.event, weights=pf.energy, minlength=truth.n_events)
    assert abs(np.mean(e_reco / e_true) - 1) < 0.05


def test_ttbar_multiplicities_and_clusters(cld, ttbar_truth):
    tr, ev, hits, cl, pf = reconstruct(ttbar_truth, cld)
    n = ttbar_truth.n_events
    assert 30 < len(ev) / n < 70              # paper: ~50 tracks per CLD ttbar event
    assert 50 < len(cl.energy) / n < 200      # paper: ~92 clusters
    # every clustered hit belongs to exactly one cluster, energies add up
    assert len(np.unique(cl.hit_index)) == len(cl.hit_index)
    e_sum = np.add.reduceat(hits.energy[cl.hit_index], cl.hit_offsets[:-1])
    np.testing.assert_allclose(e_sum, cl.energy, rtol=1e-9)
    w = np.bincount(cl.link_cluster, weights=cl.link_weight, minlength=len(cl.energy))
    np.testing.assert_allclose(w[w > 0], 1.0, rtol=1e-9)
    assert set(np.unique(np.abs(pf.pdg))) <= {11, 13, 22, 211, 2112}
