"""The project's standard plots (matplotlib, Agg backend, mplhep's ROOT style): jet response, jet
resolution against truth-jet pt, and MET. One implementation for ``k4mlpf compare``, the trainer's
``evaluate`` and ``fastsim validate``; each ``draw_*`` draws one curve onto an axis, each ``*_figure``
makes a whole figure of several curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

RESPONSE_BINS = np.linspace(0.5, 1.5, 61)
MET_BINS = np.linspace(-40, 40, 81)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.ROOT)
    return plt


def save(fig, path: str | Path, dpi: int = 100) -> str:
    """Write and close ``fig``; returns the file name."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return Path(path).name


def draw_jet_response(ax, label: str, ratio: np.ndarray, summary: dict, color=None, density: bool = False,
                      bins=RESPONSE_BINS) -> None:
    ax.hist(ratio, bins=bins, histtype="step", lw=2, color=color, density=density,
            label=f"{label}: median {summary['median']:.3f}, IQR/med {summary['resolution']:.3f}")
    ax.set_xlabel(r"jet $p_T^{reco} / p_T^{truth}$")
    ax.set_ylabel("jets (normalised density)" if density else "jets")


def draw_resolution_vs_pt(ax, label: str, binned: list[dict], color=None, min_jets: int = 5) -> None:
    points = [b for b in binned if b["n"] >= min_jets]
    ax.plot([0.5 * (b["pt_min"] + b["pt_max"]) for b in points], [b["resolution"] for b in points], "o-",
            color=color, label=label)
    ax.set_xscale("log")
    ax.set_xlabel(r"truth jet $p_T$ [GeV]")
    ax.set_ylabel("jet resolution (IQR / median)")


def draw_met(ax, label: str, delta: np.ndarray, iqr: float, color=None, bins=MET_BINS) -> None:
    ax.hist(delta, bins=bins, histtype="step", lw=2, color=color, label=f"{label}: IQR {iqr:.2f} GeV")
    ax.set_xlabel(r"MET$^{reco}$ - MET$^{truth}$ [GeV]")
    ax.set_ylabel("events")


def jet_and_met_figures(curves: list[dict], output: str | Path) -> list[str]:
    """``jet_response.png``, ``jet_resolution_vs_pt.png`` and ``met.png`` of several collections. Each
    curve: ``label``, ``color`` (or None), ``ratio`` (matched jets' pt ratios), ``jets`` (the result of
    ``evaluation.jet_performance`` without arrays), ``met_delta`` (per-event reco - truth MET) and
    ``met`` (the result of ``evaluation.met_performance`` without arrays). Returns the file names."""
    plt, output = pyplot(), Path(output)
    written = []
    fig, ax = plt.subplots(figsize=(8, 6))
    for c in curves:
        draw_jet_response(ax, c["label"], c["ratio"], c["jets"]["response"], c.get("color"))
    ax.legend(fontsize=12)
    written.append(save(fig, output / "jet_response.png"))
    fig, ax = plt.subplots(figsize=(8, 6))
    for c in curves:
        draw_resolution_vs_pt(ax, c["label"], c["jets"]["binned"], c.get("color"))
    ax.legend(fontsize=12)
    written.append(save(fig, output / "jet_resolution_vs_pt.png"))
    fig, ax = plt.subplots(figsize=(8, 6))
    for c in curves:
        draw_met(ax, c["label"], c["met_delta"], c["met"]["delta"]["iqr"], c.get("color"))
    ax.legend(fontsize=12)
    written.append(save(fig, output / "met.png"))
    return written
