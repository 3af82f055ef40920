# MLPF particle flow for CLICdet, after the standard reconstruction:
#   k4run options/runMLPF_CLIC.py --inputFiles CLIC_REC.edm4hep.root --outputFile CLIC_MLPF.edm4hep.root \
#         --model models/mlpf_clic.pt [--device cpu|cuda|auto] [-n 100]
# No CLICdet model is shipped: --model is required (python_trainer pretrain + export). Reads the
# hits through the clusters (ECALOther included, no list needed); writes every input collection
# plus MLPFPFOs, MLPFParticleIDs and (with truth links in the input) MLPFMCTruthLink. A model of
# another detector family (e.g. the CLD default) stops initialize(). --model takes .pt or .pt2.
# Flags: options/mlpf_options.py.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from mlpf_options import mlpf_job  # noqa: E402

mlpf_job(detector="CLIC_o3_v14", model=None, input_file="CLIC_REC.edm4hep.root",
         output_file="CLIC_MLPF.edm4hep.root")
