# tests/k4run: MLPF on clusters and hits made earlier in the same job (MLPFTestCopyClusters copies
# PandoraClusters and their hits into Copied* collections without collection IDs), with the hits'
# subsystems from HitCollections (--hit-collections), as after a reconstruction chain's digitisation.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "options"))
from Gaudi.Configuration import INFO  # noqa: E402
from Configurables import EventDataSvc, MLPFTestCopyClusters  # noqa: E402
from k4FWCore import ApplicationMgr, IOSvc  # noqa: E402
from mlpf_options import DEFAULT_MODEL, add_arguments, mlpf_algorithm  # noqa: E402
from k4FWCore.parseArgs import parser  # noqa: E402

HITS = ["ECALBarrel", "ECALEndcap", "HCALBarrel", "HCALEndcap", "HCALOther", "MUON"]
add_arguments(detector="CLD_o2_v05", model=DEFAULT_MODEL, input_file="", output_file="")
args = parser.parse_known_args()[0]
io = IOSvc("IOSvc")
io.Input = args.inputFiles
io.Output = args.outputFile
copy = MLPFTestCopyClusters("CopyClusters", InputClusters="PandoraClusters", InputHits=HITS,
                            OutputClusters="CopiedClusters", OutputHits=[f"Copied{h}" for h in HITS])
mlpf = mlpf_algorithm(args, InputClusters="CopiedClusters")
ApplicationMgr(TopAlg=[copy, mlpf], EvtSel="NONE", EvtMax=-1, ExtSvc=[EventDataSvc("EventDataSvc")], OutputLevel=INFO)
