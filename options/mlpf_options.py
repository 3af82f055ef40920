"""Shared body of options/runMLPF_CLD.py and options/runMLPF_CLIC.py (k4run steering).

``mlpf_job(detector=..., ...)`` adds the job's flags to k4FWCore's parser, builds the
``MLPFParticleFlow`` algorithm and, with an input file, the IOSvc and the ApplicationMgr. k4run's
own ``-n/--num-events`` sets EvtMax; every property is also a flag (``--MLPF.Device cuda``).
``mlpf_algorithm(...)`` alone builds the algorithm for appending to another chain (README,
"Key4hep and k4run").
"""

from __future__ import annotations

import os

from Configurables import MLPFParticleFlow
from k4FWCore.parseArgs import parser

REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
DEFAULT_MODEL = os.path.join(REPO, "models", "mlpf_cld_small.pt")


def _add(*names, **kwargs):
    """``parser.add_argument`` unless another options file of the same job added the flag already."""
    if not any(n in parser._option_string_actions for n in names):
        parser.add_argument(*names, **kwargs)


def add_arguments(*, detector: str, model: str | None, input_file: str, output_file: str) -> None:
    _add("--inputFiles", nargs="+", default=[input_file], help="EDM4hep REC file(s)")
    _add("--outputFile", default=output_file, help="output EDM4hep file (every input collection + MLPFPFOs)")
    _add("--model", default=model, help=f"exported MLPF model (python_trainer export; default {model})")
    _add("--device", default="cpu", help="torch device: cpu, cuda, cuda:N or auto (default cpu)")
    _add("--torch-threads", type=int, default=1,
         help="libtorch intra-op threads (default 1; 0: one per core). More threads than free cores spin")
    _add("--detector", default=detector,
         help=f"detector of the data (default {detector}); a model of another family (CLD, CLIC) stops initialize()")
    _add("--allow-detector-mismatch", action="store_true", help="run a model trained for another detector anyway")
    _add("--hit-collections", nargs="*", default=[],
         help="only for hits made earlier in the same job: their collection names (missing ones are ignored)")
    _add("--threads", type=int, default=1,
         help="threads and event slots (> 1: multi-threaded; needs -n and, with an input file, --collections)")
    _add("--collections", nargs="*", default=[],
         help="collections to read (multi-threaded reading: k4FWCore then does not peek into the file with podio)")


def mlpf_algorithm(args, name: str = "MLPF", **properties) -> MLPFParticleFlow:
    """The algorithm, configured from the parsed flags; ``properties`` override (collection names, ...)."""
    settings = dict(InputTracks="SiTracks_Refitted", InputDqdx="SiTracks_Refitted_dQdx",
                    InputClusters="PandoraClusters", OutputParticles="MLPFPFOs",
                    ModelPath=os.path.abspath(args.model) if args.model else "", Device=args.device, TorchThreads=args.torch_threads,
                    Detector=args.detector,
                    AllowDetectorMismatch=args.allow_detector_mismatch, HitCollections=list(args.hit_collections))
    settings.update(properties)
    return MLPFParticleFlow(name, **settings)


def mlpf_job(*, detector: str, model: str | None, input_file: str, output_file: str):
    """The whole job: IOSvc (read every collection, write them all + MLPFPFOs) and MLPFParticleFlow."""
    from Gaudi.Configuration import INFO, WARNING
    from Configurables import EventDataSvc
    from k4FWCore import ApplicationMgr, IOSvc

    add_arguments(detector=detector, model=model, input_file=input_file, output_file=output_file)
    args = parser.parse_known_args()[0]
    io = IOSvc("IOSvc")
    io.Input = args.inputFiles
    io.Output = args.outputFile
    io.outputCommands = ["keep *"]
    mlpf = mlpf_algorithm(args)
    options = dict(TopAlg=[mlpf], EvtSel="NONE", EvtMax=-1, OutputLevel=INFO)
    if args.threads > 1:
        # k4FWCore's ApplicationMgr peeks into the input with podio's Python bindings unless it knows
        # the collections to read and the number of events (those bindings do not load in the
        # prebuilt stack of ../shared/key4hep, so there multi-threading needs -n and --collections)
        from Configurables import AvalancheSchedulerSvc, HiveSlimEventLoopMgr, HiveWhiteBoard

        if args.collections:
            io.CollectionNames = list(args.collections)
        whiteboard = HiveWhiteBoard("EventDataSvc", EventSlots=args.threads, ForceLeaves=True)
        AvalancheSchedulerSvc(ThreadPoolSize=args.threads, OutputLevel=WARNING)
        loop = HiveSlimEventLoopMgr("HiveSlimEventLoopMgr", SchedulerName="AvalancheSchedulerSvc", OutputLevel=WARNING)
        options.update(ExtSvc=[whiteboard], EventLoop=loop, MessageSvcType="InertMessageSvc")
    else:
        options.update(ExtSvc=[EventDataSvc("EventDataSvc")])
    return ApplicationMgr(**options), mlpf
