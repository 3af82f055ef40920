"""The physics rules every part of the project shares, torch-free (numpy/awkward).

The fast simulation, the trainer's targets, the reconstruction output and the evaluation all use
these, so they cannot disagree. The model file applies the same rules in TorchScript
(``k4mlpf.model.features`` / ``decode``); a test keeps the two in step.
"""

from __future__ import annotations

import numpy as np

# pt [GeV] = C_LIGHT * |B [T]| / |omega [1/mm]|: the exact speed of light in these units, as
# MarlinUtil's HelixClass (the reference's rounded 3e-4 differs by 0.07%)
C_LIGHT = 2.99792458e-4

NEUTRINOS = (12, 14, 16)

# particle masses [GeV] (PDG 2024)
ELECTRON_MASS = 0.51099895e-3
MUON_MASS = 0.1056583755
CHARGED_PION_MASS = 0.13957039
KLONG_MASS = 0.497611


def visible_final_state(generator_status, pdg) -> np.ndarray:
    """The truth particles jets and MET are measured against: generator status 1, not a neutrino.
    Takes flat arrays (one entry per MCParticle)."""
    return (np.asarray(generator_status) == 1) & ~np.isin(np.abs(np.asarray(pdg)), NEUTRINOS)


def track_pt(omega, b_field: float) -> np.ndarray:
    """Transverse momentum [GeV] of a helix of curvature omega [1/mm] in a solenoid of b_field [T]."""
    return C_LIGHT * abs(b_field) / np.abs(np.asarray(omega, np.float64))


def track_momentum(phi, omega, tan_lambda, b_field: float) -> np.ndarray:
    """Momentum [n, 3] (px, py, pz in GeV) at the reference point of helices with azimuth phi,
    curvature omega [1/mm] and dip tan_lambda in a solenoid of b_field [T]."""
    pt = track_pt(omega, b_field)
    phi = np.asarray(phi, np.float64)
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.asarray(tan_lambda, np.float64)], axis=1)


def track_charge(omega, b_field: float) -> np.ndarray:
    """sign(omega) * sign(B), the LCIO/EDM4hep helix convention; omega = 0 counts as positive."""
    sign = np.where(np.asarray(omega) >= 0, 1.0, -1.0)
    return sign * (1.0 if b_field >= 0 else -1.0)


def signed_pdg(abs_pdg, charge) -> np.ndarray:
    """The PDG sign convention: pi+ = +211, but e- = +11 and mu- = +13 (the particle is the negative
    lepton); neutral codes keep their sign."""
    abs_pdg, charge = np.abs(np.asarray(abs_pdg)), np.asarray(charge)
    sign = np.where(charge < 0, -1, 1)
    lepton = (abs_pdg == 11) | (abs_pdg == 13)
    return np.where(charge == 0, abs_pdg, np.where(lepton, -sign * abs_pdg, sign * abs_pdg))
