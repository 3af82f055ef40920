"""k4run options/runMLPF_*.py (the Gaudi algorithm MLPFParticleFlow through libtorch) writes the
particles, particle IDs and truth links `python -m k4mlpf reco` writes, on fast-simulation files, the
podio fixture, a real CLD event and a file without truth, with a TorchScript .pt or an AOTInductor
.pt2 model; podio-dump reads every file written. Fixtures and helpers: conftest.py here."""

from __future__ import annotations

import pytest
import torch

from k4support import assert_same_particles, k4mlpf_reco, read_particles, truth_link_count
from support import fixture_path

REAL_CLD = "real/cld_o2_v05_hbb240_rec.edm4hep.root"


def run_both(k4run, options, input_path, model, tmp_path, *extra, env=None):
    """k4run and k4mlpf reco on the same file and model -> (k4run output, reco output)."""
    ours, theirs = tmp_path / "k4run.edm4hep.root", tmp_path / "reco.edm4hep.root"
    run = k4run(options, "--inputFiles", input_path, "--outputFile", ours, "--model", model, *extra, env=env)
    assert run.returncode == 0, run.output[-6000:]
    reco = k4mlpf_reco(input_path, theirs, model)
    assert reco.returncode == 0, reco.stderr[-4000:]
    return ours, theirs


def test_k4run_cld_fast_simulation_equals_reco(k4run, podio_dump, small_sample, cld_model, tmp_path):
    """Particles, MLPFParticleIDs and MLPFMCTruthLink (through SiTracksMCTruthLink and ClusterMCTruthLink)."""
    ours, theirs = run_both(k4run, "options/runMLPF_CLD.py", small_sample["file"], cld_model, tmp_path)
    assert assert_same_particles(ours, theirs) > 24 * 40
    assert truth_link_count(ours) > 24 * 40
    for path in (small_sample["file"], ours, theirs):  # fast sim, k4run and reco outputs
        assert "MCParticles" in podio_dump(path)
    for path in (ours, theirs):
        assert all(f"\n{name} " in podio_dump(path) for name in ("MLPFPFOs", "MLPFParticleIDs", "MLPFMCTruthLink"))
    detailed = podio_dump(ours, detailed=True)  # podio reads every object, relations included
    pids, links = detailed.split("\nMLPFParticleIDs\n")[1], detailed.split("\nMLPFMCTruthLink\n")[1]
    assert "particle :" in pids.split("\n\n")[0] and "parameters :" in pids.split("\n\n")[0]
    assert "from :" in links.split("\n\n")[0] and "to :" in links.split("\n\n")[0]


def test_k4run_clic_fast_simulation_equals_reco(k4run, podio_dump, clic_sample, clic_model, tmp_path):
    ours, theirs = run_both(k4run, "options/runMLPF_CLIC.py", clic_sample, clic_model, tmp_path)
    assert assert_same_particles(ours, theirs) > 12 * 10
    for path in (clic_sample, ours, theirs):
        assert "PandoraClusters" in podio_dump(path)


def test_k4run_podio_fixture_equals_reco(k4run, podio_dump, cld_model, tmp_path):
    """The file of issue #10: only ECALBarrel/HCALBarrel hits, no ECALEndcap (hits come through the clusters)."""
    ours, theirs = run_both(k4run, "options/runMLPF_CLD.py", fixture_path("cld_like_rec_podio107.edm4hep.root"),
                            cld_model, tmp_path)
    assert assert_same_particles(ours, theirs) > 0
    dumped = podio_dump(ours)
    assert "MLPFPFOs" in dumped and "ECALEndcap" not in dumped


