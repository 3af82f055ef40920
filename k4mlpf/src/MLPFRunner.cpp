#include "k4mlpf/MLPFRunner.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include <ATen/Parallel.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
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

// A JSON list of integers ("[0, 211, 130]") -> its values; throws a std::logic_error if it is not one.
std::vector<int> jsonIntList(const std::string& s) {
  std::vector<int> values;
  size_t i = s.find('[');
  if (i == std::string::npos || s.find(']', i) == std::string::npos) throw std::invalid_argument(s);
  for (++i; i < s.size() && s[i] != ']';) {
    if (std::isspace(static_cast<unsigned char>(s[i])) || s[i] == ',') { ++i; continue; }
    size_t used = 0;
    values.push_back(std::stoi(s.substr(i), &used));
    i += used;
  }
  return values;
}

// The JSON string that starts at s[i] (s[i] == '"'), unescaped; i is left after its closing quote.
std::string jsonString(const std::string& s, size_t& i) {
  if (i >= s.size() || s[i] != '"') throw std::invalid_argument("expected a JSON string");
  std::string value;
  for (++i; i < s.size() && s[i] != '"'; ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      value += c == 'n' ? '\n' : c == 't' ? '\t' : c;  // \" \\ \/ and the few names we meet
    } else {
      value += s[i];
    }
  }
  if (i >= s.size()) throw std::invalid_argument("unterminated JSON string");
  ++i;
  return value;
}

// The keys of the output dict of a .pt2 package, from its serialized output spec (torch.utils._pytree:
// `[1, {"type": "builtins.dict", "context": "[\"cls\", ...]", "children_spec": [...]}]`, where the
// context is itself a JSON list of the keys, in the order of the flat outputs).
std::vector<std::string> outputKeys(const std::string& spec) {
  const std::string dict = "\"builtins.dict\"";
  const auto type = spec.find("\"type\"");
  const auto value = type == std::string::npos ? type : spec.find('"', spec.find(':', type));
  if (value == std::string::npos || spec.compare(value, dict.size(), dict) != 0)
    throw std::invalid_argument("its output is not a dict of tensors");
  auto i = spec.find("\"context\"", type);
  if (i == std::string::npos) throw std::invalid_argument("its output spec has no context");
  i = spec.find('"', spec.find(':', i));
  const std::string context = jsonString(spec, i);  // e.g. ["cls", "pdg", ...]
  std::vector<std::string> keys;
  size_t j = context.find('[');
  if (j == std::string::npos) throw std::invalid_argument("its output spec names no keys");
  for (++j; j < context.size() && context[j] != ']';) {
    if (context[j] == '"') keys.push_back(jsonString(context, j));
    else ++j;
  }
  if (keys.empty()) throw std::invalid_argument("its output spec names no keys");
  return keys;
}

