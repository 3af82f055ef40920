"""The podio-layout writer: round trips, podio's branch layout, atomic output, clear errors."""

from __future__ import annotations

import json
import os

import awkward as ak
import numpy as np
import pytest
import uproot

from support import expected_json, fixture_path, json_differences
from k4mlpf.edm4hep import EDM4hepFile, WriteError, collection_id
from k4mlpf.edm4hep.dump import file_to_json
from k4mlpf.edm4hep.refs import collection_type, refs
from k4mlpf.edm4hep.output import copy_with_additions
from k4mlpf.edm4hep.writer import EDM4hepWriter


@pytest.mark.parametrize("name", ["cld_like_rec_podio107.edm4hep.root",
                                  "cld_like_rec_podio107.rntuple.edm4hep.root",
                                  "real/all_types_v1.edm4hep.root"])
def test_round_trip_gives_the_same_json(name, tmp_path):
    out = tmp_path / "copy.edm4hep.root"
    assert copy_with_additions(fixture_path(name), out) == 3
    with EDM4hepFile(out) as f:
        ours = json.loads(json.dumps(file_to_json(f)))
    assert json_differences(ours, expected_json(name)) == []


def _layout(path):
    with uproot.open(path) as f:
        return [(tree, key, f[tree][key].typename) for tree in ("events", "metadata", "podio_metadata")
                for key in f[tree].keys()]


def test_written_file_has_podio_branch_names_and_types(tmp_path):
    source = fixture_path("cld_like_rec_podio107.edm4hep.root")
    out = tmp_path / "copy.edm4hep.root"
    copy_with_additions(source, out)
    assert _layout(out) == _layout(source)


def test_written_streamers_match_podio_checksums(tmp_path):
    source = fixture_path("cld_like_rec_podio107.edm4hep.root")
    out = tmp_path / "copy.edm4hep.root"
    copy_with_additions(source, out)
    ours, podio = uproot.open(out).file.streamers, uproot.open(source).file.streamers
    for name in podio:
        if name.startswith("edm4hep::"):
            (theirs,) = podio[name].values()
            (mine,) = ours[name].values()
            assert mine.member("fCheckSum") == theirs.member("fCheckSum"), name


def _clusters(n_events=4):
    counts = np.arange(n_events) % 3 + 1
    n = int(counts.sum())
    flat = ak.zip({"energy": np.linspace(1, 2, n, dtype=np.float32),
                   "position": ak.zip({"x": np.ones(n, np.float32), "y": np.zeros(n, np.float32),
                                       "z": np.full(n, 3, np.float32)}),
                   "hits": ak.unflatten(refs("ECALBarrel", np.arange(2 * n)), np.full(n, 2)),
                   "subdetectorEnergies": ak.unflatten(np.ones(3 * n, np.float32), np.full(n, 3))},
                  depth_limit=1)
    return ak.unflatten(flat, counts)


def test_new_collections_next_to_the_input(tmp_path):
    source = fixture_path("cld_like_rec_podio107.edm4hep.root")
    out = tmp_path / "with_new.edm4hep.root"

    def produce(chunk, source):
        pfos = chunk["PandoraPFOs"]
        new = ak.zip({"PDG": pfos.PDG, "energy": pfos.energy * 2, "clusters": pfos.clusters}, depth_limit=2)
        return {"MLPFPFOs": new}, {"MLPFPFOs": collection_type("ReconstructedParticle")}

    copy_with_additions(source, out, produce, inputs=["PandoraPFOs"], step_size=2)
    with EDM4hepFile(out) as f, EDM4hepFile(source) as g:
        assert set(f.collections()) == set(g.collections()) | {"MLPFPFOs"}
        new, old = f.arrays(["MLPFPFOs", "PandoraPFOs"]).values()
        assert ak.array_equal(new.energy, old.energy * 2)
        assert ak.all(new.tracks.index == -3) or ak.sum(ak.num(new.tracks, axis=2)) == 0
        assert f.parameters() == g.parameters()
        assert f.parameters("metadata") == g.parameters("metadata")
        assert f.collections()["MLPFPFOs"].collection_id == collection_id("MLPFPFOs")


