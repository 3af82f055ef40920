"""Which detector made a file, which detector a model was trained for, and whether they fit.

One rule for ``prepare``, ``reco`` and the shipped-model default (torch-free; the Gaudi algorithm
applies the same rule in C++). A file says its detector through, in this order:

1. the user (``--detector`` / ``--bfield``);
2. the fast simulation's metadata parameters ``k4mlpf_detector`` / ``k4mlpf_bfield_tesla``;
3. the configuration a Key4hep job stored (``configuration_metadata``: k4FWCore's
   ``gaudiConfigOptions``), where a DD4hep compact name such as ``CLD_o2_v05`` appears;
4. nothing: then the file's detector is unknown and a model is not checked against it.

Detectors are compared by family (``CLD_o2_v05`` and ``CLD_o2_v07`` are both CLD, the same 2 T
solenoid) and by field: a model for a 4 T CLICdet on a 2 T CLD file reconstructs every track with
twice its momentum, so a mismatch is refused unless asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# solenoid field [T] of each detector family (arXiv:2503.00131, Table 1)
FAMILY_FIELDS = {"CLD": 2.0, "CLIC": 4.0}
# the compact names of Key4hep's detectors, as they appear in file names and job options
_COMPACT_NAME = re.compile(r"(?<![A-Za-z0-9])(CLD_o\d+_v\d+|CLIC_o\d+_v\d+|FCCee_o\d+_v\d+|ILD_[ls]\d+_v\d+)",
                           re.IGNORECASE)
TRAINED_DIR = Path(__file__).resolve().parent / "trained"
SHIPPED_MODELS = {"CLD": "mlpf_cld_small.pt"}  # family -> file in k4mlpf/trained/
FIELD_TOLERANCE = 0.05  # T


class DetectorMismatchError(ValueError):
    """A model trained for one detector was given a file of another."""


def family(name: str | None) -> str | None:
    """``CLD_o2_v05`` -> ``CLD``, ``CLIC_o3_v14`` / ``CLICdet`` -> ``CLIC``; other names: the part
    before the first ``_``, upper-cased (``ILD_l5_v02`` -> ``ILD``). MLPFParticleFlow.cpp applies the
    same rule in initialize()."""
    if not name:
        return None
    upper = Path(str(name)).stem.upper()
    for fam in FAMILY_FIELDS:
        if upper.startswith(fam):
            return fam
    return upper.split("_", 1)[0]


def field_of(name: str | None) -> float | None:
    return FAMILY_FIELDS.get(family(name) or "")


@dataclass(frozen=True)
class DetectorInfo:
    name: str | None      # e.g. CLD_o2_v05; None when nothing says
    b_field: float | None  # tesla
    source: str           # where it came from, for messages: "--detector", "the file's metadata", ...

    def describe(self) -> str:
        if self.name is None and self.b_field is None:
            return "an unknown detector"
        field = f", {self.b_field:g} T" if self.b_field is not None else ""
        return f"{self.name or 'a detector'}{field} ({self.source})"


def _first(params: dict, key: str):
    values = next(iter(params.get(key, {}).values()), [])
    return values[0] if len(values) else None


def file_detector(f, detector: str | None = None, b_field: float | None = None) -> DetectorInfo:
    """The detector of an open ``EDM4hepFile`` by the rules of the module docstring."""
    if detector is not None or b_field is not None:
        field = b_field if b_field is not None else field_of(detector)
        return DetectorInfo(detector, field, "--detector" if detector is not None else "--bfield")
    meta = _parameters(f, "metadata")
    name = _first(meta, "k4mlpf_detector")
    if name is not None:
        stored = _first(meta, "k4mlpf_bfield_tesla")
        return DetectorInfo(str(name), float(stored) if stored is not None else field_of(name),
                            "the file's metadata")
    lines = [str(text) for values in _parameters(f, "configuration_metadata").values() if isinstance(values, dict)
             for text in values.get("std::string", [])]
    # the geometry service's compact file first (GeoSvc.detectors), then any mention (e.g. an input file name)
    for line in sorted(lines, key=lambda text: "GeoSvc" not in text and "compact" not in text.lower()):
        found = _COMPACT_NAME.search(line)
        if found:
            return DetectorInfo(found.group(1), field_of(found.group(1)), "the file's job configuration")
    return DetectorInfo(None, None, "nothing in the file says")


def metadata_value(f, key: str):
    """The first value of a file-level (``metadata`` category) parameter, or None."""
    return _first(_parameters(f, "metadata"), key)


def _parameters(f, category: str) -> dict:
    try:
        if category in f.categories and f.num_entries(category):
            return f.parameters(category)[0]
    except Exception:  # noqa: BLE001 - metadata is a hint; an unreadable one is the same as none
        pass
    return {}


def check_model(model_detector: str, model_field: float, data: DetectorInfo, *, path: str,
                allow_mismatch: bool = False) -> str | None:
    """Refuse a model for another detector (DetectorMismatchError), or return a note to print (None if
    nothing to say). ``model_field`` in tesla, from the model file's metadata."""
    if data.name is None and data.b_field is None:
        return (f"note: {path} does not say which detector made it; running the {model_detector} model "
                f"({model_field:g} T) on it (pass --detector to have it checked)")
    same_family = data.name is None or family(data.name) == family(model_detector)
    same_field = data.b_field is None or abs(data.b_field - model_field) <= FIELD_TOLERANCE
    if same_family and same_field:
        return None
    message = (f"the model is for {model_detector} ({model_field:g} T) but {path} is from {data.describe()}")
    if allow_mismatch:
        return f"warning: {message}; running it anyway (--allow-detector-mismatch)"
    raise DetectorMismatchError(f"{message}; use a model for that detector, or pass --allow-detector-mismatch")


def shipped_model(data: DetectorInfo) -> Path:
    """The model file shipped for the detector family of a file (CLD when the file does not say)."""
    fam = family(data.name) or "CLD"
    if fam not in SHIPPED_MODELS:
        raise DetectorMismatchError(f"no model is shipped for {data.describe()}; pass --model "
                                    f"(shipped: {', '.join(f'{k}: {v}' for k, v in SHIPPED_MODELS.items())})")
    return TRAINED_DIR / SHIPPED_MODELS[fam]
