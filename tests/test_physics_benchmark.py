"""benchmarks/physics.py's verdict on issue #11's targets, from hand-made tables (no simulation)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "physics.py"


@pytest.fixture(scope="module")
def physics():
    spec = importlib.util.spec_from_file_location("physics_benchmark", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def process(jet_ratio, met_ratio, medians):
    bins = [{"pt_min": lo, "pt_max": hi, "n": n, "median": m} for (lo, hi, n, m) in medians]
    return {"jet_ratio": jet_ratio, "jet_ratio_error": 0.02, "met_ratio": met_ratio, "met_ratio_error": 0.05,
            "jets_per_pt": {"MLPF": bins}}


def gun_row(lo, hi, **mlpf):
    base = {"efficiency": 1.0, "response": 1.0, "resolution": 0.05, "event_energy_ratio": 1.0, "leading_as": {}}
    return {"energy_min": lo, "energy_max": hi, "events": 100, "MLPF": base | mlpf,
            "baseline": base | {"resolution": 0.04}, "oracle": base}


def verdicts(physics, processes, guns):
    return {what: ok for what, ok, _ in physics.target_checks(processes, guns)}


def test_process_targets(physics):
    v = verdicts(physics, {
        "good": process(0.70, 0.75, [(5, 10, 50, 1.00), (80, 200, 40, 0.985)]),
        "bad": process(0.81, 0.70, [(5, 10, 50, 1.00), (80, 200, 40, 0.95), (200, 400, 3, 0.5)]),
    }, {})
    assert v["good jets MLPF/baseline <= 0.8"] and v["good MET MLPF/baseline <= 0.8"]
    assert v["good jet median in 0.98-1.02 per truth-pt bin"]
    assert not v["bad jets MLPF/baseline <= 0.8"] and v["bad MET MLPF/baseline <= 0.8"]
    assert not v["bad jet median in 0.98-1.02 per truth-pt bin"]   # 0.95 in a bin of 40 jets


def test_a_sparse_bin_is_not_judged(physics):
    v = verdicts(physics, {"x": process(0.5, 0.5, [(5, 10, 50, 1.0), (200, 400, 9, 0.5)])}, {})
    assert v["x jet median in 0.98-1.02 per truth-pt bin"]


def test_single_particle_targets(physics):
    guns = {
        22: [gun_row(1, 5, response=1.2, resolution=0.5), gun_row(5, 20, response=1.02, resolution=0.03)],
        130: [gun_row(5, 20, response=1.25)],
        211: [gun_row(5, 20, event_energy_ratio=1.0, leading_as={"muon": 0.02}),
              gun_row(50, 100, event_energy_ratio=1.3, leading_as={"muon": 0.06})],
        11: [gun_row(1, 5, efficiency=0.3), gun_row(5, 20, efficiency=0.96)],
        13: [gun_row(5, 20, efficiency=0.90)],
    }
    v = verdicts(physics, {}, guns)
    # the 1-5 GeV bin is shown but not judged: the target starts at 2 GeV and above 5 GeV all is well
    assert v["photon response in 0.97-1.03 (5-100 GeV; 1-5 shown)"]
    assert v["photon IQR/median <= baseline's (5-100 GeV; MLPF/baseline within its error)"]
    assert not v["K0L response in 0.97-1.03 (5-100 GeV; 1-5 shown)"]
    assert not v["pi+ event energy / truth in 0.97-1.03 (no double counting)"]
    assert not v["pions called muons <= 5% (5-100 GeV)"]
    assert v["e- efficiency >= 0.95 (5-100 GeV)"] and not v["mu- efficiency >= 0.95 (5-100 GeV)"]


def test_photon_resolution_judged_by_the_paired_ratio_and_its_error(physics):
    within = gun_row(20, 50, resolution=0.042) | {"resolution_ratio": 1.05, "resolution_ratio_error": 0.06}
    worse = gun_row(20, 50, resolution=0.08) | {"resolution_ratio": 2.0, "resolution_ratio_error": 0.1}
    key = "photon IQR/median <= baseline's (5-100 GeV; MLPF/baseline within its error)"
    assert verdicts(physics, {}, {22: [within]})[key]
    assert not verdicts(physics, {}, {22: [worse]})[key]


def test_markdown_has_every_row_and_the_verdicts(physics):
    processes = {"qq91.2": process(0.5, 0.9, [(5, 10, 50, 1.0)]) | {
        "events": 10, "jets": {k: {"iqr_over_median": 0.1} for k in ("MLPF", "baseline", "Oracle")},
        "met_delta_iqr_gev": {"MLPF": 3.0, "baseline": 3.2, "Oracle": 1.4}, "gap_closed": {"jets": 0.5, "met": 0.1}}}
    guns = {13: [gun_row(5, 20, efficiency=0.9)]}
    text = physics.markdown(processes, guns, physics.target_checks(processes, guns))
    assert "| qq91.2 | 10 | 0.100 / 0.100 / 0.100 | 0.50 ± 0.02 |" in text
    assert "| mu- | 5–20 | 100 | 0.90 / 1.00 / 1.00 |" in text
    assert "**not met**: qq91.2 MET MLPF/baseline <= 0.8: 0.90±0.05" in text
