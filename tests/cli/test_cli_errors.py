"""A newcomer's mistakes: each gives one line naming the file or flag, exit 2, no traceback, nothing left
behind; defaults that fit the project's own files; signals clean up; an input is never overwritten."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from support import REPO, TINY

from k4mlpf.cli import main as k4mlpf_main
from fastsim.__main__ import main as fastsim_main
from python_trainer.cli import main as trainer_main


def run_main(main, argv, capsys):
    """(exit code, stdout, stderr) of an in-process command line; SystemExit (argparse) counts too."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def clic_model(tmp_path_factory):
    """A (tiny, untrained) model exported for CLICdet at 4 T."""
    from k4mlpf.model import MLPF, MLPFAlgorithm, save_algorithm

    path = tmp_path_factory.mktemp("clic") / "mlpf_clic_tiny.pt"
    return save_algorithm(MLPFAlgorithm(MLPF(TINY, b_field=4.0), detector="CLIC_o3_v14"), path)


# --- reco ---------------------------------------------------------------------------------------


def test_reco_defaults_to_the_shipped_model_of_the_files_detector(small_sample, tmp_path, capsys):
    out = tmp_path / "reco.edm4hep.root"
    code, stdout, err = run_main(k4mlpf_main, ["reco", str(small_sample["file"]), "-o", str(out), "-q"], capsys)
    assert code == 0 and "model: mlpf_cld_small.pt (shipped for CLD_o2_v05, 2 T" in err
    assert out.exists() and "wrote 24 events" in stdout
    code, stdout, err = run_main(k4mlpf_main, ["compare", str(out)], capsys)
    assert code == 0 and "comparing MLPFPFOs, BaselinePFOs" in err
    assert "MLPFPFOs" in stdout and "BaselinePFOs" in stdout


def test_reco_refuses_a_model_for_another_detector(small_sample, clic_model, tmp_path, capsys):
    out = tmp_path / "reco.edm4hep.root"
    argv = ["reco", str(small_sample["file"]), "-o", str(out), "--model", str(clic_model), "-q"]
    code, _, err = run_main(k4mlpf_main, argv, capsys)
    line = one_line_error(err)
    assert code == 2 and "CLIC_o3_v14 (4 T)" in line and "CLD_o2_v05, 2 T" in line and "--allow-detector-mismatch" in line
    assert files_in(tmp_path) == []
    code, _, err = run_main(k4mlpf_main, argv + ["--allow-detector-mismatch"], capsys)
    assert code == 0 and "warning: the model is for CLIC_o3_v14" in err and out.exists()


def test_reco_never_overwrites_its_input(small_sample, tmp_path, capsys):
    source = tmp_path / "in.edm4hep.root"
    shutil.copy(small_sample["file"], source)
    before = (source.stat().st_size, source.stat().st_mtime_ns)
    (tmp_path / "sub").mkdir()
    for output in (source, tmp_path / "sub" / ".." / "in.edm4hep.root"):
        code, _, err = run_main(k4mlpf_main, ["reco", str(source), "-o", str(output), "-q"], capsys)
        assert code == 2 and "is the input file" in one_line_error(err)
    link = tmp_path / "link.edm4hep.root"
    link.symlink_to(source)
    code, _, err = run_main(k4mlpf_main, ["reco", str(source), "-o", str(link), "-q"], capsys)
    assert code == 2 and "is the input file" in one_line_error(err)
    assert (source.stat().st_size, source.stat().st_mtime_ns) == before


@pytest.mark.parametrize("case", ["corrupt-model", "not-a-model", "missing-model", "cuda", "batch-size-0",
                                  "missing-folder", "unwritable-folder", "sim-file"])
