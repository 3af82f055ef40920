// MLPFParticleFlow: machine-learned particle flow as a k4FWCore functional algorithm.
//
// Copies the EDM4hep members the model needs into plain arrays (column order of
// k4mlpf/model/columns.py, the same packing as k4mlpf/elements.py), runs the model file (TorchScript
// .pt or AOTInductor .pt2) through MLPFRunner, and copies the candidates into EDM4hep, exactly as
// `python -m k4mlpf reco` writes them (k4mlpf/reco.py, k4mlpf/reco_links.py):
//  - OutputParticles (MLPFPFOs, edm4hep::ReconstructedParticle): one per candidate with a class,
//    pointing back to its track or cluster; goodnessOfPID = the largest class probability;
//  - OutputParticleIDs (MLPFParticleIDs, edm4hep::ParticleID, k4PFHitML's convention): one per
//    particle, type = class index, PDG, likelihood = probability of that class, parameters = the
//    class probabilities (none, charged hadron, neutral hadron, photon, electron, muon), particle;
//  - OutputLinks (MLPFMCTruthLink, edm4hep::RecoMCParticleLink; a list of at most one name, empty:
//    none written): from each particle to every MCParticle its track has a link to in
//    InputTrackLinks or its cluster in InputClusterLinks, with that link's weight; the particles
//    made from tracks first, then those made from clusters, each in particle order with its links
//    in the order of the input links. Files without truth (real data) give empty InputTrackLinks,
//    InputClusterLinks and OutputLinks (options/mlpf_options.py does that when the file has none).
// All physics (features, decoding) lives in the model file.
//
// The calorimeter hits are those the clusters point to (Cluster::getHits()), so no list of hit
// collections is needed. Each hit's subsystem (ECAL / HCAL / other) comes from the name of its
// collection, by the rule of k4mlpf/model/columns.py subsystem_of: the name is looked up by
// collection ID in the event's podio Frame (collections read from the input file); hits of
// collections made earlier in the same job (no collection ID yet) are found in the optional
// HitCollections, which may name collections that do not exist.
#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "Gaudi/Property.h"
#include "GaudiKernel/AnyDataWrapper.h"
#include "GaudiKernel/IDataProviderSvc.h"
#include "k4FWCore/DataWrapper.h"
#include "k4FWCore/FunctionalUtils.h"
#include "k4FWCore/Transformer.h"
#include "podio/CollectionBase.h"
#include "podio/Frame.h"

#include "edm4hep/CalorimeterHitCollection.h"
#include "edm4hep/ClusterCollection.h"
#include "edm4hep/ClusterMCParticleLinkCollection.h"
#include "edm4hep/ParticleIDCollection.h"
#include "edm4hep/RecDqdxCollection.h"
#include "edm4hep/RecoMCParticleLinkCollection.h"
#include "edm4hep/ReconstructedParticleCollection.h"
#include "edm4hep/TrackCollection.h"
#include "edm4hep/TrackMCParticleLinkCollection.h"
#include "edm4hep/TrackState.h"

#include "k4mlpf/MLPFRunner.h"

