"""generate -> prepare -> train a few steps -> export -> reco -> compare, through the command lines."""

from __future__ import annotations

import json
import subprocess
import sys

from support import REPO
from k4mlpf.edm4hep import EDM4hepFile


def _run(*args):
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_chain(small_sample, tmp_path):
    shards = small_sample["shards"]
    _run("-m", "python_trainer", "pretrain", *shards, "--output", str(tmp_path / "run"), "--model", "tiny",
         "--epochs", "1", "--max-steps", "3", "--batch-size", "4", "--quiet")
    _run("-m", "python_trainer", "export", str(tmp_path / "run" / "last.pt"), "--output", str(tmp_path / "mlpf.pt"))
    _run("-m", "k4mlpf", "reco", str(small_sample["file"]), "--model", str(tmp_path / "mlpf.pt"),
         "--output", str(tmp_path / "reco.edm4hep.root"), "--quiet")
    with EDM4hepFile(tmp_path / "reco.edm4hep.root") as f, EDM4hepFile(small_sample["file"]) as g:
        added = set(f.collections()) - set(g.collections())   # reco adds its particles, IDs and truth links
        assert added == {"MLPFPFOs", "MLPFParticleIDs", "MLPFMCTruthLink"}      # the fast simulation has truth links
        assert set(g.collections()) <= set(f.collections())
        assert f.collections()["MLPFPFOs"].type == "edm4hep::ReconstructedParticleCollection"
        pfos = f.arrays("MLPFPFOs")["MLPFPFOs"]
        assert len(pfos) == 24
    table = _run("-m", "k4mlpf", "compare", str(tmp_path / "reco.edm4hep.root"), "-c", "MLPFPFOs", "BaselinePFOs",
                 "--output", str(tmp_path / "cmp"))
    assert "MLPFPFOs" in table and "BaselinePFOs" in table
    result = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert result["events"] == 24 and result["jets"]["BaselinePFOs"]["n_truth_jets"] > 0
    assert result["plots"] == ["jet_response.png", "jet_resolution_vs_pt.png", "met.png"]
    for name in result["plots"]:
        assert (tmp_path / "cmp" / name).read_bytes()[:4] == b"\x89PNG"
    summary = _run("-m", "python_trainer", "evaluate", str(tmp_path / "mlpf.pt"), *shards, "--output",
                   str(tmp_path / "eval"), "--quiet")
    assert "jet_resolution_ratio_mlpf_over_pf" in summary
    assert (tmp_path / "eval" / "jet_response.png").exists()


def _main(*args):
    """The same command line in this process (no interpreter and torch start-up per call)."""
    import contextlib
    import io

    from python_trainer.cli import main

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(list(args[2:])) == 0
    return stdout.getvalue()


def test_finetune_from_exported_model_and_scan(small_sample, tmp_path):
    shards = small_sample["shards"]
    _main("-m", "python_trainer", "pretrain", *shards, "--output", str(tmp_path / "base"), "--model", "tiny",
         "--epochs", "1", "--max-steps", "2", "--batch-size", "4", "--quiet")
    _main("-m", "python_trainer", "export", str(tmp_path / "base" / "last.pt"), "--output", str(tmp_path / "base.pt"))
    out = _main("-m", "python_trainer", "finetune", *shards, "--from", str(tmp_path / "base.pt"), "--strategy", "heads",
               "--train-events", "12", "--output", str(tmp_path / "ft"), "--epochs", "1", "--max-steps", "2",
               "--batch-size", "4", "--quiet")
    assert json.loads(out)["steps"] == 2
    _main("-m", "python_trainer", "scan", *shards, "--output", str(tmp_path / "scan"), "--model", "tiny",
         "--epochs", "1", "--max-steps", "1", "--batch-size", "4", "--set", "lr=1e-3,3e-3", "--quiet")
    table = json.loads((tmp_path / "scan" / "scan.json").read_text())
    assert [row["lr"] for row in table] == [1e-3, 3e-3] and all(row["best_val_loss"] > 0 for row in table)
