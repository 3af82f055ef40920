"""``export``: a training checkpoint -> the TorchScript algorithm module (the only file reco needs), or
an exported ``.pt`` -> its ``.pt2`` package (the same weights and metadata, compiled again)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from k4mlpf.model import MLPFAlgorithm, eager_algorithm, export_pt2, save_algorithm

from .checkpoint import is_exported_model, model_from_checkpoint


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, check=True).stdout.strip()
    except Exception:  # noqa: BLE001 - provenance is best effort
        return "unknown"


def export(checkpoint: str | os.PathLike, output: str | os.PathLike, detector: str | None = None,
           fmt: str = "torchscript", device: str = "cpu") -> list[Path]:
    """Write the model file(s): TorchScript (``.pt``, what libtorch and k4run load), an AOTInductor
    package (``.pt2``, torch.export), or both (``OUTPUT.pt`` and ``OUTPUT.pt2``). Returns the paths.

    ``checkpoint`` may also be an exported TorchScript model (e.g. ``models/mlpf_cld_small.pt``): its
    weights, config and detector are compiled again, and its provenance is kept under ``source``."""
    stamp = {"git_commit": _git_commit(), "exported": time.strftime("%Y-%m-%dT%H:%M:%S"),
             "command": " ".join(sys.argv)}
    if is_exported_model(checkpoint):
        source = eager_algorithm(checkpoint)
        provenance = {"model_file": os.path.abspath(checkpoint), "source": json.loads(source.provenance_json),
                      **stamp}
        algo = MLPFAlgorithm(source.model, detector or source.detector, provenance)
    else:
        model, payload = model_from_checkpoint(checkpoint)
        provenance = {"checkpoint": os.path.abspath(checkpoint), "epoch": payload["epoch"],
                      "best_val_loss": payload["best"], "train_config": payload["train_config"],
                      "info": payload.get("info", {}), **stamp}
        algo = MLPFAlgorithm(model, detector or payload.get("detector", "unknown"), provenance)
    output = Path(output)
    written = []
    if fmt in ("torchscript", "both"):
        written.append(save_algorithm(algo, output.with_suffix(".pt") if fmt == "both" else output))
    if fmt in ("pt2", "both"):
        written.append(export_pt2(algo, output.with_suffix(".pt2"), device=device))
    return written
