"""The Gaudi path: build MLPFParticleFlow against a Key4hep stack and run it with k4run.

Stack: a setup script named by ``K4MLPF_KEY4HEP_SETUP`` (sourced for each k4run; CI in a Key4hep
image), a sourced Key4hep release (``KEY4HEP_STACK`` set, ``k4run`` on PATH) or the prebuilt stack
of ``../shared/key4hep`` (``setup.sh`` -> ``/opt/k4/env.sh``; ``make test`` installs it). Without
either, every test here skips with the reason. k4run and podio-dump run in a subprocess with the
stack's environment; ``python -m k4mlpf reco`` (the project's ROOT writer) runs in a subprocess
*without* it (the prebuilt stack's libraries on LD_LIBRARY_PATH crash that writer). The build goes
to ``build/k4`` (ignored by git) and is incremental: a second session only re-runs ninja's check.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from support import REPO
from k4support import K4RUN_TIMEOUT, export_model  # noqa: F401 - helpers shared with the tests

BUILD = REPO / "build" / "k4"
PREBUILT_ENV = Path("/opt/k4/env.sh")
PREBUILT_SETUP = REPO.parent / "shared" / "key4hep" / "setup.sh"


@dataclass
class Stack:
    """How to run a command with the Key4hep environment."""

    prefix: str  # shell code run before the command ("" for a sourced release)
    where: str

    def shell(self, command: str, *, cwd: Path = REPO, timeout: int = K4RUN_TIMEOUT) -> subprocess.CompletedProcess:
        script = f"{self.prefix}{command}"
        return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def find_stack() -> Stack | None:
    """The order of .ci/k4build.sh: K4MLPF_KEY4HEP_SETUP, a sourced release, the prebuilt stack."""
    script = os.environ.get("K4MLPF_KEY4HEP_SETUP")
    if script:
        return Stack(f"source {shlex.quote(script)} >/dev/null && ", f"K4MLPF_KEY4HEP_SETUP={script}")
    if os.environ.get("KEY4HEP_STACK") and shutil.which("k4run"):
        return Stack("", f"the sourced Key4hep release {os.environ['KEY4HEP_STACK']}")
    if PREBUILT_ENV.exists():
        return Stack(f"source {PREBUILT_ENV} && ", f"the prebuilt stack ({PREBUILT_ENV})")
    return None


@pytest.fixture(scope="session")
def stack() -> Stack:
    found = find_stack()
    if found is None:
        hint = (f"run `{PREBUILT_SETUP} .venv` (as root) or `make test`" if PREBUILT_SETUP.exists()
                else "source /cvmfs/sw.hsf.org/key4hep/setup.sh")
        pytest.skip(f"no Key4hep stack (neither KEY4HEP_STACK + k4run nor {PREBUILT_ENV}): {hint}")
    return found


@pytest.fixture(scope="session")
def k4build(stack) -> Path:
    """``build/k4/run``: the build's environment wrapper (plugin and genconf paths), built if needed."""
    steps = []
    if not (BUILD / "build.ninja").exists() and not (BUILD / "Makefile").exists():
        generator = "-G Ninja " if shutil.which("ninja") else ""
        steps.append(f"cmake -S {shlex.quote(str(REPO))} -B {shlex.quote(str(BUILD))} {generator}"
                     f"-DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH={shlex.quote(torch.utils.cmake_prefix_path)}")
    steps.append(f"cmake --build {shlex.quote(str(BUILD))} -j {os.cpu_count() or 2}")
    for step in steps:
        run = stack.shell(step, timeout=1800)
        assert run.returncode == 0, f"{step} failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    plugin = BUILD / "libk4mlpfPlugins.so"
    assert plugin.exists(), (f"{plugin} was not built although {stack.where} is there: "
                             f"see `cmake -S . -B {BUILD}` (Gaudi, k4FWCore, EDM4HEP found?)")
    return BUILD / "run"


@pytest.fixture(scope="session")
def k4run(stack, k4build):
    """``k4run(options, *args, env={...})`` -> CompletedProcess (stdout + stderr in ``.output``); ``env``:
    variables set for the job."""

    def run(options: str, *args, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
        command = " ".join(shlex.quote(str(a)) for a in (k4build, "k4run", REPO / options, *args))
        if env:
            command = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items()) + " " + command
        result = stack.shell(command, cwd=cwd)
        result.output = result.stdout + result.stderr
        return result

    return run


@pytest.fixture(scope="session")
def podio_dump(stack):
    """``podio_dump(path)``: the real podio-dump reads the file (the first event's collection list;
    ``detailed=True``: every object of it, ``-d``)."""

    def dump(path: Path, detailed: bool = False) -> str:
        run = stack.shell(f"podio-dump {'-d ' if detailed else ''}-e 0 {shlex.quote(str(path))}", timeout=300)
        assert run.returncode == 0, f"podio-dump {path} failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
        return run.stdout

    return dump


@pytest.fixture(scope="session")
def clic_sample(tmp_path_factory) -> Path:
    """12 fast-simulation CLICdet ttbar events (380 GeV)."""
    from fastsim.pipeline import RunConfig, run

    path = tmp_path_factory.mktemp("clic") / "clic_ttbar.edm4hep.root"
    run(RunConfig(detector="CLIC", process="ttbar", n_events=12, seed=11, chunk_size=12), str(path), jobs=1,
        progress=False)
    return path


@pytest.fixture(scope="session")
def clic_model(tmp_path_factory) -> Path:
    return export_model(tmp_path_factory.mktemp("clic_model") / "mlpf_clic_tiny.pt", detector="CLIC_o3_v14",
                        b_field=4.0)


@pytest.fixture(scope="session")
def cld_model() -> Path:
    return REPO / "models" / "mlpf_cld_small.pt"
