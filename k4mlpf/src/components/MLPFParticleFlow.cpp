// MLPFParticleFlow: machine-learned particle flow as a k4FWCore functional algorithm.
//
// Copies the EDM4hep members the model needs into plain arrays (column order of
// k4mlpf/model/columns.py, the same packing as k4mlpf/elements.py), runs the TorchScript algorithm
// module through MLPFRunner, and copies the candidates into edm4hep::ReconstructedParticles that
// point back to their track or cluster. All physics (features, decoding) lives in the model file.
#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "Gaudi/Property.h"
#include "k4FWCore/Transformer.h"

#include "edm4hep/CalorimeterHitCollection.h"
#include "edm4hep/ClusterCollection.h"
#include "edm4hep/RecDqdxCollection.h"
#include "edm4hep/ReconstructedParticleCollection.h"
#include "edm4hep/TrackCollection.h"
#include "edm4hep/TrackState.h"

#include "k4mlpf/MLPFRunner.h"

namespace {
int subsystemOf(const std::string& collectionName) {
  if (collectionName.find("ECAL") != std::string::npos) return k4mlpf::kSubsystemEcal;
  if (collectionName.find("HCAL") != std::string::npos) return k4mlpf::kSubsystemHcal;
  return k4mlpf::kSubsystemOther;
}
}  // namespace

struct MLPFParticleFlow final
    : k4FWCore::Transformer<edm4hep::ReconstructedParticleCollection(
          const edm4hep::TrackCollection&, const edm4hep::RecDqdxCollection&, const edm4hep::ClusterCollection&,
          const std::vector<const edm4hep::CalorimeterHitCollection*>&)> {
  MLPFParticleFlow(const std::string& name, ISvcLocator* svcLoc)
      : Transformer(name, svcLoc,
                    {KeyValue("InputTracks", "SiTracks_Refitted"), KeyValue("InputDqdx", "SiTracks_Refitted_dQdx"),
                     KeyValue("InputClusters", "PandoraClusters"),
                     KeyValues("InputHits", {"ECALBarrel", "ECALEndcap", "HCALBarrel", "HCALEndcap", "HCALOther",
                                             "MUON"})},
                    KeyValue("OutputParticles", "MLPFPFOs")) {}

  StatusCode initialize() override {
    if (auto sc = Transformer::initialize(); sc.isFailure()) return sc;
    try {
      m_runner = std::make_unique<k4mlpf::MLPFRunner>(m_modelPath.value(), m_device.value());
    } catch (const std::exception& e) {
      error() << e.what() << endmsg;
      return StatusCode::FAILURE;
    }
    info() << "MLPF model " << m_modelPath.value() << " for " << m_runner->detector() << " (B = "
           << m_runner->bField() << " T) on " << m_device.value() << endmsg;
    return StatusCode::SUCCESS;
  }

  edm4hep::ReconstructedParticleCollection operator()(
      const edm4hep::TrackCollection& tracks, const edm4hep::RecDqdxCollection& dqdx,
      const edm4hep::ClusterCollection& clusters,
      const std::vector<const edm4hep::CalorimeterHitCollection*>& hitCollections) const override {
    k4mlpf::EventInputs event;
    packTracks(tracks, dqdx, event);
    packClusters(clusters, hitCollections, event);
    auto out = edm4hep::ReconstructedParticleCollection();
    const int nTracks = event.nTracks();
    for (const auto& c : m_runner->run(event)) {
      if (c.pdg == 0) continue;
      auto particle = out.create();
      particle.setPDG(c.pdg);
      particle.setEnergy(c.energy);
      particle.setMomentum(edm4hep::Vector3f(c.px, c.py, c.pz));
      particle.setCharge(c.charge);
      particle.setMass(c.mass);
      particle.setGoodnessOfPID(c.probability);
      if (c.element < nTracks) particle.addToTracks(tracks[c.element]);
      else particle.addToClusters(clusters[c.element - nTracks]);
    }
    return out;
  }

 private:
  static void packTracks(const edm4hep::TrackCollection& tracks, const edm4hep::RecDqdxCollection& dqdx,
                         k4mlpf::EventInputs& event) {
    event.tracks.assign(tracks.size() * k4mlpf::kTrackColumns, 0.f);
    for (size_t i = 0; i < tracks.size(); ++i) {
      const auto track = tracks[i];
      const auto states = track.getTrackStates();
      float* row = &event.tracks[i * k4mlpf::kTrackColumns];
      if (!states.empty()) {
        auto ip = std::find_if(states.begin(), states.end(),
                               [](const auto& s) { return s.location == edm4hep::TrackState::AtIP; });
        const auto& s = ip != states.end() ? *ip : states[0];
        row[0] = s.D0, row[1] = s.phi, row[2] = s.omega, row[3] = s.Z0, row[4] = s.tanLambda, row[5] = s.time;
        auto first = std::find_if(states.begin(), states.end(),
                                  [](const auto& s) { return s.location == edm4hep::TrackState::AtFirstHit; });
        if (first != states.end())
          row[10] = first->referencePoint.x, row[11] = first->referencePoint.y, row[12] = first->referencePoint.z;
      }
      row[6] = track.getChi2();
      row[7] = static_cast<float>(track.getNdf());
    }
    for (const auto& q : dqdx) {
      const auto index = q.getTrack().getObjectID().index;
      if (index < 0 || static_cast<size_t>(index) >= tracks.size()) continue;
      event.tracks[index * k4mlpf::kTrackColumns + 8] = q.getDQdx().value;
      event.tracks[index * k4mlpf::kTrackColumns + 9] = q.getDQdx().error;
    }
  }

  void packClusters(const edm4hep::ClusterCollection& clusters,
                    const std::vector<const edm4hep::CalorimeterHitCollection*>& hitCollections,
                    k4mlpf::EventInputs& event) const {
    // subsystem of each hit collection, from its name, keyed by podio collection ID
    std::unordered_map<uint32_t, int> subsystem;
    const auto names = inputLocations("InputHits");
    for (size_t i = 0; i < hitCollections.size() && i < names.size(); ++i)
      subsystem[hitCollections[i]->getID()] = subsystemOf(names[i]);
    event.clusters.assign(clusters.size() * k4mlpf::kClusterColumns, 0.f);
    event.hits.clear();
    for (size_t c = 0; c < clusters.size(); ++c) {
      const auto cluster = clusters[c];
      float* row = &event.clusters[c * k4mlpf::kClusterColumns];
      row[0] = cluster.getEnergy();
      row[1] = cluster.getPosition().x, row[2] = cluster.getPosition().y, row[3] = cluster.getPosition().z;
      row[4] = cluster.getITheta(), row[5] = cluster.getIPhi();
      for (const auto& hit : cluster.getHits()) {
        const auto it = subsystem.find(hit.getObjectID().collectionID);
        const float sub = it != subsystem.end() ? it->second : k4mlpf::kSubsystemOther;
        const auto p = hit.getPosition();
        event.hits.insert(event.hits.end(), {hit.getEnergy(), p.x, p.y, p.z, sub, static_cast<float>(c)});
      }
    }
  }

  Gaudi::Property<std::string> m_modelPath{this, "ModelPath", "", "exported MLPF model (python_trainer export)"};
  Gaudi::Property<std::string> m_device{this, "Device", "cpu", "torch device: cpu or cuda"};
  // Created in initialize(); run() is const and keeps no per-event state, so the algorithm is
  // re-entrant like any k4FWCore functional algorithm.
  std::unique_ptr<k4mlpf::MLPFRunner> m_runner;
};

DECLARE_COMPONENT(MLPFParticleFlow)
