# MLPF particle flow for CLD, after the standard reconstruction:
#   k4run options/runMLPF_CLD.py --inputFiles CLD_REC.edm4hep.root --outputFile CLD_MLPF.edm4hep.root \
#         --model models/mlpf_cld.pt
# The default model, models/mlpf_cld_small.pt, was trained on this project's CLD fast simulation
# (see models/README.md): fine-tune it on full-simulation CLD files before trusting it there.
# Writes every input collection plus MLPFPFOs (edm4hep::ReconstructedParticle, next to PandoraPFOs).
# Every property is also a k4run flag, e.g. --MLPF.Device cuda.
from Gaudi.Configuration import INFO
from Configurables import EventDataSvc, MLPFParticleFlow
from k4FWCore import ApplicationMgr, IOSvc
from k4FWCore.parseArgs import parser

parser.add_argument("--inputFiles", nargs="+", default=["CLD_REC.edm4hep.root"], help="EDM4hep REC files")
parser.add_argument("--outputFile", default="CLD_MLPF.edm4hep.root", help="output EDM4hep file")
parser.add_argument("--model", default="models/mlpf_cld_small.pt", help="exported MLPF model (python_trainer export)")
args = parser.parse_known_args()[0]

io = IOSvc("IOSvc")
io.Input = args.inputFiles
io.Output = args.outputFile
io.outputCommands = ["keep *"]

mlpf = MLPFParticleFlow(
    "MLPF",
    InputTracks="SiTracks_Refitted",
    InputDqdx="SiTracks_Refitted_dQdx",
    InputClusters="PandoraClusters",
    InputHits=["ECALBarrel", "ECALEndcap", "HCALBarrel", "HCALEndcap", "HCALOther", "MUON"],
    OutputParticles="MLPFPFOs",
    ModelPath=args.model,
    Device="cpu",
)

ApplicationMgr(TopAlg=[mlpf], EvtSel="NONE", EvtMax=-1, ExtSvc=[EventDataSvc("EventDataSvc")], OutputLevel=INFO)
