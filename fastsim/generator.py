"""Event generation: Pythia 8 e+e- processes and single-particle guns -> ``TruthBatch``.

Particles with c*tau0 > 10 mm are not decayed by Pythia (``ParticleDecays:tau0Max = 10``): they
are left to the detector, as in the CLD/CLICdet production (K0S, Lambda, charged pions, kaons...).
The full event history is kept: beams (generatorStatus 4), intermediate and decayed particles (2),
final-state particles (1), with parents from Pythia's mother list and daughters as its inverse.
Pythia is initialised once per process and worker and re-seeded at every chunk, so a chunk's
events depend only on (seed, chunk index), whichever worker makes them.
"""

from __future__ import annotations

import functools

import numpy as np

from .truth import TruthBatch, invert_relation

C_MM_PER_NS = 299.792458

#: name -> (Pythia process settings, default centre-of-mass energy [GeV])
PROCESSES = {
    "ttbar": (["Top:ffbar2ttbar(s:gmZ) = on"], 365.0),
    "qq": (["WeakSingleBoson:ffbar2gmZ = on", "23:onMode = off", "23:onIfAny = 1 2 3 4 5"], 91.2),
    "ww": (["WeakDoubleBoson:ffbar2WW = on", "24:onMode = off", "24:onIfAny = 1 2 3 4 5"], 240.0),
    "zh": (["HiggsSM:ffbar2HZ = on"], 240.0),
}
#: name -> the lowest centre-of-mass energy [GeV] at which the process is produced on shell
#: (2 m_t, 2 m_W, m_Z + m_H; qq: where Pythia's e+e- -> Z/gamma* -> hadrons is meaningful)
THRESHOLDS = {"ttbar": 2 * 172.5, "ww": 2 * 80.37, "zh": 91.19 + 125.2, "qq": 10.0}
GUN_PARTICLES = (22, 11, -11, 13, -13, 211, -211, 130, 2112, 321)
COMMON_SETTINGS = [
    "Beams:idA = 11", "Beams:idB = -11", "PDF:lepton = off", "Next:numberShowEvent = 0",
    "Print:quiet = on", "Random:setSeed = on", "ParticleDecays:limitTau0 = on",
    "ParticleDecays:tau0Max = 10",
]


@functools.lru_cache(maxsize=2)
def _pythia(process: str, ecm: float):
    import pythia8mc

    settings, _ = PROCESSES[process]
    pythia = pythia8mc.Pythia("", False)
    for line in COMMON_SETTINGS + settings + [f"Beams:eCM = {ecm}", "Random:seed = 1"]:
        if not pythia.readString(line):
            raise RuntimeError(f"Pythia rejected setting {line!r}")
    if not pythia.init():
        raise RuntimeError(f"Pythia failed to initialise {process} at {ecm} GeV")
    return pythia


@functools.lru_cache(maxsize=None)
def _charge(pdg: int) -> float:
    return _pythia_data().charge(pdg)


@functools.lru_cache(maxsize=1)
def _pythia_data():
    import pythia8mc

    return pythia8mc.Pythia("", False).particleData


def _read_batch(batch):
    """Pythia's awkward event batch (``Pythia.nextBatch``, filled in C++) as flat numpy columns.

    The system entry 0 of each event is dropped. Only decay products (|status| 91-99) get a
    production vertex: partons and string hadrons are produced at the fm-scale origin, which is
    (0, 0, 0) at detector scale.
    """
    import awkward as ak

    prt = batch.prt[:, 1:]
    counts = ak.to_numpy(ak.num(prt)).astype(np.int64)
    flat = ak.flatten(prt)

    def col(field):
        return ak.to_numpy(flat[field])

    p = flat["p"]
    table = {"pdg": col("id"), "status": col("status"), "m1": col("mother1").astype(np.int64),
             "m2": col("mother2").astype(np.int64), "mass": col("m").astype(np.float64),
             "p4": np.stack([ak.to_numpy(p[k]) for k in ("px", "py", "pz", "e")], 1).astype(np.float64)}
    vprod = flat["vProd"]
    decayed = (np.abs(table["status"]) > 90) & (np.abs(table["status"]) < 100)
    table["xt"] = np.zeros((len(decayed), 4))
    if decayed.any():
        v = vprod[decayed]
        table["xt"][decayed] = np.stack([ak.to_numpy(ak.fill_none(v[k], 0.0)) for k in ("px", "py", "pz", "e")], 1)
    return counts, table


def _parents_from_mothers(status, m1, m2):
    """Pythia's ``motherList`` rules, vectorised; returns (counts, flat Pythia indices)."""
    sabs = np.abs(status)
    is_range = ((sabs > 80) & (sabs < 90)) | ((sabs > 100) & (sabs < 107))
    n = np.where((m2 == 0) | (m2 == m1), 1, np.where(is_range, m2 - m1 + 1, 2))
    n = np.where(((m1 == 0) & (m2 == 0)) | (sabs == 11) | (sabs == 12), 0, np.maximum(n, 0))
    start = np.where(is_range | (m2 == 0) | (m2 == m1), m1, np.minimum(m1, m2))
    offsets = np.zeros(len(n) + 1, np.int64)
    np.cumsum(n, out=offsets[1:])
    flat = np.repeat(start, n) + (np.arange(offsets[-1]) - np.repeat(offsets[:-1], n))
    two = ~is_range & (m2 != 0) & (m2 != m1) & (n == 2)
    flat[offsets[:-1][two] + 1] = np.maximum(m1, m2)[two]
    return n, flat


