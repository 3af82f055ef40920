"""The MLPF model and its TorchScript algorithm module (one model file for every reconstruction path).

Trainer:  model = MLPF(load_config("small"), b_field=2.0); out = model(tracks, track_mask, clusters,
          cluster_mask, hits, hit_mask); loss, parts = mlpf_loss(out, targets)
Export:   save_algorithm(MLPFAlgorithm(model, detector="CLD_o2_v05", provenance={...}), "mlpf.pt")
Reco:     algo = load_algorithm("mlpf.pt"); particles = algo.reconstruct_event(tracks, clusters, hits)
Input columns: k4mlpf.model.columns (TRACK_COLUMNS, CLUSTER_COLUMNS, HIT_COLUMNS).
"""
from k4mlpf.model.algorithm import MLPFAlgorithm, load_algorithm, read_metadata, save_algorithm, script_algorithm
from k4mlpf.model.config import MLPFConfig, load_config
from k4mlpf.model.decode import decode
from k4mlpf.model.loss import TARGET_KEYS, mlpf_loss
from k4mlpf.model.mlpf import MLPF

__all__ = ["MLPF", "MLPFAlgorithm", "MLPFConfig", "TARGET_KEYS", "decode", "load_algorithm", "load_config",
           "mlpf_loss", "read_metadata", "save_algorithm",
           "script_algorithm"]
