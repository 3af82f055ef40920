"""The trainer on the real CLD full-simulation event: prepare finds PandoraPFOs and the real hit
collections, evaluate runs the shipped model, and its Pandora jets are compare's."""

from __future__ import annotations

import numpy as np
import pytest

from support import REPO, fixture_path
from k4mlpf.compare import compare
from python_trainer.data import EventSet
from python_trainer.evaluate import evaluate
from python_trainer.prepare import PrepareOptions, prepare


def test_prepare_and_evaluate_the_real_event(tmp_path):
    source = str(fixture_path("real/cld_o2_v05_hbb240_rec.edm4hep.root"))
    report: list = []
    shards = prepare([source], str(tmp_path / "shards"), PrepareOptions(), progress=False, report=report)
    assert report[0][2:] == (1, True, "PandoraPFOs")
    events = EventSet.load(shards)
    assert events.detector == "CLD_o2_v05" and events.b_field == 2.0
    targets = events.arrays["targets"]
    assert (targets[:, 0] == 1).sum() >= 10 and (targets[:, 0] == 3).sum() >= 5   # charged hadrons, photons
    assert np.isfinite(events.arrays["hits"]).all() and len(events.arrays["hits"]) > 1000
    result = evaluate(REPO / "models" / "mlpf_cld_small.pt", events, tmp_path / "eval", pf_name="PandoraPFOs",
                      plots=False, progress=False)
    pandora = compare(source, ["PandoraPFOs"])["jets"]["PandoraPFOs"]["response"]
    assert result["jets"]["PandoraPFOs"]["response"]["median"] == pytest.approx(pandora["median"], rel=1e-5)
    assert result["jets"]["MLPF"]["response"]["n"] > 0
