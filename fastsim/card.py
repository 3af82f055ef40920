"""Detector cards: YAML files that describe a detector for the fast simulation.

A card gives the solenoid field, the tracker layers, the calorimeter geometry and its resolutions.
``load_card("CLD")`` reads ``fastsim/detectors/CLD_o2_v05.yaml``; ``load_card("CLIC")`` reads
``fastsim/detectors/CLIC_o3_v14.yaml`` (``detectors/`` at the top of the repository links there); any other argument is a path to a user card (the geometry-swap
study: copy a card, change it, simulate). A card may start from another with ``base: CLD_o2_v05`` (a
shipped name or a path relative to the card) and give only what it changes; ``changes_from_base``
lists those changes. Every key is checked once, here, so the simulation never meets a missing or
nonsensical number; errors name the file and the key.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import yaml

DETECTOR_DIR = Path(__file__).resolve().parent / "detectors"  # package data; ./detectors links here
ALIASES = {"CLD": "CLD_o2_v05", "CLIC": "CLIC_o3_v14", "CLICDET": "CLIC_o3_v14"}

# kinds: "pos" > 0, "nonneg" >= 0, "frac" in [0, 1], "int" positive integer,
# "pos_list" list of numbers > 0, "int_list" list of non-negative integers, "pair" two numbers >= 0
SCHEMA = {
    "tracker": {
        "half_length_mm": "pos", "inner_radius_mm": "pos", "outer_radius_mm": "pos",
        "min_hits": "int", "efficiency": "frac", "point_resolution_um": "pos",
        "material_x0": "nonneg", "d0_resolution_um": "pair", "z0_resolution_um": "pair",
        "theta_resolution_mrad": "pair", "dqdx_resolution": "nonneg", "duplicate_rate": "frac",
        "barrel_layers": {"radius_mm": "pos_list", "half_length_mm": "pos_list", "system": "int_list"},
        "endcap_disks": {"z_mm": "pos_list", "rmin_mm": "pos_list", "rmax_mm": "pos_list",
                         "system": "int_list"},
    },
    "ecal": {
        "barrel_inner_radius_mm": "pos", "barrel_half_length_mm": "pos", "endcap_inner_z_mm": "pos",
        "endcap_inner_radius_mm": "pos", "depth_mm": "pos", "depth_x0": "pos",
        "depth_lambda": "pos", "layers": "int", "cell_size_mm": "pos", "moliere_radius_mm": "pos",
        "sampling_term": "nonneg", "constant_term": "nonneg", "mip_gev": "pos",
        "hit_threshold_mip": "nonneg", "noise_hits_per_event": "nonneg",
    },
    "hcal": {
        "barrel_inner_radius_mm": "pos", "barrel_half_length_mm": "pos", "depth_mm": "pos",
        "depth_lambda": "pos", "depth_x0": "pos", "layers": "int", "cell_size_mm": "pos",
        "endcap_inner_z_mm": "pos", "endcap_outer_z_mm": "pos", "endcap_inner_radius_mm": "pos",
        "endcap_outer_radius_mm": "pos", "ring_inner_z_mm": "pos", "ring_outer_z_mm": "pos",
        "ring_inner_radius_mm": "pos", "ring_outer_radius_mm": "pos", "sampling_term": "nonneg",
        "constant_term": "nonneg", "mip_gev": "pos", "hit_threshold_mip": "nonneg",
        "noise_hits_per_event": "nonneg",
    },
    "muon": {
        "barrel_layer_radius_mm": "pos_list", "endcap_layer_z_mm": "pos_list",
        "barrel_half_length_mm": "pos", "cell_size_mm": "pos", "hit_energy_gev": "pos",
        "min_energy_gev": "nonneg",
    },
    "acceptance": {"max_abs_cos_theta": "frac"},
}


class CardError(ValueError):
    """A detector card is missing, unreadable or holds an invalid value."""


def known_detectors() -> list[str]:
    """Names of the cards shipped in ``detectors/`` plus their short aliases."""
    return sorted(ALIASES) + sorted(p.stem for p in DETECTOR_DIR.glob("*.yaml"))


def resolve_card_path(detector: str | Path) -> Path:
    """``CLD`` / ``CLIC`` / a shipped card name / a path -> the YAML file to read."""
    text = str(detector)
    name = ALIASES.get(text.upper(), text)
    shipped = DETECTOR_DIR / f"{name}.yaml"
    if shipped.is_file():
        return shipped
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise CardError(f"detector card {path} does not exist")
        return path
    near = difflib.get_close_matches(text, known_detectors(), n=3, cutoff=0.0)
    raise CardError(f"unknown detector {text!r}; known detectors: {', '.join(known_detectors())}"
                    f" (nearest: {', '.join(near)}), or give the path of a YAML card")


def _check(value, kind: str, where: str):
    def fail(expected):
        raise CardError(f"{where}: expected {expected}, got {value!r}")

    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            fail("a positive integer")
        return value
    if kind in ("pos_list", "int_list", "pair"):
        if not isinstance(value, list) or not value:
            fail("a non-empty list")
        if kind == "pair" and len(value) != 2:
            fail("a list of two numbers")
        sub = {"pos_list": "pos", "int_list": "int0", "pair": "nonneg"}[kind]
        return np.array([_check(v, sub, f"{where}[{i}]") for i, v in enumerate(value)])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail("a number")
    value = float(value) if kind != "int0" else value
    if kind == "pos" and not value > 0:
        fail("a positive number")
    if kind in ("nonneg", "int0") and not value >= 0:
        fail("a number >= 0")
    if kind == "frac" and not 0 <= value <= 1:
        fail("a number in [0, 1]")
    return value


def _build(raw: dict, schema: dict, where: str) -> SimpleNamespace:
    if not isinstance(raw, dict):
        raise CardError(f"{where}: expected a mapping, got {type(raw).__name__}")
    out = {}
    for key, kind in schema.items():
        if key not in raw:
            raise CardError(f"{where}: missing key {key!r}")
        sub = f"{where}: {key}" if ": " not in where else f"{where}.{key}"
        out[key] = _build(raw[key], kind, sub) if isinstance(kind, dict) else _check(raw[key], kind, sub)
    return SimpleNamespace(**out)


def _check_consistency(card: SimpleNamespace, path: Path) -> None:
    for section in ("barrel_layers", "endcap_disks"):
        lists = vars(getattr(card.tracker, section))
        sizes = {k: len(v) for k, v in lists.items()}
        if len(set(sizes.values())) != 1:
            raise CardError(f"{path}: tracker.{section}: lists differ in length {sizes}")
    t = card.tracker
    if t.barrel_layers.radius_mm.max() > t.outer_radius_mm or t.endcap_disks.z_mm.max() > t.half_length_mm:
        raise CardError(f"{path}: tracker layers lie outside tracker.outer_radius_mm / half_length_mm")
    e, h = card.ecal, card.hcal
    if e.barrel_inner_radius_mm + e.depth_mm > h.barrel_inner_radius_mm:
        raise CardError(f"{path}: ecal (barrel_inner_radius_mm + depth_mm) overlaps the HCAL barrel")
    if card.tracker.outer_radius_mm > e.barrel_inner_radius_mm:
        raise CardError(f"{path}: tracker.outer_radius_mm is outside ecal.barrel_inner_radius_mm")


def _read_yaml(path: Path) -> dict:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise CardError(f"cannot read detector card {path}: {err}") from None
    if not isinstance(raw, dict):
        raise CardError(f"{path}: a detector card is a YAML mapping")
    return raw


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def _base_path(raw: dict, path: Path) -> Path | None:
    if "base" not in raw:
        return None
    base = str(raw["base"])
    relative = path.parent / base
    return relative if relative.is_file() else resolve_card_path(base)


def raw_card(detector: str | Path, _seen: tuple = ()) -> tuple[dict, Path]:
    """The card's YAML mapping with its ``base`` chain merged in (the variant's keys win), and its path."""
    path = resolve_card_path(detector)
    if path.resolve() in _seen:
        raise CardError(f"{path}: 'base' chain loops back to itself")
    raw = _read_yaml(path)
    base_path = _base_path(raw, path)
    if base_path is not None:
        base, _ = raw_card(base_path, _seen + (path.resolve(),))
        base.pop("name", None)
        raw = _merge(base, {k: v for k, v in raw.items() if k != "base"})
    return raw, path


def _flat(raw: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in raw.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def changes_from_base(detector: str | Path) -> list[str]:
    """``["bfield_tesla: 2.0 -> 3.0", ...]`` for a card with a ``base``; [] for a card without one."""
    path = resolve_card_path(detector)
    base_path = _base_path(_read_yaml(path), path)
    if base_path is None:
        return []
    mine, base = _flat(raw_card(path)[0]), _flat(raw_card(base_path)[0])
    return [f"{key}: {base.get(key)} -> {mine[key]}" for key in mine
            if key not in ("name", "base") and mine[key] != base.get(key)]


def load_card(detector: str | Path) -> SimpleNamespace:
    """Read and validate a card; returns nested namespaces (``card.ecal.cell_size_mm``)."""
    raw, path = raw_card(detector)
    for key in ("name", "bfield_tesla"):
        if key not in raw:
            raise CardError(f"{path}: missing key {key!r}")
    card = _build({k: v for k, v in raw.items() if k in SCHEMA}, SCHEMA, str(path)) \
        if all(k in raw for k in SCHEMA) else None
    if card is None:
        missing = [k for k in SCHEMA if k not in raw]
        raise CardError(f"{path}: missing key {missing[0]!r}")
    card.name = str(raw["name"])
    card.bfield_tesla = _check(raw["bfield_tesla"], "pos", f"{path}: bfield_tesla")
    card.path = str(path)
    _check_consistency(card, path)
    return card
