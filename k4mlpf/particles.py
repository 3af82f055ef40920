"""Shared particle rules: PDG -> MLPF class, kinematic conversions. Used by targets, PF candidates,
reconstruction output and evaluation, so that every part of the project classifies alike."""

from __future__ import annotations

import numpy as np

from .physics import NEUTRINOS  # noqa: F401 - the one set, re-exported for the trainer

CLASS_NONE, CLASS_CH_HAD, CLASS_NEU_HAD, CLASS_PHOTON, CLASS_ELECTRON, CLASS_MUON = range(6)


def class_of(pdg: np.ndarray, charge: np.ndarray) -> np.ndarray:
    """MLPF class of particles: e 4, mu 5, photon 3, other charged 1 (charged hadron), other neutral 2."""
    pdg = np.abs(np.asarray(pdg))
    charge = np.asarray(charge)
    out = np.where(charge != 0, CLASS_CH_HAD, CLASS_NEU_HAD)
    out = np.where(pdg == 22, CLASS_PHOTON, out)
    out = np.where(pdg == 11, CLASS_ELECTRON, out)
    out = np.where(pdg == 13, CLASS_MUON, out)
    return out.astype(np.int64)


def force_element_type(cls: np.ndarray, is_track: np.ndarray) -> np.ndarray:
    """Tracks carry charged classes, clusters neutral ones (the paper's rule)."""
    cls = np.asarray(cls).copy()
    on_track, on_cluster = is_track & (cls != CLASS_NONE), ~is_track & (cls != CLASS_NONE)
    cls[on_track & (cls == CLASS_PHOTON)] = CLASS_ELECTRON  # a converted photon's track
    cls[on_track & (cls == CLASS_NEU_HAD)] = CLASS_CH_HAD
    cls[on_cluster & (cls == CLASS_ELECTRON)] = CLASS_PHOTON
    cls[on_cluster & ((cls == CLASS_CH_HAD) | (cls == CLASS_MUON))] = CLASS_NEU_HAD
    return cls


def kinematics(px, py, pz, energy) -> dict[str, np.ndarray]:
    """pt, eta, sin phi, cos phi and energy of momentum vectors (eta finite along the beam)."""
    px, py, pz = (np.asarray(v, np.float64) for v in (px, py, pz))
    pt = np.hypot(px, py)
    p = np.sqrt(pt**2 + pz**2)
    eta = np.arcsinh(np.divide(pz, pt, out=np.sign(pz) * 1e3, where=pt > 0))
    safe = np.where(pt > 0, pt, 1.0)
    return {"pt": pt, "eta": np.clip(eta, -1e3, 1e3), "sin_phi": np.where(pt > 0, py / safe, 0.0),
            "cos_phi": np.where(pt > 0, px / safe, 1.0), "energy": np.asarray(energy, np.float64), "p": p}
