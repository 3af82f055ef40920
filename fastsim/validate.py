"""Standard validation of EDM4hep REC files (fast simulation or real): numbers and PNG plots.

    python -m fastsim validate cld_ttbar.edm4hep.root clic_ttbar.edm4hep.root \\
        cld_gun22.edm4hep.root cld_gun211.edm4hep.root --output-dir plots/

Per file (first ``max_events`` events):

* track pt resolution: tracks matched to their MCParticle by the highest-weight
  ``SiTracksMCTruthLink``; pt from the AtIP state, pt = c B / |omega| (c = 2.99792458e-4, the
  constant ``k4mlpf.physics.C_LIGHT``); sigma = half width of the central 68% of
  (pt_reco - pt_true) / pt_true in bins of true pt;
* single-particle guns (one generator particle per event): calorimeter response, the summed energy
  of the clusters linked to the particle (weighted by the ``ClusterMCTruthLink`` energy fraction;
  all clusters when the file has no links) over the true energy, median and sigma68 / median in
  bins of true energy;
* element multiplicities per event: tracks, clusters, calorimeter hits, baseline PFOs;
* events with several generator particles: baseline-PF jets against generator jets (status 1, no
  neutrinos) with ``k4mlpf.evaluation`` (ee_genkt R = 0.4, matched within dR < 0.1).

Writes ``summary.json`` (all numbers) and the PNGs listed there under ``"plots"``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import awkward as ak
import numpy as np

from k4mlpf.physics import track_pt

from .neighbours import best_per_first

TRACKS, CLUSTERS, MC = "SiTracks_Refitted", "PandoraClusters", "MCParticles"
TRACK_LINK, CLUSTER_LINK = "SiTracksMCTruthLink", "ClusterMCTruthLink"
PFO_NAMES = ("BaselinePFOs", "PandoraPFOs")
HIT_NAMES = ("ECALBarrel", "ECALEndcap", "ECALOther", "HCALBarrel", "HCALEndcap", "HCALOther", "MUON")
PT_BINS = (0.3, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
N_ENERGY_BINS = 6
MIN_PER_BIN = 20              # fewer entries in a bin: no sigma68 (NaN), no point on the plot


def sigma68(x: np.ndarray) -> float:
    """Half the width of the central 68.3% interval (the sigma of a Gaussian core, robust to tails)."""
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if len(x) < MIN_PER_BIN:
        return float("nan")
    lo, hi = np.percentile(x, [15.865, 84.135])
    return float((hi - lo) / 2)


def _flat(a) -> np.ndarray:
    return ak.to_numpy(ak.flatten(a, axis=None))


def _starts(a) -> np.ndarray:
    counts = ak.to_numpy(ak.num(a, axis=1)).astype(np.int64)
    return np.cumsum(counts) - counts


def _read(path: str, max_events: int) -> tuple[dict, dict]:
    from k4mlpf.edm4hep import EDM4hepFile

    with EDM4hepFile(path) as f:
        available = set(f.collections())
        if MC not in available:
            raise KeyError(f"{path}: no {MC} collection; validation needs the generator record")
        wanted = [MC, TRACKS, CLUSTERS, TRACK_LINK, CLUSTER_LINK, *PFO_NAMES, *HIT_NAMES]
        names = [n for n in wanted if n in available]
        data = f.arrays(names, entry_stop=min(max_events, len(f)))
        meta = f.parameters("metadata")[0] if "metadata" in f.metadata.categories else {}
    info = {k: next(iter(v.values()))[0] for k, v in meta.items() if k.startswith("k4mlpf_")}
    return data, info


def track_resolution(data: dict, bfield: float | None) -> list[dict]:
    """sigma68((pt_reco - pt_true) / pt_true) in bins of true pt (empty without tracks, links or B)."""
    if bfield is None or TRACKS not in data or TRACK_LINK not in data:
        return []
    tracks, link, mc = data[TRACKS], data[TRACK_LINK], data[MC]
    states = tracks.trackStates
    omega = _flat(ak.firsts(states.omega[states.location == 1], axis=2))
    pt_reco = track_pt(omega, bfield)
    t_glob = _flat(link["from"].index + _starts(tracks))
    m_glob = _flat(link["to"].index + _starts(mc))
    best = best_per_first(t_glob, -_flat(link.weight), len(pt_reco))
    has = best >= 0
    p = mc.momentum
    pt_true = np.hypot(_flat(p.x), _flat(p.y))[m_glob[best[has]]]
    rel = pt_reco[has] / pt_true - 1
    out = []
    for lo, hi in zip(PT_BINS[:-1], PT_BINS[1:]):
        sel = (pt_true >= lo) & (pt_true < hi)
        out.append({"pt_min": lo, "pt_max": hi, "n": int(sel.sum()), "sigma": sigma68(rel[sel]),
                    "mean": float(np.mean(rel[sel])) if sel.any() else float("nan")})
    return out


def gun_particle(data: dict):
    """(PDG, index) of the single generator particle of every event, or None if not a gun file."""
    mc = data[MC]
    final = mc.generatorStatus == 1
    if len(mc) == 0 or not ak.all(ak.sum(final, axis=1) == 1):
        return None
    pdg = np.unique(_flat(mc.PDG[final]))
    if len(pdg) != 1:
        return None
    return int(pdg[0]), _flat(ak.argmax(final, axis=1))


def calo_response(data: dict, gun_index: np.ndarray) -> dict:
    """Cluster energy of the gun particle over its true energy, in bins of true energy."""
    mc, clusters = data[MC], data[CLUSTERS]
    p = mc.momentum
    e_all = np.sqrt(_flat(p.x) ** 2 + _flat(p.y) ** 2 + _flat(p.z) ** 2 + _flat(mc.mass) ** 2)
    e_true = e_all[_starts(mc) + gun_index]
    n_ev = len(e_true)
    if CLUSTER_LINK in data:
        link = data[CLUSTER_LINK]
        ev = np.repeat(np.arange(n_ev), ak.to_numpy(ak.num(link, axis=1)))
        c_glob = _flat(link["from"].index + _starts(clusters))
        to_gun = _flat(link["to"].index) == gun_index[ev]
        e_c = _flat(clusters.energy)[c_glob[to_gun]] * _flat(link.weight)[to_gun]
        e_reco = np.bincount(ev[to_gun], weights=e_c, minlength=n_ev)
    else:
        e_reco = ak.to_numpy(ak.sum(clusters.energy, axis=1))
    ratio = e_reco / e_true
    edges = np.linspace(e_true.min(), e_true.max(), N_ENERGY_BINS + 1) if n_ev else np.zeros(1)
    bins = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (e_true >= lo) & (e_true <= hi)
        median = float(np.median(ratio[sel])) if sel.sum() >= MIN_PER_BIN else float("nan")
        bins.append({"e_min": float(lo), "e_max": float(hi), "n": int(sel.sum()), "response": median,
                     "resolution": sigma68(ratio[sel]) / median})
    return {"response": float(np.median(ratio)), "resolution": sigma68(ratio) / float(np.median(ratio)),
            "binned": bins}


def multiplicities(data: dict) -> dict[str, np.ndarray]:
    n_ev = len(data[MC])
    count = lambda name: ak.to_numpy(ak.num(data[name], axis=1)) if name in data else None  # noqa: E731
    hits = [count(h) for h in HIT_NAMES if h in data]
    pfo = next((count(n) for n in PFO_NAMES if n in data), None)
    out = {"tracks": count(TRACKS), "clusters": count(CLUSTERS),
           "hits": np.sum(hits, axis=0) if hits else None, "pfos": pfo}
    return {k: v if v is not None else np.zeros(n_ev, np.int64) for k, v in out.items()}


def jets(data: dict) -> dict | None:
    """Baseline-PF (or Pandora) jet response against generator jets, via ``k4mlpf.evaluation``."""
    from k4mlpf.evaluation import jet_performance, pfo_particles, truth_particles

    name = next((n for n in PFO_NAMES if n in data), None)
    if name is None:
        return None
    perf = jet_performance(pfo_particles(data[name]), truth_particles(data[MC]))
    return {"collection": name, **perf}


def analyse(path: str, max_events: int) -> dict:
    data, info = _read(path, max_events)
    bfield = info.get("k4mlpf_bfield_tesla")
    label = f"{info.get('k4mlpf_detector', Path(path).name)}"
    result = {"file": str(path), "label": label, "detector": info.get("k4mlpf_detector"),
              "bfield_tesla": bfield, "events": len(data[MC]),
              "track_pt_resolution": track_resolution(data, bfield)}
    mult = multiplicities(data)
    result["multiplicity"] = {k: float(np.mean(v)) if len(v) else float("nan") for k, v in mult.items()}
    result["_multiplicity_arrays"] = mult
    gun = gun_particle(data)
    if gun is not None and CLUSTERS in data:
        result["gun_pdg"] = gun[0]
        result["label"] = f"{label} gun {gun[0]}"
        result["calo_response"] = calo_response(data, gun[1])
    elif gun is None:
        result["jets"] = jets(data)
    return result


def validate(files, output_dir, max_events: int = 2000) -> dict:
    """Analyse ``files`` and write the plots and ``summary.json`` into ``output_dir``."""
    from .validate_plots import make_plots

    for path in files:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such file: {path}")
    results = [analyse(str(p), max_events) for p in files]
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    plots = make_plots(results, out)
    summary = {"files": [_public(r) for r in results], "plots": plots}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=_json_default))
    return summary


def _public(result: dict) -> dict:
    r = {k: v for k, v in result.items() if not k.startswith("_")}
    if r.get("jets"):
        r["jets"] = {k: v for k, v in r["jets"].items() if k not in ("ratio", "truth_pt")}
    return r


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
