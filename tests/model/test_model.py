import pytest
import torch

from k4mlpf.model import MLPF, MLPFConfig, load_config
from k4mlpf.model.batch import pad_events
from k4mlpf.model.synthetic import random_event

from support import B_FIELD, TINY

RAW_KEYS = ("binary", "pid", "logpt", "eta", "sin_phi", "cos_phi", "logE", "features")


def run_single(model, event):
    """MLPF.forward on one unpadded event (batch of 1)."""
    return model(*pad_events([event]))


def compare(a, b, idx_a, idx_b, atol=1e-5):
    for key in RAW_KEYS:
        torch.testing.assert_close(a[key][idx_a], b[key][idx_b], atol=atol, rtol=1e-5, msg=key)


def test_padding_does_not_change_real_elements(model, events, batch):
    out = model(*batch)
    T = batch[0].shape[1]
    for i, ev in enumerate(events):
        t, c = ev[0].shape[0], ev[1].shape[0]
        ref = run_single(model, ev)
        rows = list(range(t)) + [T + j for j in range(c)]
        compare(out, ref, (i, rows), (0, slice(None)))


def test_garbage_in_padding_is_ignored(model, events, batch):
    """Masked slots may hold anything (even NaN): real elements must not notice."""
    out = model(*batch)
    noisy = [t.clone() for t in batch]
    for data, mask in ((0, 1), (2, 3), (4, 5)):
        noisy[data][~noisy[mask]] = torch.randn_like(noisy[data][~noisy[mask]]) * 1e3
    noisy[0][~noisy[1]] = float("nan")
    out2 = model(*noisy)
    real = out["mask"]
    compare(out, out2, real, real)


def test_permutation_equivariance(model, events):
    tracks, clusters, hits = events[0]
    g = torch.Generator().manual_seed(7)
    pt, pc, ph = (torch.randperm(n, generator=g) for n in (len(tracks), len(clusters), len(hits)))
    inverse_c = torch.argsort(pc)                       # new index of old cluster k
    hits2 = hits[ph].clone()
    hits2[:, 5] = inverse_c[hits2[:, 5].long()].float()
    ref = run_single(model, (tracks, clusters, hits))
    out = run_single(model, (tracks[pt], clusters[pc], hits2))
    perm = torch.cat([pt, len(tracks) + pc])
    compare(out, ref, (0, slice(None)), (0, perm))


@pytest.mark.parametrize("sizes", [(0, 0, 0), (5, 0, 0), (0, 4, 30), (0, 3, 0)],
                         ids=["empty", "tracks_only", "clusters_only", "clusters_without_hits"])
def test_degenerate_events_are_finite(model, sizes):
    event = random_event(*sizes, b_field=B_FIELD)
    out = run_single(model, event)
    n = sizes[0] + sizes[1]
    for key in RAW_KEYS:
        assert out[key].shape[1] == n and torch.isfinite(out[key]).all(), key


def test_all_padding_event_in_a_batch_is_finite(model, events):
    batch = pad_events([events[0], random_event(0, 0, 0)])
    out = model(*batch)
    for key in RAW_KEYS:
        assert torch.isfinite(out[key]).all(), key


def test_training_mode_gradients_are_finite(events):
    model = MLPF(TINY, b_field=B_FIELD).train()
    out = model(*pad_events(events + [random_event(0, 0, 0)]))
    loss = sum(out[k][out["mask"]].sum() for k in ("binary", "pid", "logpt", "logE", "eta"))
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_field_is_not_in_the_state_dict():
    """Loading a 4 T backbone into a 2 T model must keep 2 T (the paper-era CLD bug)."""
    clic = MLPF(TINY, b_field=4.0)
    cld = MLPF(TINY, b_field=2.0)
    cld.load_state_dict(clic.state_dict())
    assert cld.b_field == 2.0 and "b_field" not in clic.state_dict()


def test_shipped_configs():
    small, paper = load_config("small"), load_config("paper")
    assert (small.width, small.num_layers, small.num_heads) == (128, 2, 8)
    assert (paper.width, paper.num_layers, paper.num_heads) == (1024, 3, 32)
    with torch.device("meta"):
        n = MLPF(paper, b_field=2.0).num_parameters()
    assert 50e6 < n < 54e6                            # the paper's ~52M


@pytest.mark.parametrize("bad, message", [
    ({"widht": 64}, "nearest valid keys: ['width']"),
    ({"width": 100, "num_heads": 8}, "multiple of num_heads"),
    ({"activation": "tanh"}, "expected 'relu' or 'gelu'"),
], ids=["typo", "heads", "activation"])
def test_bad_config_says_what_is_wrong(bad, message):
    with pytest.raises((KeyError, ValueError), match=message.replace("[", r"\[").replace("]", r"\]")):
        MLPFConfig.from_dict(bad)


def test_unknown_config_name_lists_shipped_ones():
    with pytest.raises(FileNotFoundError, match="paper"):
        load_config("huge")
