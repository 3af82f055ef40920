"""``fastsim mix``: several seeded samples from one YAML file, carried into the shards."""

from __future__ import annotations

import json

import pytest

from fastsim.__main__ import main
from fastsim.mix import MixError, load_mix, sample_file


def test_mix_writes_every_sample_once_and_prepare_keeps_what_it_is(tmp_path, capsys):
    spec = tmp_path / "mix.yaml"
    spec.write_text("detector: CLD\nsamples:\n  - {process: qq, ecm: 91.2, events: 3, seed: 5}\n"
                    "  - {process: gun, particle: 22, energy: [2, 20], events: 4, seed: 6}\n")
    assert main(["mix", str(spec), "--output", str(tmp_path / "mix"), "--quiet"]) == 0
    files = sorted((tmp_path / "mix").glob("*.edm4hep.root"))
    assert [f.name for f in files] == ["gun22_2-20GeV_s6_n4.edm4hep.root", "qq91.2_s5_n3.edm4hep.root"]
    stamps = [f.stat().st_mtime_ns for f in files]
    assert main(["mix", str(spec), "--output", str(tmp_path / "mix"), "--quiet"]) == 0     # nothing to redo
    assert [f.stat().st_mtime_ns for f in files] == stamps and "already there" in capsys.readouterr().out

    import numpy as np

    from python_trainer.prepare import PrepareOptions, prepare

    shards = prepare([str(f) for f in files], str(tmp_path / "shards"), PrepareOptions(), progress=False)
    samples = []
    for shard in shards:
        with np.load(shard) as data:
            samples.append(json.loads(str(data["meta"]))["sample"])
            assert data["oracle_counts"].sum() == len(data["oracle"]) == len(data["oracle_cls"])
    assert samples[0] == {"process": "gun", "particle": 22, "energy": [2.0, 20.0], "seed": 6, "events": 4}
    assert samples[1] == {"process": "qq", "ecm": 91.2, "seed": 5, "events": 3}


@pytest.mark.parametrize("text, message", [
    ("samples: []", "non-empty list 'samples'"),
    ("samples:\n  - {process: tt, events: 3, seed: 1}", "samples[0]: process 'tt'"),
    ("samples:\n  - {process: qq, events: 0, seed: 1}", "samples[0]: events must be a positive integer"),
    ("samples:\n  - {process: ww, ecm: 91.2, events: 3, seed: 1}", "ecm 91.2: ww is not produced below"),
    ("samples:\n  - {process: gun, particle: 99, events: 3, seed: 1}", "particle 99"),
    ("samples:\n  - {process: qq, events: 3, seed: 1, colour: red}", "unknown key(s) ['colour']"),
    ("samples:\n  - {process: qq, events: 3, seed: 1}\n  - {process: zh, events: 3, seed: 1}", "share a seed"),
])
def test_bad_mix_files_name_the_sample_and_key(tmp_path, text, message):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    with pytest.raises(MixError, match=f"bad.yaml: .*{__import__('re').escape(message)}"):
        load_mix(spec)


def test_shipped_mix_covers_the_measured_processes():
    detector, configs = load_mix(__import__("pathlib").Path(__file__).resolve().parents[2] / "fastsim" / "mixes"
                                 / "cld_physics.yaml")
    names = {sample_file(c).split("_s")[0] for c in configs}
    assert detector == "CLD"
    assert {"ttbar365", "zh240", "zh365", "qq91.2", "qq240", "qq365", "ww240", "ww365"} <= names
    assert {c.gun_pdg for c in configs if c.process == "gun"} >= {22, 130, 2112, 211, 11, 13}
