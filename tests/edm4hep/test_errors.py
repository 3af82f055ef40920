"""Bad input gives one clear error naming the file (and, for collections, what does exist)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from support import REPO, fixture_path
from k4mlpf.edm4hep import CollectionNotFoundError, EDM4hepError, EDM4hepFile, NotPodioFileError


def test_missing_file(tmp_path):
    with pytest.raises(EDM4hepError, match="no such file") as err:
        EDM4hepFile(tmp_path / "nope.root")
    assert "nope.root" in str(err.value)


def test_not_a_root_file(tmp_path):
    path = tmp_path / "text.root"
    path.write_text("this is not ROOT\n")
    with pytest.raises(NotPodioFileError, match="not a ROOT file") as err:
        EDM4hepFile(path)
    assert str(path) in str(err.value)


def test_root_file_that_is_not_podio(tmp_path):
    import uproot

    path = tmp_path / "flat.root"
    with uproot.recreate(path) as f:
        f.mktree("events", {"x": "float32"}).extend({"x": [1.0, 2.0]})
    with pytest.raises(NotPodioFileError, match="without podio_metadata") as err:
        EDM4hepFile(path)
    assert str(path) in str(err.value)


def test_truncated_file(tmp_path):
    data = fixture_path("cld_like_rec_podio107.edm4hep.root").read_bytes()
    path = tmp_path / "truncated.edm4hep.root"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(NotPodioFileError, match="truncated") as err:
        EDM4hepFile(path)
    assert str(path) in str(err.value)


def test_missing_collection_lists_what_exists():
    with EDM4hepFile(fixture_path("cld_like_rec_podio107.edm4hep.root")) as f:
        with pytest.raises(CollectionNotFoundError) as err:
            f.arrays(["PandoraCluster"])
    message = str(err.value)
    assert "PandoraCluster" in message and "cld_like_rec_podio107" in message
    assert message.index("PandoraClusters") < message.index("MCParticles")  # nearest name first
    assert isinstance(err.value, KeyError)


def test_cli_reports_one_line_and_exit_code_2(tmp_path):
    out = subprocess.run([sys.executable, "-m", "k4mlpf", "dump", str(tmp_path / "missing.root")],
                         capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "missing.root" in out.stderr
