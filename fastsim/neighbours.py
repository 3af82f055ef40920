"""Vectorised neighbour searches shared by clustering and the baseline PF.

Objects of many events are given as flat arrays with the event of each object. Pair searches
return flat pair lists grouped by the first object; nothing loops over events in Python.
"""

from __future__ import annotations

import numpy as np

_CELL_BITS = 6                 # per direction component: cells of >= 1/30 fit
_DIR_COLUMNS = np.array([(dx << (2 * _CELL_BITS)) + (dy << _CELL_BITS)
                         for dx in (-1, 0, 1) for dy in (-1, 0, 1)])


def norm3(v):
    """Row norms of an (n, 3) array, column by column (as ``np.linalg.norm(v, axis=1)``, faster)."""
    return np.sqrt(v[:, 0] * v[:, 0] + v[:, 1] * v[:, 1] + v[:, 2] * v[:, 2])


def dot3(a, b):
    """Row dot products of two (n, 3) arrays, column by column."""
    return a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1] + a[:, 2] * b[:, 2]


def ranges(starts, counts):
    """Concatenated ``arange(start, start + count)`` for each pair (vectorised)."""
    total = counts.sum()
    shift = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return np.arange(total) + shift


def dense_labels(labels, n: int):
    """``np.unique(labels, return_inverse=True)`` for labels in [0, n), without sorting."""
    present = np.zeros(n, bool)
    present[labels] = True
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[labels]


def stable_argsort_small(values, n: int):
    """Stable argsort of integers in [0, n): numpy's radix sort (16-bit keys) when they fit."""
    return np.argsort(values.astype(np.uint16) if n <= 1 << 16 else values, kind="stable")


def group_pairs(a, b, n_a: int, n_b: int):
    """Distinct (a, b) pairs (a in [0, n_a), b in [0, n_b)) in lexicographic order, and the pair
    of every input: ``np.unique`` of a combined key, by two 16-bit radix passes when they fit."""
    if n_a <= 1 << 16 and n_b <= 1 << 16:
        order = stable_argsort_small(b, n_b)
        order = order[stable_argsort_small(a[order], n_a)]
    else:
        order = np.argsort(a * n_b + b, kind="stable")
    a_s, b_s = a[order], b[order]
    change = np.ones(len(order), bool)
    change[1:] = (a_s[1:] != a_s[:-1]) | (b_s[1:] != b_s[:-1])
    inv = np.empty(len(order), np.int64)
    inv[order] = np.cumsum(change) - 1
    return a_s[change], b_s[change], inv


def pairs_by_event(ev_a, ev_b):
    """All (i, j) with ev_a[i] == ev_b[j], grouped by i; ev_b must be sorted."""
    first = np.searchsorted(ev_b, ev_a, "left")
    count = np.searchsorted(ev_b, ev_a, "right") - first
    return np.repeat(np.arange(len(ev_a)), count), ranges(first, count)


def best_per_first(i, score, n):
    """For each i in [0, n), the pair index with the lowest score (first one on ties; -1 if none)."""
    best = np.full(n, -1)
    if len(i):
        order = np.lexsort((score, i))
        first = np.ones(len(order), bool)
        first[1:] = i[order][1:] != i[order][:-1]
        best[i[order][first]] = order[first]
    return best


def _direction_keys(event, u, cell):
    """Sortable key of (event, direction cell of size ``cell``) of unit vectors ``u``."""
    v = np.floor(np.nan_to_num(u) / cell).astype(np.int64) + (1 << (_CELL_BITS - 1))
    return ((event.astype(np.int64) << (3 * _CELL_BITS)) | (v[:, 0] << (2 * _CELL_BITS))
            | (v[:, 1] << _CELL_BITS) | v[:, 2])


def nearest_in_angle(ev_a, u_a, ev_b, u_b, max_angle: float):
    """For each a, the b of the same event with the largest cos(angle) if the angle < ``max_angle``.

    ``u_a``, ``u_b`` are unit vectors. Candidates come from a grid of direction cells of size
    ``max_angle``: two directions closer than that (chord 2 sin(a/2) < a) lie in the same or
    touching cells, so only those pairs are compared. Returns (index into b or -1, cos).
    Ties (equal cos) go to the lowest b index.
    """
    if max_angle < 1.0 / ((1 << (_CELL_BITS - 1)) - 2):
        raise ValueError(f"max_angle {max_angle} too small for the direction grid")
    best = np.full(len(ev_a), -1)
    best_cos = np.full(len(ev_a), -np.inf)
    if not len(ev_a) or not len(ev_b):
        return best, best_cos
    bkey = _direction_keys(ev_b, u_b, max_angle)
    order = np.argsort(bkey, kind="stable")
    bkey = bkey[order]
    column = _direction_keys(ev_a, u_a, max_angle)[:, None] + _DIR_COLUMNS
    first = np.searchsorted(bkey, column - 1, "left")        # cells z - 1 .. z + 1 of each column
    count = (np.searchsorted(bkey, column + 1, "right") - first).ravel()
    a = np.repeat(np.arange(len(ev_a)), count.reshape(len(ev_a), -1).sum(1))
    b = order[ranges(first.ravel(), count)]
    cos = dot3(np.take(u_a, a, axis=0), np.take(u_b, b, axis=0))
    near = cos > np.cos(max_angle)
    a, b, cos = a[near], b[near], cos[near]
    sel = np.lexsort((b, -cos, a))
    keep = np.ones(len(sel), bool)
    keep[1:] = a[sel][1:] != a[sel][:-1]
    sel = sel[keep]
    best[a[sel]] = b[sel]
    best_cos[a[sel]] = cos[sel]
    return best, best_cos
