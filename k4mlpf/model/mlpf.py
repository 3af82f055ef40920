"""The MLPF transformer: raw EDM4hep members in, raw head outputs out (the training path).

Two pre-LN transformer stacks over the elements of an event (tracks then clusters): one feeds the
classification heads, one the regression heads. Differences from the reference implementation
(see shared/reference/mlpf-upstream.md), each deliberate:
- a real key-padding mask in scaled_dot_product_attention (the reference's flash path let padded
  elements into the softmax), so outputs of real elements do not depend on padding;
- the standard pre-LN residual x + f(LN(x)) (the reference added the *normalised* x), and no
  "elements as queries" last layer: every block is plain self-attention;
- fixed per-feature input normalisation (features.normalize_*) instead of raw GeV/mm;
- the heads also see the normalised element features; regression heads are zero-initialised, so
  an untrained model predicts the element's own kinematics; eta and sin/cos phi are (1 + a) x_elem + b.
"""
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from k4mlpf.model import features as feat
from k4mlpf.model.columns import CHARGED_CLASSES, CLASS_PDG, N_FEATURES, NEUTRAL_CLASSES
from k4mlpf.model.config import MLPFConfig

MASKED_LOGIT = -1.0e4  # logit of a class an element type may not produce (finite: no inf - inf)


def activation(name: str) -> nn.Module:
    return nn.GELU() if name == "gelu" else nn.ReLU()


