"""The one pad/unpad pair: padded_to_elements inverts elements_to_padded, pad_blocks equals the
per-event pad_events, and masks mark exactly the real rows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from k4mlpf.model.batch import elements_to_padded, pad_blocks, pad_events, padded_to_elements


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=6))
def test_elements_round_trip(counts):
    t_counts = np.array([t for t, _ in counts])
    c_counts = np.array([c for _, c in counts])
    n = int(t_counts.sum() + c_counts.sum())
    table = np.arange(n * 2, dtype=np.float32).reshape(n, 2) + 1.0
    t_max, c_max = int(t_counts.max()), int(c_counts.max())
    padded = elements_to_padded(table, t_counts, c_counts, t_max, c_max)
    assert padded.shape == (len(counts), t_max + c_max, 2)
    assert np.count_nonzero(padded[..., 0]) == n                         # every element once, padding zero
    np.testing.assert_array_equal(padded_to_elements(padded, t_counts, c_counts, t_max), table)
    # event i's first cluster sits right after the event's tracks in the flat table
    first = int(t_counts[0])
    if c_counts[0]:
        np.testing.assert_array_equal(padded[0, t_max], table[first])


def test_pad_blocks_equals_pad_events():
    import torch

    rng = np.random.default_rng(1)
    sizes = [(3, 2, 7), (0, 4, 5), (5, 0, 0)]
    events = [tuple(torch.from_numpy(rng.normal(size=(n, w)).astype(np.float32)) for n, w in zip(s, (13, 6, 6)))
              for s in sizes]
    blocks = []
    for b in range(3):
        blocks.append((np.concatenate([ev[b].numpy() for ev in events]), np.array([s[b] for s in sizes])))
    a, b = pad_blocks(blocks, np.array([0, 1, 2])), pad_events(events)
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    assert a[1].tolist() == [[True] * 3 + [False] * 2, [False] * 5, [True] * 5]
