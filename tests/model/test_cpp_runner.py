"""The C++ MLPFRunner (what the Gaudi algorithm calls) gives the particles Python gives.

Builds k4mlpf-run-model and k4mlpf-runner-threads with CMake against the libtorch of the torch
wheel (into build/cpp, reused between runs), exports an MLPF model, packs a real event with
k4mlpf.elements, and compares; runs one runner from several threads at once; reads a model whose
output dict has more (and fewer optional) keys.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Dict

import numpy as np
import pytest
import torch

from support import REPO, fixture_path
from k4mlpf.edm4hep import EDM4hepFile
from k4mlpf.elements import ElementCollections, pack_elements
from k4mlpf.model import MLPF, MLPFAlgorithm, load_algorithm, load_config, save_algorithm

BUILD = REPO / "build" / "cpp"


@pytest.fixture(scope="module")
def runner_binary():
    if shutil.which("cmake") is None or shutil.which("g++") is None:
        pytest.skip("cmake and g++ are needed to build the C++ runner")
    prefix = torch.utils.cmake_prefix_path
    subprocess.run(["cmake", "-S", str(REPO), "-B", str(BUILD), f"-DCMAKE_PREFIX_PATH={prefix}",
                    "-DCMAKE_BUILD_TYPE=Release"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(BUILD), "-j", str(os.cpu_count() or 2), "--target", "k4mlpf-run-model",
                    "k4mlpf-runner-threads"], check=True, capture_output=True)
    return BUILD / "k4mlpf-run-model"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    model = MLPF(load_config("tiny"), b_field=2.0)
    for p in model.parameters():  # make every head matter, so the comparison is not trivial
        p.data.add_(0.05 * torch.randn_like(p))
    return save_algorithm(MLPFAlgorithm(model, detector="CLD_o2_v05"), tmp_path_factory.mktemp("m") / "mlpf.pt")


def real_event(path):
    """(tracks, clusters, hits) of event 0 of the podio fixture, and the driver's input file at ``path``."""
    with EDM4hepFile(fixture_path("cld_like_rec_podio107.edm4hep.root")) as f:
        names = ElementCollections()
        elements = pack_elements(f, f.arrays(names.needed(f)), names)
    tracks, clusters, hits = elements.event(0)
    with open(path, "wb") as stream:
        stream.write(np.array([len(tracks), len(clusters), len(hits)], np.int32).tobytes())
        for table in (tracks, clusters, hits):
            stream.write(np.ascontiguousarray(table, np.float32).tobytes())
    return tracks, clusters, hits


RECORD = np.dtype([("pdg", "<i4"), ("values", "<f4", 7)])


def run_cpp(runner_binary, model, inputs, output):
    run = subprocess.run([str(runner_binary), str(model), str(inputs), str(output)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run, np.fromfile(output, RECORD)


def test_cpp_equals_python_on_a_real_event(runner_binary, model_file, tmp_path):
    inputs = tmp_path / "event.bin"
    tracks, clusters, hits = real_event(inputs)
    run, cpp = run_cpp(runner_binary, model_file, inputs, tmp_path / "out.bin")
    assert "CLD_o2_v05" in run.stdout and "B = 2" in run.stdout
    with torch.no_grad():
        py = load_algorithm(model_file).reconstruct_event(torch.from_numpy(tracks), torch.from_numpy(clusters),
                                                          torch.from_numpy(hits))
    assert len(cpp) == len(tracks) + len(clusters)
    assert np.array_equal(cpp["pdg"], py["pdg"].numpy())
    expected = np.stack([py[k].numpy() for k in ("charge", "px", "py", "pz", "energy", "mass")], axis=1)
    np.testing.assert_allclose(cpp["values"][:, :6], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cpp["values"][:, 6], py["probabilities"].max(dim=-1).values.numpy(), rtol=1e-5)


def test_cpp_names_a_bad_model_file(runner_binary, tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a model")
    run = subprocess.run([str(runner_binary), str(bad), str(bad), str(tmp_path / "o")], capture_output=True, text=True)
    assert run.returncode == 1 and "broken.pt" in run.stderr


def test_cpp_runner_is_thread_safe(runner_binary, model_file, tmp_path):
    """One runner (one TorchScript module, as in the Gaudi algorithm) called from 4 threads at once,
    8 times each: every result equals the single-threaded one bit for bit."""
    inputs = tmp_path / "event.bin"
    real_event(inputs)
    threads = runner_binary.parent / "k4mlpf-runner-threads"
    run = subprocess.run([str(threads), str(model_file), str(inputs), "4", "8"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert "identical: 32 runs on 4 threads" in run.stdout


class ExtraKeys(torch.nn.Module):
    """A model file whose output dict has a key the C++ does not know and no ``mass`` (as a model
    whose masses come from the class may have): the runner reads only what it needs."""

    def __init__(self, algo):
        super().__init__()
        self.algo = algo

    def forward(self, tracks: torch.Tensor, clusters: torch.Tensor, hits: torch.Tensor):
        return self.reconstruct_event(tracks, clusters, hits)

    @torch.jit.export
    def reconstruct_event(self, tracks: torch.Tensor, clusters: torch.Tensor, hits: torch.Tensor):
        out = self.algo.reconstruct_event(tracks, clusters, hits)
        result: Dict[str, torch.Tensor] = {"finite_inputs": torch.ones_like(out["energy"], dtype=torch.bool)}
        for key, value in out.items():
            if key != "mass":
                result[key] = value
        return result

    @torch.jit.export
    def metadata(self) -> Dict[str, str]:
        return self.algo.metadata()


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_cpp_reads_only_the_output_keys_it_needs(runner_binary, model_file, tmp_path):
    algo = load_algorithm(model_file)
    extra = tmp_path / "extra_keys.pt"
    torch.jit.save(torch.jit.script(ExtraKeys(algo)), str(extra))
    inputs = tmp_path / "event.bin"
    tracks, clusters, hits = real_event(inputs)
    _, cpp = run_cpp(runner_binary, extra, inputs, tmp_path / "out.bin")
    with torch.no_grad():
        py = algo.reconstruct_event(torch.from_numpy(tracks), torch.from_numpy(clusters), torch.from_numpy(hits))
    assert np.array_equal(cpp["pdg"], py["pdg"].numpy())
    expected = np.stack([py[k].numpy() for k in ("charge", "px", "py", "pz", "energy")], axis=1)
    np.testing.assert_allclose(cpp["values"][:, :5], expected, rtol=1e-5, atol=1e-5)
    p2 = (py["px"] ** 2 + py["py"] ** 2 + py["pz"] ** 2).numpy()
    mass = np.sqrt(np.maximum(py["energy"].numpy() ** 2 - p2, 0))  # without "mass": from E and p
    np.testing.assert_allclose(cpp["values"][:, 5], mass, rtol=1e-3, atol=1e-3)