def test_defaults_and_begin_end_within_each_event(tmp_path):
    out = tmp_path / "c.edm4hep.root"
    clusters = _clusters()
    with EDM4hepWriter(out) as w:
        w.write_events({"PandoraClusters": clusters}, {"PandoraClusters": collection_type("Cluster")},
                       parameters=[{"n": [i], "name": ["ev"], "w": [0.5]} for i in range(4)])
        w.write_metadata({"PandoraClusters__subdetectorNames": ["ECAL", "HCAL", "other"]})
    with EDM4hepFile(out) as f:
        back = f.arrays("PandoraClusters")["PandoraClusters"]
        assert ak.array_equal(back.energy, clusters.energy)
        assert ak.array_equal(back.hits.index, clusters.hits.index)
        assert ak.all(back["type"] == 0) and ak.all(back.iTheta == 0)
        assert ak.all(ak.num(back.shapeParameters, axis=2) == 0)
        assert f.parameters()[1] == {"n": {"int": [1]}, "name": {"std::string": ["ev"]}, "w": {"double": [0.5]}}
        assert f.parameters("metadata")[0]["PandoraClusters__subdetectorNames"] == \
            {"std::string": ["ECAL", "HCAL", "other"]}
    with uproot.open(out) as raw:  # podio stores begin/end relative to each event's vector
        begins = raw["events"]["PandoraClusters/PandoraClusters.hits_begin"].array().tolist()
        assert begins[1] == [0, 2]


def test_chunks_append_events(tmp_path):
    out = tmp_path / "c.edm4hep.root"
    with EDM4hepWriter(out) as w:
        for _ in range(3):
            w.write_events({"PandoraClusters": _clusters()}, {"PandoraClusters": collection_type("Cluster")})
    with EDM4hepFile(out) as f:
        assert f.num_entries() == 12


def test_failed_write_leaves_no_file(tmp_path):
    out = tmp_path / "bad.edm4hep.root"
    with pytest.raises(WriteError, match="no member"):
        with EDM4hepWriter(out) as w:
            w.write_events({"PandoraClusters": _clusters()}, {"PandoraClusters": collection_type("Cluster")})
            w.write_events({"PandoraClusters": ak.zip({"enrgy": [[1.0]]})},
                           {"PandoraClusters": collection_type("Cluster")})
    assert os.listdir(tmp_path) == []


def test_exception_inside_with_block_leaves_no_file(tmp_path):
    out = tmp_path / "bad.edm4hep.root"
    with pytest.raises(RuntimeError):
        with EDM4hepWriter(out) as w:
            w.write_events({"PandoraClusters": _clusters()}, {"PandoraClusters": collection_type("Cluster")})
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("collections, types, message", [
    ({"A": _clusters(2), "B": _clusters(3)}, {"A": "edm4hep::ClusterCollection",
                                              "B": "edm4hep::ClusterCollection"}, "different numbers"),
    ({"A": _clusters(2)}, {}, "no collection type"),
    ({"A": _clusters(2)}, {"A": "edm4hep::NoSuchCollection"}, "no datamodel definition"),
])
def test_bad_requests_are_named(tmp_path, collections, types, message):
    with pytest.raises(WriteError, match=message):
        with EDM4hepWriter(tmp_path / "x.root") as w:
            w.write_events(collections, types)
    assert os.listdir(tmp_path) == []


def test_writer_leaves_one_cycle_and_every_event_is_read(tmp_path):
    """ROOT auto-saves tree headers while filling; a stale 'events;1' once hid 180 of 1000 events."""
    path = tmp_path / "cycles.edm4hep.root"
    with EDM4hepWriter(path, basket_size=4000) as w:  # small baskets: many flushes and auto-saves
        for _ in range(50):
            w.write_events({"PandoraClusters": _clusters(40)}, {"PandoraClusters": collection_type("Cluster")})
    with uproot.open(path) as f:
        assert [k for k in f.keys() if k.startswith("events")] == ["events;1"]
    with EDM4hepFile(path) as g:
        assert g.num_entries() == 2000 and len(g.arrays("PandoraClusters")["PandoraClusters"]) == 2000


def test_writer_backend_choice(tmp_path, monkeypatch):
    from k4mlpf.edm4hep.output import open_writer
    from k4mlpf.edm4hep.podio_writer import podio_available

    monkeypatch.setenv("K4MLPF_WRITER_BACKEND", "root")
    with open_writer(tmp_path / "a.root") as w:
        assert isinstance(w, EDM4hepWriter)
        w.write_events({"PandoraClusters": _clusters(2)}, {"PandoraClusters": collection_type("Cluster")})
    if not podio_available():  # outside a Key4hep release the podio backend says what it needs
        with pytest.raises(WriteError, match="Key4hep"):
            open_writer(tmp_path / "b.root", backend="podio")
    with pytest.raises(ValueError, match="backend"):
        open_writer(tmp_path / "c.root", backend="uproot")