// The first line of a libtorch error (the rest is a C++ backtrace or a source excerpt).
std::string firstLine(const std::string& text) {
  const auto start = text.find_first_not_of(" \n");
  if (start == std::string::npos) return "unknown error";
  return text.substr(start, text.find('\n', start) - start);
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

bool isPackagePath(const std::string& path) { return std::filesystem::path(path).extension() == ".pt2"; }

MLPFRunner::MLPFRunner(const std::string& modelPath, const std::string& device)
    : m_device(resolveDevice(device)), m_path(modelPath) {
  if (!std::filesystem::is_regular_file(modelPath))
    throw std::runtime_error("k4mlpf: no MLPF model file at '" + modelPath + "'");
  std::unordered_map<std::string, std::string> meta;
  if (isPackagePath(modelPath)) {
    auto cannotLoad = [&](const std::exception& e) {
      return std::runtime_error("k4mlpf: cannot load MLPF .pt2 package '" + modelPath + "': " + firstLine(e.what()));
    };
    try {  // the metadata first: a package for another device type is not loaded at all
      meta = torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(modelPath, "model");
    } catch (const std::exception& e) {
      throw cannotLoad(e);
    }
    if (!meta.count("format_version"))
      throw std::runtime_error("k4mlpf: '" + modelPath + "' is a .pt2 package but not an MLPF model (no MLPF "
                               "metadata)");
    const std::string builtFor = meta.count("pt2_device") ? unquote(meta.at("pt2_device")) : "cpu";
    const std::string type = torch::Device(m_device.type()).str();  // "cpu" or "cuda"
    if (builtFor.rfind(type, 0) != 0)
      throw std::runtime_error("k4mlpf: model '" + modelPath + "' was compiled for " + builtFor + ", not " + type +
                               ": export it again on that device (python_trainer export --format pt2 --device " +
                               type + ") or use the .pt file");
    try {
      // one model instance (the container makes concurrent calls wait for it); the device index of
      // a CUDA device (-1: the current one); AOTInductor ignores it for CPU packages
      m_package = std::make_unique<torch::inductor::AOTIModelPackageLoader>(
          modelPath, "model", false, 1, m_device.is_cuda() && m_device.has_index() ? m_device.index() : -1);
      const auto spec = m_package->get_call_spec();
      if (spec.size() != 2) throw std::invalid_argument("it has no call spec");
      m_packageOutputs = outputKeys(spec[1]);
    } catch (const std::exception& e) {
      throw cannotLoad(e);
    }
  } else {
    try {
      m_module = torch::jit::load(modelPath, m_device);
    } catch (const c10::Error& e) {
      throw std::runtime_error("k4mlpf: cannot load MLPF model '" + modelPath + "': " +
                               firstLine(e.what_without_backtrace()));
    }
    m_module.eval();
    if (!m_module.find_method("metadata"))
      throw std::runtime_error("k4mlpf: '" + modelPath + "' is a TorchScript file but not an MLPF model (no "
                               "metadata method; make one with `python -m python_trainer export`)");
    for (const auto& item : m_module.get_method("metadata")({}).toGenericDict())
      meta.emplace(item.key().toStringRef(), item.value().toStringRef());
  }
  checkMetadata(meta);
}

MLPFRunner::~MLPFRunner() = default;

void MLPFRunner::checkMetadata(const std::unordered_map<std::string, std::string>& meta) {
  const auto& modelPath = m_path;
  auto get = [&](const std::string& key) -> const std::string& {
    const auto it = meta.find(key);
    if (it == meta.end()) throw std::runtime_error("k4mlpf: model '" + modelPath + "' has no metadata '" + key + "'");
    return it->second;
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
  try {
    m_classPdg = jsonIntList(get("class_pdg"));
  } catch (const std::logic_error&) {  // std::stoi's invalid_argument / out_of_range
    throw std::runtime_error("k4mlpf: model '" + modelPath + "' has metadata class_pdg " + get("class_pdg") +
                             ", not a list of PDG codes");
  }
  if (m_classPdg.empty() || m_classPdg[0] != 0)
    throw std::runtime_error("k4mlpf: model '" + modelPath + "' has class_pdg " + get("class_pdg") +
                             ": class 0 must be 'no particle' (PDG 0)");
}

std::vector<Candidate> MLPFRunner::run(const EventInputs& event) const {
  torch::NoGradGuard noGrad;
  const auto tracks = table(event.tracks, kTrackColumns, m_device);
  const auto clusters = table(event.clusters, kClusterColumns, m_device);
  const auto hits = table(event.hits, kHitColumns, m_device);
  std::unordered_map<std::string, torch::Tensor> out;
  if (m_package) {
    // The package's kernels open OpenMP regions themselves (ATen's own ops first give each calling
    // thread libtorch's thread count): give this thread (e.g. a Gaudi worker) setIntraOpThreads' count.
    at::init_num_threads();
    // the package's program is the batched forward: a batch of one event, every row real
    auto ones = [&](const torch::Tensor& rows) {
      return torch::ones({1, rows.size(0)}, torch::TensorOptions().dtype(torch::kBool).device(m_device));
    };
    const auto flat = m_package->run({tracks.unsqueeze(0), ones(tracks), clusters.unsqueeze(0), ones(clusters),
                                      hits.unsqueeze(0), ones(hits)});
    if (flat.size() != m_packageOutputs.size())
      throw std::runtime_error("k4mlpf: model '" + m_path + "' returned " + std::to_string(flat.size()) +
                               " outputs, its call spec names " + std::to_string(m_packageOutputs.size()));
    for (size_t i = 0; i < flat.size(); ++i) out.emplace(m_packageOutputs[i], flat[i].select(0, 0));
  } else {
    const auto dict = m_module.get_method("reconstruct_event")({tracks, clusters, hits}).toGenericDict();
    for (const auto& item : dict)
      if (item.value().isTensor()) out.emplace(item.key().toStringRef(), item.value().toTensor());
  }
  return candidates(out);
}

std::vector<Candidate> MLPFRunner::candidates(const std::unordered_map<std::string, torch::Tensor>& out) const {
  // only the keys we need: the model may add outputs (e.g. masks) without breaking this reader
  auto get = [&](const char* key) -> const torch::Tensor& {
    const auto it = out.find(key);
    if (it == out.end()) throw std::runtime_error("k4mlpf: model '" + m_path + "' returned no '" + key + "'");
    return it->second;
  };
  auto column = [&](const char* key) { return get(key).to(torch::kCPU, torch::kFloat32).contiguous(); };
  const auto pdg = get("pdg").to(torch::kCPU, torch::kInt64).contiguous();
  const auto charge = column("charge"), px = column("px"), py = column("py"), pz = column("pz");
  const auto energy = column("energy");
  const auto mass = out.count("mass")
                        ? column("mass")
                        : (energy * energy - px * px - py * py - pz * pz).clamp_min(0).sqrt().contiguous();
  const auto probabilities = column("probabilities");
  const auto n = pdg.size(0);
  const auto nClasses = static_cast<int64_t>(m_classPdg.size());
  if (probabilities.dim() != 2 || probabilities.size(0) != n || probabilities.size(1) != nClasses)
    throw std::runtime_error("k4mlpf: model '" + m_path + "' returned probabilities of shape " +
                             c10::str(probabilities.sizes()) + ", expected [" + std::to_string(n) + ", " +
                             std::to_string(nClasses) + "] (one per class of class_pdg)");
  const auto probability = std::get<0>(probabilities.max(-1)).contiguous();
  torch::Tensor cls;
  if (out.count("cls")) {
    cls = get("cls").to(torch::kCPU, torch::kInt64).contiguous();
  } else {  // the class whose PDG code is |pdg| (class 0 for pdg 0)
    const auto codes = torch::tensor(std::vector<int64_t>(m_classPdg.begin(), m_classPdg.end()), torch::kInt64);
    cls = (pdg.abs().unsqueeze(1) == codes.unsqueeze(0)).to(torch::kInt64).argmax(1).contiguous();
  }
  const auto skipped = out.count("skipped") ? get("skipped").to(torch::kCPU, torch::kBool).contiguous()
                                            : torch::zeros({n}, torch::kBool);
  std::vector<Candidate> result(static_cast<size_t>(n));
  auto f = [](const torch::Tensor& t, int64_t i) { return t.data_ptr<float>()[i]; };
  const float* p = probabilities.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    const auto c = cls.data_ptr<int64_t>()[i];
    if (c < 0 || c >= nClasses)
      throw std::runtime_error("k4mlpf: model '" + m_path + "' returned class " + std::to_string(c) + ", it has " +
                               std::to_string(nClasses) + " classes");
    result[i] = Candidate{static_cast<int>(i), static_cast<int>(pdg.data_ptr<int64_t>()[i]), static_cast<int>(c),
                          f(charge, i), f(px, i), f(py, i), f(pz, i), f(energy, i), f(mass, i), f(probability, i),
                          std::vector<float>(p + i * nClasses, p + (i + 1) * nClasses), skipped.data_ptr<bool>()[i]};
  }
  return result;
}

}  // namespace k4mlpf
