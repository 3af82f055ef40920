"""The reader reproduces, exactly, what podio itself reads from every fixture file."""

from __future__ import annotations

import json
import subprocess
import sys

import awkward as ak
import numpy as np
import pytest

from support import ALL_FIXTURES, REPO, expected_json, fixture_path, json_differences
from k4mlpf.edm4hep import EDM4hepFile
from k4mlpf.edm4hep.dump import file_to_json


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_dump_json_reproduces_podio(name):
    with EDM4hepFile(fixture_path(name)) as f:
        ours = json.loads(json.dumps(file_to_json(f, events="all")))
    assert json_differences(ours, expected_json(name)) == []


def test_cli_dump_json_matches_expected():
    name = "cld_like_rec_podio107.rntuple.edm4hep.root"
    out = subprocess.run([sys.executable, "-m", "k4mlpf", "dump", str(fixture_path(name)), "--json",
                          "--events", "all"], capture_output=True, text=True, cwd=REPO, check=True)
    assert json_differences(json.loads(out.stdout), expected_json(name)) == []


def test_cli_dump_selected_events():
    name = "cld_like_rec_podio107.edm4hep.root"
    out = subprocess.run([sys.executable, "-m", "k4mlpf", "dump", str(fixture_path(name)), "--json",
                          "--events", "0,2"], capture_output=True, text=True, cwd=REPO, check=True)
    frames = json.loads(out.stdout)["frames"]["events"]
    expected = expected_json(name)["frames"]["events"]
    assert [f["index"] for f in frames] == [0, 2]
    assert json_differences(frames, [expected[0], expected[2]]) == []


def test_cli_summary_lists_types_and_counts():
    out = subprocess.run([sys.executable, "-m", "k4mlpf", "dump",
                          str(fixture_path("cld_like_rec_podio107.edm4hep.root"))],
                         capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert "PandoraClusters" in out and "edm4hep::Cluster " in out
    assert "podio::Link<edm4hep::CalorimeterHit,edm4hep::MCParticle>" in out


@pytest.mark.parametrize("name", ["cld_like_rec_podio107.edm4hep.root", "cld_like_rec.edm4hep.root",
                                  "cld_like_rec_edm4hep010.edm4hep.root",
                                  "cld_like_rec_podio107.rntuple.edm4hep.root"])
def test_one_interface_for_every_edm4hep_version(name):
    """schema='current' gives today's member names whatever the file's EDM4hep version."""
    with EDM4hepFile(fixture_path(name)) as f:
        arrays = f.arrays(["PandoraClusters", "PandoraPFOs", "CalohitMCTruthLink", "SiTracks_Refitted"])
        clusters, pfos, links = arrays["PandoraClusters"], arrays["PandoraPFOs"], arrays["CalohitMCTruthLink"]
        assert "iPhi" in clusters.fields and "phi" not in clusters.fields
        assert "PDG" in pfos.fields
        assert {"from", "to", "weight"} <= set(links.fields)
        # relations resolve to (collection name, index)
        hit = clusters.hits[0][0][0]
        assert f.collection_name(int(hit.collectionID)) in ("ECALBarrel", "HCALBarrel")
        assert f.collection_name(int(links["to"][0][0].collectionID)) == "MCParticles"
        assert len(arrays["SiTracks_Refitted"].trackStates[0][0]) == 4
        np.testing.assert_allclose(float(clusters.energy[0][0]), 0.26718226075172424)


def test_collections_types_and_schema_versions():
    with EDM4hepFile(fixture_path("cld_like_rec_podio107.edm4hep.root")) as f:
        infos = f.collections()
        assert infos["PandoraClusters"].type == "edm4hep::ClusterCollection"
        assert infos["PandoraClusters"].schema_version == 6
        assert infos["RecoMCTruthLink"].type == \
            "podio::LinkCollection<edm4hep::ReconstructedParticle,edm4hep::MCParticle>"
        assert infos["RecoMCTruthLink"].collection_id == 1803649914
        assert f.num_entries() == 3 and f.edm4hep_version == (1, 1, 0)


def test_iterate_in_chunks_equals_reading_at_once():
    with EDM4hepFile(fixture_path("real/ddsim_sample.edm4hep.root")) as f:
        whole = f.arrays(["MCParticles"])["MCParticles"]
        chunks = [c["MCParticles"] for c in f.iterate(["MCParticles"], step_size=3)]
        assert [len(c) for c in chunks] == [3, 3, 3, 1]
        joined = ak.concatenate(chunks)
        assert ak.array_equal(joined.momentum.x, whole.momentum.x)
        assert ak.array_equal(joined.daughters.index, whole.daughters.index)
        assert sum(len(c) for c in chunks) == len(whole)


def test_skip_leaves_members_out_and_the_rest_unchanged():
    with EDM4hepFile(fixture_path("cld_like_rec_podio107.edm4hep.root")) as f:
        full = f.arrays(["SiTracks_Refitted", "PandoraClusters"])
        lean = f.arrays(["SiTracks_Refitted", "PandoraClusters"], skip=["covMatrix", "positionError"])
    assert "covMatrix" not in lean["SiTracks_Refitted"].trackStates.fields
    assert "positionError" not in lean["PandoraClusters"].fields
    assert ak.array_equal(lean["SiTracks_Refitted"].trackStates.D0, full["SiTracks_Refitted"].trackStates.D0)
    assert ak.array_equal(lean["PandoraClusters"].hits.index, full["PandoraClusters"].hits.index)
