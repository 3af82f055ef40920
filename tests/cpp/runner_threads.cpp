// Test driver: k4mlpf-runner-threads MODEL INPUT THREADS REPEATS
// INPUT as for k4mlpf-run-model (int32 nTracks, nClusters, nHits, then the three float32 tables).
// MODEL: .pt or .pt2. Runs MLPFRunner::run on the same runner (one model) from THREADS threads at
// once, REPEATS times each, and checks that every result equals, bit for bit, a first
// single-threaded run. Prints
// "identical: N runs on T threads" and exits 0, or names the first difference and exits 1.
// Used by tests/model/test_cpp_runner.py: the Gaudi algorithm shares one runner between its threads.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "event_file.h"
#include "k4mlpf/MLPFRunner.h"

namespace {
bool same(const std::vector<k4mlpf::Candidate>& a, const std::vector<k4mlpf::Candidate>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const float x[] = {a[i].charge, a[i].px, a[i].py, a[i].pz, a[i].energy, a[i].mass, a[i].probability};
    const float y[] = {b[i].charge, b[i].px, b[i].py, b[i].pz, b[i].energy, b[i].mass, b[i].probability};
    if (a[i].element != b[i].element || a[i].pdg != b[i].pdg || a[i].cls != b[i].cls ||
        std::memcmp(x, y, sizeof(x)) != 0 || a[i].probabilities != b[i].probabilities)
      return false;
  }
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: k4mlpf-runner-threads MODEL INPUT THREADS REPEATS\n";
    return 2;
  }
  try {
    const k4mlpf::MLPFRunner runner(argv[1]);
    const k4mlpf::EventInputs event = readEventFile(argv[2]);
    const int threads = std::stoi(argv[3]), repeats = std::stoi(argv[4]);

    const auto reference = runner.run(event);
    std::atomic<int> differing{0}, done{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();  // start together, to overlap the calls
        for (int r = 0; r < repeats; ++r) {
          if (!same(runner.run(event), reference)) ++differing;
          ++done;
        }
      });
    }
    go = true;
    for (auto& t : pool) t.join();
    if (differing > 0) {
      std::cerr << differing << " of " << done << " concurrent runs differ from the single-threaded run\n";
      return 1;
    }
    std::cout << "identical: " << done << " runs on " << threads << " threads, " << reference.size()
              << " candidates each\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
