"""PNG plots of ``validate``'s results (matplotlib, Agg backend, mplhep's ROOT style)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PARTICLE_NAMES = {22: r"$\gamma$", 211: r"$\pi^+$", -211: r"$\pi^-$", 11: r"$e^-$", -11: r"$e^+$",
                  13: r"$\mu^-$", -13: r"$\mu^+$", 130: r"$K^0_L$", 2112: "n", 321: r"$K^+$"}
MULTIPLICITIES = (("tracks", "tracks / event"), ("clusters", "clusters / event"),
                  ("hits", "calorimeter hits / event"), ("pfos", "baseline PFOs / event"))


def make_plots(results: list[dict], out: Path) -> list[str]:
    """Every plot the results allow; returns the written file names."""
    from k4mlpf.plots import pyplot, save

    plt = pyplot()
    written = []
    for name, make in (("track_pt_resolution.png", _track_resolution), ("multiplicities.png", _multiplicities),
                       ("jet_response.png", _jets)):
        fig = make(plt, results)
        if fig is not None:
            written.append(save(fig, out / name, dpi=80))
    for pdg in sorted({r["gun_pdg"] for r in results if "calo_response" in r}):
        fig = _calo_response(plt, [r for r in results if r.get("gun_pdg") == pdg], pdg)
        written.append(save(fig, out / f"calo_response_{pdg}.png", dpi=80))
    return written


def _track_resolution(plt, results):
    curves = [r for r in results if r["track_pt_resolution"] and "gun_pdg" not in r]
    curves = curves or [r for r in results if r["track_pt_resolution"]]
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(8, 6))
    for r in curves:
        b = [x for x in r["track_pt_resolution"] if np.isfinite(x["sigma"])]
        centre = [np.sqrt(x["pt_min"] * x["pt_max"]) for x in b]
        half = [(c - x["pt_min"], x["pt_max"] - c) for c, x in zip(centre, b)]
        ax.errorbar(centre, [x["sigma"] for x in b], xerr=np.array(half).T if b else None, fmt="o-",
                    label=f"{r['label']} ({r['bfield_tesla']:g} T)")
    ax.set(xscale="log", yscale="log", xlabel=r"true $p_T$ [GeV]",
           ylabel=r"$\sigma_{68}(\Delta p_T / p_T)$")
    ax.legend(fontsize=14)
    return fig


def _calo_response(plt, results, pdg):
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 9), sharex=True)
    for r in results:
        b = r["calo_response"]["binned"]
        centre = [(x["e_min"] + x["e_max"]) / 2 for x in b]
        top.plot(centre, [x["response"] for x in b], "o-", label=r["label"])
        bottom.plot(centre, [x["resolution"] for x in b], "o-", label=r["label"])
    name = PARTICLE_NAMES.get(pdg, str(pdg))
    top.axhline(1.0, color="grey", lw=1, ls="--")
    lo, hi = top.get_ylim()
    top.set_ylim(min(lo, 0.9), max(hi, 1.05))     # a sub-percent wiggle is not a trend
    top.set(ylabel=r"median $E_\mathrm{clusters}/E_\mathrm{true}$", title=f"{name} calorimeter response")
    bottom.set(xlabel=r"true energy [GeV]", ylabel=r"$\sigma_{68}$ / median")
    top.legend(fontsize=14)
    fig.tight_layout()
    return fig


def _multiplicities(plt, results):
    """Per-event multiplicities of the event samples (of the guns when there are only guns)."""
    results = [r for r in results if "gun_pdg" not in r] or results
    fig, axes = plt.subplots(2, 2, figsize=(13, 10))
    for ax, (key, label) in zip(axes.ravel(), MULTIPLICITIES):
        values = [r["_multiplicity_arrays"][key] for r in results]
        top = max((v.max() for v in values if len(v)), default=1)
        bins = np.linspace(0, top + 1, min(int(top) + 2, 41))
        for r, v in zip(results, values):
            ax.hist(v, bins=bins, histtype="step", lw=2, weights=np.full(len(v), 1 / max(len(v), 1)),
                    label=f"{r['label']} (mean {np.mean(v):.1f})")
        ax.set(xlabel=label, ylabel="fraction of events")
        ax.legend(fontsize=11)
    fig.tight_layout()
    return fig


def _jets(plt, results):
    curves = [r for r in results if r.get("jets") and r["jets"]["response"]["n"]]
    if not curves:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6))
    from k4mlpf.plots import draw_jet_response, draw_resolution_vs_pt

    for r in curves:
        j = r["jets"]
        draw_jet_response(left, r["label"], j["ratio"], j["response"], density=True, bins=np.linspace(0.5, 1.5, 51))
        draw_resolution_vs_pt(right, r["label"], j["binned"], min_jets=1)
    left.legend(fontsize=11)
    right.legend(fontsize=12)
    fig.tight_layout()
    return fig
