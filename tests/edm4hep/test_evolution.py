"""Issue #9: reco-style copies of EDM4hep 0.10 / 0.99 / development-version files write today's layout.

``copy_with_additions`` (what ``k4mlpf reco`` runs) converts every collection to EDM4hep 1.x, names
what it cannot convert in one warning, keeps subset collections as subset collections, and the
output reads back with the project's reader.
"""

from __future__ import annotations

import json
import warnings

import awkward as ak
import numpy as np
import pytest
import uproot

from support import fixture_path
from k4mlpf.edm4hep import EDM4hepFile
from k4mlpf.edm4hep.dump import file_to_json
from k4mlpf.edm4hep.errors import SchemaEvolutionWarning
from k4mlpf.edm4hep.evolution import plan_conversion
from k4mlpf.edm4hep.metadata import split_strings
from k4mlpf.edm4hep.refs import collection_type, refs
from k4mlpf.edm4hep.output import copy_with_additions
from k4mlpf.edm4hep.writer import EDM4hepWriter

REAL = "real/cld_o2_v05_hbb240_rec.edm4hep.root"


def _produce(chunk, source):
    """A reco-like addition: one particle per PFO, pointing at the PFO's clusters."""
    pfos = chunk["PandoraPFOs"]
    new = ak.zip({"PDG": pfos.PDG, "energy": pfos.energy * 2, "clusters": pfos.clusters}, depth_limit=2)
    return {"MLPFPFOs": new}, {"MLPFPFOs": collection_type("ReconstructedParticle")}


def _copy(name, tmp_path):
    out = tmp_path / "out.edm4hep.root"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        n = copy_with_additions(fixture_path(name), out, _produce, inputs=["PandoraPFOs"], step_size=2)
    evolution = [w for w in caught if issubclass(w.category, SchemaEvolutionWarning)]
    return out, n, evolution


def _today(f: EDM4hepFile) -> None:
    """Every collection of ``f`` has today's types and schema versions."""
    for name, info in f.collections().items():
        if info.type.startswith("podio::"):
            assert info.schema_version == 1, name
        else:
            assert info.schema_version == 6, name
    assert "edm4hep::ClusterMCParticleLinkCollection" not in {i.type for i in f.collections().values()}


@pytest.mark.parametrize("name", ["cld_like_rec.edm4hep.root", "cld_like_rec_edm4hep010.edm4hep.root"])
def test_old_edm4hep_fixtures_are_written_in_todays_layout(name, tmp_path):
    out, n, warned = _copy(name, tmp_path)
    assert n == 3
    assert len(warned) == 1 and "MCParticles.spin" in str(warned[0].message)
    with EDM4hepFile(out) as f, EDM4hepFile(fixture_path(name)) as g:
        assert set(f.collections()) == set(g.collections()) | {"MLPFPFOs"}
        _today(f)
        assert f.collections()["CalohitMCTruthLink"].type == \
            "podio::LinkCollection<edm4hep::CalorimeterHit,edm4hep::MCParticle>"
        new, old = f.arrays(schema="file"), g.arrays(schema="file")
        # renamed members keep their values
        assert ak.array_equal(new["PandoraClusters"].iPhi, old["PandoraClusters"].phi)
        pdg = "type" if "type" in old["PandoraPFOs"].fields else "PDG"
        assert ak.array_equal(new["PandoraPFOs"].PDG, old["PandoraPFOs"][pdg])
        ends = ("rec", "sim") if "rec" in old["CalohitMCTruthLink"].fields else ("from", "to")
        for now, then in zip(("from", "to"), ends):
            assert ak.array_equal(new["CalohitMCTruthLink"][now].index, old["CalohitMCTruthLink"][then].index)
        assert ak.array_equal(new["CalohitMCTruthLink"].weight, old["CalohitMCTruthLink"].weight)
        # MCParticle momenta became double; helicity gets its default
        assert new["MCParticles"].momentum.x.type.content.content.primitive == "float64"
        np.testing.assert_allclose(ak.to_numpy(ak.flatten(new["MCParticles"].momentum.x)),
                                   ak.to_numpy(ak.flatten(old["MCParticles"].momentum.x)))
        assert ak.all(new["MCParticles"].helicity == 9)
        # covariances: std::array (0.10) or CovMatrixNf (0.99) -> CovMatrixNf
        old_cov = old["PandoraClusters"].positionError
        old_cov = old_cov["values"] if ak.fields(old_cov) else old_cov
        assert ak.array_equal(new["PandoraClusters"].positionError["values"], old_cov)
        assert ak.array_equal(new["SiTracks_Refitted_dQdx"].dQdx.value, old["SiTracks_Refitted_dQdx"].dQdx.value)
        assert ak.array_equal(new["MLPFPFOs"].energy, new["PandoraPFOs"].energy * 2)
        json.dumps(file_to_json(f))  # the whole output dumps