@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")  # the test scripts a foreign module itself
def test_reco_bad_input_is_one_line(case, small_sample, tmp_path, capsys):
    import torch

    source, out = str(small_sample["file"]), tmp_path / "out.edm4hep.root"
    argv = ["reco", source, "-o", str(out), "-q"]
    expected = {"corrupt-model": "is not a readable MLPF model file", "not-a-model": "but not an MLPF model",
                "missing-model": "no MLPF model file", "cuda": "--device cuda: no CUDA GPU",
                "batch-size-0": "--batch-size: expected a positive integer", "missing-folder": "does not exist",
                "unwritable-folder": "is not writable", "sim-file": "simulation (SIM) file without reconstruction"}
    if case == "corrupt-model":
        model = tmp_path / "corrupt.pt"
        model.write_bytes((REPO / "models" / "mlpf_cld_small.pt").read_bytes()[:100_000])
        argv += ["--model", str(model)]
    elif case == "not-a-model":
        model = tmp_path / "other.pt"
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(model))
        argv += ["--model", str(model)]
    elif case == "missing-model":
        argv += ["--model", str(tmp_path / "nope.pt")]
    elif case == "cuda":
        if torch.cuda.is_available():
            pytest.skip("a GPU is visible: --device cuda is valid here")
        argv += ["--device", "cuda"]
    elif case == "batch-size-0":
        argv += ["--batch-size", "0"]
    elif case == "missing-folder":
        argv[3] = str(tmp_path / "no" / "such" / "out.root")
    elif case == "unwritable-folder":
        argv[3] = "/proc/self/out.edm4hep.root"  # not writable, even for root
    elif case == "sim-file":
        from support import fixture_path

        argv[1] = str(fixture_path("real/ddsim_sample.edm4hep.root"))
    code, _, err = run_main(k4mlpf_main, argv, capsys)
    assert code == 2
    assert expected[case] in (err if case == "batch-size-0" else one_line_error(err))
    assert files_in(tmp_path) == [p for p in files_in(tmp_path) if p.endswith(".pt")]  # no output, no temp file


def test_reco_skips_non_finite_elements_with_one_warning(small_sample, tmp_path, monkeypatch, capsys):
    """A NaN omega and an infinite cluster energy: those two elements are skipped, one warning names
    them (collection, event, index), and the written particles are all finite."""
    import k4mlpf.reco as reco
    from k4mlpf.edm4hep import EDM4hepFile

    original = reco.pack_elements

    def poisoned(*args, **kwargs):
        elements = original(*args, **kwargs)
        elements.tracks[1, 2] = np.nan                            # event 0, track 1: omega
        first_cluster_of_event_2 = elements.cluster_counts[:2].sum()
        elements.clusters[first_cluster_of_event_2 + 3, 0] = np.inf  # event 2, cluster 3: energy
        return elements

    monkeypatch.setattr(reco, "pack_elements", poisoned)
    out = tmp_path / "reco.edm4hep.root"
    code, _, err = run_main(k4mlpf_main, ["reco", str(small_sample["file"]), "-o", str(out), "-q"], capsys)
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: 2 element(s) with non-finite members were skipped: SiTracks_Refitted event 0 "
                        "index 1, PandoraClusters event 2 index 3"]
    with EDM4hepFile(out) as f:
        pfos = f.arrays(["MLPFPFOs"])["MLPFPFOs"]
    import awkward as ak

    for column in (pfos.energy, pfos.momentum.x, pfos.momentum.y, pfos.momentum.z, pfos.mass, pfos.charge):
        assert np.isfinite(ak.to_numpy(ak.flatten(column))).all()
    track_index = ak.to_numpy(ak.flatten(pfos[0].tracks.index))  # event 0: the tracks its particles came from
    assert len(track_index) and 0 in track_index and 1 not in track_index


# --- fastsim ------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, message", [
    (["--process", "ttbar", "--ecm", "200"], "ttbar is not produced below 345.0 GeV"),
    (["--process", "zh", "--ecm", "150"], "zh is not produced below 216.4 GeV"),
    (["--output", "/proc/self/x.root"], "is not writable"),
    (["--output", "no/such/folder/x.root"], "does not exist"),
], ids=["ttbar-200", "zh-150", "unwritable", "missing-folder"])
def test_generate_refuses_before_simulating(argv, message, tmp_path, capsys):
    argv = ["generate", "--output", str(tmp_path / "x.root"), *argv, "--quiet"]
    start = time.perf_counter()
    code, _, err = run_main(fastsim_main, argv, capsys)
    assert code == 2 and message in one_line_error(err)
    assert time.perf_counter() - start < 30  # said before Pythia starts (not a timing threshold: a hang guard)
    assert files_in(tmp_path) == []


