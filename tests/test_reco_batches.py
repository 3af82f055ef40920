"""How reco batches events (size_ordered_batches) and that the batching never changes the particles."""

from __future__ import annotations

import numpy as np
import pytest

from k4mlpf.elements import Elements
from k4mlpf.reco import run_model, size_ordered_batches


def _counts(tracks, clusters, hits=None) -> Elements:
    tracks, clusters = np.asarray(tracks, np.int64), np.asarray(clusters, np.int64)
    hits = np.zeros_like(tracks) if hits is None else np.asarray(hits, np.int64)
    empty = np.zeros((0, 1), np.float32)
    return Elements(empty, tracks, empty, clusters, empty, hits)


def test_padding_cap_by_hand():
    # sizes (tracks + clusters) 10, 10, 10, 40: the three small events together do no padding
    # (3 x 10^2 = 300 = their own work); adding the big one would pad to 4 x 40^2 = 6400 > 1.25 x 1900
    e = _counts([10, 40, 10, 10], [0, 0, 0, 0])
    assert [b.tolist() for b in size_ordered_batches(e, 32, max_padding=0.25)] == [[0, 2, 3], [1]]
    assert [b.tolist() for b in size_ordered_batches(e, 32)] == [[0, 2, 3, 1]]       # no cap: batch_size only
    assert [b.tolist() for b in size_ordered_batches(e, 2, max_padding=0.25)] == [[0, 2], [3], [1]]
    # tracks and clusters pad separately: (6 + 0) and (0 + 6) pad to 2 x (6 + 6)^2 = 288 > 1.25 x 72
    mixed = _counts([6, 0], [0, 6])
    assert [b.tolist() for b in size_ordered_batches(mixed, 32, max_padding=0.25)] == [[0], [1]]
    assert size_ordered_batches(_counts([], []), 32, max_padding=0.25) == []


def test_every_event_once_and_the_cap_holds():
    rng = np.random.default_rng(3)
    e = _counts(rng.poisson(45, 300), rng.poisson(120, 300), rng.poisson(3500, 300))
    for batch_size, cap in ((1, 0.25), (32, None), (32, 0.25), (7, 0.0)):
        batches = size_ordered_batches(e, batch_size, max_padding=cap)
        assert sorted(np.concatenate(batches).tolist()) == list(range(300))
        assert max(len(b) for b in batches) <= batch_size
        if cap is not None:
            for b in batches[:-1]:
                if len(b) > 1:
                    n = e.track_counts[b] + e.cluster_counts[b]
                    padded = len(b) * (e.track_counts[b].max() + e.cluster_counts[b].max()) ** 2
                    assert padded <= (1 + cap) * (n ** 2).sum()


@pytest.fixture(scope="module")
def shipped_elements(small_sample):
    from k4mlpf.edm4hep import EDM4hepFile
    from k4mlpf.elements import ElementCollections, pack_elements

    names = ElementCollections()
    with EDM4hepFile(small_sample["file"]) as f:
        return pack_elements(f, f.arrays(names.needed(f), skip=["covMatrix"]), names)


def test_batching_does_not_change_the_particles(shipped_elements):
    from k4mlpf.detector import TRAINED_DIR
    from k4mlpf.model import load_algorithm

    algo = load_algorithm(TRAINED_DIR / "mlpf_cld_small.pt")
    one = run_model(algo, shipped_elements, 1)
    for batch_size, cap in ((32, None), (32, 0.25), (5, 0.25)):
        other = run_model(algo, shipped_elements, batch_size, max_padding=cap)
        assert np.array_equal(one["cls"], other["cls"]) and np.array_equal(one["pdg"], other["pdg"])
        for key in ("px", "py", "pz", "energy", "probabilities"):
            np.testing.assert_allclose(one[key], other[key], rtol=1e-4, atol=1e-4, err_msg=key)
    assert len(one["cls"]) == int((shipped_elements.track_counts + shipped_elements.cluster_counts).sum())
