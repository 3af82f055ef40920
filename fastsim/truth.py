"""The generator record of a chunk of events, as flat arrays with per-event offsets.

Every array runs over all particles of all events of the chunk; ``offsets[i]:offsets[i+1]`` are the
particles of event ``i``. Units: momentum and energy GeV, mass GeV, vertex mm, time ns, charge e.
``parents``/``daughters`` hold particle indices local to their event (as EDM4hep stores them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from k4mlpf.physics import NEUTRINOS, visible_final_state  # noqa: F401 - NEUTRINOS re-exported


@dataclass
class TruthBatch:
    offsets: np.ndarray          # (n_events + 1,) int64
    pdg: np.ndarray              # int32
    status: np.ndarray           # generatorStatus: 1 final, 2 decayed/intermediate, 4 beam
    charge: np.ndarray           # float32
    mass: np.ndarray             # float64
    p4: np.ndarray               # (n, 4) float64: px, py, pz, E
    vertex: np.ndarray           # (n, 3) float64 mm
    time: np.ndarray             # float32 ns
    parent_offsets: np.ndarray   # (n + 1,) into parents
    parents: np.ndarray          # local indices
    daughter_offsets: np.ndarray
    daughters: np.ndarray

    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1

    @property
    def event(self) -> np.ndarray:
        """Event index (within the chunk) of every particle."""
        return np.repeat(np.arange(self.n_events), np.diff(self.offsets))

    @property
    def local_index(self) -> np.ndarray:
        """Index of every particle within its own event."""
        return np.arange(len(self.pdg)) - np.repeat(self.offsets[:-1], np.diff(self.offsets))

    def final_state(self) -> np.ndarray:
        """Mask of the particles handed to the detector (generatorStatus 1)."""
        return self.status == 1

    def visible_final_state(self) -> np.ndarray:
        return visible_final_state(self.status, self.pdg)


def invert_relation(n: int, offsets: np.ndarray, targets: np.ndarray):
    """From ``parents`` (CSR over global indices) build ``daughters`` (CSR), stable order."""
    owner = np.repeat(np.arange(n), np.diff(offsets))
    order = np.lexsort((owner, targets))
    counts = np.bincount(targets, minlength=n)
    inv_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=inv_offsets[1:])
    return inv_offsets, owner[order]


def concatenate(batches: list[TruthBatch]) -> TruthBatch:
    """Join chunks event-wise (local indices stay valid)."""
    def cat_csr(name_off, name_val):
        offs, vals, base = [np.zeros(1, np.int64)], [], 0
        for b in batches:
            o = getattr(b, name_off)
            offs.append(o[1:] + base)
            base += o[-1]
            vals.append(getattr(b, name_val))
        return np.concatenate(offs), np.concatenate(vals)

    off, _ = cat_csr("offsets", "pdg")
    po, pv = cat_csr("parent_offsets", "parents")
    do, dv = cat_csr("daughter_offsets", "daughters")
    cat = {f: np.concatenate([getattr(b, f) for b in batches])
           for f in ("pdg", "status", "charge", "mass", "p4", "vertex", "time")}
    return TruthBatch(offsets=off, parent_offsets=po, parents=pv, daughter_offsets=do,
                      daughters=dv, **cat)
