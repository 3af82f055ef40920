"""Padding, one pair for every path: flat per-event rows -> the padded batch the algorithm module
takes, and its padded [B, T + C] outputs -> flat rows again (reco, evaluate and training use these).

Flat layout: the rows of all events concatenated, with per-event counts (``offsets`` = cumulative).
Element layout: per event its tracks, then its clusters. Padded layout: [B, T_max] tracks and
[B, C_max] clusters, concatenated to [B, T_max + C_max]. All vectorized (no loop per event).
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from k4mlpf.model.columns import CLUSTER_COLUMNS, HIT_COLUMNS, TRACK_COLUMNS


def _offsets(counts: np.ndarray) -> np.ndarray:  # as k4mlpf.elements.offsets (the model layer imports no I/O)
    out = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def pad_rows(flat: np.ndarray, off: np.ndarray, counts: np.ndarray, events: np.ndarray) -> Tuple[Tensor, Tensor]:
    """[sum n, ...] rows of ``events`` (``off``/``counts`` over all events) -> padded [B, max n, ...]
    tensor and its bool mask."""
    c = counts[events]
    width = int(c.max(initial=0))
    mask = np.arange(width)[None, :] < c[:, None]
    data = np.zeros((len(events), width) + flat.shape[1:], flat.dtype)
    rows, cols = np.nonzero(mask)
    data[rows, cols] = flat[off[events][rows] + cols]
    return torch.from_numpy(data), torch.from_numpy(mask)


def pad_blocks(blocks: Sequence[Tuple[np.ndarray, np.ndarray]], events: np.ndarray) -> Tuple[Tensor, ...]:
    """[(tracks, track_counts), (clusters, cluster_counts), (hits, hit_counts)] over all events ->
    (tracks [B,T,13], track_mask, clusters [B,C,6], cluster_mask, hits [B,H,6], hit_mask) of ``events``."""
    out: List[Tensor] = []
    for flat, counts in blocks:
        out += list(pad_rows(flat, _offsets(counts), counts, np.asarray(events)))
    return tuple(out)


def _element_positions(track_counts: np.ndarray, cluster_counts: np.ndarray, t_max: int):
    """(row, padded column, flat element index) of every element of the batch's events."""
    elem_off = _offsets(track_counts + cluster_counts)
    rows_t, cols_t = np.nonzero(np.arange(t_max)[None, :] < track_counts[:, None])
    c_max = int(cluster_counts.max(initial=0))
    rows_c, cols_c = np.nonzero(np.arange(c_max)[None, :] < cluster_counts[:, None])
    rows = np.concatenate([rows_t, rows_c])
    cols = np.concatenate([cols_t, t_max + cols_c])
    flat = np.concatenate([elem_off[rows_t] + cols_t, elem_off[rows_c] + track_counts[rows_c] + cols_c])
    return rows, cols, flat


def padded_to_elements(value: np.ndarray, track_counts: np.ndarray, cluster_counts: np.ndarray,
                       t_max: int) -> np.ndarray:
    """Padded outputs [B, T_max + C_max, ...] of a batch -> flat rows in element order (per event its
    tracks, then its clusters). ``track_counts``/``cluster_counts`` are those of the batch's events."""
    return outputs_to_elements({"value": value}, track_counts, cluster_counts, t_max)["value"]


def outputs_to_elements(outputs: Dict[str, np.ndarray], track_counts: np.ndarray, cluster_counts: np.ndarray,
                        t_max: int) -> Dict[str, np.ndarray]:
    """``padded_to_elements`` of every output of one batch, the element positions worked out once (at
    batch 1, working them out again for each of the ten outputs cost ~5% of reconstruction)."""
    rows, cols, flat = _element_positions(track_counts, cluster_counts, t_max)
    n = int(track_counts.sum() + cluster_counts.sum())
    result = {}
    for key, value in outputs.items():
        out = np.zeros((n,) + value.shape[2:], value.dtype)
        out[flat] = value[rows, cols]
        result[key] = out
    return result


def elements_to_padded(table: np.ndarray, track_counts: np.ndarray, cluster_counts: np.ndarray,
                       t_max: int, c_max: int) -> np.ndarray:
    """The inverse: flat rows of the batch's elements (element order) -> [B, T_max + C_max, ...], zero-padded."""
    rows, cols, flat = _element_positions(track_counts, cluster_counts, t_max)
    out = np.zeros((len(track_counts), t_max + c_max) + table.shape[1:], table.dtype)
    out[rows, cols] = table[flat]
    return out


def pad_events(events: Sequence[Tuple[Tensor, Tensor, Tensor]]) -> Tuple[Tensor, ...]:
    """[(tracks [T_i,13], clusters [C_i,6], hits [H_i,6]), ...] ->
    (tracks [B,T,13], track_mask [B,T], clusters [B,C,6], cluster_mask [B,C], hits [B,H,6], hit_mask [B,H]),
    zero-padded to the largest event of each block (a convenience over ``pad_blocks``)."""
    blocks = []
    for block, width in ((0, len(TRACK_COLUMNS)), (1, len(CLUSTER_COLUMNS)), (2, len(HIT_COLUMNS))):
        rows = [ev[block].reshape(-1, width).numpy().astype(np.float32) for ev in events]
        counts = np.array([r.shape[0] for r in rows], np.int64)
        flat = np.concatenate(rows) if rows else np.zeros((0, width), np.float32)
        blocks.append((flat, counts))
    return pad_blocks(blocks, np.arange(len(events)))
