import copy

import numpy as np

from fastsim.tracking import OMEGA_GEV_PER_MM_T, simulate_tracks


def _inv_pt_sigma(straight_tracks, card, pt, seed=3, n=3000):
    rng = np.random.default_rng(seed)
    p4, v, q, m = straight_tracks(n, pt, rng)
    tr = simulate_tracks(np.arange(n), p4, v, q, m, card, rng)
    pt_meas = OMEGA_GEV_PER_MM_T * card.bfield_tesla / np.abs(tr.params[:, 2])
    d = 1 / pt_meas - 1 / pt
    return 0.5 * np.diff(np.percentile(d, [16, 84]))[0]


def test_inv_pt_resolution_scales_as_one_over_b(cld, straight_tracks):
    strong = copy.deepcopy(cld)
    strong.bfield_tesla = 2 * cld.bfield_tesla
    for pt in (5.0, 50.0):   # high enough that both fields reach every layer
        ratio = _inv_pt_sigma(straight_tracks, cld, pt) / _inv_pt_sigma(straight_tracks, strong, pt)
        assert abs(ratio - 2.0) < 0.2, (pt, ratio)


def test_clic_vs_cld_high_pt_resolution_follows_b_l2(cld, clic, straight_tracks):
    # point-resolution term ~ 1 / (B L^2): CLD 2 T x 2.1 m^2 vs CLICdet 4 T x 1.5 m^2
    expected = (clic.bfield_tesla * 1.5**2) / (cld.bfield_tesla * 2.1**2)
    ratio = _inv_pt_sigma(straight_tracks, cld, 200.0) / _inv_pt_sigma(straight_tracks, clic, 200.0)
    assert 0.6 * expected < ratio < 1.4 * expected


def test_looper_below_required_pt_makes_no_track(cld, straight_tracks):
    rng = np.random.default_rng(1)
    # 2R = 2 pt / (0.3 B) must reach the layers; at 2 T, pt = 15 MeV gives 2R = 50 mm < 57 mm
    p4, v, q, m = straight_tracks(500, 0.015, rng, cos_max=0.0)
    assert len(simulate_tracks(np.arange(500), p4, v, q, m, cld, rng).particle) == 0
    p4, v, q, m = straight_tracks(500, 1.0, rng, cos_max=0.0)
    assert len(simulate_tracks(np.arange(500), p4, v, q, m, cld, rng).particle) > 480


def test_forward_particle_outside_acceptance_makes_no_track(cld):
    rng = np.random.default_rng(2)
    p4 = np.array([[0.01, 0.0, 50.0, 50.0]] * 10)     # theta = 0.2 mrad
    tr = simulate_tracks(np.arange(10), p4, np.zeros((10, 3)), np.ones(10), np.full(10, 0.14), cld, rng)
    assert len(tr.particle) == 0


def test_track_states_and_covariance(cld, straight_tracks):
    rng = np.random.default_rng(4)
    p4, v, q, m = straight_tracks(200, 5.0, rng)
    tr = simulate_tracks(np.arange(200), p4, v, q, m, cld, rng)
    assert tr.states.shape == (len(tr.particle), 4, 5)
    assert np.all(np.linalg.eigvalsh(tr.cov) > 0)
    # positive charge, B along +z: omega > 0 by the charge-sign convention
    assert np.mean(tr.params[:, 2] > 0) > 0.99
    r_calo = np.hypot(*tr.ref_points[:, 3, :2].T)
    barrel = tr.calo_region == 1
    assert np.allclose(r_calo[barrel], cld.ecal.barrel_inner_radius_mm, rtol=1e-6)
