"""Issue #10: ``k4mlpf reco`` inside a Key4hep environment (real podio/EDM4hep dictionaries loadable).

With ``/opt/k4/env.sh`` sourced, ``/opt/k4/lib`` (``libpodioDict``, ``libedm4hepDict`` and their
rootmaps) is on ``LD_LIBRARY_PATH``; ROOT then autoloads podio's own structs, and a writer that
declared its own ``podio::ObjectID`` crashed (``error: redefinition of 'ObjectID'``, segfault). The
writer must use the loaded dictionaries and write the same file it writes elsewhere.

The stack comes from ``../shared/key4hep/setup.sh /work/main/.venv`` (as root, ~1 min the first
time); without it these tests are skipped.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import awkward as ak
import pytest

from support import REPO, fixture_path
from k4mlpf.edm4hep import EDM4hepFile

ENV_SH = "/opt/k4/env.sh"
MODEL = REPO / "models" / "mlpf_cld_small.pt"

pytestmark = pytest.mark.skipif(not os.path.exists(ENV_SH),
                                reason=f"{ENV_SH} absent: run ../shared/key4hep/setup.sh /work/main/.venv as root")


def _in_key4hep(command: str) -> subprocess.CompletedProcess:
    script = (f"source {ENV_SH} && export PYTHONPATH={shlex.quote(str(REPO))}${{PYTHONPATH:+:$PYTHONPATH}} "
              f"&& cd {shlex.quote(str(REPO))} && {command}")
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=900)


def _reco(source, out, *, key4hep: bool) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "k4mlpf", "reco", str(source), "--model", str(MODEL), "-o", str(out), "--quiet"]
    if key4hep:
        return _in_key4hep(shlex.join(args))
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(args, capture_output=True, text=True, timeout=900, cwd=REPO, env=env)


@pytest.mark.parametrize("name", ["cld_like_rec_podio107.edm4hep.root", "cld_like_rec.edm4hep.root"])
def test_reco_in_a_key4hep_environment(name, tmp_path):
    if not MODEL.exists():
        pytest.skip(f"{MODEL} not present")
    source = fixture_path(name)
    inside, outside = tmp_path / "k4.edm4hep.root", tmp_path / "plain.edm4hep.root"
    ran = _reco(source, inside, key4hep=True)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "redefinition" not in ran.stderr and "error:" not in ran.stderr, ran.stderr[-3000:]
    assert _reco(source, outside, key4hep=False).returncode == 0
    with EDM4hepFile(inside) as f, EDM4hepFile(outside) as g, EDM4hepFile(source) as s:
        assert set(f.collections()) == set(s.collections()) | {"MLPFPFOs"}
        assert f.collections() == g.collections()
        mine, theirs = f.arrays(), g.arrays()
        for collection in mine:  # byte-identical content whichever way the structs were made
            assert ak.to_list(mine[collection]) == ak.to_list(theirs[collection]), collection
        assert f.parameters() == g.parameters() and f.parameters("metadata") == g.parameters("metadata")
    if shutil.which("podio-dump", path=_in_key4hep("echo $PATH").stdout.strip()):
        dumped = _in_key4hep(f"podio-dump {shlex.quote(str(inside))}")
        assert dumped.returncode == 0 and "MLPFPFOs" in dumped.stdout, dumped.stderr[-2000:]
