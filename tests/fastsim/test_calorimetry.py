import numpy as np
import pytest

from fastsim import cells
from fastsim.calorimetry import simulate_calorimetry
from fastsim.generator import generate_gun


def _per_event(truth, values):
    return np.bincount(truth.event, weights=values, minlength=truth.n_events)


@pytest.mark.parametrize("detector", ["cld", "clic"])
def test_energy_bookkeeping_is_exact(request, detector, ttbar_truth):
    card = request.getfixturevalue(detector)
    _, book = simulate_calorimetry(ttbar_truth, card, np.random.default_rng(0))
    generated = _per_event(ttbar_truth, np.where(ttbar_truth.final_state(), ttbar_truth.p4[:, 3], 0))
    parts = book.deposited + book.leaked + book.invisible + book.lost
    np.testing.assert_allclose(_per_event(ttbar_truth, parts), generated, rtol=0, atol=1e-9)
    assert np.all(book.deposited >= 0) and np.all(book.leaked >= 0) and np.all(book.lost >= 0)


def test_shallower_cld_hcal_leaks_more(cld, clic):
    rng = np.random.default_rng(1)
    truth = generate_gun(211, 300, rng, (50.0, 50.0))
    leak = [simulate_calorimetry(truth, card, np.random.default_rng(2))[1].leaked.sum() for card in (cld, clic)]
    assert leak[0] > 1.3 * leak[1]


@pytest.mark.parametrize("pdg, energy, term", [(22, 20.0, 0.15), (211, 20.0, 0.55)], ids=["photon", "pion"])
def test_energy_response_and_resolution(cld, pdg, energy, term):
    rng = np.random.default_rng(3)
    truth = generate_gun(pdg, 300, rng, (energy, energy))
    hits, _ = simulate_calorimetry(truth, cld, rng)
    real = np.isin(hits.coll, [cells.ECAL_BARREL, cells.ECAL_ENDCAP, cells.HCAL_BARREL,
                               cells.HCAL_ENDCAP, cells.HCAL_OTHER])
    e = np.bincount(hits.event[real], weights=hits.energy[real], minlength=300)
    assert 0.85 < np.median(e) / energy < 1.05
    rel = 0.5 * np.diff(np.percentile(e, [16, 84]))[0] / np.median(e)
    assert 0.5 * term / np.sqrt(energy) < rel < 2.0 * term / np.sqrt(energy) + 0.05


def test_hits_have_valid_cells_and_links(cld, ttbar_truth):
    hits, _ = simulate_calorimetry(ttbar_truth, cld, np.random.default_rng(0))
    system = cells.decode_field(hits.cellid, 0, 5, False)
    np.testing.assert_array_equal(system, cells.SYSTEM_IDS[hits.coll].astype(np.int64))
    assert np.all((hits.link_particle >= 0) & (hits.link_particle < len(ttbar_truth.pdg)))
    assert np.all(ttbar_truth.status[hits.link_particle] == 1)
    assert np.all((hits.link_hit >= 0) & (hits.link_hit < len(hits.energy)))
    # events and collections are grouped, cellIDs unique within a collection of an event
    key = np.stack([hits.event, hits.coll], 1)
    assert np.all(np.diff(hits.event) >= 0)
    assert len(np.unique(np.c_[key, hits.cellid.astype(np.int64)], axis=0)) == len(hits.cellid)


def test_cellid_roundtrip():
    ids = cells.encode_cellid(np.array([20, 29]), np.array([0, -1]), np.array([3, 39]),
                              np.array([-5, 700]), np.array([12, -700]))
    assert list(cells.decode_field(ids, 5, 2, True)) == [0, -1]
    assert list(cells.decode_field(ids, 19, 9, False)) == [3, 39]
    assert list(cells.decode_field(ids, 32, 16, True)) == [-5, 700]
    assert list(cells.decode_field(ids, 48, 16, True)) == [12, -700]
