"""MLPFConfig: the architecture hyper-parameters, frozen, loaded from YAML, saved in every checkpoint.

Only the architecture lives here. The detector's B field is not architecture: it is given to
`MLPF(config, b_field=...)` and kept out of the state dict, so that loading a CLICdet (4 T) backbone
into a CLD (2 T) model can never silently carry the wrong field along (the paper-era bug).
"""
import dataclasses
import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Union

import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


@dataclass(frozen=True)
class MLPFConfig:
    width: int = 128          # embedding dim = num_heads * head_dim; paper: 1024 (32 heads x 32)
    num_heads: int = 8        # paper: 32
    num_layers: int = 2       # transformer blocks in EACH of the two stacks (id, reg); paper: 3 (+3)
    ffn_dim: int = 0          # hidden width of a block's MLP; 0 = width, as the paper (gives its ~52M params)
    head_hidden: int = 0      # hidden width of each output head; 0 = width, as the paper
    dropout: float = 0.0      # the paper trains without dropout (attention and MLP dropout alike)
    activation: str = "relu"  # "relu" (paper) or "gelu"

    def __post_init__(self):
        if self.width % self.num_heads != 0:
            raise ValueError(f"width must be a multiple of num_heads, got width={self.width}, "
                             f"num_heads={self.num_heads}")
        if self.activation not in ("relu", "gelu"):
            raise ValueError(f"activation: expected 'relu' or 'gelu', got {self.activation!r}")
        for name in ("width", "num_heads", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def ffn_width(self) -> int:
        return self.ffn_dim or self.width

    @property
    def head_width(self) -> int:
        return self.head_hidden or self.width

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "MLPFConfig":
        known = [f.name for f in dataclasses.fields(cls)]
        for key in d:
            if key not in known:
                near = difflib.get_close_matches(key, known, n=3) or known
                raise KeyError(f"unknown MLPFConfig key {key!r}; nearest valid keys: {near}")
        return cls(**d)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def load_config(name_or_path: Union[str, Path]) -> MLPFConfig:
    """A config from a YAML file, or a shipped one by name: "small" -> k4mlpf/configs/model_small.yaml."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"model_{name_or_path}.yaml"
    if not path.is_file():
        shipped = sorted(p.stem.removeprefix("model_") for p in CONFIG_DIR.glob("model_*.yaml"))
        raise FileNotFoundError(f"no model config {str(name_or_path)!r} (looked for {path}); "
                                f"shipped configs: {shipped}")
    with open(path) as f:
        d = yaml.safe_load(f) or {}
    try:
        return MLPFConfig.from_dict(d)
    except (KeyError, ValueError, TypeError) as err:
        raise type(err)(f"{path}: {err}") from None
