"""``python_trainer study``: the data-efficiency arithmetic by hand, and the whole chain on a tiny
configuration through the command line, interrupted and resumed."""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil

import numpy as np
import pytest

from support import REPO
from python_trainer.study import crossing, efficiency_factor, training_indices


def test_crossing_interpolates_in_log_n():
    sizes = np.array([100.0, 1000.0])
    n, kind = crossing(sizes, np.array([2.0, 1.0]), 1.5)   # halfway in log N: sqrt(100 * 1000)
    assert kind == "inside" and n == pytest.approx(math.sqrt(1e5))
    assert crossing(sizes, np.array([2.0, 1.0]), 2.5) == (100.0, "below")
    assert crossing(sizes, np.array([2.0, 1.0]), 0.5) == (1000.0, "above")


def _records(strategy, values, seed=1):
    return [{"strategy": strategy, "train_events": n, "seed": seed, "val_loss": v, "card": "CLD"}
            for n, v in values.items()]


def test_efficiency_factor_by_hand():
    # scratch falls by 1 per decade; fine-tuning at N=100 is where scratch is at N=1000: factor 10
    scratch = _records("scratch", {100: 3.0, 1000: 2.0, 10000: 1.0})
    finetune = _records("finetune", {100: 2.0, 1000: 1.5})
    out = efficiency_factor(scratch + finetune, "val_loss")
    # N=100 -> 1000 (factor 10); N=1000 -> 10^3.5 (factor sqrt(10)); geometric mean 10^0.75
    assert [r["kind"] for r in out["per_size"]] == ["inside", "inside"]
    assert out["factor"] == pytest.approx(10 ** 0.75)
    assert out["uncertainty"] is None                                   # one seed: no spread
    two_seeds = scratch + finetune + _records("scratch", {100: 3.0, 1000: 2.0, 10000: 1.0}, seed=2) \
        + _records("finetune", {100: 1.0, 1000: 1.0}, seed=2)          # seed 2: factors 100 and 10
    out = efficiency_factor(two_seeds, "val_loss")
    per_seed = [10 ** 0.75, 10 ** 1.5]
    assert out["per_seed"] == pytest.approx(per_seed)
    assert out["uncertainty"] == pytest.approx(np.std(per_seed, ddof=1) / math.sqrt(2))


def test_efficiency_factor_bounds_when_curves_do_not_cross():
    scratch = _records("scratch", {100: 3.0, 1000: 2.5})
    out = efficiency_factor(scratch + _records("finetune", {100: 1.0}), "val_loss")
    assert out["factor"] is None and out["bound"].startswith("> 10 (scratch with 1000 events")   # scratch never gets there
    out = efficiency_factor(scratch + _records("finetune", {100: 3.5}), "val_loss")
    assert out["factor"] is None and out["bound"].startswith("<= 1")   # fine-tuning does not help


def test_training_indices_are_nested_and_fill_an_epoch():
    small, large = training_indices(1000, 50, 1, 200), training_indices(1000, 400, 1, 200)
    assert len(small) == 200 and len(np.unique(small)) == 50            # 50 events, 4 times
    assert set(np.unique(small)) <= set(large)                          # N=50 is inside N=400
    assert len(large) == 400
    assert set(training_indices(1000, 50, 2, 200)) != set(small)        # another seed, other events
    with pytest.raises(ValueError, match="only 1000"):
        training_indices(1000, 2000, 1, 200)


def _study(*args):
    from python_trainer.cli import main

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["study", *args]) == 0
    return stdout.getvalue()


def test_study_chain_resumes(tmp_path):
    variant = REPO / "detectors" / "variants" / "CLD_3T.yaml"
    args = ["--output", str(tmp_path / "study"), "--backbone", "pretrain", "--backbone-events", "24",
            "--backbone-epochs", "1", "--sizes", "8,16", "--seeds", "1", "--variants", str(variant),
            "--variant-events", "8", "--val-events", "8", "--test-events", "8", "--max-steps", "2",
            "--epoch-events", "8", "--batch-size", "4", "--quiet"]
    first = _study(*args)
    study = json.loads((tmp_path / "study" / "study.json").read_text())
    points = study["points"]
    assert sorted((p["strategy"], p["train_events"]) for p in points) == [
        ("finetune", 8), ("finetune", 16), ("scratch", 8), ("scratch", 16)]
    for p in points:
        assert p["steps"] <= 2 and math.isfinite(p["val_loss"]) and p["test_events"] == 8
        assert set(p["particles"]) == {"charged_hadron", "neutral_hadron", "photon", "electron", "muon"}
    assert "criterion" in study["data_efficiency"]
    names = [v["name"] for v in study["variants"]]
    assert names == ["CLD", "CLD_3T"]
    assert study["variants"][1]["changed"] == ["bfield_tesla: 2.0 -> 3.0"]
    assert {"finetune", "scratch", "baseline"} <= set(study["variants"][1])
    for plot in ("study_vs_size.png", "efficiency_vs_size.png", "variants.png"):
        assert (tmp_path / "study" / plot).read_bytes()[:4] == b"\x89PNG"
    assert "data-efficiency factor (validation loss)" in first and "CLD_3T: bfield_tesla" in first
    runs = sorted((tmp_path / "study" / "runs").glob("*/*"))
    assert len(runs) == 6 and all((r / "log.csv").exists() for r in runs)

    # interrupted after the training, before the evaluation: only that point runs again, from last.pt
    redo = next(r for r in runs if r.name == "scratch_n16_s1")
    (redo / "result.json").unlink()
    shutil.rmtree(redo / "eval")
    before = {r.name: (r / "result.json").stat().st_mtime_ns for r in runs if r != redo}
    _study(*args)
    assert {r.name: (r / "result.json").stat().st_mtime_ns for r in runs if r != redo} == before
    again = json.loads((tmp_path / "study" / "study.json").read_text())
    redone = [p for p in again["points"] if p["strategy"] == "scratch" and p["train_events"] == 16]
    old = [p for p in points if p["strategy"] == "scratch" and p["train_events"] == 16]
    assert redone[0]["val_loss"] == pytest.approx(old[0]["val_loss"], rel=1e-6)   # resumed, not retrained


def test_study_refuses_a_bad_variant_card_at_once(tmp_path, capsys):
    from python_trainer.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("base: CLD_o2_v05\nname: bad\necal:\n  cell_size_mm: -5\n")
    assert main(["study", "--output", str(tmp_path / "s"), "--variants", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml" in err[0] and "cell_size_mm" in err[0]
    assert not (tmp_path / "s").exists()
