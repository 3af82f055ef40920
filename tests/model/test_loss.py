import math

import pytest
import torch

from k4mlpf.model import MLPF, TARGET_KEYS, mlpf_loss
from k4mlpf.model.batch import pad_events
from k4mlpf.model.synthetic import random_event

from support import B_FIELD, TINY

PARTS = {"binary", "pid", "pt", "energy", "eta", "sin_phi", "cos_phi", "total"}


def synthetic_targets(batch, seed=0):
    """Targets that follow the element-type rule: some elements empty, tracks charged, clusters neutral,
    kinematics = element kinematics with a smooth, learnable distortion."""
    g = torch.Generator().manual_seed(seed)
    from k4mlpf.model.features import element_features
    x, mask = element_features(*batch, B_FIELD)
    T = batch[0].shape[1]
    B, N = mask.shape
    is_track = (torch.arange(N) < T).expand(B, N)
    charged = torch.tensor([1, 4, 5])[torch.randint(0, 3, (B, N), generator=g)]
    neutral = torch.tensor([2, 3])[torch.randint(0, 2, (B, N), generator=g)]
    cls = torch.where(is_track, charged, neutral)
    cls = torch.where(mask & (torch.rand(B, N, generator=g) < 0.7), cls, 0)
    return {
        "target_cls": cls, "target_pt": 0.8 * x[..., 1], "target_eta": x[..., 2] + 0.1,
        "target_sin_phi": 0.9 * x[..., 3] + 0.05, "target_cos_phi": 0.9 * x[..., 4] - 0.05,
        "target_energy": 1.2 * x[..., 5],
    }


@pytest.fixture
def train_batch():
    g = torch.Generator().manual_seed(5)
    return pad_events([random_event(6, 8, 60, B_FIELD, g) for _ in range(4)] + [random_event(0, 0, 0)])


def test_loss_is_finite_with_all_parts(train_batch):
    model = MLPF(TINY, b_field=B_FIELD)
    total, parts = mlpf_loss(model(*train_batch), synthetic_targets(train_batch))
    assert set(parts) == PARTS and torch.isfinite(total)
    assert all(torch.isfinite(v) and v >= 0 for v in parts.values())
    assert parts["total"].item() == pytest.approx(sum(v.item() for k, v in parts.items() if k != "total"), rel=1e-5)


def test_loss_decreases_when_training(train_batch):
    torch.manual_seed(0)
    model = MLPF(TINY, b_field=B_FIELD).train()
    targets = synthetic_targets(train_batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    history = []
    for _ in range(30):
        loss, _ = mlpf_loss(model(*train_batch), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert all(math.isfinite(v) for v in history)
    assert history[-1] < 0.5 * history[0]


def test_every_parameter_gets_a_gradient(train_batch):
    """No dead head: e.g. a zero-initialised ReLU energy head would never learn (ReLU'(0) = 0)."""
    model = MLPF(TINY, b_field=B_FIELD).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for _ in range(2):               # zero-initialised head outputs pass gradient on from step 2
        opt.zero_grad()
        loss, _ = mlpf_loss(model(*train_batch), synthetic_targets(train_batch))
        loss.backward()
        opt.step()
    dead = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert dead == []


def test_empty_batch_gives_zero_loss():
    batch = pad_events([random_event(0, 0, 0)])
    model = MLPF(TINY, b_field=B_FIELD)
    empty = torch.zeros(1, 0)
    targets = {k: empty.long() if k == "target_cls" else empty for k in TARGET_KEYS}
    total, _ = mlpf_loss(model(*batch), targets)
    assert total.item() == 0.0


def test_missing_target_is_named(train_batch):
    model = MLPF(TINY, b_field=B_FIELD)
    targets = synthetic_targets(train_batch)
    del targets["target_eta"]
    with pytest.raises(KeyError, match="target_eta"):
        mlpf_loss(model(*train_batch), targets)
