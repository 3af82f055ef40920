"""Training mixes: several seeded samples (processes, energies, single particles) from one YAML file.

    detector: CLD
    samples:
      - {process: ttbar, ecm: 365, events: 2000, seed: 201}
      - {process: gun, particle: 22, energy: [1, 100], events: 500, seed: 301}

``python -m fastsim mix SPEC --output DIR`` writes one file per sample,
``DIR/<process><ecm>_s<seed>_n<events>.edm4hep.root`` (guns: ``gun<pdg>_<emin>-<emax>GeV_...``), and skips
the ones already there; each file's metadata says what it holds (``k4mlpf_sample``), and ``prepare``
carries that into the shards. Errors name the file, the sample and the key.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .generator import GUN_PARTICLES, PROCESSES, THRESHOLDS
from .pipeline import RunConfig

KEYS = {"process", "ecm", "events", "seed", "particle", "energy"}


class MixError(ValueError):
    """A mix file that cannot be used."""


def load_mix(path: str | Path) -> tuple[str, list[RunConfig]]:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise MixError(f"cannot read mix file {path}: {err}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("samples"), list) or not raw["samples"]:
        raise MixError(f"{path}: a mix file is a mapping with a non-empty list 'samples'")
    detector = str(raw.get("detector", "CLD"))
    configs = []
    for i, sample in enumerate(raw["samples"]):
        where = f"{path}: samples[{i}]"
        if not isinstance(sample, dict):
            raise MixError(f"{where}: expected a mapping like {{process: ttbar, events: 100, seed: 1}}")
        unknown = sorted(set(sample) - KEYS)
        if unknown:
            raise MixError(f"{where}: unknown key(s) {unknown}; known: {sorted(KEYS)}")
        process = sample.get("process")
        if process not in (*PROCESSES, "gun"):
            raise MixError(f"{where}: process {process!r}; known: {', '.join((*PROCESSES, 'gun'))}")
        for key in ("events", "seed"):
            value = sample.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or (key == "events" and value <= 0):
                raise MixError(f"{where}: {key} must be {'a positive' if key == 'events' else 'an'} integer, "
                               f"not {value!r}")
        if process == "gun":
            pdg, energy = sample.get("particle"), sample.get("energy", [10.0])
            if pdg not in GUN_PARTICLES:
                raise MixError(f"{where}: particle {pdg!r}; supported: {GUN_PARTICLES}")
            energy = energy if isinstance(energy, list) else [energy]
            if len(energy) not in (1, 2) or not all(isinstance(e, (int, float)) and e > 0 for e in energy):
                raise MixError(f"{where}: energy must be one positive value or [min, max]")
            configs.append(RunConfig(detector=detector, process="gun", n_events=sample["events"], seed=sample["seed"],
                                     gun_pdg=pdg, gun_energy=(float(energy[0]), float(energy[-1]))))
        else:
            ecm = float(sample.get("ecm", PROCESSES[process][1]))
            if ecm < THRESHOLDS[process]:
                raise MixError(f"{where}: ecm {ecm:g}: {process} is not produced below {THRESHOLDS[process]:.1f} GeV")
            configs.append(RunConfig(detector=detector, process=process, n_events=sample["events"],
                                     seed=sample["seed"], ecm=ecm))
    seeds = [c.seed for c in configs]
    if len(set(seeds)) != len(seeds):
        raise MixError(f"{path}: two samples share a seed (every sample needs its own)")
    return detector, configs


def sample_file(cfg: RunConfig) -> str:
    if cfg.process == "gun":
        low, high = cfg.gun_energy
        return f"gun{cfg.gun_pdg}_{low:g}-{high:g}GeV_s{cfg.seed}_n{cfg.n_events}.edm4hep.root"
    return f"{cfg.process}{cfg.ecm:g}_s{cfg.seed}_n{cfg.n_events}.edm4hep.root"


def run_mix(spec: str | Path, output: str | Path, jobs: int = 1, progress: bool = True) -> list[tuple[Path, bool]]:
    """Simulate every sample of the mix not yet in ``output``; returns (file, simulated now?) per sample."""
    from .card import load_card
    from .pipeline import run

    detector, configs = load_mix(spec)
    load_card(detector)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    done = []
    for cfg in configs:
        path = output / sample_file(cfg)
        made = not path.exists()
        if made:
            run(cfg, str(path), jobs=jobs, progress=progress)
        done.append((path, made))
    return done
