"""The C++ MLPFRunner (what the Gaudi algorithm calls) gives the particles Python gives.

Builds k4mlpf-run-model with CMake against the libtorch of the torch wheel (into build/cpp, reused
between runs), exports an MLPF model, packs a real event with k4mlpf.elements, and compares.
"""

from __future__ import annotations

import os
import shutil
import subprocess

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
    subprocess.run(["cmake", "--build", str(BUILD), "-j", str(os.cpu_count() or 2), "--target", "k4mlpf-run-model"],
                   check=True, capture_output=True)
    return BUILD / "k4mlpf-run-model"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    model = MLPF(load_config("tiny"), b_field=2.0)
    for p in model.parameters():  # make every head matter, so the comparison is not trivial
        p.data.add_(0.05 * torch.randn_like(p))
    return save_algorithm(MLPFAlgorithm(model, detector="CLD_o2_v05"), tmp_path_factory.mktemp("m") / "mlpf.pt")


def test_cpp_equals_python_on_a_real_event(runner_binary, model_file, tmp_path):
    with EDM4hepFile(fixture_path("cld_like_rec_podio107.edm4hep.root")) as f:
        names = ElementCollections()
        elements = pack_elements(f, f.arrays(names.needed(f)), names)
    tracks, clusters, hits = elements.event(0)
    inputs = tmp_path / "event.bin"
    with open(inputs, "wb") as stream:
        stream.write(np.array([len(tracks), len(clusters), len(hits)], np.int32).tobytes())
        for table in (tracks, clusters, hits):
            stream.write(np.ascontiguousarray(table, np.float32).tobytes())
    output = tmp_path / "out.bin"
    run = subprocess.run([str(runner_binary), str(model_file), str(inputs), str(output)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "CLD_o2_v05" in run.stdout and "B = 2" in run.stdout
    record = np.dtype([("pdg", "<i4"), ("values", "<f4", 7)])
    cpp = np.fromfile(output, record)
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
