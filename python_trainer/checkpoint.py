"""Checkpoints: the one way to save and load weights (train, finetune, export, evaluate).

A training checkpoint (``last.pt``/``best.pt``) is a dict with ``format`` = CHECKPOINT_FORMAT,
the model's state dict and config, the optimizer/scheduler state, the B field and the history. An
exported model (``python_trainer export``) is a TorchScript algorithm module; its weights can seed a
fine-tuning and it can be evaluated as it is. Every load checks that the weights fit the model they
are loaded into: a file that does not fit is a CheckpointError naming it, never a model running on
partly random weights.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import torch

from k4mlpf.atomic import atomic_path
from k4mlpf.model import MLPF, MLPFAlgorithm, MLPFConfig

CHECKPOINT_FORMAT = 1
_NON_PERSISTENT = ("allowed_classes",)  # a buffer built in __init__: absent from checkpoints, present in TorchScript


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: corrupt, not ours, or for another model."""


def save_checkpoint(payload: dict, path: str | os.PathLike) -> None:
    """Write atomically (temporary name, renamed when complete)."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict:
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise CheckpointError(f"{path}: cannot read checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a k4mlpf training checkpoint")
    return payload


def load_state_checked(model: MLPF, state: dict, source: str) -> None:
    """``model.load_state_dict(state)`` that refuses any missing, unexpected or mis-shaped weight."""
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatch
        raise CheckpointError(f"{source}: does not fit this model ({' '.join(str(err).split())[:400]})") from err
    missing = [k for k in missing if not k.endswith(_NON_PERSISTENT)]
    unexpected = [k for k in unexpected if not k.endswith(_NON_PERSISTENT)]
    if missing or unexpected:
        raise CheckpointError(f"{source}: does not fit this model (missing {missing[:5]}, unexpected {unexpected[:5]})")


def is_exported_model(path: str | os.PathLike) -> bool:
    """An exported algorithm module (a TorchScript zip archive holds code/ and constants.pkl)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") for name in archive.namelist())


def backbone_state(path: str | os.PathLike) -> tuple[dict, MLPFConfig, dict]:
    """(state dict, model config, info) from a training checkpoint or an exported algorithm ``.pt``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint or model file")
    if not is_exported_model(path):
        payload = load_checkpoint(path)
        return payload["model"], MLPFConfig.from_dict(payload["model_config"]), payload.get("info", {})
    try:
        from k4mlpf.model import load_algorithm, read_metadata

        module = load_algorithm(path)
        meta = read_metadata(path)
    except Exception as err:
        raise CheckpointError(f"{path}: neither a k4mlpf checkpoint nor an exported model ({err})") from err
    state = {k.removeprefix("model."): v for k, v in module.state_dict().items() if k.startswith("model.")}
    return state, MLPFConfig.from_dict(meta["config"]), {"detector": meta.get("detector"),
                                                         "b_field": meta.get("b_field")}


def model_from_checkpoint(path: str | os.PathLike, b_field: float | None = None) -> tuple[MLPF, dict]:
    """The eager model of a training checkpoint (weights checked) and the checkpoint itself."""
    payload = load_checkpoint(path)
    model = MLPF(MLPFConfig.from_dict(payload["model_config"]), b_field=payload["b_field"] if b_field is None else b_field)
    load_state_checked(model, payload["model"], str(path))
    return model, payload


def algorithm_for(path: str | os.PathLike, b_field: float, detector: str):
    """What ``evaluate`` runs: an exported model file as it is (the file reconstruction runs), or the
    algorithm module of a training checkpoint. A model for another field than the data's is refused."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint or model file")
    if is_exported_model(path):
        from k4mlpf.model import load_algorithm, read_metadata

        field = float(read_metadata(path)["b_field"])
        module = load_algorithm(path)
    else:
        model, payload = model_from_checkpoint(path)
        field, module = float(payload["b_field"]), MLPFAlgorithm(model, detector=payload.get("detector", detector))
    if abs(field - b_field) > 1e-6:
        raise CheckpointError(f"{path}: trained for B = {field:g} T, but the events are from {detector} at {b_field:g} T")
    return module
