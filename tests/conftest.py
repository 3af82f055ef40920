"""Session fixtures shared by every test folder (helpers live in support.py)."""

from __future__ import annotations

import warnings

import pytest

warnings.filterwarnings("ignore", message="This distribution of ROOT is in alpha stage")


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory):
    """24 fast-simulation CLD ttbar events and their prepared shard (made once per test session)."""
    from fastsim.pipeline import RunConfig, run
    from python_trainer.prepare import PrepareOptions, prepare

    folder = tmp_path_factory.mktemp("sample")
    path = folder / "cld_ttbar.edm4hep.root"
    run(RunConfig(detector="CLD", process="ttbar", n_events=24, seed=7, chunk_size=12), str(path), jobs=1,
        progress=False)
    shards = prepare([str(path)], str(folder / "shards"), PrepareOptions(pf_collection="BaselinePFOs"),
                     progress=False)
    return {"file": path, "shards": [str(s) for s in shards], "folder": folder}


@pytest.fixture(scope="session")
def tiny_pt(tmp_path_factory):
    """support.tiny_algorithm() as a TorchScript file (k4mlpf.model.save_algorithm)."""
    from k4mlpf.model import save_algorithm
    from support import tiny_algorithm

    return save_algorithm(tiny_algorithm(), tmp_path_factory.mktemp("tiny_model") / "mlpf_tiny.pt")


@pytest.fixture(scope="session")
def tiny_pt2(tmp_path_factory):
    """The same model as ``tiny_pt`` as a CPU .pt2 package (torch.export + AOTInductor: a minute or two
    of compilation, once per session)."""
    from k4mlpf.model import export_pt2
    from support import tiny_algorithm

    return export_pt2(tiny_algorithm(), tmp_path_factory.mktemp("tiny_model_pt2") / "mlpf_tiny.pt2")
