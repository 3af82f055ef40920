# Stand-in for CLDConfig's CLDReconstruction_iosvc.py, for tests/k4run only: the same shape (flags
# --inputFiles/--outputBasename on k4FWCore's parser, EventDataSvc + IOSvc, an algList, the
# ApplicationMgr at the end with EvtMax overridden by -n) but no digitisation, tracking or Pandora:
# its input is already a REC file (fast simulation), and its one algorithm is k4FWCore's EventCounter.
from Gaudi.Configuration import WARNING
from Configurables import EventCounter, EventDataSvc
from k4FWCore import ApplicationMgr, IOSvc
from k4FWCore.parseArgs import parser

group = parser.add_argument_group("stand-in CLDReconstruction.py options")
group.add_argument("--inputFiles", action="extend", nargs="+", help="input files")
group.add_argument("--outputBasename", default="output", help="basename of the output file")
reco_args = parser.parse_known_args()[0]

algList = []
svcList = [EventDataSvc("EventDataSvc")]
iosvc = IOSvc("IOSvc")
iosvc.Input = reco_args.inputFiles
iosvc.Output = f"{reco_args.outputBasename}_REC.edm4hep.root"
algList.append(EventCounter("StandInReconstruction", Frequency=10))

ApplicationMgr(TopAlg=algList, EvtSel="NONE", EvtMax=1, ExtSvc=svcList, OutputLevel=WARNING)
