"""Helpers shared by the tests: paths, fixture files of ../shared/fixtures (used in place, never
copied), expected JSON and a JSON differ."""

from __future__ import annotations

import gzip
import json
import math
import os
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", message="This distribution of ROOT is in alpha stage")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"

TTREE_FIXTURES = ["cld_like_rec_podio107.edm4hep.root", "cld_like_rec.edm4hep.root",
                  "cld_like_rec_edm4hep010.edm4hep.root", "real/all_types_v1.edm4hep.root",
                  "real/ddsim_sample.edm4hep.root"]
RNTUPLE_FIXTURES = ["cld_like_rec_podio107.rntuple.edm4hep.root"]
ALL_FIXTURES = TTREE_FIXTURES + RNTUPLE_FIXTURES


def fixture_path(name: str) -> Path:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"fixture {path} not present (../shared must sit beside the repository)")
    return path


def expected_json(name: str) -> dict:
    path = fixture_path(name)
    stem = str(path).removesuffix(".edm4hep.root")
    if os.path.exists(stem + ".expected.json"):
        with open(stem + ".expected.json") as stream:
            return json.load(stream)
    with gzip.open(stem + ".expected.json.gz", "rt") as stream:
        return json.load(stream)


def json_differences(ours, theirs, path: str = "", out: list | None = None, limit: int = 20) -> list[str]:
    """Differences between two JSON trees; floats compared as the stored float32/64 values."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs)):
            if key not in ours:
                out.append(f"{path}/{key}: missing")
            elif key not in theirs:
                out.append(f"{path}/{key}: unexpected")
            else:
                json_differences(ours[key], theirs[key], f"{path}/{key}", out, limit)
    elif isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            out.append(f"{path}: length {len(ours)} != {len(theirs)}")
        else:
            for i, (a, b) in enumerate(zip(ours, theirs)):
                json_differences(a, b, f"{path}[{i}]", out, limit)
    elif isinstance(ours, float) or isinstance(theirs, float):
        if not (ours == theirs or (isinstance(ours, float) and math.isnan(ours) and math.isnan(theirs))):
            out.append(f"{path}: {ours!r} != {theirs!r}")
    elif ours != theirs or type(ours) is not type(theirs):
        out.append(f"{path}: {ours!r} != {theirs!r}")
    return out

# model tests: a field and a very small architecture
B_FIELD = 2.0


def _tiny():
    from k4mlpf.model import MLPFConfig

    return MLPFConfig(width=32, num_heads=4, num_layers=1, ffn_dim=64, head_hidden=32)


TINY = _tiny()


def tiny_algorithm(seed: int = 0, detector: str = "CLD_o2_v05"):
    """A random TINY MLPF algorithm module (B = 2 T) with every weight jittered and the binary head
    pushed towards "particle", so that decoding has work to do (the tiny_pt / tiny_pt2 fixtures)."""
    import torch

    from k4mlpf.model import MLPF, MLPFAlgorithm

    torch.manual_seed(seed)
    model = MLPF(TINY, b_field=B_FIELD)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
        model.binary.net[-1].bias.add_(torch.tensor([-1.0, 1.0]))
    return MLPFAlgorithm(model.eval(), detector=detector, provenance={"made_by": "tests/support.tiny_algorithm"})