@pytest.fixture(scope="module")
def real_cld_output(k4run, cld_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("real") / "k4run.edm4hep.root"
    run = k4run("options/runMLPF_CLD.py", "--inputFiles", fixture_path(REAL_CLD), "--outputFile", path,
                "--model", cld_model)
    assert run.returncode == 0, run.output[-6000:]
    return path


def test_k4run_real_cld_event(real_cld_output, podio_dump):
    """A real CLD_o2_v05 event (EDM4hep 0.99, podio 1.2): k4run reads it, MLPF makes particles with
    relations to the event's own tracks and clusters, podio-dump reads the output."""
    dumped = podio_dump(real_cld_output)
    assert all(f"\n{name} " in dumped for name in ("MLPFPFOs", "PandoraPFOs", "MLPFParticleIDs", "MLPFMCTruthLink"))
    (event,) = read_particles(real_cld_output)
    assert len(event["PDG"]) > 20
    assert all(len(t) + len(c) == 1 for t, c in zip(event["tracks"], event["clusters"]))
    assert {name for rel in event["tracks"] for name, _ in rel} == {"SiTracks_Refitted"}
    assert {name for rel in event["clusters"] for name, _ in rel} == {"PandoraClusters"}


def test_k4run_real_cld_event_equals_reco(real_cld_output, cld_model, tmp_path):
    """Particles, particle IDs and the truth links through the full simulation's own SiTracksMCTruthLink
    and ClusterMCTruthLink."""
    theirs = tmp_path / "reco.edm4hep.root"
    reco = k4mlpf_reco(fixture_path(REAL_CLD), theirs, cld_model)
    assert reco.returncode == 0, reco.stderr[-4000:]
    assert assert_same_particles(real_cld_output, theirs) > 20
    assert truth_link_count(real_cld_output) > 20


def test_k4run_file_without_truth_links(k4run, small_sample, cld_model, tmp_path):
    """A file without truth links (as real data): --truth-links auto (default) finds none and MLPF writes
    MLPFPFOs and MLPFParticleIDs, no MLPFMCTruthLink, as k4mlpf reco does. --truth-links on then stops
    at k4FWCore's missing input; OutputLinks without link inputs stops initialize() with one line."""
    base = tmp_path / "notruth"
    run = k4run("tests/k4run/standin/CLDReconstruction.py", "--inputFiles", small_sample["file"],
                "--outputBasename", base, "-n", "6", "--IOSvc.outputCommands", "keep *", "drop *MCTruthLink")
    assert run.returncode == 0, run.output[-6000:]
    no_truth = tmp_path / "notruth_REC.edm4hep.root"
    ours, theirs = run_both(k4run, "options/runMLPF_CLD.py", no_truth, cld_model, tmp_path)
    assert assert_same_particles(ours, theirs, truth_links=False) > 6 * 40
    assert all(e["links"] is None for e in read_particles(ours) + read_particles(theirs))
    run = k4run("options/runMLPF_CLD.py", "--inputFiles", no_truth, "--outputFile", tmp_path / "on.root",
                "--model", cld_model, "--truth-links", "on")
    assert run.returncode != 0 and "Cannot retrieve 'SiTracksMCTruthLink'" in run.output
    run = k4run("options/runMLPF_CLD.py", "--inputFiles", no_truth, "--outputFile", tmp_path / "bad.root",
                "--model", cld_model, "--truth-links", "off", "--MLPF.OutputLinks", "MLPFMCTruthLink")
    assert run.returncode != 0
    assert "OutputLinks is set but InputTrackLinks and InputClusterLinks are empty" in run.output


def test_k4run_pt2_model_equals_pt_and_reco(k4run, podio_dump, small_sample, tiny_pt, tiny_pt2, tmp_path):
    """--model with the .pt2 package of a model (AOTInductor, compiled once per session) writes, to float
    tolerance, what k4mlpf reco writes with it and what k4run writes with the model's TorchScript file.
    The folder the package was unpacked into (under TMPDIR) is gone after the job."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    ours, theirs = run_both(k4run, "options/runMLPF_CLD.py", small_sample["file"], tiny_pt2, tmp_path,
                            env={"TMPDIR": tmp})
    assert list(tmp.glob("aotinductor_*")) == []
    assert assert_same_particles(ours, theirs) > 24 * 10
    from_pt = tmp_path / "k4run_pt.edm4hep.root"
    run = k4run("options/runMLPF_CLD.py", "--inputFiles", small_sample["file"], "--outputFile", from_pt,
                "--model", tiny_pt)
    assert run.returncode == 0, run.output[-6000:]
    assert assert_same_particles(ours, from_pt) > 24 * 10
    assert "MLPFParticleIDs" in podio_dump(ours)


def test_k4run_model_of_another_detector_stops_initialize(k4run, clic_model, tmp_path):
    fixture = fixture_path("cld_like_rec_podio107.edm4hep.root")
    run = k4run("options/runMLPF_CLD.py", "--inputFiles", fixture, "--outputFile", tmp_path / "o.root",
                "--model", clic_model)
    assert run.returncode != 0
    assert "trained for CLIC_o3_v14 (CLIC family), but Detector is 'CLD_o2_v05' (CLD family)" in run.output
    assert "AllowDetectorMismatch" in run.output
    run = k4run("options/runMLPF_CLD.py", "--inputFiles", fixture, "--outputFile", tmp_path / "o.root",
                "--model", clic_model, "--allow-detector-mismatch")
    assert run.returncode == 0, run.output[-4000:]
    assert "running it anyway" in run.output
    # the CLIC options with the (default, CLD) model of the CLD options: same stop, the other way round
    run = k4run("options/runMLPF_CLIC.py", "--inputFiles", fixture, "--outputFile", tmp_path / "o.root",
                "--model", "models/mlpf_cld_small.pt")
    assert run.returncode != 0 and "(CLD family), but Detector is 'CLIC_o3_v14'" in run.output
    run = k4run("options/runMLPF_CLIC.py", "--inputFiles", fixture, "--outputFile", tmp_path / "o.root")
    assert run.returncode != 0 and "no ModelPath: give the exported MLPF model" in run.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is available here")
def test_k4run_cuda_without_gpu_is_a_clear_error(k4run, tmp_path):
    run = k4run("options/runMLPF_CLD.py", "--inputFiles", fixture_path("cld_like_rec_podio107.edm4hep.root"),
                "--outputFile", tmp_path / "o.root", "--device", "cuda")
    assert run.returncode != 0
    assert "device 'cuda' requested but no CUDA device is available" in run.output


def test_k4run_appended_to_a_cld_reconstruction_chain(k4run, small_sample, cld_model, tmp_path):
    """The README's example: options/examples/CLDReconstruction_MLPF.py runs a chain options file (here a
    stand-in of CLDReconstruction_iosvc.py's shape that reads a REC file) and appends MLPF to it."""
    alone = tmp_path / "alone.edm4hep.root"
    assert k4run("options/runMLPF_CLD.py", "--inputFiles", small_sample["file"], "--outputFile", alone,
                 "--model", cld_model).returncode == 0
    run = k4run("options/examples/CLDReconstruction_MLPF.py", "--cld-reconstruction",
                "tests/k4run/standin/CLDReconstruction.py", "--inputFiles", small_sample["file"],
                "--outputBasename", tmp_path / "chain", "--model", cld_model, "-n", "24")
    assert run.returncode == 0, run.output[-6000:]
    assert "--> StandInReconstruction --> MLPF" in run.output
    assert assert_same_particles(tmp_path / "chain_REC.edm4hep.root", alone) > 24 * 40


def test_k4run_hits_made_in_the_job(k4run, small_sample, cld_model, tmp_path):
    """Clusters and hits copied in the job (no collection IDs yet, as after a chain's digitisation):
    with their names in HitCollections MLPF gives the particles of the file's own collections;
    without, it warns that it cannot name them."""
    hits = [f"Copied{h}" for h in ("ECALBarrel", "ECALEndcap", "HCALBarrel", "HCALEndcap", "HCALOther", "MUON")]
    alone, copied, unnamed = (tmp_path / f"{n}.edm4hep.root" for n in ("alone", "copied", "unnamed"))
    assert k4run("options/runMLPF_CLD.py", "--inputFiles", small_sample["file"], "--outputFile", alone,
                 "--model", cld_model).returncode == 0
    run = k4run("tests/k4run/in_job_hits.py", "--inputFiles", small_sample["file"], "--outputFile", copied,
                "--model", cld_model, "--hit-collections", *hits)
    assert run.returncode == 0, run.output[-6000:]
    assert "without a name" not in run.output
    # (truth links not compared: ClusterMCTruthLink starts from PandoraClusters, not from the copies)
    assert assert_same_particles(copied, alone, rtol=0, atol=0, rename={"CopiedClusters": "PandoraClusters"},
                                 truth_links=False) > 0
    run = k4run("tests/k4run/in_job_hits.py", "--inputFiles", small_sample["file"], "--outputFile", unnamed,
                "--model", cld_model)
    assert run.returncode == 0, run.output[-6000:]
    assert "cluster hits of a collection without a name" in run.output and "HitCollections" in run.output


def test_k4run_multithreaded_equals_single_threaded(k4run, small_sample, cld_model, tmp_path):
    """Two threads and two event slots (HiveWhiteBoard + AvalancheScheduler). k4FWCore's
    ApplicationMgr would peek into the input with podio's Python bindings (which do not load in the
    prebuilt stack) unless it is told the collections and the number of events: -n and --collections."""
    from k4mlpf.edm4hep import EDM4hepFile

    with EDM4hepFile(small_sample["file"]) as f:
        collections = list(f.collections())
        n_events = f.num_entries()
    single, multi = tmp_path / "st.edm4hep.root", tmp_path / "mt.edm4hep.root"
    assert k4run("options/runMLPF_CLD.py", "--inputFiles", small_sample["file"], "--outputFile", single,
                 "--model", cld_model).returncode == 0
    run = k4run("options/runMLPF_CLD.py", "--inputFiles", small_sample["file"], "--outputFile", multi,
                "--model", cld_model, "--threads", "2", "-n", str(n_events), "--collections", *collections)
    assert run.returncode == 0, run.output[-6000:]
    assert "AvalancheSchedulerSvc" in run.output or "PrecedenceSvc" in run.output
    # events may be written out of order: compared by EventHeader's event number
    assert assert_same_particles(multi, single, rtol=0, atol=0) > n_events * 40
