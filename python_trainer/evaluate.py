"""``evaluate``: MLPF vs the PF collection vs the targets, against truth, on prepared (held-out) events.

Writes ``metrics.json`` and plots (jet response, jet resolution vs pt, MET, per-class efficiency and
fake rate) into one folder. Shards with the oracle particle flow (version 4) add ``Oracle``, the
detector's own limit, and the fraction of the PF -> oracle gap that MLPF closes. Jets and MET come from ``k4mlpf.evaluation`` (what ``k4mlpf compare``
uses too).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from k4mlpf.evaluation import Particles, jet_performance, met_performance, particle_performance, resolution_ratios
from k4mlpf.model.batch import outputs_to_elements
from k4mlpf.model.columns import CLASS_NAMES

from .checkpoint import algorithm_for
from .data import EventSet, batches, make_batch, model_inputs
from .targets import COLUMN as _COL
from .targets import PARTICLE_COLUMNS


def predict(algo, events: EventSet, batch_size: int = 64, device: str = "cpu", progress: bool = True) -> np.ndarray:
    """Decoded MLPF particle of every element (rows of PARTICLE_COLUMNS, shard element order)."""
    from tqdm import tqdm

    a = events.arrays
    elem_off = events.element_offsets()
    out = np.zeros((int(elem_off[-1]), len(PARTICLE_COLUMNS)), np.float32)
    algo = algo.to(device).eval()
    for index in tqdm(list(batches(len(events), batch_size, seed=None)), desc="predict", unit="batch",
                      disable=not progress, leave=False):
        batch = make_batch(events, index)
        with torch.no_grad():
            particles = algo(*model_inputs(batch, device))
        t_max = batch["tracks"].shape[1]
        t_counts, c_counts = a["track_counts"][index], a["cluster_counts"][index]
        rows = slice(elem_off[index[0]], elem_off[index[-1] + 1])          # batches are runs of events
        valid = particles["valid"].cpu().numpy()
        padded = {key: particles[key].cpu().numpy() for key in ("cls", "px", "py", "pz", "energy", "charge")}
        padded["cls"] = np.where(valid, padded["cls"], 0)
        for key, value in outputs_to_elements(padded, t_counts, c_counts, t_max).items():
            out[rows, _COL[key]] = value
    out[:, _COL["pt"]] = np.hypot(out[:, _COL["px"]], out[:, _COL["py"]])
    return out


def collection_performance(reco: Particles, truth: Particles) -> tuple[dict, dict, dict]:
    """(jet summary, MET summary, raw arrays: per-jet response and truth pt, per-event MET) of one
    collection against truth."""
    jets, missing = jet_performance(reco, truth), met_performance(reco, truth)
    raw = {"jet_ratio": jets.pop("ratio"), "jet_truth_pt": jets.pop("truth_pt"), "met": missing.pop("reco"),
           "met_truth": missing.pop("truth")}
    return jets, missing, raw


def particles_of(table: np.ndarray, counts: np.ndarray) -> Particles:
    keep = table[:, _COL["cls"]] > 0
    return Particles.from_rows(table[:, [_COL["px"], _COL["py"], _COL["pz"], _COL["energy"]]], counts, keep=keep)


def evaluate(model_path: str | os.PathLike, events: EventSet, output_dir: str | os.PathLike, *,
             device: str = "cpu", batch_size: int = 64, pf_name: str = "PF", plots: bool = True,
             progress: bool = True) -> dict:
    """Metrics of MLPF (an exported model file as it is, or a checkpoint), the PF collection and the
    targets (and the oracle where the shards have it): ``metrics.json`` and plots in ``output_dir``."""
    result, raw, _ = performance(model_path, events, device=device, batch_size=batch_size, pf_name=pf_name,
                                 progress=progress)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    with open(output / "metrics.json", "w") as stream:
        json.dump(result, stream, indent=1, default=float)
    if plots:
        make_plots(raw, result, output, pf_name)
    return result


def performance(model_path: str | os.PathLike, events: EventSet, *, device: str = "cpu", batch_size: int = 64,
                pf_name: str = "PF", progress: bool = True) -> tuple[dict, dict, np.ndarray]:
    """``evaluate``'s numbers without writing anything: (result, raw arrays per collection, the MLPF
    particle of every element)."""
    algo = algorithm_for(model_path, events.b_field, events.detector)
    predicted = predict(algo, events, batch_size, device, progress)
    a = events.arrays
    elem_counts = a["track_counts"] + a["cluster_counts"]
    truth = Particles.from_rows(a["truth"], a["truth_counts"])
    sources = {"MLPF": predicted, pf_name: a["candidates"], "target": a["targets"]}
    result: dict = {"events": len(events), "detector": events.detector, "b_field": events.b_field,
                    "model": str(model_path), "jets": {}, "met": {}, "particles": {}}
    raw = {}
    for name, table in sources.items():
        reco = particles_of(table, elem_counts)
        if name == pf_name:  # the whole PF collection, as `k4mlpf compare` reads it from the file
            reco = Particles.from_rows(a["pf"], a["pf_counts"])
        result["jets"][name], result["met"][name], raw[name] = collection_performance(reco, truth)
        if name != "target":
            result["particles"][name] = particle_performance(
                table[:, _COL["cls"]].astype(int), a["targets"][:, _COL["cls"]].astype(int),
                table[:, _COL["energy"]], a["targets"][:, _COL["energy"]], CLASS_NAMES)
    if "oracle" in a:
        oracle = Particles.from_rows(a["oracle"], a["oracle_counts"])
        result["jets"]["Oracle"], result["met"]["Oracle"], raw["Oracle"] = collection_performance(oracle, truth)
        result["gap_closed"] = gap_closed(result, "MLPF", pf_name, "Oracle")
    result["jet_resolution_ratio_mlpf_over_pf"], result["met_resolution_ratio_mlpf_over_pf"] = \
        resolution_ratios(result, "MLPF", pf_name)
    return result, raw, predicted


def gap_closed(result: dict, name: str, reference: str, limit: str) -> dict[str, float]:
    """(reference - name) / (reference - limit) for jet IQR/median and MET delta IQR: 0 = no better than
    the reference PF, 1 = as good as the oracle."""
    out = {}
    for key, value in (("jets", lambda c: result["jets"][c]["response"]["resolution"]),
                       ("met", lambda c: result["met"][c]["delta"]["iqr"])):
        ref, lim = value(reference), value(limit)
        out[key] = float((ref - value(name)) / (ref - lim)) if ref != lim else float("nan")
    return out


def make_plots(raw: dict, result: dict, output: Path, pf_name: str) -> None:
    from k4mlpf.plots import jet_and_met_figures, pyplot, save

    colors = {"MLPF": "tab:red", pf_name: "tab:blue", "target": "tab:gray", "Oracle": "tab:green"}
    jet_and_met_figures([{"label": name, "color": colors[name], "ratio": r["jet_ratio"], "jets": result["jets"][name],
                          "met_delta": r["met"] - r["met_truth"], "met": result["met"][name]}
                         for name, r in raw.items()], output)
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 6))
    names = list(result["particles"])
    classes = list(next(iter(result["particles"].values())))
    x = np.arange(len(classes))
    for i, name in enumerate(names):
        eff = [result["particles"][name][c]["efficiency"] for c in classes]
        fake = [result["particles"][name][c]["fake_rate"] for c in classes]
        ax1.bar(x + 0.4 * i, eff, 0.4, color=colors[name], label=name)
        ax2.bar(x + 0.4 * i, fake, 0.4, color=colors[name], label=name)
    for ax, title in ((ax1, "efficiency"), (ax2, "fake rate")):
        ax.set_xticks(x + 0.2, classes, rotation=30, fontsize=12)
        ax.set_ylabel(title)
        ax.legend(fontsize=12)
    save(fig, output / "particles.png")
