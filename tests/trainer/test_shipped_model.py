"""The trained model shipped in models/ still loads and reconstructs with today's code.

A change of the input columns, the features or the output decoding that the shipped file does not
follow would break every user's `k4run options/runMLPF_CLD.py`; this test catches it.
"""

from __future__ import annotations

from pathlib import Path

from k4mlpf.compare import compare
from k4mlpf.model.algorithm import read_metadata
from k4mlpf.model.columns import CLASS_PDG, CLUSTER_COLUMNS, HIT_COLUMNS, TRACK_COLUMNS
from k4mlpf.reco import reconstruct

MODEL = Path(__file__).resolve().parents[2] / "models" / "mlpf_cld_small.pt"


def test_shipped_model_metadata_matches_the_input_contract():
    meta = read_metadata(MODEL)
    assert meta["detector"] == "CLD_o2_v05" and meta["b_field"] == 2.0
    assert meta["track_columns"] == TRACK_COLUMNS and meta["cluster_columns"] == CLUSTER_COLUMNS
    assert meta["hit_columns"] == HIT_COLUMNS and meta["class_pdg"] == CLASS_PDG
    assert meta["provenance"]["info"]["train_events"] == 48000   # the physics mix (fastsim/mixes/)


def test_shipped_model_reconstructs_simulated_cld_events_sensibly(small_sample, tmp_path):
    out = tmp_path / "reco.edm4hep.root"
    assert reconstruct(small_sample["file"], out, MODEL, progress=False) == 24
    result = compare(out, ["MLPFPFOs", "BaselinePFOs"])
    jets = result["jets"]["MLPFPFOs"]
    assert jets["efficiency"] > 0.9
    assert abs(jets["response"]["median"] - 1.0) < 0.03
    # a trained model: jets at least as sharp as the baseline's on these 24 events (0.71 on 1,000)
    assert jets["response"]["resolution"] < 1.2 * result["jets"]["BaselinePFOs"]["response"]["resolution"]
