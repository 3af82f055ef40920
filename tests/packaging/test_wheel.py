"""A non-editable install works: the wheel carries every file a command needs by default (detector
cards, trainer configs, model configs, the shipped model) and the console scripts run from another
folder, with no source tree on the path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from support import REPO

IGNORED = shutil.ignore_patterns(".venv", ".git", "build", "out", "data", "__pycache__", "*.egg-info",
                                 ".pytest_cache", ".hypothesis")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with the wheel built from a copy of the repository (dependencies seen through a
    .pth file pointing at this interpreter's site-packages, so nothing is downloaded)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    shutil.copytree(REPO, src, symlinks=True, ignore=IGNORED)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(root / "dist"), str(src)], check=True, capture_output=True, text=True)
    wheel = next((root / "dist").glob("k4mlpf-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "_k4mlpf_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                    "--no-index", "--quiet", str(wheel)], check=True, capture_output=True, text=True)
    work = root / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    def run(*argv, timeout=600):
        result = subprocess.run(list(argv), cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"{' '.join(argv)} -> {result.returncode}\n{result.stderr[-3000:]}"
        return result

    return {"venv": venv, "work": work, "run": run, "wheel": wheel}


def test_the_wheel_holds_the_package_data(installed):
    import zipfile

    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for needed in ("fastsim/detectors/CLD_o2_v05.yaml", "fastsim/detectors/CLIC_o3_v14.yaml",
                   "python_trainer/configs/pretrain.yaml", "python_trainer/configs/finetune.yaml",
                   "k4mlpf/configs/model_small.yaml", "k4mlpf/trained/mlpf_cld_small.pt"):
        assert needed in names


def test_installed_commands_run_their_defaults_from_another_folder(installed):
    run, venv, work = installed["run"], installed["venv"], installed["work"]
    where = run("python", "-c", "import k4mlpf, fastsim, python_trainer; print(k4mlpf.__file__, fastsim.__file__)").stdout
    assert str(venv) in where and str(REPO) not in where
    out = run("fastsim", "generate", "--detector", "CLD", "--events", "16", "--output", "cld.edm4hep.root", "--quiet")
    assert "wrote 16 CLD_o2_v05 ttbar events" in out.stdout
    out = run("python_trainer", "prepare", "cld.edm4hep.root", "--quiet")
    assert "PF collection BaselinePFOs" in out.stdout and any((work / "shards").glob("*.npz"))
    assert "tiny | small | paper" in run("python_trainer", "pretrain", "--help").stdout
    run("python_trainer", "pretrain", "shards", "--output", "run", "--model", "tiny", "--max-steps", "2",
        "--epochs", "1", "--quiet")                                     # the shipped pretrain.yaml loads
    assert (work / "run" / "best.pt").exists() or (work / "run" / "last.pt").exists()
    out = run("k4mlpf", "reco", "cld.edm4hep.root", "--output", "reco.edm4hep.root", "--quiet")
    assert "model: mlpf_cld_small.pt" in out.stderr and "wrote 16 events with MLPFPFOs" in out.stdout
