"""One PF view: `python_trainer evaluate` (on prepared shards) and `k4mlpf compare` (on the file) give
the reference PF collection the same jets and MET."""

from __future__ import annotations

import pytest

from support import TINY
from k4mlpf.compare import compare
from k4mlpf.model import MLPF, MLPFAlgorithm, save_algorithm
from python_trainer.data import EventSet
from python_trainer.evaluate import evaluate


def test_evaluate_and_compare_see_the_same_pf_jets(small_sample, tmp_path):
    model = save_algorithm(MLPFAlgorithm(MLPF(TINY, b_field=2.0), detector="CLD_o2_v05"), tmp_path / "m.pt")
    events = EventSet.load(small_sample["shards"])
    result = evaluate(model, events, tmp_path / "eval", pf_name="BaselinePFOs", plots=False, progress=False)
    from_file = compare(small_sample["file"], ["BaselinePFOs"])
    ours, theirs = result["jets"]["BaselinePFOs"], from_file["jets"]["BaselinePFOs"]
    assert ours["n_truth_jets"] == theirs["n_truth_jets"] and ours["efficiency"] == theirs["efficiency"]
    # the same PF particles; the shard keeps truth four-momenta in float32, the file's MCParticles are
    # double: responses agree to float32 rounding
    for key in ("median", "resolution"):
        assert ours["response"][key] == pytest.approx(theirs["response"][key], rel=1e-5)
    assert result["met"]["BaselinePFOs"]["delta"]["iqr"] == pytest.approx(
        from_file["met"]["BaselinePFOs"]["delta"]["iqr"], rel=1e-5)


def test_the_whole_pf_collection_is_kept_where_elements_are_shared():
    """On the fast simulation every PFO has an element of its own, so the two views coincide above.
    Pandora's do not always: two PFOs on one cluster, one on none. The element view keeps one of them,
    the whole collection (what evaluate now uses for jets and MET, as compare does) all three."""
    import awkward as ak
    import numpy as np

    from python_trainer.prepare import whole_collection
    from python_trainer.targets import pf_candidates

    ref = lambda i, cid: [{"index": i, "collectionID": cid}]  # noqa: E731
    pfos = ak.Array([[
        {"PDG": 22, "charge": 0.0, "energy": 5.0, "momentum": {"x": 5.0, "y": 0.0, "z": 0.0}, "tracks": [],
         "clusters": ref(0, 2)},
        {"PDG": 130, "charge": 0.0, "energy": 3.0, "momentum": {"x": 0.0, "y": 3.0, "z": 0.0}, "tracks": [],
         "clusters": ref(0, 2)},
        {"PDG": 22, "charge": 0.0, "energy": 1.0, "momentum": {"x": 0.0, "y": 0.0, "z": 1.0},
         "tracks": ref(0, 99), "clusters": []},                     # a track of another collection
    ]])
    whole = whole_collection(pfos)
    assert whole.counts.tolist() == [3] and np.allclose(whole.rows[:, 3], [5.0, 3.0, 1.0])
    table = pf_candidates({"PF": pfos}, "PF", np.array([0]), np.array([1]), tracks_id=1, clusters_id=2)
    assert (table[:, 0] > 0).sum() == 1          # one element, one candidate
