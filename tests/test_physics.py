"""The shared physics rules (k4mlpf.physics) by hand, and the model file's TorchScript copies in step."""

from __future__ import annotations

import numpy as np
import pytest

from k4mlpf import physics


def test_visible_final_state_by_hand():
    status = np.array([1, 1, 1, 2, 1, 1, 4])
    pdg = np.array([211, -12, 22, 23, 14, -16, 11])
    assert physics.visible_final_state(status, pdg).tolist() == [True, False, True, False, False, False, False]


def test_track_pt_and_charge_by_hand():
    # a 1 GeV track in 2 T curves with |omega| = 0.299792458e-3 * 2 / 1 per mm
    assert physics.track_pt(np.array([5.99584916e-4, -5.99584916e-4]), 2.0) == pytest.approx([1.0, 1.0])
    assert physics.track_charge(np.array([1e-3, -1e-3, 0.0]), 2.0).tolist() == [1, -1, 1]
    assert physics.track_charge(np.array([1e-3]), -2.0).tolist() == [-1]


def test_track_momentum_by_hand():
    # omega = 2.99792458e-4 * 2 T / 10 GeV: a 10 GeV pt helix in 2 T, phi = 90 degrees, tanLambda = 0.5
    p3 = physics.track_momentum([np.pi / 2], [-5.99584916e-5], [0.5], 2.0)
    assert p3 == pytest.approx(np.array([[0.0, 10.0, 5.0]]), abs=1e-9)


def test_signed_pdg_convention():
    charge = np.array([1, -1, 1, -1, 1, -1, 0, 0])
    pdg = np.array([211, 211, 11, 11, 13, 13, 22, 130])
    assert physics.signed_pdg(pdg, charge).tolist() == [211, -211, -11, 11, -13, 13, 22, 130]


def test_detector_fields_are_the_cards():
    from fastsim.card import load_card
    from k4mlpf.detector import FAMILY_FIELDS, family

    for name in ("CLD", "CLIC"):
        card = load_card(name)
        assert family(card.name) == name and FAMILY_FIELDS[name] == card.bfield_tesla
