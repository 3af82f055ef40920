#include "k4mlpf/MLPFRunner.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <stdexcept>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

namespace k4mlpf {
namespace {

// The metadata values are JSON strings; these helpers read the few scalars and lists we check.
std::string unquote(const std::string& s) {
  return s.size() >= 2 && s.front() == '"' && s.back() == '"' ? s.substr(1, s.size() - 2) : s;
}

int countJsonList(const std::string& s) {
  if (s == "[]") return 0;
  int n = 1;
  for (char c : s) n += (c == ',');
  return n;
}

torch::Tensor table(const std::vector<float>& values, int columns, const torch::Device& device) {
  const auto rows = static_cast<int64_t>(values.size()) / columns;
  // from_blob does not own or copy; clone() gives the tensor its own storage before .to(device)
  auto t = torch::from_blob(const_cast<float*>(values.data()), {rows, columns}, torch::kFloat32).clone();
  return t.to(device);
}

}  // namespace

void setIntraOpThreads(int n) {
  if (n > 0) at::set_num_threads(n);
}

int intraOpThreads() { return at::get_num_threads(); }

std::string detectorFamily(const std::string& detector) {
  std::string name(detector);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  for (const char* family : {"CLD", "CLIC"})
    if (name.rfind(family, 0) == 0) return family;
  return name.substr(0, name.find('_'));
}

torch::Device resolveDevice(const std::string& device) {
  if (device == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  std::optional<torch::Device> parsed;
  try {
    parsed.emplace(device);
  } catch (const c10::Error&) {
    throw std::runtime_error("k4mlpf: unknown torch device '" + device + "' (use cpu, cuda, cuda:N or auto)");
  }
  if (parsed->is_cuda()) {
    const int n = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
    if (n == 0)
      throw std::runtime_error("k4mlpf: device '" + device + "' requested but no CUDA device is available to libtorch " +
                               "(no GPU, no driver, or a CPU-only libtorch); use Device=cpu");
    if (parsed->has_index() && parsed->index() >= n)
      throw std::runtime_error("k4mlpf: device '" + device + "' requested but only " + std::to_string(n) +
                               " CUDA device(s) are available");
  } else if (!parsed->is_cpu()) {
    throw std::runtime_error("k4mlpf: device '" + device + "' is not supported (use cpu, cuda, cuda:N or auto)");
  }
  return *parsed;
}

MLPFRunner::MLPFRunner(const std::string& modelPath, const std::string& device)
    : m_device(resolveDevice(device)), m_path(modelPath) {
  try {
    m_module = torch::jit::load(modelPath, m_device);
  } catch (const c10::Error& e) {
    throw std::runtime_error("k4mlpf: cannot load MLPF model '" + modelPath + "': " + e.what_without_backtrace());
  }
  m_module.eval();
  auto meta = m_module.get_method("metadata")({}).toGenericDict();
  auto get = [&](const std::string& key) {
    if (!meta.contains(key)) throw std::runtime_error("k4mlpf: model '" + modelPath + "' has no metadata '" + key + "'");
    return meta.at(key).toStringRef();
  };
  const int version = std::stoi(get("format_version"));
  if (version != kFormatVersion)
    throw std::runtime_error("k4mlpf: model '" + modelPath + "' has input format " + std::to_string(version) +
                             ", this build reads format " + std::to_string(kFormatVersion));
  const struct { const char* key; int expected; } contract[] = {
      {"track_columns", kTrackColumns}, {"cluster_columns", kClusterColumns}, {"hit_columns", kHitColumns}};
  for (const auto& c : contract) {
    if (countJsonList(get(c.key)) != c.expected)
      throw std::runtime_error("k4mlpf: model '" + modelPath + "' expects " + get(c.key) + " as " + c.key +
                               ", this build packs " + std::to_string(c.expected) + " columns");
  }
  m_detector = unquote(get("detector"));
  m_bField = std::stod(get("b_field"));
}

std::vector<Candidate> MLPFRunner::run(const EventInputs& event) const {
  torch::NoGradGuard noGrad;
  auto out = m_module.get_method("reconstruct_event")({table(event.tracks, kTrackColumns, m_device),
                                                       table(event.clusters, kClusterColumns, m_device),
                                                       table(event.hits, kHitColumns, m_device)})
                 .toGenericDict();
  // only the keys we need: the model may add outputs (e.g. masks) without breaking this reader
  auto column = [&](const char* key) {
    if (!out.contains(key)) throw std::runtime_error("k4mlpf: model '" + m_path + "' returned no '" + key + "'");
    return out.at(key).toTensor().to(torch::kCPU, torch::kFloat32).contiguous();
  };
  const auto pdg = out.contains("pdg") ? out.at("pdg").toTensor().to(torch::kCPU, torch::kInt64).contiguous()
                                       : column("pdg");  // column() throws the error
  const auto charge = column("charge"), px = column("px"), py = column("py"), pz = column("pz");
  const auto energy = column("energy");
  const auto mass = out.contains("mass")
                        ? column("mass")
                        : (energy * energy - px * px - py * py - pz * pz).clamp_min(0).sqrt().contiguous();
  const auto probability = std::get<0>(column("probabilities").max(-1)).contiguous();
  const auto n = pdg.size(0);
  const auto skipped = out.contains("skipped")
                           ? out.at("skipped").toTensor().to(torch::kCPU, torch::kBool).contiguous()
                           : torch::zeros({n}, torch::kBool);
  std::vector<Candidate> result(static_cast<size_t>(n));
  auto f = [](const torch::Tensor& t, int64_t i) { return t.data_ptr<float>()[i]; };
  for (int64_t i = 0; i < n; ++i) {
    result[i] = Candidate{static_cast<int>(i), static_cast<int>(pdg.data_ptr<int64_t>()[i]), f(charge, i),
                          f(px, i), f(py, i), f(pz, i), f(energy, i), f(mass, i), f(probability, i),
                          skipped.data_ptr<bool>()[i]};
  }
  return result;
}

}  // namespace k4mlpf
