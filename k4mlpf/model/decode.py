"""Raw MLPF outputs -> particles: class, probabilities, charge, four-momentum, per element."""
from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import Tensor

from k4mlpf.model import features as feat


def decode(out: Dict[str, Tensor], b_field: float, class_pdg: List[int]) -> Dict[str, Tensor]:
    """`MLPF.forward` outputs -> dict of [B, N] tensors (N = elements, tracks first); class_pdg is
    columns.CLASS_PDG (an argument because TorchScript cannot read module-level lists):

    cls (int64 class index, 0 = no particle), pdg (int64, signed: charge +1 -> 211, -11, -13),
    probabilities [B,N,6], charge, px, py, pz, energy, mass (float), source_element (int64 element
    index: e < T is track e, T + c is cluster c, in the padded layout), valid (bool: a particle).

    Rules: class = argmax(pid) if the binary head says "particle", else 0; probabilities =
    [P(none), P(particle) * P(class | particle)]; pt = exp(logpt) pt_elem, E = exp(logE) E_elem,
    phi = atan2(sin, cos), pz = pt sinh(eta); mass = E sqrt(1 - (|p|/E)^2) computed from the
    log-ratio so that it does not cancel in float32 (E >= |p| by construction); charge = the track's
    sign(omega) sign(B) for charged classes (only tracks can have them), 0 for neutral ones.
    Everything but probabilities and source_element is zero where valid is False.
    """
    x, mask = out["features"], out["mask"]                               # [B,N,17], [B,N]
    p_binary = F.softmax(out["binary"], dim=-1)
    p_pid = F.softmax(out["pid"], dim=-1)
    probabilities = torch.cat([p_binary[..., :1], p_binary[..., 1:] * p_pid[..., 1:]], dim=-1)
    is_particle = out["binary"].argmax(dim=-1) == 1
    cls = torch.where(is_particle & mask, out["pid"].argmax(dim=-1), torch.zeros_like(mask, dtype=torch.long))
    valid = cls != 0

    pt_ref, e_ref = feat.reference_scales(x)
    log_pt = out["logpt"] + torch.log(pt_ref)
    eta = out["eta"]
    log_p = log_pt + feat.log_cosh(eta)
    log_e = out["logE"] + torch.log(e_ref)
    pt, energy = torch.exp(log_pt), torch.exp(log_e)
    phi = torch.atan2(out["sin_phi"], out["cos_phi"])
    mass = energy * torch.sqrt(-torch.expm1(-2.0 * (log_e - log_p).clamp_min(0.0)))

    pdg_abs = torch.tensor(class_pdg, dtype=torch.long, device=x.device)[cls]
    is_charged = (pdg_abs == 211) | (pdg_abs == 11) | (pdg_abs == 13)
    is_track = x[..., 0] == 1.0
    charge = torch.where(is_charged & is_track, feat.track_charge(x[..., 13], b_field), torch.zeros_like(pt))
    # PDG sign convention: pi+ = 211, e- = 11, mu- = 13
    pdg_sign = torch.where(pdg_abs == 211, charge, -charge).long()
    pdg = pdg_abs * torch.where(is_charged, pdg_sign, torch.ones_like(cls))

    zero = torch.zeros_like(pt)
    B, N = mask.shape[0], mask.shape[1]
    return {
        "cls": cls, "pdg": pdg, "probabilities": probabilities, "charge": charge,
        "px": torch.where(valid, pt * torch.cos(phi), zero), "py": torch.where(valid, pt * torch.sin(phi), zero),
        "pz": torch.where(valid, pt * torch.sinh(eta), zero), "energy": torch.where(valid, energy, zero),
        "mass": torch.where(valid, mass, zero),
        "source_element": torch.arange(N, device=x.device).unsqueeze(0).expand(B, N),
        "valid": valid,
    }
