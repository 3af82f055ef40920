"""The MLPF training loss (the reference's weights, with two normalisation choices made explicit).

    out = model(tracks, track_mask, clusters, cluster_mask, hits, hit_mask)   # MLPF.forward
    loss, parts = mlpf_loss(out, targets)       # targets: dict of [B, N] tensors, see TARGET_KEYS

total = 10 x CE(binary "is a particle")                   mean over real elements
      + focal(gamma=2) PID                                mean over elements with a target particle
      + sqrt(pt_target) x MSE(log pt ratio)               mean over elements with a target particle
      + sqrt(pt_target) x MSE(log E ratio)                   (and a positive target pt / E)
      + 0.01 x MSE(eta) + 0.01 x MSE(sin phi) + 0.01 x MSE(cos phi)
The reference divides the PID sum by the number of *elements* and sets unusable log-ratio targets
to 0; here PID is a mean over particles and unusable targets (pt or E <= 0) are left out.
Targets must respect the element-type rule (track -> class in {0, 211, 11, 13}, cluster -> {0, 130, 22});
a forbidden class costs ~1e4 (its logit is masked), which shows up at once in the PID loss.
"""
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from k4mlpf.model.features import reference_scales

TARGET_KEYS = ("target_cls", "target_pt", "target_eta", "target_sin_phi", "target_cos_phi", "target_energy")
BINARY_WEIGHT = 10.0
ANGLE_WEIGHT = 0.01
FOCAL_GAMMA = 2.0


def focal_loss(logits: Tensor, target: Tensor, gamma: float = FOCAL_GAMMA) -> Tensor:
    """logits [M, K], target [M] int64 -> per-sample focal loss [M] = -(1 - p_t)^gamma log p_t."""
    logp_t = F.log_softmax(logits, dim=-1).gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return -((1.0 - logp_t.exp()) ** gamma) * logp_t


def mlpf_loss(out: Dict[str, Tensor], targets: Dict[str, Tensor]) -> Tuple[Tensor, Dict[str, Tensor]]:
    """MLPF.forward outputs + targets [B, N] -> (total loss, dict of detached components incl. "total")."""
    missing = [k for k in TARGET_KEYS if k not in targets]
    if missing:
        raise KeyError(f"mlpf_loss: missing targets {missing}; expected {list(TARGET_KEYS)}, got {sorted(targets)}")
    mask = out["mask"]
    cls = targets["target_cls"].long()
    particle = mask & (cls != 0)                                        # [B,N]
    n_elem = mask.sum().clamp_min(1)
    n_part = particle.sum().clamp_min(1)

    parts: Dict[str, Tensor] = {}
    parts["binary"] = BINARY_WEIGHT * F.cross_entropy(out["binary"][mask], particle[mask].long(),
                                                      reduction="sum") / n_elem
    parts["pid"] = focal_loss(out["pid"][particle], cls[particle]).sum() / n_part

    pt_ref, e_ref = reference_scales(out["features"])
    target_pt, target_e = targets["target_pt"], targets["target_energy"]
    weight = torch.sqrt(target_pt.clamp_min(0.0))
    for name, pred, target, ref in (("pt", out["logpt"], target_pt, pt_ref), ("energy", out["logE"], target_e, e_ref)):
        use = particle & (target > 0) & (target_pt > 0)
        err2 = (pred[use] - torch.log(target[use] / ref[use])) ** 2
        parts[name] = (weight[use] * err2).sum() / n_part
    for name in ("eta", "sin_phi", "cos_phi"):
        err2 = (out[name][particle] - targets["target_" + name][particle]) ** 2
        parts[name] = ANGLE_WEIGHT * err2.sum() / n_part

    total = torch.stack(list(parts.values())).sum()
    logged = {k: v.detach() for k, v in parts.items()}
    logged["total"] = total.detach()
    return total, logged
