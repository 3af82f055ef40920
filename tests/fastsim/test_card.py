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
