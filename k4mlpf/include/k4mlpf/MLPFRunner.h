// k4mlpf: run the MLPF algorithm on one event. No Gaudi, no EDM4hep here: the caller packs plain
// float arrays in the column order of k4mlpf/model/columns.py, and gets one candidate per element
// back. The Gaudi algorithm (MLPFParticleFlow) and the standalone test executables share this
// class, so the model is driven the same way everywhere.
//
// Two model formats, chosen by the file's extension, with the same inputs, outputs and metadata:
//  - TorchScript (.pt, python_trainer export): torch::jit::load, method reconstruct_event(tracks,
//    clusters, hits) -> Dict[str, Tensor], method metadata() -> Dict[str, str];
//  - torch.export + AOTInductor package (.pt2, python_trainer export --format pt2):
//    torch::inductor::AOTIModelPackageLoader. The package's program is the algorithm's batched
//    forward(tracks, track_mask, clusters, cluster_mask, hits, hit_mask) (one event = batch of 1,
//    masks all true); its outputs come back as a flat list in the order of the output dict's keys,
//    which the package's call spec names; the metadata is stored in the package (plus pt2_device, the
//    device it was compiled for).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/script.h>

namespace torch::inductor {
class AOTIModelPackageLoader;
}

namespace k4mlpf {

// Column counts of the input contract (k4mlpf/model/columns.py); checked against the model file.
inline constexpr int kTrackColumns = 13;   // D0 phi omega Z0 tanLambda time chi2 ndf dQdx dQdxError firstHitX/Y/Z
inline constexpr int kClusterColumns = 6;  // energy x y z iTheta iPhi
inline constexpr int kHitColumns = 6;      // energy x y z subsystem cluster
inline constexpr int kSubsystemEcal = 0, kSubsystemHcal = 1, kSubsystemOther = 2;
inline constexpr int kFormatVersion = 1;

struct EventInputs {
  std::vector<float> tracks;    // nTracks * kTrackColumns, row-major
  std::vector<float> clusters;  // nClusters * kClusterColumns
  std::vector<float> hits;      // nHits * kHitColumns
  int nTracks() const { return static_cast<int>(tracks.size()) / kTrackColumns; }
  int nClusters() const { return static_cast<int>(clusters.size()) / kClusterColumns; }
  int nHits() const { return static_cast<int>(hits.size()) / kHitColumns; }
};

struct Candidate {
  int element;        // e < nTracks: track e; else cluster e - nTracks
  int pdg;            // signed PDG code; 0 = no particle
  int cls;            // class index into the model's class_pdg (0 = no particle)
  float charge, px, py, pz, energy, mass;
  float probability;  // the largest class probability (what `k4mlpf reco` writes as goodnessOfPID)
  std::vector<float> probabilities;  // per class, in the order of class_pdg (none, charged hadron, ...)
  bool skipped;       // the element had a non-finite member and was left out (model output 'skipped')
};

// Detector family of a detector name, as used to check that a model fits the data: "CLD" for
// CLD_o2_v05 and its variants, "CLIC" for CLIC_o3_v14 / CLICdet, else the name up to its first '_'
// (upper case). An empty name gives an empty family.
std::string detectorFamily(const std::string& detector);

// The torch device for "cpu", "cuda", "cuda:N" or "auto" (cuda when available, else cpu). Throws
// std::runtime_error with a clear message for an unknown name or a CUDA device that is not there.
torch::Device resolveDevice(const std::string& device);

// Sets libtorch's intra-op threads for the whole process (n <= 0: leave libtorch's default, one per
// core). Inside a Gaudi job 1 is right: parallelism comes from event slots, and with more OpenMP
// threads than free cores libtorch's threads spin against each other (10x slower on 2 busy cores).
void setIntraOpThreads(int n);
int intraOpThreads();

// True for a path that names an AOTInductor package (extension .pt2).
bool isPackagePath(const std::string& path);

class MLPFRunner {
 public:
  // Loads the model file (.pt: TorchScript, .pt2: AOTInductor package) and checks its input contract
  // (format version and column names) and, for a .pt2, that it was compiled for the device's type.
  // Throws std::runtime_error with the file name on any problem.
  MLPFRunner(const std::string& modelPath, const std::string& device = "cpu");
  ~MLPFRunner();
  MLPFRunner(const MLPFRunner&) = delete;
  MLPFRunner& operator=(const MLPFRunner&) = delete;

  // One candidate per element; candidates with pdg == 0 are "no particle". Reads only the output
  // keys it needs (pdg, charge, px, py, pz, energy, probabilities; cls, mass and skipped if present;
  // cls else from |pdg| and class_pdg, mass else sqrt(max(E^2 - p^2, 0))) and ignores any other key.
  // Safe to call from several threads at once on the same runner (TorchScript inference does not
  // modify the module; AOTInductor's model container hands each call a free model instance and
  // waits for one if all are busy; tests/cpp/runner_threads.cpp).
  std::vector<Candidate> run(const EventInputs& event) const;

  const std::string& detector() const { return m_detector; }
  double bField() const { return m_bField; }
  std::string device() const { return m_device.str(); }
  const std::vector<int>& classPdg() const { return m_classPdg; }
  // "TorchScript" or "AOTInductor"
  const char* format() const { return m_package ? "AOTInductor" : "TorchScript"; }

 private:
  void checkMetadata(const std::unordered_map<std::string, std::string>& meta);
  std::vector<Candidate> candidates(const std::unordered_map<std::string, torch::Tensor>& out) const;

  // torch::jit::Module::get_method is not const; the module itself is not modified by inference.
  mutable torch::jit::Module m_module;
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> m_package;  // set for a .pt2
  std::vector<std::string> m_packageOutputs;  // the package's output keys, in the order of its outputs
  torch::Device m_device;
  std::string m_path, m_detector;
  double m_bField{0};
  std::vector<int> m_classPdg;
};

}  // namespace k4mlpf
