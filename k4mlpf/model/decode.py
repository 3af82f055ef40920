"""Raw MLPF outputs -> particles: class, probabilities, charge, four-momentum, per element."""
from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import Tensor

from k4mlpf.model import features as feat


def decode(out: Dict[str, Tensor], b_field: float, class_pdg: List[int], class_mass: List[float]) -> Dict[str, Tensor]:
    """`MLPF.forward` outputs -> dict of [B, N] tensors (N = elements, tracks first); class_pdg and
    class_mass are columns.CLASS_PDG / CLASS_MASS (arguments because TorchScript cannot read
    module-level lists):

    cls (int64 class index, 0 = no particle), pdg (int64, signed: charge +1 -> 211, -11, -13),
    probabilities [B,N,6], charge, px, py, pz, energy, mass (float), source_element (int64 element
    index: e < T is track e, T + c is cluster c, in the padded layout), valid (bool: a particle),
    skipped (bool: a real element left out because a member was not finite).

    Rules: class = argmax(pid) if the binary head says "particle", else 0; probabilities =
    [P(none), P(particle) * P(class | particle)]; phi = atan2(sin, cos); the mass is the class's
    (CLASS_MASS: pi+- for charged hadrons, K0L for neutral hadrons, as Pandora writes them); charged
    classes (track elements) take |p| = exp(logpt) pt_elem cosh(eta) and E = sqrt(|p|^2 + m^2),
    neutral classes (cluster elements) take E = exp(logE) E_elem and |p| = sqrt(E^2 - m^2), so E, p
    and m are always consistent; charge = the track's sign(omega) sign(B) for charged classes, 0 for
    neutral ones. A particle whose four-momentum is not finite is dropped (valid False). Everything
    but probabilities, source_element and skipped is zero where valid is False.
    """
    x, mask = out["features"], out["mask"]                               # [B,N,17], [B,N]
    p_binary = F.softmax(out["binary"], dim=-1)
    p_pid = F.softmax(out["pid"], dim=-1)
    probabilities = torch.cat([p_binary[..., :1], p_binary[..., 1:] * p_pid[..., 1:]], dim=-1)
    is_particle = out["binary"].argmax(dim=-1) == 1
    cls = torch.where(is_particle & mask, out["pid"].argmax(dim=-1), torch.zeros_like(mask, dtype=torch.long))
    valid = cls != 0

    pt_ref, e_ref = feat.reference_scales(x)
    eta = out["eta"]
    phi = torch.atan2(out["sin_phi"], out["cos_phi"])
    mass = torch.tensor(class_mass, dtype=x.dtype, device=x.device)[cls]
    is_track = x[..., 0] == 1.0
    cosh_eta = torch.cosh(eta)
    pt_track = torch.exp(out["logpt"] + torch.log(pt_ref))
    p_track = pt_track * cosh_eta
    e_cluster = torch.exp(out["logE"] + torch.log(e_ref))
    energy = torch.where(is_track, torch.sqrt(p_track * p_track + mass * mass), e_cluster)
    p_cluster = torch.sqrt((e_cluster * e_cluster - mass * mass).clamp_min(0.0))
    pt = torch.where(is_track, pt_track, p_cluster / cosh_eta)

    pdg_abs = torch.tensor(class_pdg, dtype=torch.long, device=x.device)[cls]
    is_charged = (pdg_abs == 211) | (pdg_abs == 11) | (pdg_abs == 13)
    charge = torch.where(is_charged & is_track, feat.track_charge(x[..., 13], b_field), torch.zeros_like(pt))
    # PDG sign convention: pi+ = 211, e- = 11, mu- = 13
    pdg_sign = torch.where(pdg_abs == 211, charge, -charge).long()
    pdg = pdg_abs * torch.where(is_charged, pdg_sign, torch.ones_like(cls))

    px, py, pz = pt * torch.cos(phi), pt * torch.sin(phi), pt * torch.sinh(eta)
    finite = torch.isfinite(px) & torch.isfinite(py) & torch.isfinite(pz) & torch.isfinite(energy)
    valid = valid & finite
    cls = torch.where(valid, cls, torch.zeros_like(cls))
    pdg = torch.where(valid, pdg, torch.zeros_like(pdg))
    charge = torch.where(valid, charge, torch.zeros_like(charge))
    zero = torch.zeros_like(pt)
    B, N = mask.shape[0], mask.shape[1]
    return {
        "cls": cls, "pdg": pdg, "probabilities": probabilities, "charge": charge,
        "px": torch.where(valid, px, zero), "py": torch.where(valid, py, zero),
        "pz": torch.where(valid, pz, zero), "energy": torch.where(valid, energy, zero),
        "mass": torch.where(valid, mass, zero),
        "source_element": torch.arange(N, device=x.device).unsqueeze(0).expand(B, N),
        "valid": valid, "skipped": out["skipped"],
    }
