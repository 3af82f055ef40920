"""MLPFAlgorithm: features + MLPF + decoding in one TorchScript module, the model file every path runs.

    algo = MLPFAlgorithm(model, detector="CLD_o2_v05", provenance={"command": "...", "git": "..."})
    save_algorithm(algo, "models/mlpf_cld.pt")          # scripted, CPU, eval mode, atomic write
    algo = load_algorithm("models/mlpf_cld.pt")         # torch.jit.load; same API as the eager module
    particles = algo(tracks, track_mask, clusters, cluster_mask, hits, hit_mask)   # batched [B, ...]
    particles = algo.reconstruct_event(tracks, clusters, hits)                     # one event, no masks
    export_pt2(algo, "models/mlpf_cld.pt2")              # torch.export + AOTInductor package, same interface

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


def _first_line(err: Exception) -> str:
    """The first line of a torch loader's error (the rest is a C++ backtrace)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


# ---------------------------------------------------------------------------------------------------
# .pt2: torch.export + AOTInductor, the deployment format PyTorch recommends past TorchScript

PT2_SUFFIX = ".pt2"


def export_pt2(algo: MLPFAlgorithm, path: Union[str, Path], device: str = "cpu") -> Path:
    """Compile `algo` (its `forward` on padded batches: features, model, decoding) with torch.export and
    AOTInductor into a `.pt2` package for `device`, dynamic in batch size and numbers of tracks,
    clusters and hits, with the same metadata as the TorchScript file. Atomic; takes a minute or two."""
    from torch.export import Dim, export

    from k4mlpf.model.batch import pad_events
    from k4mlpf.model.synthetic import random_event

    path = Path(path)
    if path.suffix != PT2_SUFFIX:
        raise ValueError(f"{path}: a .pt2 package must end in {PT2_SUFFIX}")
    module = copy.deepcopy(algo).to(device).eval()
    g = torch.Generator().manual_seed(0)
    sample = tuple(t.to(device) for t in pad_events([random_event(7, 11, 60, module.b_field, g),
                                                     random_event(5, 9, 40, module.b_field, g)]))
    batch, tracks = Dim("batch", min=1, max=4096), Dim("tracks", min=1, max=1 << 20)
    clusters, hits = Dim("clusters", min=1, max=1 << 20), Dim("hits", min=1, max=1 << 28)
    shapes = ({0: batch, 1: tracks}, {0: batch, 1: tracks}, {0: batch, 1: clusters}, {0: batch, 1: clusters},
              {0: batch, 1: hits}, {0: batch, 1: hits})
    with warnings.catch_warnings():
        # torch 2.13's own pytree code trips its LeafSpec deprecation while exporting: not the user's to fix
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
        # and inductor imports torch.utils.mkldnn, whose classes still use torch.jit.script_method
        warnings.filterwarnings("ignore", message=r".*torch\.jit.*deprecated", category=DeprecationWarning)
        with torch.no_grad():
            program = export(module, sample, dynamic_shapes=shapes, strict=False)
        with atomic_path(path, suffix=PT2_SUFFIX) as tmp:
            torch._inductor.aoti_compile_and_package(
                program, package_path=tmp,
                inductor_configs={"aot_inductor.metadata": {**module.metadata_json, "pt2_device": json.dumps(device)}})
    return path


