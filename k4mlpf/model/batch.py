"""Pack per-event input tensors into the padded batch the algorithm module takes."""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from k4mlpf.model.columns import CLUSTER_COLUMNS, HIT_COLUMNS, TRACK_COLUMNS


def pad_events(events: Sequence[Tuple[Tensor, Tensor, Tensor]]) -> Tuple[Tensor, ...]:
    """[(tracks [T_i,13], clusters [C_i,6], hits [H_i,6]), ...] ->
    (tracks [B,T,13], track_mask [B,T], clusters [B,C,6], cluster_mask [B,C], hits [B,H,6], hit_mask [B,H]),
    zero-padded to the largest event of each block."""
    out: List[Tensor] = []
    for block, width in ((0, len(TRACK_COLUMNS)), (1, len(CLUSTER_COLUMNS)), (2, len(HIT_COLUMNS))):
        rows = [ev[block] for ev in events]
        n = max([r.shape[0] for r in rows], default=0)
        data = torch.zeros(len(rows), n, width, dtype=torch.float32)
        mask = torch.zeros(len(rows), n, dtype=torch.bool)
        for i, r in enumerate(rows):
            data[i, : r.shape[0]] = r
            mask[i, : r.shape[0]] = True
        out += [data, mask]
    return tuple(out)
