"""Prepared shards in memory, and padded torch batches from them (vectorized gathers, no per-object loop)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from k4mlpf.elements import offsets
from k4mlpf.model.batch import elements_to_padded, pad_rows

from .targets import COLUMN as _COL
BLOCKS = (("tracks", "track_counts"), ("clusters", "cluster_counts"), ("hits", "hit_counts"))
#: other per-event blocks of a shard: truth particles, the whole PF collection, the oracle particle flow
PER_EVENT = (("truth", "truth_counts"), ("pf", "pf_counts"), ("oracle", "oracle_counts"),
             ("oracle_cls", "oracle_counts"))


@dataclass
class EventSet:
    """All events of some shards, as flat arrays with per-event offsets."""

    arrays: dict[str, np.ndarray]
    meta: list[dict]

    @classmethod
    def load(cls, paths: list[str | Path]) -> "EventSet":
        if not paths:
            raise ValueError("no prepared shards given")
        parts: dict[str, list] = {}
        meta = []
        for path in paths:
            with np.load(path) as shard:
                meta.append(json.loads(str(shard["meta"])))
                for key in shard.files:
                    if key != "meta":
                        parts.setdefault(key, []).append(shard[key])
        short = [k for k, v in parts.items() if len(v) < len(paths)]
        if short:   # a key some shards lack: shards of different formats
            raise ValueError(f"shards of different formats cannot be mixed: only {len(parts[short[0]])} of "
                             f"{len(paths)} have '{short[0]}' (prepare the others again): {', '.join(map(str, paths))}")
        fields = {m["b_field"] for m in meta}
        if len(fields) > 1:
            raise ValueError(f"shards of different detectors (B = {sorted(fields)} T) cannot be mixed: {paths}")
        return cls({k: np.concatenate(v) for k, v in parts.items()}, meta)

    @property
    def b_field(self) -> float:
        return float(self.meta[0]["b_field"])

    @property
    def detector(self) -> str:
        return str(self.meta[0]["detector"])

    def __len__(self) -> int:
        return len(self.arrays["track_counts"])

    def offsets(self, counts_key: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_offsets", {})
        if counts_key not in cache:
            cache[counts_key] = offsets(self.arrays[counts_key])
        return cache[counts_key]

    def split(self, fraction: float, seed: int = 0) -> tuple["EventSet", "EventSet"]:
        """(first, second): a fixed random ``fraction`` of events goes to the second set."""
        order = np.random.default_rng(seed).permutation(len(self))
        n_second = max(1, int(round(fraction * len(self)))) if len(self) > 1 else 0
        return self.subset(np.sort(order[n_second:])), self.subset(np.sort(order[:n_second]))

    def subset(self, events: np.ndarray) -> "EventSet":
        out = {}
        for data, counts in BLOCKS + PER_EVENT:
            if data in self.arrays:
                out[data], out[counts] = _gather(self.arrays[data], self.offsets(counts), self.arrays[counts], events)
        elem_counts = self.arrays["track_counts"] + self.arrays["cluster_counts"]
        elem_off = offsets(elem_counts)
        for key in ("targets", "candidates"):
            out[key], _ = _gather(self.arrays[key], elem_off, elem_counts, events)
        return EventSet(out, self.meta)

    def element_offsets(self) -> np.ndarray:
        return offsets(self.arrays["track_counts"] + self.arrays["cluster_counts"])


def _gather(flat: np.ndarray, off: np.ndarray, counts: np.ndarray, events: np.ndarray):
    """Rows of the chosen events, concatenated, and their counts."""
    c = counts[events]
    index = np.repeat(off[events] - offsets(c)[:-1], c) + np.arange(int(c.sum()))
    return flat[index], c


def make_batch(events: EventSet, index: np.ndarray, with_candidates: bool = False) -> dict[str, torch.Tensor]:
    """Model inputs and targets for events ``index``: the layout MLPF.forward and mlpf_loss expect."""
    index = np.asarray(index)
    a = events.arrays
    batch = {}
    for data, counts in BLOCKS:  # "tracks" -> tracks, track_mask; likewise clusters, hits
        batch[data], batch[data[:-1] + "_mask"] = pad_rows(a[data], events.offsets(counts), a[counts], index)
    # targets: per event [tracks | clusters] in the shard -> [B, T_max + C_max] as the model orders them
    elem_off, elem_counts = events.element_offsets(), a["track_counts"] + a["cluster_counts"]
    t_counts, c_counts = a["track_counts"][index], a["cluster_counts"][index]
    t_max, c_max = batch["tracks"].shape[1], batch["clusters"].shape[1]
    sources = [("targets", "target_")] + ([("candidates", "cand_")] if with_candidates else [])
    for key, prefix in sources:
        flat, _ = _gather(a[key], elem_off, elem_counts, index)             # this batch's elements
        t = torch.from_numpy(elements_to_padded(flat.astype(np.float32), t_counts, c_counts, t_max, c_max))
        batch[prefix + "cls"] = t[..., _COL["cls"]].long()
        for name in ("pt", "eta", "sin_phi", "cos_phi", "energy", "charge", "px", "py", "pz"):
            batch[prefix + name] = t[..., _COL[name]]
    return batch


def model_inputs(batch: dict, device: torch.device | str = "cpu") -> tuple[torch.Tensor, ...]:
    return tuple(batch[k].to(device, non_blocking=True) for k in
                 ("tracks", "track_mask", "clusters", "cluster_mask", "hits", "hit_mask"))


def batches(n_events: int, batch_size: int, seed: int | None, rank: int = 0, world: int = 1,
            sizes: np.ndarray | None = None, bucket: int = 16):
    """Event-index batches: a seeded permutation (or in order), each rank taking its share.

    With ``sizes`` (elements per event), each run of ``bucket`` batches is sorted by size before it
    is cut into batches, and the batches are shuffled: events of similar size share a batch, so
    less of it is padding, while the order stays a pure function of the seed (exact resume).
    """
    order = np.arange(n_events) if seed is None else np.random.default_rng(seed).permutation(n_events)
    order = order[rank::world]
    if sizes is not None and seed is not None:
        span = batch_size * bucket
        pieces = [chunk[np.argsort(sizes[chunk], kind="stable")] for chunk in
                  (order[i:i + span] for i in range(0, len(order), span))]
        cut = [p[i:i + batch_size] for p in pieces for i in range(0, len(p), batch_size)]
        for j in np.random.default_rng(seed + 1).permutation(len(cut)):
            yield cut[j]
        return
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]