namespace {
// k4mlpf/model/columns.py subsystem_of, the model's contract: by the (upper-cased) collection name
int subsystemOf(std::string collectionName) {
  std::transform(collectionName.begin(), collectionName.end(), collectionName.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  if (collectionName.find("ECAL") != std::string::npos) return k4mlpf::kSubsystemEcal;
  if (collectionName.find("HCAL") != std::string::npos) return k4mlpf::kSubsystemHcal;
  return k4mlpf::kSubsystemOther;
}

// For each object of `objects`, the indices of the links (in `links`, in their order) that start
// from it; links from objects of other collections are ignored.
template <typename Objects, typename Links>
std::vector<std::vector<std::pair<size_t, size_t>>> linksFrom(const Objects& objects, const Links& links) {
  std::unordered_map<typename Objects::value_type, size_t> index;
  for (size_t i = 0; i < objects.size(); ++i) index.emplace(objects[i], i);
  std::vector<std::vector<std::pair<size_t, size_t>>> result(objects.size());
  for (size_t c = 0; c < links.size(); ++c) {
    for (size_t l = 0; l < links[c]->size(); ++l) {
      if (const auto it = index.find((*links[c])[l].getFrom()); it != index.end())
        result[it->second].emplace_back(c, l);
    }
  }
  return result;
}

using Particles = edm4hep::ReconstructedParticleCollection;
using ParticleIDs = edm4hep::ParticleIDCollection;
using TruthLinks = std::vector<edm4hep::RecoMCParticleLinkCollection>;  // zero or one collection
using TrackLinks = std::vector<const edm4hep::TrackMCParticleLinkCollection*>;
using ClusterLinks = std::vector<const edm4hep::ClusterMCParticleLinkCollection*>;
}  // namespace

struct MLPFParticleFlow final
    : k4FWCore::MultiTransformer<std::tuple<Particles, ParticleIDs, TruthLinks>(
          const edm4hep::TrackCollection&, const edm4hep::RecDqdxCollection&, const edm4hep::ClusterCollection&,
          const TrackLinks&, const ClusterLinks&)> {
  MLPFParticleFlow(const std::string& name, ISvcLocator* svcLoc)
      : MultiTransformer(name, svcLoc,
                         {KeyValue("InputTracks", "SiTracks_Refitted"), KeyValue("InputDqdx", "SiTracks_Refitted_dQdx"),
                          KeyValue("InputClusters", "PandoraClusters"),
                          KeyValues("InputTrackLinks", {"SiTracksMCTruthLink"}),
                          KeyValues("InputClusterLinks", {"ClusterMCTruthLink"})},
                         {KeyValue("OutputParticles", "MLPFPFOs"), KeyValue("OutputParticleIDs", "MLPFParticleIDs"),
                          KeyValues("OutputLinks", {"MLPFMCTruthLink"})}) {}

  StatusCode initialize() override {
    if (auto sc = MultiTransformer::initialize(); sc.isFailure()) return sc;
    const auto nLinkInputs = inputLocations("InputTrackLinks").size() + inputLocations("InputClusterLinks").size();
    if (std::get<2>(m_outputs).size() > 1) {
      error() << "OutputLinks names " << std::get<2>(m_outputs).size() << " collections; give one name, or none "
              << "to write no truth links" << endmsg;
      return StatusCode::FAILURE;
    }
    if (std::get<2>(m_outputs).empty() != (nLinkInputs == 0)) {
      error() << (nLinkInputs == 0 ? "OutputLinks is set but InputTrackLinks and InputClusterLinks are empty"
                                   : "InputTrackLinks / InputClusterLinks are set but OutputLinks is empty")
              << ": give truth links in and out, or set all three to [] (files without truth)" << endmsg;
      return StatusCode::FAILURE;
    }
    if (m_modelPath.value().empty()) {
      error() << "no ModelPath: give the exported MLPF model (python_trainer export), e.g. --model FILE with "
                 "options/runMLPF_*.py" << endmsg;
      return StatusCode::FAILURE;
    }
    try {
      k4mlpf::setIntraOpThreads(m_torchThreads.value());
      m_runner = std::make_unique<k4mlpf::MLPFRunner>(m_modelPath.value(), m_device.value());
    } catch (const std::exception& e) {
      error() << e.what() << endmsg;
      return StatusCode::FAILURE;
    }
    info() << "MLPF model " << m_modelPath.value() << " (" << m_runner->format() << ") for "
           << m_runner->detector() << " (B = " << m_runner->bField() << " T) on " << m_runner->device() << ", "
           << k4mlpf::intraOpThreads() << " torch thread(s)" << endmsg;
    const auto expected = k4mlpf::detectorFamily(m_detector.value());
    const auto model = k4mlpf::detectorFamily(m_runner->detector());
    if (!expected.empty() && expected != model) {
      const auto message = "model " + m_modelPath.value() + " was trained for " + m_runner->detector() + " (" + model +
                           " family), but Detector is '" + m_detector.value() + "' (" + expected + " family)";
      if (!m_allowMismatch.value()) {
        error() << message << "; use a model for " << expected
                << " or set AllowDetectorMismatch=True to run it anyway" << endmsg;
        return StatusCode::FAILURE;
      }
      warning() << message << " (AllowDetectorMismatch=True: running it anyway)" << endmsg;
    }
    return StatusCode::SUCCESS;
  }

  // The runner is released here, not with the algorithm: a .pt2 package's loader removes the folder
  // it unpacked the model into (/tmp/aotinductor_*) when it is destroyed, and at k4run's exit the
  // algorithms are not (without this, every job left that folder behind).
  StatusCode finalize() override {
    m_runner.reset();
    return MultiTransformer::finalize();
  }

  std::tuple<Particles, ParticleIDs, TruthLinks> operator()(const edm4hep::TrackCollection& tracks,
                                                           const edm4hep::RecDqdxCollection& dqdx,
                                                           const edm4hep::ClusterCollection& clusters,
                                                           const TrackLinks& trackLinks,
                                                           const ClusterLinks& clusterLinks) const override {
    k4mlpf::EventInputs event;
    packTracks(tracks, dqdx, event);
    packClusters(clusters, event);
    auto particles = Particles();
    auto pids = ParticleIDs();
    const int nTracks = event.nTracks();
    std::vector<int> element;  // per particle: its element (track e, or cluster e - nTracks)
    std::string skipped;       // elements the model left out for non-finite members (the model file's rule)
    int nSkipped = 0;
    for (const auto& c : m_runner->run(event)) {
      if (c.skipped && nSkipped++ < 5) {
        skipped += (skipped.empty() ? "" : ", ") + (c.element < nTracks ? "track " + std::to_string(c.element)
                                                                         : "cluster " + std::to_string(c.element - nTracks));
      }
      if (c.pdg == 0) continue;
      auto particle = particles.create();
      particle.setPDG(c.pdg);
      particle.setEnergy(c.energy);
      particle.setMomentum(edm4hep::Vector3f(c.px, c.py, c.pz));
      particle.setCharge(c.charge);
      particle.setMass(c.mass);
      particle.setGoodnessOfPID(c.probability);
      if (c.element < nTracks) particle.addToTracks(tracks[c.element]);
      else particle.addToClusters(clusters[c.element - nTracks]);
      element.push_back(c.element);
      auto pid = pids.create();
      pid.setType(c.cls);
      pid.setPDG(c.pdg);
      pid.setAlgorithmType(0);
      pid.setLikelihood(c.probabilities[c.cls]);
      for (const float p : c.probabilities) pid.addToParameters(p);
      pid.setParticle(particle);
    }
    if (nSkipped > 0) {
      warning() << nSkipped << " element(s) with non-finite members skipped in this event (index in InputTracks / "
                << "InputClusters): " << skipped << (nSkipped > 5 ? ", ..." : "") << endmsg;
    }
    TruthLinks links;
    if (!std::get<2>(m_outputs).empty())
      links.push_back(truthLinks(particles, element, tracks, trackLinks, clusters, clusterLinks));
    return std::make_tuple(std::move(particles), std::move(pids), std::move(links));
  }

 private:
  // k4mlpf/reco_links.py truth_links: the particles made from tracks first, then those made from
  // clusters, each with the input links of its track or cluster (in their order) and their weights.
  static edm4hep::RecoMCParticleLinkCollection truthLinks(const Particles& particles, const std::vector<int>& element,
                                                          const edm4hep::TrackCollection& tracks,
                                                          const TrackLinks& trackLinks,
                                                          const edm4hep::ClusterCollection& clusters,
                                                          const ClusterLinks& clusterLinks) {
    edm4hep::RecoMCParticleLinkCollection out;
    const int nTracks = static_cast<int>(tracks.size());
    auto add = [&](const auto& byElement, const auto& inputs, bool fromTracks) {
      for (size_t p = 0; p < element.size(); ++p) {
        if ((element[p] < nTracks) != fromTracks) continue;
        for (const auto& [c, l] : byElement[fromTracks ? element[p] : element[p] - nTracks]) {
          const auto in = (*inputs[c])[l];
          auto link = out.create();
          link.setFrom(particles[p]);
          link.setTo(in.getTo());
          link.setWeight(in.getWeight());
        }
      }
    };
    add(linksFrom(tracks, trackLinks), trackLinks, true);
    add(linksFrom(clusters, clusterLinks), clusterLinks, false);
    return out;
  }

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

  // The event's podio Frame (what IOSvc read), or nullptr when nothing was read from a file.
  const podio::Frame* inputFrame() const {
    DataObject* object = nullptr;
    if (evtSvc()->retrieveObject("/Event" + k4FWCore::frameLocation, object).isFailure()) return nullptr;
    const auto* wrapper = dynamic_cast<const AnyDataWrapper<podio::Frame>*>(object);
    return wrapper ? &wrapper->getData() : nullptr;
  }

  // Subsystems of the hits of the HitCollections that are in the event store (for collections made
  // in this job, whose hits have no collection ID yet); missing collections are skipped.
  std::unordered_map<edm4hep::CalorimeterHit, int> namedHits() const {
    std::unordered_map<edm4hep::CalorimeterHit, int> result;
    for (const auto& name : m_hitCollections.value()) {
      DataObject* object = nullptr;
      if (evtSvc()->retrieveObject("/Event/" + name, object).isFailure()) continue;
      const podio::CollectionBase* collection = nullptr;
      if (auto* wrapper = dynamic_cast<AnyDataWrapper<std::unique_ptr<podio::CollectionBase>>*>(object))
        collection = wrapper->getData().get();  // k4FWCore functional algorithms (IOSvc)
      else if (auto* legacy = dynamic_cast<DataWrapperBase*>(object))
        collection = legacy->collectionBase();  // DataHandle / k4DataSvc (e.g. the Marlin wrapper's converters)
      const auto* hits = dynamic_cast<const edm4hep::CalorimeterHitCollection*>(collection);
      if (!hits) continue;
      for (const auto& hit : *hits) result.emplace(hit, subsystemOf(name));
    }
    return result;
  }

  void packClusters(const edm4hep::ClusterCollection& clusters, k4mlpf::EventInputs& event) const {
    const podio::Frame* frame = inputFrame();
    std::unordered_map<uint32_t, int> subsystemById;  // collection ID -> subsystem, from the Frame's names
    std::unordered_map<edm4hep::CalorimeterHit, int> byHit;
    bool byHitFilled = false;
    auto subsystemOfHit = [&](const edm4hep::CalorimeterHit& hit) {
      const auto id = hit.getObjectID().collectionID;
      if (const auto it = subsystemById.find(id); it != subsystemById.end()) return it->second;
      if (frame && id != static_cast<uint32_t>(podio::ObjectID::untracked)) {
        if (const auto name = frame->getName(id)) return subsystemById[id] = subsystemOf(*name);
      }
      if (!byHitFilled) byHit = namedHits(), byHitFilled = true;
      if (const auto it = byHit.find(hit); it != byHit.end()) return it->second;
      std::call_once(m_unnamedWarning, [&] {
        warning() << "cluster hits of a collection without a name (ID " << id
                  << "; add it to HitCollections): counted as subsystem 'other'" << endmsg;
      });
      return static_cast<int>(k4mlpf::kSubsystemOther);
    };
    event.clusters.assign(clusters.size() * k4mlpf::kClusterColumns, 0.f);
    event.hits.clear();
    for (size_t c = 0; c < clusters.size(); ++c) {
      const auto cluster = clusters[c];
      float* row = &event.clusters[c * k4mlpf::kClusterColumns];
      row[0] = cluster.getEnergy();
      row[1] = cluster.getPosition().x, row[2] = cluster.getPosition().y, row[3] = cluster.getPosition().z;
      row[4] = cluster.getITheta(), row[5] = cluster.getIPhi();
      for (const auto& hit : cluster.getHits()) {
        if (!hit.isAvailable()) continue;
        const auto p = hit.getPosition();
        event.hits.insert(event.hits.end(), {hit.getEnergy(), p.x, p.y, p.z, static_cast<float>(subsystemOfHit(hit)),
                                             static_cast<float>(c)});
      }
    }
  }

  Gaudi::Property<std::string> m_modelPath{
      this, "ModelPath", "", "exported MLPF model (python_trainer export): TorchScript .pt or AOTInductor .pt2"};
  Gaudi::Property<std::string> m_device{this, "Device", "cpu", "torch device: cpu, cuda, cuda:N or auto"};
  Gaudi::Property<int> m_torchThreads{
      this, "TorchThreads", 1, "libtorch intra-op threads for the process (0: libtorch's default, one per core); "
                               "Gaudi's event slots give the parallelism"};
  Gaudi::Property<std::string> m_detector{
      this, "Detector", "", "detector of the data (e.g. CLD_o2_v05); initialize() fails if the model's detector "
                            "family (CLD, CLIC) differs. Empty: no check"};
  Gaudi::Property<bool> m_allowMismatch{this, "AllowDetectorMismatch", false,
                                        "run a model trained for another detector family (warning only)"};
  Gaudi::Property<std::vector<std::string>> m_hitCollections{
      this, "HitCollections", {}, "optional: names of hit collections made earlier in this job (subsystem from "
                                  "the name); missing ones are ignored. Not needed for hits read from a file"};
  // Created in initialize(); run() is const and keeps no per-event state, so the algorithm is
  // re-entrant like any k4FWCore functional algorithm (MLPFRunner::run is thread safe).
  std::unique_ptr<k4mlpf::MLPFRunner> m_runner;
  mutable std::once_flag m_unnamedWarning;
};

DECLARE_COMPONENT(MLPFParticleFlow)
