"""MLPFMCTruthLink and MLPFParticleIDs written by `k4mlpf reco`: checked object by object against the
file's own track and cluster truth links (a loop here, in the test, on purpose: an independent count)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from k4mlpf.edm4hep import EDM4hepFile
from k4mlpf.reco import reconstruct


@pytest.fixture(scope="module")
def written(small_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("links") / "reco.edm4hep.root"
    reconstruct(small_sample["file"], out, progress=False, say=lambda _: None)
    with EDM4hepFile(out) as f:
        names = ["MLPFPFOs", "MLPFMCTruthLink", "MLPFParticleIDs", "SiTracksMCTruthLink", "ClusterMCTruthLink"]
        return f.arrays(names), {n: i.collection_id for n, i in f.collections().items()}


def test_truth_links_follow_the_tracks_and_clusters(written):
    arrays, ids = written
    for event in range(4):
        pfos, links = arrays["MLPFPFOs"][event], arrays["MLPFMCTruthLink"][event]
        expected = set()
        for relation, source in (("tracks", "SiTracksMCTruthLink"), ("clusters", "ClusterMCTruthLink")):
            by_element = {}
            for link in arrays[source][event].tolist():
                by_element.setdefault(link["from"]["index"], []).append((link["to"]["index"], round(link["weight"], 5)))
            for i, particle in enumerate(pfos.tolist()):
                for ref in particle[relation][:1]:
                    expected |= {(i, mc, w) for mc, w in by_element.get(ref["index"], [])}
        got = {(link["from"]["index"], link["to"]["index"], round(link["weight"], 5)) for link in links.tolist()}
        assert got == expected and len(got) > 0
        assert set(ak.to_numpy(links["from"].collectionID).tolist()) == {ids["MLPFPFOs"]}
        assert set(ak.to_numpy(links["to"].collectionID).tolist()) == {ids["MCParticles"]}


def test_particle_ids_carry_the_class_probabilities(written):
    arrays, ids = written
    pfos, pids = arrays["MLPFPFOs"], arrays["MLPFParticleIDs"]
    assert ak.num(pids, axis=1).tolist() == ak.num(pfos, axis=1).tolist()
    flat = ak.flatten(pids)
    probabilities = ak.to_numpy(flat.parameters)
    assert probabilities.shape[1] == 6 and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    cls = ak.to_numpy(flat["type"])
    assert (cls == probabilities[:, 1:].argmax(axis=1) + 1).all()     # the most probable particle class
    np.testing.assert_allclose(ak.to_numpy(flat.likelihood), probabilities[np.arange(len(cls)), cls])
    assert ak.flatten(pids.PDG).tolist() == ak.flatten(pfos.PDG).tolist()
    assert (ak.to_numpy(flat.particle.collectionID) == ids["MLPFPFOs"]).all()
    assert ak.flatten(pids.particle.index).tolist() == [i for n in ak.num(pfos, axis=1) for i in range(n)]
