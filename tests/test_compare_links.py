"""`k4mlpf compare` through the truth links: per-class efficiency, fake rate and energy response of a
PF collection, each particle matched to the MCParticle of its largest link weight (or that particle's
visible ancestor). By hand on two made-up events; on a reconstructed fast-simulation file against an
independent loop; and the one-line note when a file has no links."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from k4mlpf.compare import compare, table
from k4mlpf.evaluation import link_matches, link_performance, pfo_particles, truth_particles, visible_ancestors
from k4mlpf.model.columns import CLASS_NAMES

PF, MC, OTHER = 111, 222, 999


def _refs(*pairs):
    return [{"index": i, "collectionID": MC} for i in pairs]


def _mc(pdg, status, charge, p, parents):
    return {"PDG": pdg, "generatorStatus": status, "charge": float(charge), "mass": 0.0,
            "momentum": dict(zip("xyz", map(float, p))), "parents": _refs(*parents)}


def _pfo(pdg, charge, energy):
    return {"PDG": pdg, "charge": float(charge), "energy": float(energy), "momentum": {"x": 0.0, "y": 0.0, "z": energy}}


def _link(source, target, weight, source_id=PF):
    return {"weight": weight, "from": {"index": source, "collectionID": source_id},
            "to": {"index": target, "collectionID": MC}}


def _events():
    mc = ak.Array([
        [_mc(23, 2, 0, (0, 0, 0), ()),            # 0: Z, not final state
         _mc(211, 1, 1, (3, 0, 4), (0,)),         # 1: pi+, E 5
         _mc(22, 1, 0, (0, 6, 8), (0,)),          # 2: photon, E 10
         _mc(12, 1, 0, (1, 0, 0), (0,)),          # 3: neutrino: invisible
         _mc(11, 0, -1, (0, 3, 4), (2,)),         # 4: Geant4 conversion electron of the photon
         _mc(2112, 1, 0, (0, 0, 2), (0,))],       # 5: neutron, E 2
        [_mc(13, 1, -1, (0, 0, 10), ()),          # 0: mu-, E 10
         _mc(130, 1, 0, (3, 4, 0), ())],          # 1: K0L, E 5
    ])
    pfos = ak.Array([
        [_pfo(211, 1, 5.5),                        # -> pi+ (0.9) over the photon (0.1)
         _pfo(22, 0, 4.0),                         # -> the conversion electron, whose ancestor is the photon
         _pfo(22, 0, 5.0),                         # -> the photon again: a split shower, energies summed
         _pfo(2112, 0, 1.0)],                      # no link: a fake neutral hadron
        [_pfo(211, -1, 9.0),                       # -> the muon, but called a charged hadron
         _pfo(130, 0, 6.0)],                       # -> the muon (0.7) over the K0L (0.3): a fake
    ])
    links = ak.Array([
        [_link(0, 1, 0.9), _link(0, 2, 0.1), _link(1, 4, 1.0), _link(2, 2, 0.8)],
        [_link(0, 0, 1.0), _link(1, 1, 0.3), _link(1, 0, 0.7),
         _link(0, 1, 5.0, source_id=OTHER)],       # another collection's link: ignored
    ])
    return mc, pfos, links


def test_link_metrics_by_hand():
    mc, pfos, links = _events()
    ancestors = visible_ancestors(mc)
    assert ancestors.tolist() == [-1, 1, 2, -1, 2, 5, 6, 7]
    match = link_matches(pfos, links, mc, PF, MC, ancestors)
    assert match.tolist() == [1, 2, 2, -1, 6, 6]
    m = link_performance(match, pfo_particles(pfos), truth_particles(mc), len(ancestors), list(CLASS_NAMES))
    ch, nh, ph, mu = (m[k] for k in ("charged_hadron", "neutral_hadron", "photon", "muon"))
    assert (ch["truth"], ch["found"], ch["predicted"], ch["fakes"]) == (1, 1, 2, 1)
    assert ch["efficiency"] == 1.0 and ch["fake_rate"] == 0.5
    assert ch["energy_response"]["median"] == pytest.approx(1.1)
    assert (nh["truth"], nh["found"], nh["predicted"], nh["fakes"]) == (2, 0, 2, 2)
    assert nh["efficiency"] == 0.0 and nh["fake_rate"] == 1.0 and nh["energy_response"]["n"] == 0
    assert (ph["truth"], ph["found"], ph["predicted"], ph["fakes"]) == (1, 1, 2, 0)
    assert ph["energy_response"]["median"] == pytest.approx(0.9)   # (4 + 5) / 10
    assert (mu["truth"], mu["found"], mu["predicted"]) == (1, 0, 0)
    assert m["electron"]["truth"] == 0 and m["electron"]["efficiency"] == 0.0


@pytest.fixture(scope="module")
def reconstructed(small_sample, tmp_path_factory):
    from k4mlpf.reco import reconstruct

    out = tmp_path_factory.mktemp("compare_links") / "reco.edm4hep.root"
    reconstruct(small_sample["file"], out, progress=False, say=lambda _: None)
    return out


def _loop_photons(path, name, link_name):
    """Photon efficiency and fake rate of ``name``, by plain loops over objects."""
    from k4mlpf.edm4hep import EDM4hepFile

    with EDM4hepFile(path) as f:
        a = f.arrays(["MCParticles", name, link_name])
        pf_id = f.collection(name).collection_id
    truth = found = predicted = fakes = 0
    for event in range(len(a["MCParticles"])):
        mc = a["MCParticles"][event].tolist()

        def visible(i):
            return mc[i]["generatorStatus"] == 1 and abs(mc[i]["PDG"]) not in (12, 14, 16)

        def ancestor(i):
            while i is not None and not visible(i):
                i = mc[i]["parents"][0]["index"] if mc[i]["parents"] else None
            return i

        best = {}
        for link in a[link_name][event].tolist():
            if link["from"]["collectionID"] == pf_id and link["weight"] > best.get(link["from"]["index"], (-1, None))[0]:
                best[link["from"]["index"]] = (link["weight"], link["to"]["index"])
        photons_found = set()
        for i, pfo in enumerate(a[name][event].tolist()):
            if pfo["PDG"] != 22:
                continue
            predicted += 1
            target = ancestor(best[i][1]) if i in best else None
            if target is not None and mc[target]["PDG"] == 22:
                photons_found.add(target)
            else:
                fakes += 1
        photons = [i for i in range(len(mc)) if visible(i) and mc[i]["PDG"] == 22]
        truth += len(photons)
        found += len(photons_found)
    return found / truth, fakes / predicted


def test_compare_uses_the_links_reco_and_the_simulation_wrote(reconstructed):
    result = compare(reconstructed, ["MLPFPFOs", "BaselinePFOs"])
    assert result["without_links"] == []
    assert {n: r["link_collection"] for n, r in result["links"].items()} == \
        {"MLPFPFOs": "MLPFMCTruthLink", "BaselinePFOs": "RecoMCTruthLink"}
    for name, link_name in (("MLPFPFOs", "MLPFMCTruthLink"), ("BaselinePFOs", "RecoMCTruthLink")):
        photons = result["links"][name]["classes"]["photon"]
        efficiency, fake_rate = _loop_photons(reconstructed, name, link_name)
        assert photons["efficiency"] == pytest.approx(efficiency, abs=1e-12)
        assert photons["fake_rate"] == pytest.approx(fake_rate, abs=1e-12)
        charged = result["links"][name]["classes"]["charged_hadron"]
        assert charged["efficiency"] > 0.8 and charged["energy_response"]["median"] == pytest.approx(1.0, abs=0.05)
    text = table(result)
    assert "MLPFPFOs (MLPFMCTruthLink)" in text and "BaselinePFOs (RecoMCTruthLink)" in text
    assert "skipped" not in text
    assert "jet median" in text                                   # the jet/MET comparison is still there


def test_without_links_the_table_says_so_once(small_sample, tmp_path):
    from k4mlpf.edm4hep import EDM4hepFile
    from k4mlpf.edm4hep.refs import collection_type
    from k4mlpf.edm4hep.writer import EDM4hepWriter

    with EDM4hepFile(small_sample["file"]) as f:
        a = f.arrays(["MCParticles", "BaselinePFOs"])
    path = tmp_path / "no_links.edm4hep.root"
    with EDM4hepWriter(path) as w:
        w.write_events(a, {"MCParticles": collection_type("MCParticle"),
                           "BaselinePFOs": collection_type("ReconstructedParticle")})
    result = compare(path, ["BaselinePFOs"])
    assert result["links"] == {} and result["without_links"] == ["BaselinePFOs"]
    assert np.isfinite(result["jets"]["BaselinePFOs"]["response"]["median"])
    assert table(result).count("link-based particle metrics skipped") == 1