class FFN(nn.Module):
    """Linear -> act -> LayerNorm -> dropout -> Linear (the reference's `ffn`, used for embeddings and heads)."""

    def __init__(self, n_in: int, n_out: int, hidden: int, config: MLPFConfig):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, hidden), activation(config.activation), nn.LayerNorm(hidden),
                                 nn.Dropout(config.dropout), nn.Linear(hidden, n_out))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class SelfAttention(nn.Module):
    def __init__(self, config: MLPFConfig):
        super().__init__()
        self.n_head = config.num_heads
        self.dropout = config.dropout
        self.qkv = nn.Linear(config.width, 3 * config.width)
        self.proj = nn.Linear(config.width, config.width)

    def forward(self, x: Tensor, attn_mask: Tensor) -> Tensor:
        B, N, D = x.shape                                               # attn_mask [B,1,1,N], True = attend
        q, k, v = self.qkv(x).split(D, dim=2)
        q = q.view(B, N, self.n_head, D // self.n_head).transpose(1, 2)  # [B,nh,N,hs]
        k = k.view(B, N, self.n_head, D // self.n_head).transpose(1, 2)
        v = v.view(B, N, self.n_head, D // self.n_head).transpose(1, 2)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=p)  # [B,nh,N,hs]
        return self.proj(y.transpose(1, 2).reshape(B, N, D))


class Block(nn.Module):
    def __init__(self, config: MLPFConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(config.width)
        self.attn = SelfAttention(config)
        self.ln2 = nn.LayerNorm(config.width)
        self.mlp = nn.Sequential(nn.Linear(config.width, config.ffn_width), activation(config.activation),
                                 nn.Linear(config.ffn_width, config.width), nn.Dropout(config.dropout))

    def forward(self, x: Tensor, attn_mask: Tensor) -> Tensor:
        x = x + self.attn(self.ln1(x), attn_mask)
        return x + self.mlp(self.ln2(x))


class Encoder(nn.Module):
    """Per-element-type input MLPs, then pre-LN blocks and a final LayerNorm."""

    def __init__(self, config: MLPFConfig):
        super().__init__()
        self.embed_track = FFN(N_FEATURES, config.width, config.width, config)
        self.embed_cluster = FFN(N_FEATURES, config.width, config.width, config)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.num_layers)])
        self.ln_f = nn.LayerNorm(config.width)

    def forward(self, xn: Tensor, n_tracks: int, attn_mask: Tensor) -> Tensor:
        h = torch.cat([self.embed_track(xn[:, :n_tracks]), self.embed_cluster(xn[:, n_tracks:])], dim=1)
        for block in self.blocks:
            h = block(h, attn_mask)                                   # [B,N,D]
        return self.ln_f(h)


def linear_correction(ab: Tensor, x_elem: Tensor) -> Tensor:
    """(1 + a) x_elem + b: starts at the element's own value when the head outputs zero."""
    return (1.0 + ab[..., 0]) * x_elem + ab[..., 1]


class MLPF(nn.Module):
    """forward(tracks, track_mask, clusters, cluster_mask, hits, hit_mask) -> dict of raw outputs:

    features [B,N,17] (raw), mask [B,N], skipped [B,N] (real elements left out for non-finite
    members, `features.finite_elements`), binary [B,N,2] logits, pid [B,N,6] logits (classes an element
    type may not produce, and class 0, are masked), logpt = log(pt/pt_elem), eta, sin_phi, cos_phi,
    logE = log(E/E_elem) [B,N]. N = T + C, tracks first. Decode with k4mlpf.model.decode.decode.
    """

    def __init__(self, config: MLPFConfig, b_field: float):
        super().__init__()
        self.config = config
        self.b_field = float(b_field)                                # [T], not in the state dict on purpose
        self.masked_logit = MASKED_LOGIT
        self.register_buffer("track_norm", feat.normalization_table(feat.TRACK_NORM))
        self.register_buffer("cluster_norm", feat.normalization_table(feat.CLUSTER_NORM))
        allowed = torch.zeros(2, len(CLASS_PDG), dtype=torch.bool)   # row 0: tracks, row 1: clusters
        allowed[0, CHARGED_CLASSES] = True
        allowed[1, NEUTRAL_CLASSES] = True
        self.register_buffer("allowed_classes", allowed, persistent=False)

        self.id_encoder = Encoder(config)
        self.reg_encoder = Encoder(config)
        n_in, hidden = config.width + N_FEATURES, config.head_width  # heads see [embedding, normalised features]
        self.binary = FFN(n_in, 2, hidden, config)
        self.pid = FFN(n_in, len(CLASS_PDG), hidden, config)
        self.pt_track, self.pt_cluster = FFN(n_in, 1, hidden, config), FFN(n_in, 1, hidden, config)
        self.e_track, self.e_cluster = FFN(n_in, 1, hidden, config), FFN(n_in, 1, hidden, config)
        self.eta, self.sin_phi, self.cos_phi = (FFN(n_in, 2, hidden, config) for _ in range(3))
        # an untrained model predicts the element's own kinematics; the energy heads' bias starts just
        # above 0 because ReLU'(0) = 0 would leave a zero-initialised head without gradient for ever
        for head in (self.pt_track, self.pt_cluster, self.eta, self.sin_phi, self.cos_phi, self.e_track,
                     self.e_cluster):
            nn.init.zeros_(head.net[-1].weight)
            nn.init.constant_(head.net[-1].bias, 1e-3 if head in (self.e_track, self.e_cluster) else 0.0)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, tracks: Tensor, track_mask: Tensor, clusters: Tensor, cluster_mask: Tensor,
                hits: Tensor, hit_mask: Tensor) -> Dict[str, Tensor]:
        track_mask, cluster_mask, hit_mask, skipped = feat.finite_elements(tracks, track_mask, clusters,
                                                                           cluster_mask, hits, hit_mask)
        x, mask = feat.element_features(tracks, track_mask, clusters, cluster_mask, hits, hit_mask,
                                        self.b_field)                  # [B,N,17], [B,N]
        out = self.forward_features(x, mask, tracks.shape[1])
        out["features"] = x
        out["mask"] = mask
        out["skipped"] = skipped
        return out

    def forward_features(self, x: Tensor, mask: Tensor, n_tracks: int) -> Dict[str, Tensor]:
        T = n_tracks
        xn = torch.cat([feat.normalize_tracks(x[:, :T], self.track_norm),
                        feat.normalize(x[:, T:], self.cluster_norm)], dim=1)
        xn = xn * mask.unsqueeze(-1)
        # keys: the real elements; an empty event attends to its (finite) padding instead of to nothing (NaN)
        keys = mask | ~mask.any(dim=1, keepdim=True)
        attn_mask = keys[:, None, None, :]                            # [B,1,1,N]
        z_id = torch.cat([self.id_encoder(xn, T, attn_mask), xn], dim=-1)
        z_reg = torch.cat([self.reg_encoder(xn, T, attn_mask), xn], dim=-1)

        is_track = torch.arange(x.shape[1], device=x.device) < T      # [N]
        allowed = torch.where(is_track[:, None], self.allowed_classes[0], self.allowed_classes[1])  # [N,6]
        pid = self.pid(z_id).masked_fill(~allowed, self.masked_logit)

        logpt = torch.cat([self.pt_track(z_reg[:, :T]), self.pt_cluster(z_reg[:, T:])], dim=1).squeeze(-1)
        eta = linear_correction(self.eta(z_reg), x[..., 2])
        sin_phi = linear_correction(self.sin_phi(z_reg), x[..., 3])
        cos_phi = linear_correction(self.cos_phi(z_reg), x[..., 4])
        # energy >= |p|: log(|p_pred| / E_elem) + ReLU(head); |p| = pt cosh(eta), pt and eta detached
        pt_ref, e_ref = feat.reference_scales(x)
        log_p = logpt.detach() + torch.log(pt_ref) + feat.log_cosh(eta.detach())
        e_head = torch.cat([self.e_track(z_reg[:, :T]), self.e_cluster(z_reg[:, T:])], dim=1).squeeze(-1)
        logE = log_p - torch.log(e_ref) + F.relu(e_head)
        return {"binary": self.binary(z_id), "pid": pid, "logpt": logpt, "eta": eta,
                "sin_phi": sin_phi, "cos_phi": cos_phi, "logE": logE}

