"""The MLPF model and its TorchScript algorithm module (one model file for every reconstruction path).

Trainer:  model = MLPF(load_config("small"), b_field=2.0); out = model(tracks, track_mask, clusters,
          cluster_mask, hits, hit_mask); loss, parts = mlpf_loss(out, targets)
Export:   save_algorithm(MLPFAlgorithm(model, detector="CLD_o2_v05", provenance={...}), "mlpf.pt")
Reco:     algo = load_algorithm("mlpf.pt"); particles = algo.reconstruct_event(tracks, clusters, hits)
Input columns: k4mlpf.model.columns (TRACK_COLUMNS, CLUSTER_COLUMNS, HIT_COLUMNS).

The names below are imported on first use, so that torch-free code can import
``k4mlpf.model.columns`` (the input contract) without loading torch.
"""
import importlib

_HOME = {
    "MLPFAlgorithm": "algorithm", "load_algorithm": "algorithm", "read_metadata": "algorithm",
    "save_algorithm": "algorithm", "script_algorithm": "algorithm", "ModelFileError": "algorithm",
    "export_pt2": "algorithm", "PT2Algorithm": "algorithm", "eager_algorithm": "algorithm",
    "MLPFConfig": "config", "load_config": "config", "TARGET_KEYS": "loss",
    "mlpf_loss": "loss", "MLPF": "mlpf",
}
__all__ = sorted(_HOME)


def __getattr__(name):
    if name in _HOME:
        return getattr(importlib.import_module(f"k4mlpf.model.{_HOME[name]}"), name)
    raise AttributeError(f"module 'k4mlpf.model' has no attribute {name!r}")
