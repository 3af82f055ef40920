// Test driver: k4mlpf-run-model MODEL INPUT OUTPUT
// MODEL: a TorchScript .pt or an AOTInductor .pt2. INPUT: int32 nTracks, nClusters, nHits, then the
// three float32 tables; OUTPUT: per element int32 pdg, int32 class, float32 charge px py pz energy
// mass probability, then float32 probabilities (one per class of the model's class_pdg). Used by
// tests/model/test_cpp_runner.py to check that libtorch through MLPFRunner gives what Python gives.
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
      const int32_t ints[] = {c.pdg, c.cls};
      const float values[] = {c.charge, c.px, c.py, c.pz, c.energy, c.mass, c.probability};
      out.write(reinterpret_cast<const char*>(ints), sizeof(ints));
      out.write(reinterpret_cast<const char*>(values), sizeof(values));
      out.write(reinterpret_cast<const char*>(c.probabilities.data()),
                static_cast<std::streamsize>(c.probabilities.size() * sizeof(float)));
    }
    std::cout << runner.format() << " model, detector " << runner.detector() << ", B = " << runner.bField()
              << " T, " << runner.classPdg().size() << " classes\n";
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
