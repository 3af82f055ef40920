"""MLPFAlgorithm: features + MLPF + decoding in one TorchScript module, the model file every path runs.

    algo = MLPFAlgorithm(model, detector="CLD_o2_v05", provenance={"command": "...", "git": "..."})
    save_algorithm(algo, "models/mlpf_cld.pt")          # scripted, CPU, eval mode, atomic write
    algo = load_algorithm("models/mlpf_cld.pt")         # torch.jit.load; same API as the eager module
    particles = algo(tracks, track_mask, clusters, cluster_mask, hits, hit_mask)   # batched [B, ...]
    particles = algo.reconstruct_event(tracks, clusters, hits)                     # one event, no masks

C++ (libtorch): `module.get_method("reconstruct_event")({tracks, clusters, hits}).toGenericDict()`;
metadata through `module.run_method("metadata")` (Dict[str, str]) or the attributes `detector`,
`b_field`, ... The same metadata is stored as the extra file `k4mlpf_metadata.json` in the archive.
"""
import copy
import json
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

import torch
import torch.nn as nn
from torch import Tensor

from k4mlpf.atomic import atomic_path
from k4mlpf.model.columns import CLASS_MASS, CLASS_NAMES, CLASS_PDG, CLUSTER_COLUMNS, HIT_COLUMNS, TRACK_COLUMNS
from k4mlpf.model.decode import decode
from k4mlpf.model.mlpf import MLPF

FORMAT_VERSION = 1             # bump when the input contract changes or an output key is removed or renamed
METADATA_FILE = "k4mlpf_metadata.json"


class MLPFAlgorithm(nn.Module):
    def __init__(self, model: MLPF, detector: str, provenance: Optional[Dict[str, Any]] = None):
        super().__init__()
        self.model = model
        self.detector: str = detector
        self.b_field: float = model.b_field        # [T]; fixed at construction, from the model
        self.format_version: int = FORMAT_VERSION
        self.track_columns: List[str] = list(TRACK_COLUMNS)
        self.cluster_columns: List[str] = list(CLUSTER_COLUMNS)
        self.hit_columns: List[str] = list(HIT_COLUMNS)
        self.class_pdg: List[int] = list(CLASS_PDG)
        self.class_names: List[str] = list(CLASS_NAMES)
        self.class_mass: List[float] = list(CLASS_MASS)
        self.config_json: str = model.config.to_json()
        self.provenance_json: str = json.dumps(provenance or {}, sort_keys=True)
        # built here in Python: TorchScript's str(float) is not JSON ("2." for 2.0)
        self.metadata_json: Dict[str, str] = {
            "format_version": json.dumps(FORMAT_VERSION), "detector": json.dumps(detector),
            "b_field": json.dumps(self.b_field), "track_columns": json.dumps(self.track_columns),
            "cluster_columns": json.dumps(self.cluster_columns), "hit_columns": json.dumps(self.hit_columns),
            "class_pdg": json.dumps(self.class_pdg), "class_names": json.dumps(self.class_names),
            "class_mass": json.dumps(self.class_mass),
            "config": self.config_json, "provenance": self.provenance_json,
        }

    def forward(self, tracks: Tensor, track_mask: Tensor, clusters: Tensor, cluster_mask: Tensor,
                hits: Tensor, hit_mask: Tensor) -> Dict[str, Tensor]:
        """tracks [B,T,13], clusters [B,C,6], hits [B,H,6] + bool masks -> decoded particles [B, N=T+C]."""
        return decode(self.model(tracks, track_mask, clusters, cluster_mask, hits, hit_mask), self.b_field,
                      self.class_pdg, self.class_mass)

    @torch.jit.export
    def reconstruct_event(self, tracks: Tensor, clusters: Tensor, hits: Tensor) -> Dict[str, Tensor]:
        """One event, no padding: tracks [T,13], clusters [C,6], hits [H,6] -> particles [N=T+C]."""
        dev = tracks.device
        out = self.forward(tracks.unsqueeze(0), torch.ones(1, tracks.shape[0], dtype=torch.bool, device=dev),
                           clusters.unsqueeze(0), torch.ones(1, clusters.shape[0], dtype=torch.bool, device=dev),
                           hits.unsqueeze(0), torch.ones(1, hits.shape[0], dtype=torch.bool, device=dev))
        result: Dict[str, Tensor] = {}
        for key, value in out.items():
            result[key] = value.squeeze(0)
        return result

    @torch.jit.export
    def metadata(self) -> Dict[str, str]:
        """Everything a consumer needs to pack inputs and read outputs; every value is a JSON string."""
        return self.metadata_json


@contextmanager
def _torchscript() -> Iterator[None]:
    """torch >= 2.10 marks torch.jit deprecated in favour of torch.export; TorchScript is still what
    libtorch's torch::jit::load runs in the Gaudi algorithm (see DESIGN.md), so silence that notice here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated", category=DeprecationWarning)
        yield


def script_algorithm(algo: MLPFAlgorithm) -> torch.jit.ScriptModule:
    """A TorchScript copy of `algo` on the CPU in eval mode (`algo` itself is left untouched)."""
    with _torchscript():
        return torch.jit.script(copy.deepcopy(algo).cpu().eval())


def save_algorithm(algo: Union[MLPFAlgorithm, torch.jit.ScriptModule], path: Union[str, Path]) -> Path:
    """Script (if eager) a CPU, eval-mode copy of `algo` and write it to `path` atomically (temp + rename)."""
    path = Path(path)
    if not isinstance(algo, torch.jit.ScriptModule):
        algo = script_algorithm(algo)
    meta = json.dumps(dict(algo.metadata()), sort_keys=True)
    with atomic_path(path) as tmp, _torchscript():
        torch.jit.save(algo, tmp, _extra_files={METADATA_FILE: meta})
    return path


class ModelFileError(ValueError):
    """A model path that is missing, or a file that is not an MLPF algorithm module."""


def _load(path: Union[str, Path], device: Union[str, torch.device], files: Dict[str, str]) -> torch.jit.ScriptModule:
    if not Path(path).is_file():
        raise ModelFileError(f"no MLPF model file at {path}")
    try:
        with _torchscript():
            module = torch.jit.load(str(path), map_location=device, _extra_files=files)
    except RuntimeError as err:  # PytorchStreamReader / archive errors of a corrupt or foreign file
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelFileError(f"{path} is not a readable MLPF model file ({reason})") from None
    if not files.get(METADATA_FILE):
        raise ModelFileError(f"{path} is a TorchScript file but not an MLPF model (no {METADATA_FILE}; "
                             "make one with `python -m python_trainer export`)")
    return module


def load_algorithm(path: Union[str, Path], device: Union[str, torch.device] = "cpu") -> torch.jit.ScriptModule:
    """Load a saved algorithm module (eval mode) onto `device` (ModelFileError if it is not one)."""
    return _load(path, device, {METADATA_FILE: ""}).eval()


def read_metadata(path: Union[str, Path]) -> Dict[str, Any]:
    """The metadata of a saved algorithm, JSON fields decoded (config, provenance, column lists, ...)."""
    files = {METADATA_FILE: ""}
    _load(path, "cpu", files)
    meta = json.loads(files[METADATA_FILE])
    return {k: json.loads(v) for k, v in meta.items()}