def test_generate_argument_errors_show_the_subcommand_usage(capsys):
    code, _, err = run_main(fastsim_main, ["generate", "--output", "x.root", "--energy", "-1"], capsys)
    assert code == 2 and "usage: fastsim generate" in err


# --- trainer ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "not-root", "truncated"])
def test_prepare_bad_file_is_one_line_and_leaves_no_folder(kind, small_sample, tmp_path, capsys):
    bad = tmp_path / "bad.edm4hep.root"
    if kind == "not-root":
        bad.write_text("not a ROOT file\n")
    elif kind == "truncated":
        bad.write_bytes(Path(small_sample["file"]).read_bytes()[:50_000])
    out = tmp_path / "shards"
    code, _, err = run_main(trainer_main, ["prepare", str(bad), "-o", str(out), "--quiet"], capsys)
    assert code == 2 and "bad.edm4hep.root" in one_line_error(err)
    assert not out.exists()


def test_prepare_finds_the_reference_pf_collection(small_sample, tmp_path, capsys):
    code, out, _ = run_main(trainer_main, ["prepare", str(small_sample["file"]), "-o", str(tmp_path / "s"),
                                           "--quiet"], capsys)
    assert code == 0 and "24 events, PF collection BaselinePFOs" in out


def test_help_texts_show_defaults_and_every_option(capsys):
    import argparse

    from fastsim.__main__ import main_parser
    from k4mlpf.cli import build_parser as k4mlpf_parser
    from python_trainer.cli import build_parser as trainer_parser

    for parser in (k4mlpf_parser(), main_parser(), trainer_parser()):
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
        for name, sub in commands.items():
            for action in sub._actions:
                assert action.help, f"{parser.prog} {name} {action.option_strings or action.dest}: no help"
    code, out, _ = run_main(k4mlpf_main, ["reco", "--help"], capsys)
    out = " ".join(out.split())
    assert code == 0 and "(default: 32)" in out and "(default: SiTracks_Refitted)" in out
    code, out, _ = run_main(trainer_main, ["pretrain", "--help"], capsys)
    assert code == 0 and "tiny | small | paper" in out
    code, out, _ = run_main(trainer_main, ["scan", "--help"], capsys)
    assert "KEY=V1,V2,..." in out
    code, _, err = run_main(trainer_main, ["scan", "shards", "-o", "x"], capsys)
    assert code == 2 and "at least one --set" in one_line_error(err)


# --- signals: a batch system's SIGTERM and Ctrl-C -------------------------------------------------


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH",)}
    env["PYTHONPATH"] = str(REPO)
    return env


def _interrupt_when_writing(argv, folder: Path, signum: int, timeout: float = 240.0):
    """Start ``argv``, wait until its temporary output exists (the writer is open), send ``signum``."""
    proc = subprocess.Popen(argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_clean_env())
    deadline = time.monotonic() + timeout
    while not any(p.name.endswith(".tmp") for p in folder.iterdir()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"no temporary output appeared (rc {proc.returncode}): {err[-2000:]}")
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.fixture(scope="module")
def longer_sample(tmp_path_factory):
    """200 events: enough that reco at batch size 1 is still running when the signal comes."""
    from fastsim.pipeline import RunConfig, run

    path = tmp_path_factory.mktemp("longer") / "cld_ttbar_200.edm4hep.root"
    run(RunConfig(detector="CLD", process="ttbar", n_events=200, seed=8, chunk_size=50), str(path), jobs=1,
        progress=False)
    return path


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_signals_leave_nothing_behind(signum, code, longer_sample, tmp_path):
    generate = [sys.executable, "-m", "fastsim", "generate", "--events", "3000", "--jobs", "2", "--chunk-size", "20",
                "--output", "gen.edm4hep.root", "--quiet"]
    rc, err = _interrupt_when_writing(generate, tmp_path, signum)
    assert rc == code and "Traceback" not in err and "BrokenPipeError" not in err, err
    assert files_in(tmp_path) == []
    reco = [sys.executable, "-m", "k4mlpf", "reco", str(longer_sample), "-o", "reco.edm4hep.root",
            "--batch-size", "1", "-q"]
    rc, err = _interrupt_when_writing(reco, tmp_path, signum)
    assert rc == code and "Traceback" not in err, err
    assert files_in(tmp_path) == []
