import json
import math

import numpy as np
import pytest

from fastsim.__main__ import main
from fastsim.pipeline import RunConfig, run
from fastsim.tracking import OMEGA_GEV_PER_MM_T
from fastsim.validate import sigma68

pytest.importorskip("matplotlib")
pytest.importorskip("mplhep")
pytest.importorskip("fastjet")


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """A 20-event CLD ttbar file and a 200-event photon gun, validated together."""
    tmp = tmp_path_factory.mktemp("validate")
    ttbar, gun = tmp / "ttbar.edm4hep.root", tmp / "gun22.edm4hep.root"
    run(RunConfig(detector="CLD", process="ttbar", n_events=20, seed=4, chunk_size=10), str(ttbar), progress=False)
    run(RunConfig(detector="CLD", process="gun", n_events=200, seed=4, chunk_size=100, gun_pdg=22,
                  gun_energy=(5.0, 50.0)), str(gun), progress=False)
    out = tmp / "plots"
    import contextlib
    import io

    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        assert main(["validate", str(ttbar), str(gun), "--output-dir", str(out)]) == 0
    assert f"summary.json of 2 file(s) to {out}" in said.getvalue()  # says what it wrote
    return out, json.loads((out / "summary.json").read_text())


def test_plots_written(validated):
    out, summary = validated
    expected = {"track_pt_resolution.png", "multiplicities.png", "jet_response.png", "calo_response_22.png"}
    assert set(summary["plots"]) == expected
    for name in expected:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_numbers_are_finite(validated):
    _, summary = validated
    ttbar, gun = summary["files"]
    assert ttbar["detector"] == "CLD_o2_v05" and ttbar["bfield_tesla"] == 2.0 and ttbar["events"] == 20
    assert all(math.isfinite(v) and v > 0 for v in ttbar["multiplicity"].values())
    sigmas = [b["sigma"] for b in ttbar["track_pt_resolution"] if b["n"] >= 20]
    assert sigmas and all(math.isfinite(s) and 0 < s < 0.05 for s in sigmas)
    jets = ttbar["jets"]["response"]
    assert jets["n"] > 0 and 0.8 < jets["median"] < 1.2 and math.isfinite(jets["resolution"])
    calo = gun["calo_response"]
    assert gun["gun_pdg"] == 22 and 0.95 < calo["response"] < 1.05 and 0 < calo["resolution"] < 0.1


def test_missing_file_is_one_error_line(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.root"), "--output-dir", str(tmp_path / "plots")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastsim validate: error: no such file") and len(err.splitlines()) == 1
    assert not (tmp_path / "plots").exists()


@pytest.mark.parametrize("values, expected", [
    (np.random.default_rng(1).normal(0, 2.0, 100_000), 2.0),
    (np.arange(5.0), float("nan")),                     # too few entries
], ids=["gaussian", "too-few"])
def test_sigma68(values, expected):
    assert sigma68(values) == pytest.approx(expected, rel=0.02, nan_ok=True)


def test_pt_constant_is_the_models():
    """One constant: the simulation's curvature constant is the model's (k4mlpf.physics.C_LIGHT)."""
    import k4mlpf.physics
    from k4mlpf.model import features

    assert OMEGA_GEV_PER_MM_T is k4mlpf.physics.C_LIGHT and features.C_LIGHT is k4mlpf.physics.C_LIGHT
