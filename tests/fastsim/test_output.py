import awkward as ak
import numpy as np
import pytest

from fastsim.pipeline import RunConfig, run

HIT_COLLECTIONS = ["ECALBarrel", "ECALEndcap", "HCALBarrel", "HCALEndcap", "HCALOther", "MUON"]
EXPECTED_TYPES = {"MCParticles": "edm4hep::MCParticleCollection", "SiTracks_Refitted": "edm4hep::TrackCollection",
                  "SiTracks_Refitted_dQdx": "edm4hep::RecDqdxCollection",
                  "PandoraClusters": "edm4hep::ClusterCollection",
                  "BaselinePFOs": "edm4hep::ReconstructedParticleCollection",
                  "EventHeader": "edm4hep::EventHeaderCollection",
                  **{h: "edm4hep::CalorimeterHitCollection" for h in HIT_COLLECTIONS}}
LINKS = {"SiTracksMCTruthLink": "Track", "CalohitMCTruthLink": "CalorimeterHit",
         "ClusterMCTruthLink": "Cluster", "RecoMCTruthLink": "ReconstructedParticle"}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("fs") / "cld_ttbar.edm4hep.root"
    cfg = RunConfig(detector="CLD", process="ttbar", n_events=6, seed=5, chunk_size=3)
    run(cfg, str(path), jobs=1, progress=False)
    return path, cfg


def _read(path, names):
    from k4mlpf.edm4hep import EDM4hepFile

    with EDM4hepFile(str(path)) as f:
        return f.arrays(names), f


def test_names_and_types(written):
    from k4mlpf.edm4hep import EDM4hepFile

    path, _ = written
    with EDM4hepFile(str(path)) as f:
        infos = {name: info.type for name, info in f.collections().items()}
        arrays = f.arrays(list(EXPECTED_TYPES) + list(LINKS))
    assert all(len(a) == 6 for a in arrays.values())
    for name, typ in EXPECTED_TYPES.items():
        assert infos[name] == typ
    for name, target in LINKS.items():
        assert infos[name] == f"podio::LinkCollection<edm4hep::{target},edm4hep::MCParticle>"


def test_links_point_to_real_objects(written):
    from k4mlpf.edm4hep import EDM4hepFile

    path, _ = written
    with EDM4hepFile(str(path)) as f:
        names = ["MCParticles", "SiTracks_Refitted", "PandoraClusters", "BaselinePFOs", *HIT_COLLECTIONS, *LINKS]
        a = f.arrays(names)
        sizes = {n: ak.num(a[n]) for n in names if n not in LINKS}
        for link in LINKS:
            to = a[link]["to"]
            assert ak.all(to.index >= 0) and ak.all(to.index < sizes["MCParticles"])
            assert {f.collection_name(int(c)) for c in np.unique(ak.flatten(to.collectionID))} <= {"MCParticles"}
            frm = a[link]["from"]
            for cid in np.unique(ak.flatten(frm.collectionID)):
                target = f.collection_name(int(cid))
                sel = frm.collectionID == cid
                assert ak.all(frm.index[sel] < sizes[target])
        hits = a["PandoraClusters"].hits
        for cid in np.unique(ak.flatten(hits.collectionID, axis=None)):
            target = f.collection_name(int(cid))
            assert target in HIT_COLLECTIONS
            idx = hits.index[hits.collectionID == cid]
            assert ak.all(ak.max(idx, axis=-1, mask_identity=False) < sizes[target])


def test_metadata(written):
    import uproot

    path, _ = written
    with uproot.open(str(path)) as f:
        keys = [str(k) for k in ak.flatten(f["metadata"]["GPStringKeys"].array())]
    assert "ECALBarrel__CellIDEncoding" in keys and "PandoraClusters__subdetectorNames" in keys
    assert "k4mlpf_detector" in keys
    import json

    from k4mlpf.detector import metadata_value
    from k4mlpf.edm4hep import EDM4hepFile

    with EDM4hepFile(path) as f:   # what was generated travels with the file (and into the shards)
        sample = json.loads(metadata_value(f, "k4mlpf_sample"))
    _, cfg = written
    assert sample["process"] == cfg.process and sample["seed"] == cfg.seed and sample["events"] == cfg.n_events


def test_deterministic_for_a_seed_whatever_the_jobs(written, tmp_path):
    path, cfg = written
    again = tmp_path / "again.edm4hep.root"
    run(cfg, str(again), jobs=2, progress=False)
    names = ["MCParticles", "SiTracks_Refitted", "ECALBarrel", "PandoraClusters", "BaselinePFOs"]
    a, b = _read(path, names)[0], _read(again, names)[0]
    for name in names:
        assert ak.to_list(a[name]) == ak.to_list(b[name]), name