class PT2Algorithm:
    """A `.pt2` package with the TorchScript module's interface: `algo(*padded_batch)`,
    `algo.reconstruct_event(tracks, clusters, hits)`, `algo.metadata()`, `detector`, `b_field`."""

    def __init__(self, path: Union[str, Path], device: Union[str, torch.device] = "cpu"):
        self.path = Path(path)
        try:
            self.runner = torch._inductor.aoti_load_package(str(path))
            stored = dict(self.runner.get_metadata())
        except Exception as err:  # noqa: BLE001 - a corrupt or foreign package
            raise ModelFileError(f"{path} is not a readable MLPF .pt2 package ({_first_line(err)})") from None
        if "format_version" not in stored:
            raise ModelFileError(f"{path} is a .pt2 package but not an MLPF model (no MLPF metadata)")
        self.metadata_json = {k: v for k, v in stored.items() if not k.startswith("AOTI")}
        self.device = torch.device(device)
        built_for = json.loads(self.metadata_json.pop("pt2_device", '"cpu"'))
        if torch.device(built_for).type != self.device.type:
            raise ModelFileError(f"{path} was compiled for {built_for}, not {self.device.type}: export it again "
                                 f"on that device (python_trainer export --format pt2 --device {self.device.type})")
        self.detector: str = json.loads(self.metadata_json["detector"])
        self.b_field: float = json.loads(self.metadata_json["b_field"])

    def __call__(self, tracks, track_mask, clusters, cluster_mask, hits, hit_mask) -> Dict[str, Tensor]:
        return self.runner(tracks, track_mask, clusters, cluster_mask, hits, hit_mask)

    def reconstruct_event(self, tracks: Tensor, clusters: Tensor, hits: Tensor) -> Dict[str, Tensor]:
        def ones(n: int) -> Tensor:
            return torch.ones(1, n, dtype=torch.bool, device=tracks.device)

        out = self(tracks[None], ones(tracks.shape[0]), clusters[None], ones(clusters.shape[0]), hits[None],
                   ones(hits.shape[0]))
        return {k: v[0] for k, v in out.items()}

    def metadata(self) -> Dict[str, str]:
        return dict(self.metadata_json)

    def eval(self) -> "PT2Algorithm":
        return self

    def to(self, device) -> "PT2Algorithm":
        return self


def _load(path: Union[str, Path], device: Union[str, torch.device], files: Dict[str, str]):
    if not Path(path).is_file():
        raise ModelFileError(f"no MLPF model file at {path}")
    if Path(path).suffix == PT2_SUFFIX:  # both formats go through here: one existence check, one dispatch
        return PT2Algorithm(path, device)
    try:
        with _torchscript():
            module = torch.jit.load(str(path), map_location=device, _extra_files=files)
    except RuntimeError as err:  # PytorchStreamReader / archive errors of a corrupt or foreign file
        raise ModelFileError(f"{path} is not a readable MLPF model file ({_first_line(err)})") from None
    if not files.get(METADATA_FILE):
        raise ModelFileError(f"{path} is a TorchScript file but not an MLPF model (no {METADATA_FILE}; "
                             "make one with `python -m python_trainer export`)")
    return module


def load_algorithm(path: Union[str, Path], device: Union[str, torch.device] = "cpu"):
    """Load a saved algorithm, TorchScript (`.pt`) or AOTInductor package (`.pt2`), in eval mode onto
    `device` (ModelFileError if it is not one). Both have the same call interface and metadata."""
    return _load(path, device, {METADATA_FILE: ""}).eval()


def eager_algorithm(path: Union[str, Path]) -> MLPFAlgorithm:
    """The eager `MLPFAlgorithm` of a saved TorchScript model file: its model config, weights, detector
    and provenance, so that an exported `.pt` can be compiled again (`export_pt2`) without the training
    checkpoint it came from. ModelFileError if the weights do not fit the config the file states."""
    from k4mlpf.model.config import MLPFConfig

    if Path(path).suffix == PT2_SUFFIX:
        raise ModelFileError(f"{path}: a .pt2 package holds compiled code, not a module to rebuild; "
                             "give the TorchScript .pt it was exported from")
    meta = read_metadata(path)
    module = load_algorithm(path)
    model = MLPF(MLPFConfig.from_dict(meta["config"]), b_field=float(meta["b_field"]))
    state = {k[len("model."):]: v for k, v in module.state_dict().items() if k.startswith("model.")}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # a shape that does not fit the stated config
        raise ModelFileError(f"{path}: weights do not fit its config ({_first_line(err)})") from None
    persistent, buffers = set(model.state_dict()), {name for name, _ in model.named_buffers()}
    missing = [k for k in missing if k in persistent]
    unexpected = [k for k in unexpected if k not in buffers]  # non-persistent buffers travel in TorchScript
    if missing or unexpected:
        raise ModelFileError(f"{path}: weights do not fit its config (missing {missing[:5]}, "
                             f"unexpected {unexpected[:5]})")
    return MLPFAlgorithm(model.eval(), detector=meta["detector"], provenance=meta.get("provenance") or {})


def read_metadata(path: Union[str, Path]) -> Dict[str, Any]:
    """The metadata of a saved algorithm, JSON fields decoded (config, provenance, column lists, ...)."""
    files = {METADATA_FILE: ""}
    module = _load(path, "cpu", files)
    meta = module.metadata() if isinstance(module, PT2Algorithm) else json.loads(files[METADATA_FILE])
    return {k: json.loads(v) for k, v in meta.items()}
