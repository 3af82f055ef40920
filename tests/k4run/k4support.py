"""Helpers of the k4run tests (fixtures: conftest.py): the project's reconstruction in a clean
environment, particle-by-particle comparison of two EDM4hep files, a small exported model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from support import REPO

K4RUN_TIMEOUT = 600


def clean_env() -> dict:
    """This process's environment without the Key4hep stack's paths (for the project's ROOT writer)."""
    env = dict(os.environ)
    k4 = env.pop("K4_PREFIX", "/opt/k4")
    for key in ("LD_LIBRARY_PATH", "PYTHONPATH", "ROOT_INCLUDE_PATH", "GAUDI_PLUGIN_PATH"):
        parts = [p for p in env.get(key, "").split(":") if p and not p.startswith(k4)]
        if parts:
            env[key] = ":".join(parts)
        else:
            env.pop(key, None)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *([env["PYTHONPATH"]] if "PYTHONPATH" in env else [])])
    return env


def k4mlpf_reco(input_path: Path, output_path: Path, model: Path) -> subprocess.CompletedProcess:
    """``python -m k4mlpf reco`` in a subprocess without the stack's environment."""
    return subprocess.run([sys.executable, "-m", "k4mlpf", "reco", str(input_path), "--model", str(model),
                           "--output", str(output_path)], cwd=REPO, env=clean_env(), capture_output=True, text=True,
                          timeout=K4RUN_TIMEOUT)


def read_particles(path: Path, collection: str = "MLPFPFOs") -> list[dict]:
    """Per event (ordered by EventHeader's event number when there is one): the particles' members and
    their track/cluster relations as (collection name, index)."""
    from k4mlpf.edm4hep import EDM4hepFile

    with EDM4hepFile(path) as f:
        names = [collection] + (["EventHeader"] if "EventHeader" in f.collections() else [])
        data = f.arrays(names)
        pfos = data[collection]
        numbers = (list(range(len(pfos))) if "EventHeader" not in data
                   else [int(h.eventNumber[0]) if len(h) else i for i, h in enumerate(data["EventHeader"])])
        events = []
        for i, event in enumerate(pfos):
            def refs(rel):
                return [[(f.collection_name(r["collectionID"]), int(r["index"])) for r in p] for p in rel]

            events.append({
                "number": numbers[i],
                "PDG": np.asarray(event.PDG, np.int64),
                "charge": np.asarray(event.charge, np.float64),
                "p4": np.stack([np.asarray(event.momentum.x), np.asarray(event.momentum.y),
                                np.asarray(event.momentum.z), np.asarray(event.energy)], axis=-1).reshape(-1, 4),
                "mass": np.asarray(event.mass, np.float64),
                "tracks": refs(event.tracks.tolist()), "clusters": refs(event.clusters.tolist()),
            })
    return sorted(events, key=lambda e: e["number"])


def assert_same_particles(ours: Path, theirs: Path, *, rtol: float = 1e-4, atol: float = 1e-4,
                          rename: dict | None = None) -> int:
    """Particle by particle: PDG, charge, four-momentum (float tolerance), track/cluster relations
    (collection names of ``ours`` mapped through ``rename``). Returns the number of particles compared."""
    a, b = read_particles(ours), read_particles(theirs)
    for event in a:
        for key in ("tracks", "clusters"):
            event[key] = [[((rename or {}).get(n, n), i) for n, i in rel] for rel in event[key]]
    assert [e["number"] for e in a] == [e["number"] for e in b], "different events"
    n = 0
    for x, y in zip(a, b):
        where = f"{ours.name} vs {theirs.name}, event {x['number']}"
        assert len(x["PDG"]) == len(y["PDG"]), f"{where}: {len(x['PDG'])} != {len(y['PDG'])} particles"
        np.testing.assert_array_equal(x["PDG"], y["PDG"], err_msg=where)
        np.testing.assert_allclose(x["charge"], y["charge"], rtol=0, atol=1e-6, err_msg=where)
        np.testing.assert_allclose(x["p4"], y["p4"], rtol=rtol, atol=atol, err_msg=where)
        assert x["tracks"] == y["tracks"], f"{where}: track relations differ"
        assert x["clusters"] == y["clusters"], f"{where}: cluster relations differ"
        n += len(x["PDG"])
    return n


def export_model(path: Path, *, detector: str, b_field: float) -> Path:
    """A tiny random MLPF exported like python_trainer export (weights jittered so every head matters)."""
    from k4mlpf.model import MLPF, MLPFAlgorithm, load_config, save_algorithm

    torch.manual_seed(3)
    model = MLPF(load_config("tiny"), b_field=b_field)
    for p in model.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    return save_algorithm(MLPFAlgorithm(model, detector=detector, provenance={"made_by": "tests/k4run"}), path)
