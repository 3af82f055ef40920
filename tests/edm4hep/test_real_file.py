"""Issue #9: the real CLD full-simulation file (podio 1.2.99, EDM4hep 0.99.99, subset collections).

No expected JSON exists for it (podio 1.7's Python reader does not load with the ROOT wheel), so the
checks are against what the file itself holds: its collection list, its branches and its relations.
"""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
import uproot

from support import fixture_path
from k4mlpf.edm4hep import EDM4hepFile
from k4mlpf.edm4hep.dump import file_to_json
from k4mlpf.edm4hep.metadata import collection_type_from_branch_type
from k4mlpf.elements import ElementCollections, hit_collections, pack_elements, subsystem_of
from k4mlpf.model.columns import HIT_COLUMNS, TRACK_COLUMNS

REAL = "real/cld_o2_v05_hbb240_rec.edm4hep.root"


@pytest.fixture(scope="module")
def real():
    with EDM4hepFile(fixture_path(REAL)) as f:
        yield f


@pytest.fixture(scope="module")
def real_json(real):
    return json.loads(json.dumps(file_to_json(real, events="all")))


def test_every_collection_has_its_type_from_podio_metadata(real):
    infos = real.collections()
    with uproot.open(fixture_path(REAL)) as raw:
        names = raw["podio_metadata"]["events___idTable/m_names"].array(library="np")[0]
        branches = set(raw["events"].keys(recursive=False))
    assert set(infos) == {str(n) for n in names}
    # link collections hold only vector<podio::LinkData>: their type comes from CollectionTypeInfo's strings
    assert infos["BuildUpVertices_associatedParticles"].type == \
        "podio::LinkCollection<edm4hep::Vertex,edm4hep::ReconstructedParticle>"
    assert infos["MCTruthRecoLink"].type == \
        "podio::LinkCollection<edm4hep::ReconstructedParticle,edm4hep::MCParticle>"
    for name, info in infos.items():  # where the branch type tells the type, both agree
        branch = f"{name}_objIdx" if info.is_subset else name
        assert branch in branches, name
        if not info.is_subset:
            from_branch = collection_type_from_branch_type(f"vector<{info.data_type}>")
            assert from_branch in (None, info.type), name
    subsets = {n for n, i in infos.items() if i.is_subset}
    assert {"SelectedPandoraPFOs", "PFOsFromJets", "MCParticlesSkimmed"} <= subsets
    assert infos["SelectedPandoraPFOs"].type == "edm4hep::ReconstructedParticleCollection"


def test_every_collection_reads_and_sizes_match_the_branches(real):
    infos = real.collections()
    arrays = real.arrays()
    with uproot.open(fixture_path(REAL)) as raw:
        tree = raw["events"]
        for name, info in infos.items():
            if info.is_subset:
                expected = len(tree[f"{name}_objIdx/{name}_objIdx.index"].array(library="np")[0])
            else:
                leaf = next(k for k in tree[name].keys() if "." in k)
                expected = len(tree[f"{name}/{leaf}"].array(library="np")[0])
            assert len(arrays[name][0]) == expected, name


def test_subset_collections_are_references(real):
    selected = real.arrays("SelectedPandoraPFOs")["SelectedPandoraPFOs"]
    assert set(selected.fields) == {"index", "collectionID"}
    assert {real.collection_name(int(i)) for i in ak.flatten(selected.collectionID)} == {"PandoraPFOs"}
    n_pfos = len(real.arrays("PandoraPFOs")["PandoraPFOs"][0])
    assert ak.all((selected.index >= 0) & (selected.index < n_pfos))


def test_dump_json_of_every_event(real, real_json):
    frame = real_json["frames"]["events"][0]
    assert set(frame["collections"]) == set(real.collections())
    subset = frame["collections"]["SelectedPandoraPFOs"]
    assert subset["is_subset"] is True and subset["size"] == len(subset["objects"]) == 44
    # podio's JSON of a subset collection: the ObjectID of each element
    assert all(list(o) == ["collectionID", "index"] for o in subset["objects"])
    assert {o["collectionID"] for o in subset["objects"]} == {real.collection("PandoraPFOs").collection_id}
    pfo = frame["collections"]["PandoraPFOs"]["objects"][0]
    assert pfo["tracks"] == [["SiTracks_Refitted", 15]] and pfo["decayVertex"] == ["PandoraStartVertices", 0]
    link = frame["collections"]["PandoraStartVertices_associatedParticles"]["objects"][0]
    assert set(link) == {"weight", "from", "to"}
    assert {"metadata", "configuration_metadata"} <= set(real_json["frames"])


def test_elements_of_the_real_file(real):
    names = ElementCollections()
    chunk = real.arrays(names.needed(real))
    elements = pack_elements(real, chunk, names)
    tracks, clusters = chunk["SiTracks_Refitted"], chunk["PandoraClusters"]
    assert elements.track_counts.tolist() == [len(tracks[0])] == [24]
    assert elements.cluster_counts.tolist() == [len(clusters[0])] == [48]
    n_hits = int(ak.sum(ak.num(clusters.hits, axis=2)))
    assert elements.hit_counts.tolist() == [n_hits] and n_hits > 0
    # dQ/dx from SiTracks_Refitted_dQdx, placed by its track relation
    dqdx = chunk["SiTracks_Refitted_dQdx"][0]
    col = {c: i for i, c in enumerate(TRACK_COLUMNS)}
    index = ak.to_numpy(dqdx.track.index)
    np.testing.assert_array_equal(elements.tracks[index, col["dQdx"]], ak.to_numpy(dqdx.dQdx.value))
    # every hit: the energy and subsystem of the hit its cluster points to, whatever the collection
    assert set(hit_collections(real)) >= {"ECALBarrel", "ECALEndcap", "HCALBarrel", "HCALEndcap", "HCALOther", "MUON"}
    refs = ak.flatten(clusters.hits[0])
    energy, subsystem = [], []
    for cid, i in zip(ak.to_numpy(refs.collectionID), ak.to_numpy(refs.index)):  # reference, not hot path
        name = real.collection_name(int(cid))
        energy.append(float(chunk[name][0][int(i)].energy))
        subsystem.append(subsystem_of(name))
    hit = {c: i for i, c in enumerate(HIT_COLUMNS)}
    np.testing.assert_array_equal(elements.hits[:, hit["energy"]], np.asarray(energy, np.float32))
    np.testing.assert_array_equal(elements.hits[:, hit["subsystem"]], np.asarray(subsystem, np.float32))


def test_cluster_hits_outside_the_collections_read_are_an_error(real):
    from k4mlpf.edm4hep import EDM4hepError

    names = ElementCollections()
    chunk = real.arrays([n for n in names.needed(real) if n != "HCALBarrel"])
    with pytest.raises(EDM4hepError, match="'HCALBarrel' \\(not read\\)"):
        pack_elements(real, chunk, names)


def test_cli_dump_of_the_real_file():
    import subprocess
    import sys

    from support import REPO

    out = subprocess.run([sys.executable, "-m", "k4mlpf", "dump", str(fixture_path(REAL))], capture_output=True,
                         text=True, cwd=REPO, check=True).stdout
    assert "SelectedPandoraPFOs (s)" in out and "BuildUpVertices_associatedParticles " in out
    assert "edm4hep 0.99.99 (schema 3)" in out
