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
    their track/cluster relations as (collection name, index); their ParticleIDs (``<stem>ParticleIDs``)
    and truth links (``<stem>MCTruthLink``), None where the file has no such collection."""
    from k4mlpf.edm4hep import EDM4hepFile

    stem = collection.removesuffix("PFOs")
    pid_name, link_name = f"{stem}ParticleIDs", f"{stem}MCTruthLink"
    with EDM4hepFile(path) as f:
        present = f.collections()
        names = [collection] + [n for n in (pid_name, link_name, "EventHeader") if n in present]
        data = f.arrays(names)
        pfos = data[collection]
        numbers = (list(range(len(pfos))) if "EventHeader" not in data
                   else [int(h.eventNumber[0]) if len(h) else i for i, h in enumerate(data["EventHeader"])])

        def ref(r):
            return f.collection_name(int(r["collectionID"])), int(r["index"])

        events = []
        for i, event in enumerate(pfos):
            pids = links = None
            if pid_name in data:
                rows = data[pid_name][i]
                pids = {"ints": np.stack([np.asarray(rows[k], np.int64) for k in ("type", "PDG", "algorithmType")],
                                         axis=-1).reshape(-1, 3),
                        "likelihood": np.asarray(rows.likelihood, np.float64),
                        "parameters": [np.asarray(p, np.float64) for p in rows.parameters.tolist()],
                        "particle": [ref(r) for r in rows.particle.tolist()]}
            if link_name in data:
                rows = data[link_name][i]
                links = {"weight": np.asarray(rows.weight, np.float64),
                         "ends": [(ref(a), ref(b)) for a, b in zip(rows["from"].tolist(), rows["to"].tolist())]}
            events.append({
                "number": numbers[i],
                "PDG": np.asarray(event.PDG, np.int64),
                "charge": np.asarray(event.charge, np.float64),
                "p4": np.stack([np.asarray(event.momentum.x), np.asarray(event.momentum.y),
                                np.asarray(event.momentum.z), np.asarray(event.energy)], axis=-1).reshape(-1, 4),
                "mass": np.asarray(event.mass, np.float64),
                "goodnessOfPID": np.asarray(event.goodnessOfPID, np.float64),
                "tracks": [[ref(r) for r in p] for p in event.tracks.tolist()],
                "clusters": [[ref(r) for r in p] for p in event.clusters.tolist()],
                "pids": pids, "links": links,
            })
    return sorted(events, key=lambda e: e["number"])


def assert_same_particles(ours: Path, theirs: Path, *, rtol: float = 1e-4, atol: float = 1e-4,
                          rename: dict | None = None, truth_links: bool = True) -> int:
    """Particle by particle: PDG, charge, four-momentum and goodnessOfPID (float tolerance),
    track/cluster relations (collection names of ``ours`` mapped through ``rename``); their
    MLPFParticleIDs (type, PDG, algorithmType, particle; likelihood and the class probabilities to the
    tolerance); with ``truth_links`` their MLPFMCTruthLink, which both files must have (same links in the
    same order: from, to, weight). Returns the number of particles compared."""
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
        np.testing.assert_allclose(x["goodnessOfPID"], y["goodnessOfPID"], rtol=rtol, atol=atol, err_msg=where)
        assert x["tracks"] == y["tracks"], f"{where}: track relations differ"
        assert x["clusters"] == y["clusters"], f"{where}: cluster relations differ"
        assert x["pids"] is not None and y["pids"] is not None, f"{where}: MLPFParticleIDs missing"
        p, q = x["pids"], y["pids"]
        np.testing.assert_array_equal(p["ints"], q["ints"], err_msg=f"{where}: ParticleID type/PDG/algorithmType")
        np.testing.assert_array_equal(p["ints"][:, 1], x["PDG"], err_msg=f"{where}: ParticleID PDG vs particle")
        np.testing.assert_allclose(p["likelihood"], q["likelihood"], rtol=rtol, atol=atol, err_msg=where)
        assert [len(v) for v in p["parameters"]] == [len(v) for v in q["parameters"]], f"{where}: ParticleID parameters"
        if p["parameters"]:
            np.testing.assert_allclose(np.stack(p["parameters"]), np.stack(q["parameters"]), rtol=rtol, atol=atol,
                                       err_msg=f"{where}: class probabilities")
        assert p["particle"] == q["particle"] == [("MLPFPFOs", i) for i in range(len(x["PDG"]))], \
            f"{where}: ParticleID -> particle relations"
        if truth_links:
            assert x["links"] is not None and y["links"] is not None, f"{where}: MLPFMCTruthLink missing"
            assert x["links"]["ends"] == y["links"]["ends"], f"{where}: truth links differ (from, to)"
            np.testing.assert_allclose(x["links"]["weight"], y["links"]["weight"], rtol=1e-6, atol=0, err_msg=where)
        n += len(x["PDG"])
    return n


def truth_link_count(path: Path) -> int:
    """The number of MLPFMCTruthLink links in the file (0 without that collection)."""
    return sum(len(e["links"]["weight"]) for e in read_particles(path) if e["links"] is not None)


def export_model(path: Path, *, detector: str, b_field: float) -> Path:
    """A tiny random MLPF exported like python_trainer export (weights jittered so every head matters)."""
    from k4mlpf.model import MLPF, MLPFAlgorithm, load_config, save_algorithm

    torch.manual_seed(3)
    model = MLPF(load_config("tiny"), b_field=b_field)
    for p in model.parameters():
        p.data.add_(0.05 * torch.randn_like(p))
    return save_algorithm(MLPFAlgorithm(model, detector=detector, provenance={"made_by": "tests/k4run"}), path)
