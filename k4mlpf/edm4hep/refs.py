"""Building relation columns (podio ObjectIDs) and collection type names for writing.

A relation is the record ``{index: int32, collectionID: uint32}``; podio writes an unset one-to-one
relation as ``{index: -2, collectionID: 0}``. Producers (the fast simulation, reconstruction) use
these helpers so that they never compute a collection ID by hand.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from .murmur import collection_id

UNSET_INDEX = -2

#: EDM4hep 1.x link types by their EDM4hep name, as podio names their collections.
LINK_COLLECTION_TYPES = {
    "edm4hep::RecoMCParticleLink": "podio::LinkCollection<edm4hep::ReconstructedParticle,edm4hep::MCParticle>",
    "edm4hep::CaloHitMCParticleLink": "podio::LinkCollection<edm4hep::CalorimeterHit,edm4hep::MCParticle>",
    "edm4hep::ClusterMCParticleLink": "podio::LinkCollection<edm4hep::Cluster,edm4hep::MCParticle>",
    "edm4hep::TrackMCParticleLink": "podio::LinkCollection<edm4hep::Track,edm4hep::MCParticle>",
    "edm4hep::CaloHitSimCaloHitLink": "podio::LinkCollection<edm4hep::CalorimeterHit,edm4hep::SimCalorimeterHit>",
    "edm4hep::TrackerHitSimTrackerHitLink": "podio::LinkCollection<edm4hep::TrackerHit,edm4hep::SimTrackerHit>",
    "edm4hep::VertexRecoParticleLink": "podio::LinkCollection<edm4hep::Vertex,edm4hep::ReconstructedParticle>",
}


def collection_type(edm4hep_type: str) -> str:
    """``"Cluster"`` or ``"edm4hep::Cluster"`` -> ``"edm4hep::ClusterCollection"``; links -> LinkCollection."""
    full = edm4hep_type if "::" in edm4hep_type else f"edm4hep::{edm4hep_type}"
    if full in LINK_COLLECTION_TYPES:
        return LINK_COLLECTION_TYPES[full]
    return full if full.endswith("Collection") else full + "Collection"


def refs(collection_name: str, index) -> ak.Array:
    """Relations to ``collection_name`` at ``index`` (any awkward/numpy shape of ints)."""
    index = ak.values_astype(ak.Array(index) if not isinstance(index, ak.Array) else index, np.int32)
    cid = ak.values_astype(ak.zeros_like(index), np.uint32) + np.uint32(collection_id(collection_name))
    return ak.zip({"index": index, "collectionID": ak.values_astype(cid, np.uint32)})


def unset_refs(like) -> ak.Array:
    """An unset one-to-one relation per element of ``like``."""
    zeros = ak.values_astype(ak.zeros_like(like), np.int32)
    return ak.zip({"index": zeros + np.int32(UNSET_INDEX),
                   "collectionID": ak.values_astype(ak.zeros_like(like), np.uint32)})
