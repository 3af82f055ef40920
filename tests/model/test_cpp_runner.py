"""The C++ MLPFRunner (what the Gaudi algorithm calls) gives the particles Python gives, from a
TorchScript .pt and from the same model's AOTInductor .pt2 package.

Builds k4mlpf-run-model and k4mlpf-runner-threads with CMake against the libtorch of the torch
wheel (into build/cpp, reused between runs), takes the session's tiny model in both formats
(tests/conftest.py: tiny_pt, tiny_pt2), packs a real event with k4mlpf.elements (and synthetic events
without tracks or clusters), and compares; runs one runner from several threads at once; reads a model
whose output dict has more (and fewer optional) keys.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Dict

import numpy as np
import pytest
import torch

from support import B_FIELD, REPO, fixture_path
from k4mlpf.edm4hep import EDM4hepFile
from k4mlpf.elements import ElementCollections, pack_elements
from k4mlpf.model import load_algorithm
from k4mlpf.model.synthetic import random_event

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
def model_file(tiny_pt):
    return tiny_pt


def write_event(path, tracks, clusters, hits):
    """The driver's input file: int32 counts, then the three float32 tables."""
    with open(path, "wb") as stream:
        stream.write(np.array([len(tracks), len(clusters), len(hits)], np.int32).tobytes())
        for table in (tracks, clusters, hits):
            stream.write(np.ascontiguousarray(table, np.float32).tobytes())
    return tracks, clusters, hits


def real_event(path):
    """(tracks, clusters, hits) of event 0 of the podio fixture, and the driver's input file at ``path``."""
    with EDM4hepFile(fixture_path("cld_like_rec_podio107.edm4hep.root")) as f:
        names = ElementCollections()
        elements = pack_elements(f, f.arrays(names.needed(f)), names)
    return write_event(path, *elements.event(0))


# per element: pdg, class, charge px py pz energy mass probability, the 6 class probabilities
RECORD = np.dtype([("pdg", "<i4"), ("cls", "<i4"), ("values", "<f4", 7), ("probabilities", "<f4", 6)])


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
    assert_same_as_python(cpp, py, tol=1e-5)
    assert (cpp["pdg"] != 0).sum() > 0


