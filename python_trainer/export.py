"""``export``: a training checkpoint -> the TorchScript algorithm module (the only file reco needs)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from k4mlpf.model import MLPFAlgorithm, export_pt2, save_algorithm

from .checkpoint import model_from_checkpoint


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, check=True).stdout.strip()
    except Exception:  # noqa: BLE001 - provenance is best effort
        return "unknown"


def export(checkpoint: str | os.PathLike, output: str | os.PathLike, detector: str | None = None,
           fmt: str = "torchscript", device: str = "cpu") -> list[Path]:
    """Write the model file(s): TorchScript (``.pt``, what libtorch and k4run load), an AOTInductor
    package (``.pt2``, torch.export), or both (``OUTPUT.pt`` and ``OUTPUT.pt2``). Returns the paths."""
    model, payload = model_from_checkpoint(checkpoint)
    provenance = {"checkpoint": os.path.abspath(checkpoint), "epoch": payload["epoch"],
                  "best_val_loss": payload["best"], "train_config": payload["train_config"],
                  "info": payload.get("info", {}), "git_commit": _git_commit(),
                  "exported": time.strftime("%Y-%m-%dT%H:%M:%S"), "command": " ".join(sys.argv)}
    algo = MLPFAlgorithm(model, detector or payload.get("detector", "unknown"), provenance)
    output = Path(output)
    written = []
    if fmt in ("torchscript", "both"):
        written.append(save_algorithm(algo, output.with_suffix(".pt") if fmt == "both" else output))
    if fmt in ("pt2", "both"):
        written.append(export_pt2(algo, output.with_suffix(".pt2"), device=device))
    return written