def test_edm4hep_010_warning_names_what_has_no_place_today(tmp_path):
    _, _, warned = _copy("cld_like_rec_edm4hep010.edm4hep.root", tmp_path)
    message = str(warned[0].message)
    for lost in ("SiTracks_Refitted.radiusOfInnermostHit", "PandoraPFOs.particleIDs", "PandoraClusters.particleIDs",
                 "SiTracks_Refitted_dQdx.hypotheses"):
        assert lost in message
    # the file already has SiTracks_Refitted_dQdx, so the tracks' own dEdx is named, not duplicated
    assert "SiTracks_Refitted.dEdx" in message


def test_track_dedx_moves_to_a_recdqdx_collection():
    with EDM4hepFile(fixture_path("cld_like_rec_edm4hep010.edm4hep.root")) as f:
        infos = {n: i for n, i in f.collections().items() if n != "SiTracks_Refitted_dQdx"}
        conversion = plan_conversion(infos, f.metadata.datamodel_definition("edm4hep"), set())
        chunk = f.arrays(list(infos), schema="file")
    collections, types = conversion.apply(chunk)
    dqdx = collections["SiTracks_Refitted_dQdx"]
    assert types["SiTracks_Refitted_dQdx"] == "edm4hep::RecDqdxCollection"
    assert ak.array_equal(dqdx.dQdx.value, chunk["SiTracks_Refitted"].dEdx)
    assert ak.array_equal(dqdx.dQdx.error, chunk["SiTracks_Refitted"].dEdxError)
    assert dqdx.track.index.tolist() == ak.local_index(chunk["SiTracks_Refitted"].dEdx, axis=1).tolist()
    assert "SiTracks_Refitted.dEdx" not in conversion.dropped
    assert "SiTracks_Refitted.radiusOfInnermostHit" in conversion.dropped


def test_real_file_copy_keeps_every_collection(tmp_path):
    out, n, warned = _copy(REAL, tmp_path)
    assert n == 1
    assert len(warned) == 1 and str(warned[0].message).endswith("MCParticles.spin")
    with EDM4hepFile(out) as f, EDM4hepFile(fixture_path(REAL)) as g:
        assert set(f.collections()) == set(g.collections()) | {"MLPFPFOs"}
        _today(f)
        ours, theirs = file_to_json(f)["frames"]["events"][0], file_to_json(g)["frames"]["events"][0]
        for name, info in g.collections().items():
            assert f.collections()[name].is_subset == info.is_subset, name
            mine, source = ours["collections"][name], theirs["collections"][name]
            assert mine["size"] == source["size"], name
            mine, source = json.loads(json.dumps(mine["objects"])), json.loads(json.dumps(source["objects"]))
            if name == "MCParticles":  # lost 'spin' (no place in EDM4hep 1.x)
                source = [{k: v for k, v in o.items() if k != "spin"} for o in source]
            if g.collections()[name].type == "edm4hep::ClusterCollection":  # 'phi' is today's 'iPhi'
                source = [{("iPhi" if k == "phi" else k): v for k, v in o.items()} for o in source]
            # every member of the file keeps its value; members new since (stepLength, ...) are added
            assert [{k: o.get(k) for k in s} for o, s in zip(mine, source)] == source, name
        for category in g.categories:  # k4FWCore's configuration_metadata too: no frame is lost
            assert f.parameters(category) == g.parameters(category), category
    with uproot.open(out) as raw:
        assert raw["events"]["SelectedPandoraPFOs_objIdx"].typename == "vector<podio::ObjectID>"


def test_every_category_is_copied(tmp_path):
    """ddsim's extra categories ('runs', 'meta') keep their frames of parameters."""
    out = tmp_path / "out.edm4hep.root"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchemaEvolutionWarning)
        assert copy_with_additions(fixture_path("real/ddsim_sample.edm4hep.root"), out) == 10
    with EDM4hepFile(out) as f, EDM4hepFile(fixture_path("real/ddsim_sample.edm4hep.root")) as g:
        assert set(f.categories) == set(g.categories)
        for category in g.categories:
            assert f.num_entries(category) == g.num_entries(category), category
            assert f.parameters(category) == g.parameters(category), category


