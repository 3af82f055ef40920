"""``python -m k4mlpf compare``: particle-flow collections of one file side by side against truth.

Jets (ee_genkt R=0.4, p=-1, pt > 5 GeV, matched within ΔR < 0.1) and MET of every chosen
``ReconstructedParticle`` collection (e.g. MLPFPFOs, PandoraPFOs, BaselinePFOs) against the truth
particles (MCParticles with generator status 1, no neutrinos). Prints a table; with an output folder
it writes ``compare.json`` and the plots of ``k4mlpf.plots`` (jet response, jet resolution against
truth-jet pt, MET). Same code as the trainer's ``evaluate`` (``k4mlpf.evaluation``, ``k4mlpf.plots``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import awkward as ak

from .edm4hep.reader import EDM4hepFile
from .evaluation import (Particles, jet_performance, link_matches, link_performance, met_performance, pfo_particles,
                         truth_particles, visible_ancestors)


MLPF_COLLECTION = "MLPFPFOs"
REFERENCE_PF = ("PandoraPFOs", "BaselinePFOs")  # Pandora on real files, the rule-based PF of the fast simulation


def reference_pf(collections) -> str | None:
    """The PF collection MLPF is compared with: PandoraPFOs if the file has it, else BaselinePFOs."""
    return next((name for name in REFERENCE_PF if name in collections), None)


def default_collections(path: str | os.PathLike) -> list[str]:
    """MLPFPFOs and the reference PF collection, those of them the file holds (an error if neither)."""
    with EDM4hepFile(path) as f:
        infos = f.collections()
    chosen = [name for name in (MLPF_COLLECTION, reference_pf(infos)) if name and name in infos]
    if not chosen:
        pfos = [n for n, i in infos.items() if i.type.endswith("ReconstructedParticleCollection")]
        raise ValueError(f"{path}: neither {MLPF_COLLECTION} nor {' / '.join(REFERENCE_PF)} is in the file; "
                         f"choose with --collections (ReconstructedParticle collections here: "
                         f"{', '.join(pfos) or 'none'})")
    return chosen


def link_candidates(infos: dict, name: str) -> list[str]:
    """ReconstructedParticle -> MCParticle link collections of the file that may link ``name``, the
    likeliest first: ``<stem>MCTruthLink`` (MLPFPFOs -> MLPFMCTruthLink, what reco writes), then
    ``RecoMCTruthLink`` (Pandora's, and the fast simulation's for BaselinePFOs), then any other."""
    def links_particles(info) -> bool:
        return info.is_link and ("ReconstructedParticle" in info.type or "RecoMCParticle" in info.type
                                 or "MCRecoParticle" in info.type) and "MCParticle" in info.type

    found = [n for n, i in infos.items() if links_particles(i)]
    first = [n for n in (f"{name.removesuffix('PFOs')}MCTruthLink", "RecoMCTruthLink") if n in found]
    return first + sorted(n for n in found if n not in first)


def compare(path: str | os.PathLike, collections: list[str], output_dir: str | os.PathLike | None = None,
            mc: str = "MCParticles", step_size: int = 1000) -> dict:
    with EDM4hepFile(path) as f:
        infos = f.collections()
        candidates = {name: link_candidates(infos, name) for name in collections}
        links = sorted({n for names in candidates.values() for n in names})
        pieces: dict[str, list] = {name: [] for name in dict.fromkeys([mc, *collections, *links])}
        for chunk in f.iterate(list(pieces), step_size=step_size):
            for name in pieces:
                pieces[name].append(chunk[name])
    arrays = {name: ak.concatenate(v) if v else ak.Array([]) for name, v in pieces.items()}
    truth = truth_particles(arrays[mc])
    result = {"file": os.fspath(path), "events": len(arrays[mc]), "jets": {}, "met": {},
              "classes": {"truth": class_totals(truth)}, "links": {}, "without_links": []}
    ancestors = visible_ancestors(arrays[mc]) if links else None
    curves = []
    for name in collections:
        reco = pfo_particles(arrays[name])
        result["classes"][name] = class_totals(reco)
        matched = _link_metrics(arrays, name, candidates[name], infos, mc, reco, truth, ancestors)
        if matched is None:
            result["without_links"].append(name)
        else:
            result["links"][name] = matched
        jets = jet_performance(reco, truth)
        ratio, _ = jets.pop("ratio"), jets.pop("truth_pt")
        missing = met_performance(reco, truth)
        delta = missing.pop("reco") - missing.pop("truth")
        result["jets"][name], result["met"][name] = jets, missing
        curves.append({"label": name, "ratio": ratio, "jets": jets, "met_delta": delta, "met": missing})
    if output_dir is not None:
        from .plots import jet_and_met_figures

        Path(output_dir).mkdir(parents=True, exist_ok=True)
        result["plots"] = jet_and_met_figures(curves, output_dir)
        with open(Path(output_dir) / "compare.json", "w") as stream:
            json.dump(result, stream, indent=1, default=float)
    return result


def _link_metrics(arrays: dict, name: str, candidates: list[str], infos: dict, mc: str, reco: Particles,
                  truth: Particles, ancestors) -> dict | None:
    """Per-class efficiency, fake rate and energy response of ``name`` through the first of its link
    ``candidates`` that links it to ``mc``; None when none does."""
    from .model.columns import CLASS_NAMES

    pfo_id, mc_id = infos[name].collection_id, infos[mc].collection_id
    for link in candidates:
        sources = arrays[link]["from"].collectionID
        targets = arrays[link]["to"].collectionID
        if not ak.any((sources == pfo_id) & (targets == mc_id)):
            continue
        match = link_matches(arrays[name], arrays[link], arrays[mc], pfo_id, mc_id, ancestors)
        return {"link_collection": link, "matched": float((match >= 0).mean()) if len(match) else 0.0,
                "classes": link_performance(match, reco, truth, len(ancestors), list(CLASS_NAMES))}
    return None


def class_totals(particles: Particles) -> dict:
    """Particles and energy per MLPF class (``Particles.cls``: the classes the model predicts)."""
    from .model.columns import CLASS_NAMES

    out = {name: {"n": int((particles.cls == i).sum()), "energy": float(particles.energy[particles.cls == i].sum())}
           for i, name in enumerate(CLASS_NAMES) if i > 0}
    out["all"] = {"n": int(len(particles.cls)), "energy": float(particles.energy.sum())}
    return out


def table(result: dict) -> str:
    lines = [f"{result['file']}: {result['events']} events",
             f"{'collection':<16} {'jet median':>10} {'jet IQR/med':>12} {'jet eff':>8} {'MET ΔIQR [GeV]':>15}"]
    for name, jets in result["jets"].items():
        lines.append(f"{name:<16} {jets['response']['median']:>10.3f} {jets['response']['resolution']:>12.3f} "
                     f"{jets['efficiency']:>8.3f} {result['met'][name]['delta']['iqr']:>15.2f}")
    classes = result.get("classes", {})
    if classes:
        names = list(classes)
        lines.append("")
        lines.append("particles (n / energy in GeV, summed over events) by class:")
        lines.append(f"{'class':<16}" + "".join(f"{n:>22}" for n in names))
        for cls in next(iter(classes.values())):
            lines.append(f"{cls:<16}" + "".join(f"{classes[n][cls]['n']:>9d} / {classes[n][cls]['energy']:>9.1f}"
                                                 for n in names))
    linked = result.get("links", {})
    if linked:
        names = list(linked)
        lines.append("")
        lines.append("particles through the truth links (each matched to the MCParticle of its largest link weight, "
                     "or that particle's visible ancestor):")
        heads = [f"{n} ({linked[n]['link_collection']})" for n in names]
        lines.append(f"{'':<16}" + "".join(f"{h:>34}" for h in heads))
        lines.append(f"{'class':<16}" + "".join(f"{'eff':>10}{'fake':>8}{'E resp':>8}{'IQR':>8}" for _ in names))
        for cls in next(iter(linked.values()))["classes"]:
            row = f"{cls:<16}"
            for n in names:
                m = linked[n]["classes"][cls]
                r = m["energy_response"]
                row += f"{m['efficiency']:>10.3f}{m['fake_rate']:>8.3f}{r['median']:>8.3f}{r['iqr']:>8.3f}"
            lines.append(row)
        lines.append("eff: truth particles of the class matched by a particle of that class; fake: particles of the "
                     "class matched to none or to another class; E resp: median matched energy / true energy")
    if result.get("without_links"):
        lines.append(f"note: no truth links from {', '.join(result['without_links'])} to the MCParticles in the file: "
                     "link-based particle metrics skipped for them")
    if result["events"] < 100:
        lines.append(f"note: {result['events']} event(s) are not statistics; the resolutions above say little")
    return "\n".join(lines)
