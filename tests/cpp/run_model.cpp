// Test driver: k4mlpf-run-model MODEL INPUT OUTPUT
// INPUT: int32 nTracks, nClusters, nHits, then the three float32 tables; OUTPUT: per element
// int32 pdg + float32 charge px py pz energy mass probability. Used by tests/model/test_cpp_runner.py
// to check that libtorch through MLPFRunner gives what Python gives.
#include <cstdint>
#include <fstream>
#include <iostream>

#include "event_file.h"
#include "k4mlpf/MLPFRunner.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: k4mlpf-run-model MODEL INPUT OUTPUT\n";
    return 2;
  }
  try {
    k4mlpf::MLPFRunner runner(argv[1]);
    const k4mlpf::EventInputs event = readEventFile(argv[2]);
    std::ofstream out(argv[3], std::ios::binary);
    for (const auto& c : runner.run(event)) {
      const int32_t pdg = c.pdg;
      const float values[] = {c.charge, c.px, c.py, c.pz, c.energy, c.mass, c.probability};
      out.write(reinterpret_cast<const char*>(&pdg), sizeof(pdg));
      out.write(reinterpret_cast<const char*>(values), sizeof(values));
    }
    std::cout << "detector " << runner.detector() << ", B = " << runner.bField() << " T\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