def assert_same_as_python(cpp, py, tol):
    """The driver's records against the Python module's outputs: ints exactly, floats to ``tol``."""
    assert np.array_equal(cpp["pdg"], py["pdg"].numpy())
    assert np.array_equal(cpp["cls"], py["cls"].numpy())
    expected = np.stack([py[k].numpy() for k in ("charge", "px", "py", "pz", "energy", "mass")], axis=1)
    np.testing.assert_allclose(cpp["values"][:, :6], expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(cpp["values"][:, 6], py["probabilities"].max(dim=-1).values.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(cpp["probabilities"], py["probabilities"].numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("sizes", [None, (0, 5, 40), (6, 0, 0)], ids=["real event", "no tracks", "no clusters"])
def test_cpp_pt_and_pt2_give_the_particles_of_python(runner_binary, tiny_pt, tiny_pt2, sizes, tmp_path):
    """The runner on the TorchScript file and on the same model's .pt2 package (AOTIModelPackageLoader):
    the particles of each other and of Python, to float tolerance."""
    inputs = tmp_path / "event.bin"
    if sizes is None:
        tracks, clusters, hits = real_event(inputs)
    else:
        event = random_event(*sizes, B_FIELD, torch.Generator().manual_seed(5))
        tracks, clusters, hits = write_event(inputs, *(t.numpy() for t in event))
    run_pt, from_pt = run_cpp(runner_binary, tiny_pt, inputs, tmp_path / "pt.bin")
    run_pt2, from_pt2 = run_cpp(runner_binary, tiny_pt2, inputs, tmp_path / "pt2.bin")
    assert "TorchScript model" in run_pt.stdout and "AOTInductor model" in run_pt2.stdout
    assert "CLD_o2_v05" in run_pt2.stdout and "B = 2 T, 6 classes" in run_pt2.stdout
    with torch.no_grad():
        py = load_algorithm(tiny_pt).reconstruct_event(torch.from_numpy(tracks), torch.from_numpy(clusters),
                                                       torch.from_numpy(hits))
    assert len(from_pt) == len(from_pt2) == len(tracks) + len(clusters)
    assert_same_as_python(from_pt, py, tol=1e-5)
    assert_same_as_python(from_pt2, py, tol=1e-4)  # another compiler's kernels: float rounding differs
    assert (from_pt2["pdg"] != 0).sum() > 0


def test_cpp_names_a_bad_pt2_package_or_a_missing_file(runner_binary, tmp_path):
    bad = tmp_path / "broken.pt2"
    bad.write_bytes(b"not a package")
    run = subprocess.run([str(runner_binary), str(bad), str(bad), str(tmp_path / "o")], capture_output=True, text=True)
    assert run.returncode == 1
    assert f"cannot load MLPF .pt2 package '{bad}'" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    missing = tmp_path / "nothing_here.pt"
    run = subprocess.run([str(runner_binary), str(missing), str(bad), str(tmp_path / "o")], capture_output=True,
                         text=True)
    assert run.returncode == 1 and f"no MLPF model file at '{missing}'" in run.stderr


def test_cpp_names_a_bad_model_file(runner_binary, tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a model")
    run = subprocess.run([str(runner_binary), str(bad), str(bad), str(tmp_path / "o")], capture_output=True, text=True)
    assert run.returncode == 1 and "broken.pt" in run.stderr


def test_cpp_refuses_a_pt2_package_of_another_device(runner_binary, tiny_pt2, tmp_path):
    """The package's metadata is read before its model is loaded: one compiled for CUDA (here: the CPU
    package with its pt2_device metadata changed) is refused on the CPU in one line."""
    import json
    import zipfile

    cuda = tmp_path / "cuda.pt2"
    with zipfile.ZipFile(tiny_pt2) as zin, zipfile.ZipFile(cuda, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith("_metadata.json"):
                data = json.dumps({**json.loads(data), "pt2_device": json.dumps("cuda")}).encode()
            zout.writestr(item, data)
    inputs = tmp_path / "event.bin"
    real_event(inputs)
    run = subprocess.run([str(runner_binary), str(cuda), str(inputs), str(tmp_path / "o")], capture_output=True,
                         text=True)
    assert run.returncode == 1
    assert f"model '{cuda}' was compiled for cuda, not cpu: export it again on that device" in run.stderr


@pytest.mark.parametrize("model", ["tiny_pt", "tiny_pt2"])
def test_cpp_runner_is_thread_safe(runner_binary, model, request, tmp_path):
    """One runner (one TorchScript module or one AOTInductor package, as in the Gaudi algorithm) called
    from 4 threads at once, 8 times each: every result equals the single-threaded one bit for bit."""
    inputs = tmp_path / "event.bin"
    real_event(inputs)
    threads = runner_binary.parent / "k4mlpf-runner-threads"
    run = subprocess.run([str(threads), str(request.getfixturevalue(model)), str(inputs), "4", "8"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "identical: 32 runs on 4 threads" in run.stdout


class ExtraKeys(torch.nn.Module):
    """A model file whose output dict has a key the C++ does not know and no ``mass`` or ``cls`` (as
    an older model may have): the runner reads only what it needs (class from |pdg| and class_pdg)."""

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
            if key not in ("mass", "cls"):
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
    assert np.array_equal(cpp["cls"], py["cls"].numpy())
    expected = np.stack([py[k].numpy() for k in ("charge", "px", "py", "pz", "energy")], axis=1)
    np.testing.assert_allclose(cpp["values"][:, :5], expected, rtol=1e-5, atol=1e-5)
    p2 = (py["px"] ** 2 + py["py"] ** 2 + py["pz"] ** 2).numpy()
    mass = np.sqrt(np.maximum(py["energy"].numpy() ** 2 - p2, 0))  # without "mass": from E and p
    np.testing.assert_allclose(cpp["values"][:, 5], mass, rtol=1e-3, atol=1e-3)
