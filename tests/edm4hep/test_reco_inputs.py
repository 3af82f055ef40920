"""Issue #9: ``k4mlpf reco`` takes the EDM4hep versions real CLD data comes in (0.10, 0.99, 0.99.99)."""

from __future__ import annotations

import warnings

import awkward as ak
import pytest

from support import REPO, fixture_path
from k4mlpf.edm4hep import EDM4hepFile, SchemaEvolutionWarning

MODEL = REPO / "models" / "mlpf_cld_small.pt"


@pytest.mark.parametrize("name", ["cld_like_rec.edm4hep.root", "cld_like_rec_edm4hep010.edm4hep.root",
                                  "real/cld_o2_v05_hbb240_rec.edm4hep.root"])
def test_reco_on_older_edm4hep_inputs(name, tmp_path):
    if not MODEL.exists():
        pytest.skip(f"{MODEL} not present")
    from k4mlpf.reco import reconstruct

    out = tmp_path / "mlpf.edm4hep.root"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SchemaEvolutionWarning)
        n = reconstruct(fixture_path(name), out, MODEL, progress=False)
    with EDM4hepFile(out) as f, EDM4hepFile(fixture_path(name)) as source:
        assert n == len(source)
        assert set(f.collections()) >= set(source.collections()) | {"MLPFPFOs"}
        particles = f.arrays("MLPFPFOs")["MLPFPFOs"]
        assert ak.sum(ak.num(particles)) > 0
        # every particle points at the track or cluster it came from, in collections of the output
        sources = ak.concatenate([ak.flatten(particles.tracks.collectionID, axis=None),
                                  ak.flatten(particles.clusters.collectionID, axis=None)])
        assert {f.collection_name(int(i)) for i in sources} <= {"SiTracks_Refitted", "PandoraClusters"}
