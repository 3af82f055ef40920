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


def test_real_podio_reads_the_converted_real_file(tmp_path):
    """The real CLD file (EDM4hep 0.99.99, subset collections) copied by the project's writer, in a
    Key4hep environment: podio 1.7 reads every collection, the subset collections as subsets."""
    import warnings

    out = tmp_path / "copy.edm4hep.root"
    ran = _in_key4hep(f"{shlex.quote(sys.executable)} -W ignore -c "
                      + shlex.quote("from k4mlpf.edm4hep.writer import copy_with_additions; "
                                    f"copy_with_additions({str(fixture_path('real/cld_o2_v05_hbb240_rec.edm4hep.root'))!r}, "
                                    f"{str(out)!r})"))
    assert ran.returncode == 0 and "error:" not in ran.stderr, ran.stderr[-3000:]
    dumped = _in_key4hep(f"podio-dump {shlex.quote(str(out))}")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with EDM4hepFile(out) as f:
            names = f.collections()
    listed = {line.split()[0]: "(s)" in line for line in dumped.stdout.splitlines()
              if line.split() and line.split()[0] in names}
    assert set(listed) == set(names)
    assert listed["SelectedPandoraPFOs"] and listed["MCParticlesSkimmed"] and not listed["PandoraPFOs"]