def test_writer_writes_subset_collections(tmp_path):
    """A subset collection written by the project's writer reads back as podio lays it out."""
    out = tmp_path / "subset.edm4hep.root"
    counts = np.array([3, 0, 2])
    particles = ak.unflatten(ak.zip({"PDG": np.array([11, 22, 211, 13, -13], np.int32),
                                     "charge": np.array([-1, 0, 1, -1, 1], np.float32)}), counts)
    picked = ak.unflatten(refs("MCParticles", np.array([2, 0, 1], np.int32)), np.array([2, 0, 1]))
    with EDM4hepWriter(out) as w:
        w.write_events({"MCParticles": particles, "Skimmed": picked},
                       {"MCParticles": collection_type("MCParticle"), "Skimmed": collection_type("MCParticle")},
                       subsets=["Skimmed"])
    with uproot.open(out) as raw:
        assert raw["events"]["Skimmed_objIdx"].typename == "vector<podio::ObjectID>"
        assert "Skimmed" not in raw["events"]
    with EDM4hepFile(out) as f:
        info = f.collection("Skimmed")
        assert info.is_subset and info.type == "edm4hep::MCParticleCollection"
        back = f.arrays("Skimmed")["Skimmed"]
        assert back.index.tolist() == [[2, 0], [], [1]]
        assert {f.collection_name(int(c)) for c in ak.flatten(back.collectionID)} == {"MCParticles"}
        frame = file_to_json(f)["frames"]["events"][0]["collections"]["Skimmed"]
        assert frame["is_subset"] and frame["objects"] == [
            {"collectionID": f.collection("MCParticles").collection_id, "index": 2},
            {"collectionID": f.collection("MCParticles").collection_id, "index": 0}]


class _Basket:
    def __init__(self, data: bytes):
        self.data = np.frombuffer(data, np.uint8)
        self.byte_offsets = np.array([0, len(data)])


class _Branch:
    def __init__(self, data: bytes):
        self._basket = _Basket(data)

    def basket(self, i):
        return self._basket


def _streamed(strings) -> bytes:
    body = b""
    for s in strings:
        raw = s.encode()
        body += (bytes([len(raw)]) if len(raw) < 255 else b"\xff" + len(raw).to_bytes(4, "big")) + raw
    return (0x40000000 | (len(body) + 2)).to_bytes(4, "big") + b"\x00\x09" + body


@pytest.mark.parametrize("strings", [
    ["edm4hep::VertexCollection", "podio::LinkCollection<edm4hep::Vertex,edm4hep::ReconstructedParticle>"],
    ["x" * 300, "edm4hep::MCParticleCollection"],  # ROOT's long-string form (255 + 4-byte length)
    [],
], ids=["types", "long", "empty"])
def test_type_names_of_old_collection_type_info(strings):
    assert split_strings(_Branch(_streamed(strings)), len(strings)) == strings


def test_type_names_that_do_not_parse_are_not_guessed():
    data = _streamed(["edm4hep::VertexCollection"])
    assert split_strings(_Branch(data), 2) is None  # fewer strings than collections
    assert split_strings(_Branch(data + b"junk"), 1) is None  # bytes left over


def test_edm4hep_010_vertices_are_converted():
    """A synthetic 0.10 Vertex: primary -> type bit, std::array covariance -> CovMatrix3f,
    associatedParticle -> the <vertices>_associatedParticles link collection, probability named."""
    from k4mlpf.edm4hep.metadata import CollectionInfo

    definition = {"schema_version": 1, "components": {}, "datatypes": {"edm4hep::Vertex": {
        "Members": ["std::int32_t primary", "float chi2", "float probability", "edm4hep::Vector3f position",
                    "std::array<float, 6> covMatrix", "std::int32_t algorithmType"],
        "VectorMembers": ["float parameters"],
        "OneToOneRelations": ["edm4hep::ReconstructedParticle associatedParticle"]}}}
    infos = {"Vertices": CollectionInfo("Vertices", 1, "edm4hep::VertexCollection", False, 1)}
    conversion = plan_conversion(infos, definition, set())
    vertices = ak.Array([[
        {"primary": 1, "chi2": 2.0, "probability": 0.5, "position": {"x": 1.0, "y": 2.0, "z": 3.0},
         "covMatrix": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "algorithmType": 7, "parameters": [0.25],
         "associatedParticle": {"index": 4, "collectionID": 99}},
        {"primary": 0, "chi2": 3.0, "probability": 0.1, "position": {"x": 0.0, "y": 0.0, "z": 0.0},
         "covMatrix": [0.0] * 6, "algorithmType": 7, "parameters": [],
         "associatedParticle": {"index": -2, "collectionID": 0}}]])
    collections, types = conversion.apply({"Vertices": vertices})
    new = collections["Vertices"]
    assert new["type"].tolist() == [[2, 0]]
    assert new.covMatrix["values"].tolist() == [[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0.0] * 6]]
    link = collections["Vertices_associatedParticles"]
    assert types["Vertices_associatedParticles"] == \
        "podio::LinkCollection<edm4hep::Vertex,edm4hep::ReconstructedParticle>"
    assert link["from"].index.tolist() == [[0]] and link["to"].index.tolist() == [[4]]
    assert conversion.dropped == {"Vertices.probability"}
