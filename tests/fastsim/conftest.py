"""Shared small samples for the fast-simulation tests (module-scoped: generated once)."""

import numpy as np
import pytest

from fastsim.card import load_card


@pytest.fixture(scope="session")
def cld():
    return load_card("CLD")


@pytest.fixture(scope="session")
def clic():
    return load_card("CLIC")


@pytest.fixture(scope="session")
def ttbar_truth():
    from fastsim.generator import generate_pythia

    return generate_pythia("ttbar", 20, seed=7, chunk=0)


@pytest.fixture(scope="session")
def straight_tracks():
    return _straight_tracks


def _straight_tracks(n, pt, rng, cos_max=0.5):
    """``n`` positive pions of transverse momentum ``pt`` from the origin."""
    p4 = np.zeros((n, 4))
    phi = rng.uniform(-np.pi, np.pi, n)
    p4[:, 0], p4[:, 1] = pt * np.cos(phi), pt * np.sin(phi)
    p4[:, 2] = pt * rng.uniform(-cos_max, cos_max, n)
    p4[:, 3] = np.sqrt((p4[:, :3] ** 2).sum(1) + 0.13957**2)
    return p4, np.zeros((n, 3)), np.ones(n), np.full(n, 0.13957)
