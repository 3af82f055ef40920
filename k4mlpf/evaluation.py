"""Jets, MET and particle-level metrics: one implementation for the trainer's ``evaluate`` and
``k4mlpf compare``.

Particles of many events are given flat (px, py, pz, E arrays over all particles) with per-event
counts. Jets: fastjet ``ee_genkt``, R = 0.4, p = -1, pt > 5 GeV; reco jets are matched to truth jets
within ΔR < 0.1 (closest); response = pt_reco / pt_truth; resolution = IQR / median. MET = |Σ pT|.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

JET_R, JET_P, JET_PTMIN, MATCH_DR = 0.4, -1.0, 5.0, 0.1


@dataclass
class Particles:
    """Flat four-momenta with per-event counts (and optional per-particle class)."""

    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    energy: np.ndarray
    counts: np.ndarray
    cls: np.ndarray | None = None
    index: np.ndarray | None = None  # truth particles: their flat indices among all MCParticles

    @classmethod
    def from_rows(cls, rows: np.ndarray, counts: np.ndarray, columns=("px", "py", "pz", "energy"),
                  cls_column: int | None = None, keep: np.ndarray | None = None) -> "Particles":
        """From a [n, k] table with per-event counts; ``keep`` drops rows (counts follow)."""
        rows = np.asarray(rows)
        counts = np.asarray(counts, np.int64)
        if keep is not None:
            event = np.repeat(np.arange(len(counts)), counts)
            counts = np.bincount(event[keep], minlength=len(counts)).astype(np.int64)
            rows = rows[keep]
        cols = [rows[:, i].astype(np.float64) for i in range(len(columns))]
        return cls(*cols, counts=counts, cls=None if cls_column is None else rows[:, cls_column].astype(np.int64))

    def awkward(self) -> ak.Array:
        return ak.unflatten(ak.zip({"px": self.px, "py": self.py, "pz": self.pz, "E": self.energy},
                                   with_name="Momentum4D"), self.counts)


def truth_particles(mc) -> Particles:
    """The visible final state (``physics.visible_final_state``) of ``N * var * MCParticle`` records;
    E from the momentum and the mass (float64); ``cls`` the MLPF class of each (``particles.class_of``)."""
    from .elements import flat
    from .particles import class_of
    from .physics import visible_final_state

    pdg, charge = flat(mc.PDG), flat(mc.charge)
    keep = visible_final_state(flat(mc.generatorStatus), pdg)
    px, py, pz, m = (flat(v).astype(np.float64) for v in (mc.momentum.x, mc.momentum.y, mc.momentum.z, mc.mass))
    rows = np.stack([px, py, pz, np.sqrt(px**2 + py**2 + pz**2 + m**2)], axis=1)
    particles = Particles.from_rows(rows, ak.to_numpy(ak.num(mc, axis=1)), keep=keep)
    particles.cls = class_of(pdg[keep], charge[keep])
    particles.index = np.flatnonzero(keep)
    return particles


def pfo_particles(pfos) -> Particles:
    """Every particle of a ``N * var * ReconstructedParticle`` collection (momentum and energy as written;
    ``cls`` the MLPF class of its PDG code and charge)."""
    from .elements import flat
    from .particles import class_of

    rows = (np.stack([flat(pfos.momentum.x), flat(pfos.momentum.y), flat(pfos.momentum.z), flat(pfos.energy)],
                     axis=1) if len(pfos) else np.zeros((0, 4)))
    particles = Particles.from_rows(rows, ak.to_numpy(ak.num(pfos, axis=1)))
    particles.cls = class_of(flat(pfos.PDG), flat(pfos.charge)) if len(rows) else np.zeros(0, np.int64)
    return particles


def cluster_jets(particles: Particles, r: float = JET_R, p: float = JET_P, ptmin: float = JET_PTMIN) -> ak.Array:
    """Inclusive ee_genkt jets per event (pt > ptmin), as ``N * var * {pt, eta, phi, E}``."""
    import fastjet
    import vector

    fastjet._swig.ClusterSequence.set_fastjet_banner_stream(None)  # keep printed tables clean
    vector.register_awkward()
    definition = fastjet.JetDefinition(fastjet.ee_genkt_algorithm, r, p)
    events = particles.awkward()
    if len(events) == 0:
        return ak.Array([])
    jets = fastjet.ClusterSequence(events, definition).inclusive_jets(min_pt=ptmin)
    jets = ak.zip({"px": jets.px, "py": jets.py, "pz": jets.pz, "E": jets.E}, with_name="Momentum4D")
    return ak.zip({"pt": jets.pt, "eta": jets.eta, "phi": jets.phi, "E": jets.E})


def match_jets(reco: ak.Array, truth: ak.Array, max_dr: float = MATCH_DR) -> dict[str, np.ndarray]:
    """For every truth jet, the closest reco jet within ``max_dr``: flat arrays of matched pairs."""
    pairs = ak.cartesian({"t": truth, "r": reco}, axis=1, nested=True)  # N * truth * reco
    deta = pairs.t.eta - pairs.r.eta
    dphi = (pairs.t.phi - pairs.r.phi + np.pi) % (2 * np.pi) - np.pi
    dr = np.sqrt(deta**2 + dphi**2)
    best = ak.argmin(dr, axis=2, keepdims=True)
    best_dr = ak.firsts(dr[best], axis=2)
    matched = ak.fill_none(best_dr < max_dr, False)
    reco_pt = ak.firsts(pairs.r.pt[best], axis=2)
    truth_pt = truth.pt
    return {"truth_pt": np.asarray(ak.flatten(truth_pt[matched])),
            "reco_pt": np.asarray(ak.flatten(reco_pt[matched])),
            "truth_eta": np.asarray(ak.flatten(truth.eta[matched])),
            "n_truth": int(ak.sum(ak.num(truth))), "n_matched": int(ak.sum(matched))}


def response_summary(ratio: np.ndarray) -> dict[str, float]:
    """Median, IQR and resolution (IQR / median) of a response distribution."""
    ratio = np.asarray(ratio, np.float64)
    ratio = ratio[np.isfinite(ratio)]
    if len(ratio) == 0:
        return {"n": 0, "median": float("nan"), "iqr": float("nan"), "resolution": float("nan"), "mean": float("nan")}
    q25, median, q75 = np.percentile(ratio, [25, 50, 75])
    return {"n": int(len(ratio)), "median": float(median), "iqr": float(q75 - q25),
            "resolution": float((q75 - q25) / median) if median else float("nan"), "mean": float(ratio.mean())}


def jet_performance(reco: Particles, truth: Particles, pt_bins=(5, 10, 20, 40, 80, 200)) -> dict:
    """Jet response and resolution of ``reco`` against ``truth`` jets, overall and in truth-pt bins."""
    reco_jets, truth_jets = cluster_jets(reco), cluster_jets(truth)
    m = match_jets(reco_jets, truth_jets)
    ratio = m["reco_pt"] / m["truth_pt"]
    binned = []
    for lo, hi in zip(pt_bins[:-1], pt_bins[1:]):
        sel = (m["truth_pt"] >= lo) & (m["truth_pt"] < hi)
        binned.append({"pt_min": lo, "pt_max": hi, **response_summary(ratio[sel])})
    return {"response": response_summary(ratio), "binned": binned,
            "efficiency": m["n_matched"] / max(m["n_truth"], 1), "n_truth_jets": m["n_truth"],
            "ratio": ratio, "truth_pt": m["truth_pt"]}


def met(particles: Particles) -> np.ndarray:
    """Missing transverse momentum per event, |Σ pT| of all particles."""
    event = np.repeat(np.arange(len(particles.counts)), particles.counts)
    sx = np.bincount(event, weights=particles.px, minlength=len(particles.counts))
    sy = np.bincount(event, weights=particles.py, minlength=len(particles.counts))
    return np.hypot(sx, sy)


def met_performance(reco: Particles, truth: Particles) -> dict:
    reco_met, truth_met = met(reco), met(truth)
    diff = reco_met - truth_met
    q25, q50, q75 = np.percentile(diff, [25, 50, 75]) if len(diff) else (np.nan,) * 3
    ratio = reco_met / np.where(truth_met > 0, truth_met, np.nan)
    return {"response": response_summary(ratio[truth_met > 5.0]),
            "delta": {"median": float(q50), "iqr": float(q75 - q25)},
            "reco": reco_met, "truth": truth_met}


def resolution_ratios(result: dict, name: str, reference: str) -> tuple[float, float]:
    """(jet IQR/median, MET delta IQR) of collection ``name`` over those of ``reference``, from a
    result with "jets" and "met" per collection (``evaluate``'s metrics.json, ``compare``'s compare.json)."""
    jets = (result["jets"][name]["response"]["resolution"], result["jets"][reference]["response"]["resolution"])
    met_iqr = (result["met"][name]["delta"]["iqr"], result["met"][reference]["delta"]["iqr"])
    return tuple(a / b if b else float("nan") for a, b in (jets, met_iqr))


def particle_performance(pred_cls: np.ndarray, true_cls: np.ndarray, pred_e: np.ndarray, true_e: np.ndarray,
                         class_names: list[str]) -> dict:
    """Per class: efficiency (a target of the class predicted as that class on its element), fake rate
    (predictions of the class with no target of that class), and the energy response of matches."""
    out = {}
    for c, name in enumerate(class_names):
        if c == 0:
            continue
        is_true, is_pred = true_cls == c, pred_cls == c
        both = is_true & is_pred
        out[name] = {"targets": int(is_true.sum()), "predicted": int(is_pred.sum()),
                     "efficiency": float(both.sum() / max(is_true.sum(), 1)),
                     "fake_rate": float((is_pred & ~is_true).sum() / max(is_pred.sum(), 1)),
                     "energy_response": response_summary(pred_e[both] / true_e[both])}
    return out


# -- particle level through the truth links (k4mlpf compare) ----------------------------------------

def visible_ancestors(mc, max_depth: int = 256) -> np.ndarray:
    """For every particle of ``N * var * MCParticle`` (flat over events), the flat index of the nearest
    particle of the visible final state (``physics.visible_final_state``) among itself and its
    ancestors (first parent at each step), -1 if there is none: a Geant4 secondary (a conversion
    electron, a pion of a K0S decay) stands for the generator particle it came from."""
    from .elements import flat, offsets
    from .physics import visible_final_state

    visible = visible_final_state(flat(mc.generatorStatus), flat(mc.PDG))
    n = len(visible)
    ancestor = np.arange(n)
    if "parents" not in ak.fields(mc) or n == 0:
        return np.where(visible, ancestor, -1)
    counts = ak.to_numpy(ak.num(mc, axis=1))
    first = flat(ak.fill_none(ak.firsts(mc.parents.index, axis=2), -1)).astype(np.int64)
    event = np.repeat(np.arange(len(counts)), counts)
    parent = np.where((first >= 0) & (first < counts[event]), offsets(counts)[event] + first, -1)
    todo = np.flatnonzero(~visible)
    for _ in range(max_depth):
        if len(todo) == 0:
            break
        up = parent[ancestor[todo]]
        ancestor[todo[up < 0]] = -1
        todo, up = todo[up >= 0], up[up >= 0]
        ancestor[todo] = up
        todo = todo[~visible[up]]
    ancestor[todo] = -1  # deeper than max_depth: a broken (cyclic) history
    return ancestor


def link_matches(pfos, links, mc, pfo_id: int, mc_id: int, ancestors: np.ndarray | None = None) -> np.ndarray:
    """For every particle of ``pfos`` (flat over events), the flat index into ``mc`` of its truth match:
    the MCParticle its link of largest weight points to (``links``: ``N * var * {weight, from, to}``,
    those from collection ``pfo_id`` to ``mc_id``), taken to its visible ancestor; -1 for a particle
    without link (or whose MCParticle has no visible ancestor)."""
    from .elements import flat, offsets

    ancestors = visible_ancestors(mc) if ancestors is None else ancestors
    pf_counts = ak.to_numpy(ak.num(pfos, axis=1)).astype(np.int64)
    mc_counts = ak.to_numpy(ak.num(mc, axis=1)).astype(np.int64)
    match = np.full(int(pf_counts.sum()), -1, np.int64)
    l_counts = ak.to_numpy(ak.num(links, axis=1))
    if not l_counts.sum():
        return match
    event = np.repeat(np.arange(len(l_counts)), l_counts)
    source, target = flat(links["from"].index).astype(np.int64), flat(links["to"].index).astype(np.int64)
    weight = flat(links.weight).astype(np.float64)
    keep = ((flat(links["from"].collectionID) == pfo_id) & (flat(links["to"].collectionID) == mc_id)
            & (source >= 0) & (source < pf_counts[event]) & (target >= 0) & (target < mc_counts[event]))
    reco = offsets(pf_counts)[event[keep]] + source[keep]
    truth = offsets(mc_counts)[event[keep]] + target[keep]
    order = np.lexsort((-weight[keep], reco))            # per particle, its largest weight first
    reco, truth = reco[order], truth[order]
    first = np.r_[True, reco[1:] != reco[:-1]] if len(reco) else np.zeros(0, bool)
    match[reco[first]] = ancestors[truth[first]]
    return match


def link_performance(match: np.ndarray, reco: Particles, truth: Particles, n_mc: int,
                     class_names: list[str]) -> dict:
    """Per class, through the truth links (``match``: ``link_matches`` of the ``reco`` particles;
    ``truth``: ``truth_particles`` of the ``n_mc`` MCParticles):

    - efficiency: truth particles of the class matched by at least one reco particle of that class;
    - fake rate: reco particles of the class matched to no truth particle or to one of another class;
    - energy response: per found truth particle, the energy of the reco particles of its class matched
      to it (summed: a split shower counts once) over its own energy.
    """
    mc_cls = np.full(n_mc, -1, np.int64)
    mc_cls[truth.index] = truth.cls
    mc_energy = np.zeros(n_mc)
    mc_energy[truth.index] = truth.energy
    matched_cls = np.where(match >= 0, mc_cls[np.maximum(match, 0)], -1) if n_mc else np.full(len(match), -1)
    out = {}
    for c, name in enumerate(class_names):
        if c == 0:
            continue
        predicted = reco.cls == c
        good = predicted & (matched_cls == c)
        energy = np.bincount(match[good], weights=reco.energy[good], minlength=n_mc)
        found = np.bincount(match[good], minlength=n_mc) > 0
        of_class = truth.index[truth.cls == c]
        hit = of_class[found[of_class]]
        out[name] = {"truth": int(len(of_class)), "found": int(len(hit)),
                     "efficiency": len(hit) / max(len(of_class), 1),
                     "predicted": int(predicted.sum()), "fakes": int((predicted & ~good).sum()),
                     "fake_rate": float((predicted & ~good).sum() / max(predicted.sum(), 1)),
                     "energy_response": response_summary(energy[hit] / mc_energy[hit])}
    return out
