# MLPF particle flow for CLD, after the standard reconstruction:
#   k4run options/runMLPF_CLD.py --inputFiles CLD_REC.edm4hep.root --outputFile CLD_MLPF.edm4hep.root \
#         [--model models/mlpf_cld_small.pt] [--device cpu|cuda|auto] [-n 100]
# The default model, models/mlpf_cld_small.pt, was trained on this project's CLD fast simulation
# (see models/README.md): fine-tune it on full-simulation CLD files before trusting it there.
# --model takes a TorchScript .pt or an AOTInductor .pt2 (python_trainer export --format pt2).
# Reads the hits through the clusters (no list of hit collections); writes every input collection
# plus MLPFPFOs (edm4hep::ReconstructedParticle, next to PandoraPFOs), MLPFParticleIDs and, when
# the input has truth links, MLPFMCTruthLink (--truth-links auto|on|off). A model of another detector
# family stops initialize() (--allow-detector-mismatch to run it anyway). Every property is also a
# k4run flag, e.g. --MLPF.OutputParticles MyPFOs. Flags: options/mlpf_options.py.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from mlpf_options import DEFAULT_MODEL, mlpf_job  # noqa: E402

mlpf_job(detector="CLD_o2_v05", model=DEFAULT_MODEL, input_file="CLD_REC.edm4hep.root",
         output_file="CLD_MLPF.edm4hep.root")
