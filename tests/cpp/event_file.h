// Reads one event written by tests/model/test_cpp_runner.py: three int32 counts (tracks, clusters,
// hits), then the float32 rows of each block in the column order of k4mlpf/model/columns.py.
#pragma once

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>

#include "k4mlpf/MLPFRunner.h"

inline k4mlpf::EventInputs readEventFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  int32_t n[3];
  in.read(reinterpret_cast<char*>(n), sizeof(n));
  k4mlpf::EventInputs event;
  event.tracks.resize(static_cast<size_t>(n[0]) * k4mlpf::kTrackColumns);
  event.clusters.resize(static_cast<size_t>(n[1]) * k4mlpf::kClusterColumns);
  event.hits.resize(static_cast<size_t>(n[2]) * k4mlpf::kHitColumns);
  for (auto* v : {&event.tracks, &event.clusters, &event.hits})
    in.read(reinterpret_cast<char*>(v->data()), static_cast<std::streamsize>(v->size() * sizeof(float)));
  if (!in) throw std::runtime_error("truncated input " + path);
  return event;
}
