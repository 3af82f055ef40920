"""The .pt2 package (torch.export + AOTInductor) and the TorchScript file of one model give the same
particles, on padded batches, single events and through `k4mlpf reco`; same metadata."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from k4mlpf.model import ModelFileError, load_algorithm, read_metadata
from k4mlpf.model.batch import pad_events
from k4mlpf.model.synthetic import random_event

FLOATS = ("probabilities", "charge", "px", "py", "pz", "energy", "mass")
INTS = ("cls", "pdg", "valid", "skipped", "source_element")


@pytest.fixture(scope="module")
def both(tiny_pt, tiny_pt2):
    """One model (support.tiny_algorithm) as .pt and .pt2 (session fixtures: the .pt2 is compiled once)."""
    return tiny_pt, tiny_pt2


def assert_same(a, b):
    for key in INTS:
        assert torch.equal(a[key], b[key]), key
    for key in FLOATS:
        torch.testing.assert_close(a[key].float(), b[key].float(), atol=1e-4, rtol=1e-4, msg=key)


def test_same_particles_batched_and_single(both):
    ts, pt2 = (load_algorithm(p) for p in both)
    g = torch.Generator().manual_seed(9)
    events = [random_event(*sizes, 2.0, g) for sizes in ((12, 20, 300), (3, 40, 900), (0, 5, 20))]
    with torch.no_grad():
        assert_same(ts(*pad_events(events)), pt2(*pad_events(events)))
        for event in events:
            assert_same(ts.reconstruct_event(*event), pt2.reconstruct_event(*event))


def test_same_metadata(both):
    assert read_metadata(both[0]) == read_metadata(both[1])
    assert load_algorithm(both[1]).detector == "CLD_o2_v05"


def test_a_cpu_package_on_cuda_is_refused(both):
    with pytest.raises(ModelFileError, match="compiled for cpu"):
        load_algorithm(both[1], device="cuda")


def test_reco_with_either_format_writes_the_same_particles(both, small_sample, tmp_path):
    import awkward as ak

    from k4mlpf.edm4hep import EDM4hepFile
    from k4mlpf.reco import reconstruct

    pfos = []
    for model in both:
        out = tmp_path / f"reco_{model.suffix[1:]}.edm4hep.root"
        reconstruct(small_sample["file"], out, model, progress=False, say=lambda _: None)
        with EDM4hepFile(out) as f:
            pfos.append(f.arrays(["MLPFPFOs"])["MLPFPFOs"])
    a, b = pfos
    assert ak.num(a, axis=1).tolist() == ak.num(b, axis=1).tolist()
    assert ak.flatten(a.PDG).tolist() == ak.flatten(b.PDG).tolist()
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(a.energy)), ak.to_numpy(ak.flatten(b.energy)), rtol=1e-4, atol=1e-5)
