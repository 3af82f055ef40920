import copy
from pathlib import Path

import pytest
import yaml

from fastsim.card import CardError, load_card, resolve_card_path


@pytest.mark.parametrize("name, full, bfield", [("CLD", "CLD_o2_v05", 2.0), ("CLIC", "CLIC_o3_v14", 4.0),
                                                ("CLD_o2_v05", "CLD_o2_v05", 2.0)], ids=["cld", "clic", "full"])
def test_shipped_cards(name, full, bfield):
    card = load_card(name)
    assert card.name == full and card.bfield_tesla == bfield


def test_table1_differences(cld, clic):
    assert cld.tracker.outer_radius_mm == 2100 and clic.tracker.outer_radius_mm == 1500
    assert cld.ecal.barrel_inner_radius_mm == 2150 and clic.ecal.barrel_inner_radius_mm == 1500
    assert cld.hcal.depth_lambda < clic.hcal.depth_lambda          # shallower CLD HCAL
    assert cld.ecal.depth_x0 == clic.ecal.depth_x0 == 22


def test_unknown_detector_lists_known():
    with pytest.raises(CardError, match="known detectors: .*CLD.*CLIC"):
        resolve_card_path("ILD")


def _write(tmp_path, raw):
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def raw_cld():
    return yaml.safe_load(Path(resolve_card_path("CLD")).read_text())


def test_missing_key_names_key_and_file(tmp_path, raw_cld):
    del raw_cld["ecal"]["cell_size_mm"]
    path = _write(tmp_path, raw_cld)
    with pytest.raises(CardError, match=r"card\.yaml.*ecal.*'cell_size_mm'"):
        load_card(str(path))


@pytest.mark.parametrize("section, key, value, message", [
    ("hcal", "barrel_inner_radius_mm", -2400.0, "positive"),
    ("ecal", "layers", 4.5, "positive integer"),
    ("acceptance", "max_abs_cos_theta", 1.5, r"\[0, 1\]"),
], ids=["negative-radius", "float-layers", "bad-fraction"])
def test_bad_values(tmp_path, raw_cld, section, key, value, message):
    bad = copy.deepcopy(raw_cld)
    bad[section][key] = value
    with pytest.raises(CardError, match=message):
        load_card(str(_write(tmp_path, bad)))


def test_missing_file(tmp_path):
    with pytest.raises(CardError, match="does not exist"):
        load_card(str(tmp_path / "nope.yaml"))


def test_variant_card_inherits_its_base(tmp_path):
    from fastsim.card import changes_from_base

    base = load_card("CLD")
    variant = tmp_path / "v.yaml"
    variant.write_text("base: CLD_o2_v05\nname: CLD_wide\nbfield_tesla: 3.0\necal:\n  cell_size_mm: 10.0\n")
    card = load_card(str(variant))
    assert card.name == "CLD_wide" and card.bfield_tesla == 3.0 and card.ecal.cell_size_mm == 10.0
    assert card.ecal.layers == base.ecal.layers and card.hcal.depth_mm == base.hcal.depth_mm  # the rest: the base's
    assert changes_from_base(str(variant)) == ["bfield_tesla: 2.0 -> 3.0", "ecal.cell_size_mm: 5.0 -> 10.0"]
    assert changes_from_base("CLD") == []
    nested = tmp_path / "w.yaml"                                         # a base given as a relative path
    nested.write_text("base: v.yaml\nname: CLD_wider\nhcal:\n  layers: 30\n")
    assert load_card(str(nested)).ecal.cell_size_mm == 10.0 and load_card(str(nested)).hcal.layers == 30


def test_variant_card_errors_name_the_file(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.write_text("base: loop.yaml\nname: x\n")
    with pytest.raises(CardError, match="loop.yaml: 'base' chain loops"):
        load_card(str(loop))
    bad = tmp_path / "bad.yaml"
    bad.write_text("base: CLD_o2_v05\nname: bad\necal:\n  cell_size_mm: -1\n")
    with pytest.raises(CardError, match="bad.yaml: ecal.cell_size_mm: expected a positive number"):
        load_card(str(bad))


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[2] / "detectors" / "variants").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_shipped_variant_cards(path):
    from fastsim.card import changes_from_base

    card = load_card(str(path))
    assert card.name.startswith("CLD_o2_v05_") and changes_from_base(str(path))
    assert path.read_text().startswith("# CLD_o2_v05 with")                # each says what it changes