def _assemble(counts, table) -> TruthBatch:
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    pdg = table["pdg"].astype(np.int32)
    pstat = table["status"].astype(np.int32)
    n_par, flat = _parents_from_mothers(pstat, table["m1"], table["m2"])
    local = flat - 1                       # Pythia index 0 is the event-system entry, dropped
    owner = np.repeat(np.arange(len(pdg)), n_par)
    keep = local >= 0
    owner, local = owner[keep], local[keep]
    parent_offsets = np.zeros(len(pdg) + 1, np.int64)
    np.cumsum(np.bincount(owner, minlength=len(pdg)), out=parent_offsets[1:])
    event_of = np.repeat(np.arange(len(counts)), counts)
    glob = local + offsets[:-1][event_of[owner]]
    daughter_offsets, dglob = invert_relation(len(pdg), parent_offsets, glob)
    daughters = dglob - offsets[:-1][event_of[dglob]]
    vertex = table["xt"][:, :3].copy()
    time = (table["xt"][:, 3] / C_MM_PER_NS).astype(np.float32)
    status = np.where(pstat > 0, 1, np.where(np.abs(pstat) == 12, 4, 2)).astype(np.int32)
    uniq, inv = np.unique(pdg, return_inverse=True)
    charge = np.array([_charge(int(u)) for u in uniq], np.float32)[inv]
    return TruthBatch(offsets=offsets, pdg=pdg, status=status, charge=charge,
                      mass=table["mass"], p4=table["p4"], vertex=vertex, time=time,
                      parent_offsets=parent_offsets, parents=local.astype(np.int32),
                      daughter_offsets=daughter_offsets, daughters=daughters.astype(np.int32))


def pythia_seed(seed: int, chunk: int) -> int:
    """Pythia's seed for chunk ``chunk`` of a run (Pythia accepts 1..900000000)."""
    return int(np.random.SeedSequence([seed, chunk, 8]).generate_state(1)[0] % 900_000_000) + 1


def generate_pythia(process: str, n_events: int, seed: int, chunk: int = 0,
                    ecm: float | None = None) -> TruthBatch:
    """``n_events`` events of ``process`` ("ttbar", "qq", "ww", "zh") at ``ecm`` GeV."""
    if process not in PROCESSES:
        raise ValueError(f"unknown process {process!r}; known: {', '.join(PROCESSES)}, gun")
    pythia = _pythia(process, float(ecm or PROCESSES[process][1]))
    pythia.rndm.init(pythia_seed(seed, chunk))
    batches, n = [], 0
    while n < n_events:                      # failed events are skipped, as by a next() loop
        batch = pythia.nextBatch(n_events - n, "skip")
        batches.append(batch)
        n += len(batch)
    counts, table = _read_batch(batches[0] if len(batches) == 1 else _concat(batches))
    return _assemble(counts, table)


def _concat(batches):
    import awkward as ak

    return ak.concatenate(batches)


def generate_gun(pdg: int, n_events: int, rng: np.random.Generator, energy=(10.0, 10.0),
                 max_abs_cos_theta: float = 0.9) -> TruthBatch:
    """One particle per event, energy uniform in ``energy`` [GeV], isotropic within the cosθ cut."""
    mass = {22: 0.0, 11: 0.000511, 13: 0.10566, 211: 0.13957, 130: 0.49761, 2112: 0.93957,
            321: 0.49368}.get(abs(pdg))
    if mass is None:
        raise ValueError(f"unsupported gun particle {pdg}; supported: {GUN_PARTICLES}")
    e = rng.uniform(energy[0], energy[1], n_events)
    p = np.sqrt(np.maximum(e**2 - mass**2, 0.0))
    cos_t = rng.uniform(-max_abs_cos_theta, max_abs_cos_theta, n_events)
    phi = rng.uniform(-np.pi, np.pi, n_events)
    sin_t = np.sqrt(1 - cos_t**2)
    p4 = np.stack([p * sin_t * np.cos(phi), p * sin_t * np.sin(phi), p * cos_t, e], axis=1)
    zeros = np.zeros(n_events + 1, np.int64)
    return TruthBatch(offsets=np.arange(n_events + 1), pdg=np.full(n_events, pdg, np.int32),
                      status=np.ones(n_events, np.int32),
                      charge=np.full(n_events, _charge(pdg), np.float32),
                      mass=np.full(n_events, mass), p4=p4, vertex=np.zeros((n_events, 3)),
                      time=np.zeros(n_events, np.float32), parent_offsets=zeros,
                      parents=np.zeros(0, np.int32), daughter_offsets=zeros.copy(),
                      daughters=np.zeros(0, np.int32))
