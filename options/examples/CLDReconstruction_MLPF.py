# Append MLPFParticleFlow to a full CLD reconstruction chain (CLDConfig's CLDReconstruction.py or
# CLDReconstruction_iosvc.py), in one k4run job:
#   cd $CLDCONFIG   # CLDConfig's own files are found relative to it, as with CLDReconstruction.py itself
#   k4run /path/to/k4mlpf/options/examples/CLDReconstruction_MLPF.py \
#         --cld-reconstruction CLDReconstruction_iosvc.py --inputFiles SIM.edm4hep.root --outputBasename out \
#         [--model ...] [--device ...]                       # MLPF flags: options/mlpf_options.py
# Runs the chain file as it is, then puts MLPF after the chain's last algorithm (before its output
# algorithm, if it has one): MLPFPFOs are written next to PandoraPFOs. The hits made by the chain's
# calorimeter digitisation have no collection ID yet when MLPF runs, so their subsystems come from
# HitCollections (CLD's names by default, --hit-collections to change).
# Tested (tests/k4run) with a stand-in chain file of the same shape that reads a REC file; not run
# here with the real CLDConfig (no DD4hep, Marlin or CLDConfig in this project's stack).
import os
import sys

from k4FWCore.parseArgs import parser

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), ".."))
from mlpf_options import DEFAULT_MODEL, add_arguments, mlpf_algorithm  # noqa: E402

CLD_HITS = ["ECALBarrel", "ECALEndcap", "HCALBarrel", "HCALEndcap", "HCALOther", "MUON"]
OUTPUT_TYPES = ("PodioOutput", "Writer")  # the chain's output algorithm, if it has one (legacy k4DataSvc chains)

parser.add_argument("--cld-reconstruction", default="CLDReconstruction.py",
                    help="the chain's options file (default: CLDReconstruction.py in the current directory)")
chain = os.path.abspath(parser.parse_known_args()[0].cld_reconstruction)
if not os.path.isfile(chain):
    raise SystemExit(f"CLDReconstruction_MLPF.py: no chain options file {chain} (--cld-reconstruction PATH)")

# the chain file, run as k4run would run it (its directory first on sys.path, for its own modules)
sys.path.insert(0, os.path.dirname(chain))
with open(chain) as stream:
    exec(compile(stream.read(), chain, "exec"), {"__file__": chain, "__name__": "__cldreconstruction__"})

add_arguments(detector="CLD_o2_v05", model=DEFAULT_MODEL, input_file="", output_file="")  # existing flags kept
args = parser.parse_known_args()[0]
if not args.hit_collections:
    args.hit_collections = CLD_HITS
mlpf = mlpf_algorithm(args)

from Configurables import ApplicationMgr  # noqa: E402 - the chain's (singleton) application manager

algorithms = list(ApplicationMgr().TopAlg)
outputs = [i for i, a in enumerate(algorithms) if getattr(a, "getType", lambda: "")() in OUTPUT_TYPES]
algorithms.insert(outputs[0] if outputs else len(algorithms), mlpf)
ApplicationMgr().TopAlg = algorithms
