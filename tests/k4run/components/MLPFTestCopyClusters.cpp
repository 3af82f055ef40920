// Test-only component (tests/k4run): copies clusters and the hits they point to into new collections
// made in the job, so that MLPFParticleFlow sees hits that, like those of a reconstruction chain's
// digitisation, have no collection ID yet (untracked until the writer puts them into a Frame).
// OutputHits[i] receives the hits of InputHits[i]; the copied clusters point to the copied hits.
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "k4FWCore/Transformer.h"

#include "edm4hep/CalorimeterHitCollection.h"
#include "edm4hep/ClusterCollection.h"

using HitsIn = std::vector<const edm4hep::CalorimeterHitCollection*>;
using Copies = std::tuple<edm4hep::ClusterCollection, std::vector<edm4hep::CalorimeterHitCollection>>;

struct MLPFTestCopyClusters final : k4FWCore::MultiTransformer<Copies(const edm4hep::ClusterCollection&, const HitsIn&)> {
  MLPFTestCopyClusters(const std::string& name, ISvcLocator* svcLoc)
      : MultiTransformer(name, svcLoc, {KeyValue("InputClusters", "PandoraClusters"), KeyValues("InputHits", {})},
                         {KeyValue("OutputClusters", "CopiedClusters"), KeyValues("OutputHits", {})}) {}

  Copies operator()(const edm4hep::ClusterCollection& clusters, const HitsIn& hitCollections) const override {
    std::vector<edm4hep::CalorimeterHitCollection> hitsOut(hitCollections.size());
    std::unordered_map<uint32_t, size_t> slot;  // input collection ID -> output collection
    for (size_t i = 0; i < hitCollections.size(); ++i) slot[hitCollections[i]->getID()] = i;
    edm4hep::ClusterCollection clustersOut;
    for (const auto& cluster : clusters) {
      auto copy = clustersOut.create();
      copy.setEnergy(cluster.getEnergy());
      copy.setPosition(cluster.getPosition());
      copy.setITheta(cluster.getITheta());
      copy.setIPhi(cluster.getIPhi());
      copy.setType(cluster.getType());
      for (const auto& hit : cluster.getHits()) {
        const auto it = slot.find(hit.getObjectID().collectionID);
        if (it == slot.end()) throw std::runtime_error("a cluster hit of a collection not in InputHits");
        auto h = hitsOut[it->second].create();
        h.setCellID(hit.getCellID());
        h.setEnergy(hit.getEnergy());
        h.setTime(hit.getTime());
        h.setPosition(hit.getPosition());
        h.setType(hit.getType());
        copy.addToHits(h);
      }
    }
    return {std::move(clustersOut), std::move(hitsOut)};
  }
};

DECLARE_COMPONENT(MLPFTestCopyClusters)
