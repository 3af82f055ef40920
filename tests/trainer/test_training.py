"""Training: the loss falls, resume is exact, interruption loses at most an epoch, bad checkpoints are named."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import python_trainer.train as train_module
from k4mlpf.model import MLPF, load_config
from python_trainer.data import EventSet, make_batch
from python_trainer.checkpoint import CheckpointError, backbone_state, load_state_checked
from python_trainer.train import TrainConfig, train


def _config(**kw):
    base = dict(model="tiny", epochs=2, batch_size=4, lr=2e-3, warmup_steps=2, patience=10, seed=3)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def sets(small_sample):
    events = EventSet.load(small_sample["shards"])
    return events.split(0.25, seed=0)


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=False)["model"]


def test_batch_layout_matches_the_model(sets):
    train_set, _ = sets
    batch = make_batch(train_set, np.array([0, 1, 2]))
    t, c = batch["tracks"].shape[1], batch["clusters"].shape[1]
    assert batch["target_cls"].shape == (3, t + c)
    counts = train_set.arrays["track_counts"][:3]
    # padding positions never carry a target
    for row, n in enumerate(counts):
        assert (batch["target_cls"][row, n:t] == 0).all()
    assert batch["tracks"].shape[2] == 13 and batch["hits"].shape[2] == 6


def test_training_loss_falls(sets, tmp_path):
    train_set, val_set = sets
    summary = train(train_set, train_set, _config(epochs=6, lr=3e-3), tmp_path, device="cpu", progress=False)
    losses = [row["train_loss"] for row in summary["history"]]
    assert losses[-1] < 0.8 * losses[0], losses
    assert (tmp_path / "log.csv").exists() and (tmp_path / "best.pt").exists()


def test_resume_reaches_the_same_weights(sets, tmp_path):
    train_set, val_set = sets
    train(train_set, val_set, _config(), tmp_path / "straight", device="cpu", progress=False)
    steps_per_epoch = int(np.ceil(len(train_set) / 4))
    train(train_set, val_set, _config(max_steps=steps_per_epoch), tmp_path / "resumed", device="cpu", progress=False)
    assert torch.load(tmp_path / "resumed" / "last.pt", weights_only=False)["epoch"] == 1
    train(train_set, val_set, _config(), tmp_path / "resumed", device="cpu", resume=True, progress=False)
    a, b = _weights(tmp_path / "straight" / "last.pt"), _weights(tmp_path / "resumed" / "last.pt")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_interrupt_keeps_the_last_complete_epoch(sets, tmp_path, monkeypatch):
    train_set, val_set = sets
    calls = {"n": 0}
    real = train_module.make_batch
    steps_per_epoch = int(np.ceil(len(train_set) / 4))
    val_batches = int(np.ceil(len(val_set) / 4))

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == steps_per_epoch + val_batches + 2:  # inside the second epoch's training
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "make_batch", flaky)
    with pytest.raises(KeyboardInterrupt):
        train(train_set, val_set, _config(), tmp_path, device="cpu", progress=False)
    monkeypatch.setattr(train_module, "make_batch", real)
    assert torch.load(tmp_path / "last.pt", weights_only=False)["epoch"] == 1
    assert not list(tmp_path.glob("*.tmp"))  # nothing half-written
    summary = train(train_set, val_set, _config(), tmp_path, device="cpu", resume=True, progress=False)
    assert summary["epochs"] == 2


def test_corrupt_and_mismatched_checkpoints_are_named(sets, tmp_path):
    train_set, val_set = sets
    (tmp_path / "last.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="last.pt"):
        train(train_set, val_set, _config(), tmp_path, device="cpu", resume=True, progress=False)
    with pytest.raises(CheckpointError, match="no such"):
        backbone_state(tmp_path / "missing.pt")
    good = tmp_path / "good"
    train(train_set, val_set, _config(max_steps=1), good, device="cpu", progress=False)
    state, config, _ = backbone_state(good / "last.pt")
    bigger = MLPF(load_config("small").__class__(width=64, num_heads=4), b_field=2.0)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_state_checked(bigger, state, "backbone")


def test_finetune_strategies_freeze_the_right_parts(sets, tmp_path):
    from python_trainer.train import apply_strategy

    model = MLPF(load_config("small"), b_field=2.0)
    apply_strategy(model, "heads")
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen and all(n.startswith(("id_encoder", "reg_encoder")) for n in frozen)
    model = MLPF(load_config("small"), b_field=2.0)
    apply_strategy(model, "freeze-cls")
    assert all(not p.requires_grad for n, p in model.named_parameters() if n.startswith("id_encoder"))
    assert all(p.requires_grad for n, p in model.named_parameters() if n.startswith("reg_encoder"))


def test_prepare_names_a_missing_collection(tmp_path):
    from k4mlpf.edm4hep import CollectionNotFoundError
    from python_trainer.prepare import PrepareOptions, prepare
    from support import fixture_path

    source = str(fixture_path("cld_like_rec_podio107.edm4hep.root"))
    with pytest.raises(CollectionNotFoundError, match="BaselinePFOs") as err:
        prepare([source], str(tmp_path), PrepareOptions(pf_collection="BaselinePFOs"), progress=False)
    assert "cld_like_rec_podio107" in str(err.value) and "PandoraPFOs" in str(err.value)
    shards = prepare([source], str(tmp_path), PrepareOptions(), progress=False)  # PandoraPFOs is there
    first = shards[0].stat().st_mtime_ns
    assert prepare([source], str(tmp_path), PrepareOptions(), progress=False) == shards  # cached
    assert shards[0].stat().st_mtime_ns == first


def test_a_changed_input_replaces_its_old_shard_and_mixed_formats_are_named(tmp_path):
    import json
    import os
    import shutil

    import numpy as np

    from python_trainer.data import EventSet
    from python_trainer.prepare import PrepareOptions, prepare
    from support import fixture_path

    source = tmp_path / "sample.edm4hep.root"
    shutil.copy(fixture_path("cld_like_rec_podio107.edm4hep.root"), source)
    out = tmp_path / "shards"
    first = prepare([str(source)], str(out), PrepareOptions(), progress=False)[0]
    unrelated = out / "other-0123456789ab.npz"      # another input's shard stays
    shutil.copy(first, unrelated)
    with np.load(unrelated) as shard:
        arrays = {k: shard[k] for k in shard.files}
    arrays["meta"] = np.array(json.dumps(json.loads(str(arrays["meta"])) | {"source": "/elsewhere.root"}))
    np.savez(unrelated, **arrays)
    os.utime(source, ns=(1, 1))                      # the input "changed": a new shard name
    second = prepare([str(source)], str(out), PrepareOptions(), progress=False)[0]
    assert second != first and not first.exists() and unrelated.exists()
    assert sorted(p.name for p in out.iterdir()) == sorted([second.name, unrelated.name])

    del arrays["oracle"], arrays["oracle_cls"], arrays["oracle_counts"]  # an older shard format
    old = tmp_path / "old-0123456789ab.npz"
    np.savez(old, **arrays)
    with pytest.raises(ValueError, match="different formats.*'oracle'"):
        EventSet.load([second, old])
