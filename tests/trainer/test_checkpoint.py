"""One way to load weights: a file that does not fit is refused by train, export and evaluate alike;
evaluate runs an exported model file as it is."""

from __future__ import annotations

import pytest
import torch

from support import TINY
from k4mlpf.model import MLPF, MLPFAlgorithm, MLPFConfig, save_algorithm
from python_trainer.checkpoint import (CHECKPOINT_FORMAT, CheckpointError, algorithm_for, load_checkpoint,
                                       model_from_checkpoint, save_checkpoint)


def _checkpoint(tmp_path, config=TINY, b_field=2.0, state=None):
    model = MLPF(config, b_field=b_field)
    payload = {"format": CHECKPOINT_FORMAT, "model": state if state is not None else model.state_dict(),
               "model_config": config.to_dict(), "b_field": b_field, "detector": "CLD_o2_v05", "epoch": 1,
               "best": 1.0, "train_config": {}}
    path = tmp_path / "ckpt.pt"
    save_checkpoint(payload, path)
    return path, model


def test_round_trip_and_atomic(tmp_path):
    path, model = _checkpoint(tmp_path)
    loaded, payload = model_from_checkpoint(path)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="junk.pt: cannot read"):
        load_checkpoint(tmp_path / "junk.pt")


def test_mismatched_weights_are_refused_everywhere(tmp_path):
    """Weights of another architecture under a config that does not match them: refused, never run
    on partly random weights (evaluate used to load them with strict=False)."""
    other = MLPF(MLPFConfig(width=16, num_heads=2, num_layers=1, ffn_dim=32, head_hidden=16), b_field=2.0)
    path, _ = _checkpoint(tmp_path, state=other.state_dict())
    with pytest.raises(CheckpointError, match="does not fit"):
        model_from_checkpoint(path)
    with pytest.raises(CheckpointError, match="does not fit"):
        algorithm_for(path, 2.0, "CLD_o2_v05")
    from python_trainer.export import export

    with pytest.raises(CheckpointError, match="does not fit"):
        export(path, tmp_path / "model.pt")
    assert not (tmp_path / "model.pt").exists()


def test_evaluate_runs_an_exported_file_as_it_is(tmp_path):
    exported = save_algorithm(MLPFAlgorithm(MLPF(TINY, b_field=2.0), detector="CLD_o2_v05"), tmp_path / "m.pt")
    module = algorithm_for(exported, 2.0, "CLD_o2_v05")
    assert isinstance(module, torch.jit.ScriptModule)        # the file itself, not a rebuilt eager model
    with pytest.raises(CheckpointError, match="trained for B = 2 T"):
        algorithm_for(exported, 4.0, "CLIC_o3_v14")


def test_an_exported_file_can_be_rebuilt_and_exported_again(tmp_path):
    """eager_algorithm: the weights, config and metadata of a .pt, as an eager module (what export_pt2
    compiles); `export` of a .pt keeps the first export's provenance under "source"."""
    import json

    from k4mlpf.model import eager_algorithm, load_algorithm, read_metadata
    from k4mlpf.model.batch import pad_events
    from k4mlpf.model.synthetic import random_event
    from python_trainer.export import export

    model = MLPF(TINY, b_field=2.0)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():  # weights that are not the initialization, so that a rebuild from scratch would differ
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=g))
    first = save_algorithm(MLPFAlgorithm(model.eval(), detector="CLD_o2_v05", provenance={"made_by": "test"}),
                           tmp_path / "m.pt")
    rebuilt = eager_algorithm(first)
    assert not isinstance(rebuilt, torch.jit.ScriptModule)
    assert rebuilt.metadata() == dict(load_algorithm(first).metadata())
    batch = pad_events([random_event(6, 9, 80, 2.0, g), random_event(2, 14, 200, 2.0, g)])
    with torch.no_grad():
        a, b = rebuilt(*batch), load_algorithm(first)(*batch)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    (again,) = export(first, tmp_path / "again.pt")
    meta = read_metadata(again)
    assert meta["provenance"]["source"] == {"made_by": "test"}
    assert meta["provenance"]["model_file"] == str(first.resolve())
    assert {k: v for k, v in meta.items() if k != "provenance"} == \
        {k: v for k, v in read_metadata(first).items() if k != "provenance"}
    json.dumps(meta)
