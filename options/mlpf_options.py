"""Shared body of options/runMLPF_CLD.py and options/runMLPF_CLIC.py (k4run steering).

``mlpf_job(detector=..., ...)`` adds the job's flags to k4FWCore's parser, builds the
``MLPFParticleFlow`` algorithm and, with an input file, the IOSvc and the ApplicationMgr. k4run's
own ``-n/--num-events`` sets EvtMax; every property is also a flag (``--MLPF.Device cuda``).
``mlpf_algorithm(...)`` alone builds the algorithm for appending to another chain (README,
"Key4hep and k4run").

Outputs, as ``python -m k4mlpf reco`` writes them: ``MLPFPFOs``, ``MLPFParticleIDs`` and, when there are
truth links, ``MLPFMCTruthLink``. ``--truth-links auto`` (default) links through those of
``SiTracksMCTruthLink`` and ``ClusterMCTruthLink`` that the first input file has (none in real data:
then no ``MLPFMCTruthLink``); it opens the file with the project's reader (uproot), which adds about a
second to the start-up; ``on`` takes both without looking, ``off`` writes no links.
"""

from __future__ import annotations

import os
import sys

from Configurables import MLPFParticleFlow
from k4FWCore.parseArgs import parser

REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
DEFAULT_MODEL = os.path.join(REPO, "models", "mlpf_cld_small.pt")
# the truth links MLPFMCTruthLink is made from (the names k4mlpf reco reads: k4mlpf/reco_links.py)
TRUTH_LINKS = {"InputTrackLinks": "SiTracksMCTruthLink", "InputClusterLinks": "ClusterMCTruthLink"}


def _add(*names, **kwargs):
    """``parser.add_argument`` unless another options file of the same job added the flag already."""
    if not any(n in parser._option_string_actions for n in names):
        parser.add_argument(*names, **kwargs)


def add_arguments(*, detector: str, model: str | None, input_file: str, output_file: str) -> None:
    _add("--inputFiles", nargs="+", default=[input_file], help="EDM4hep REC file(s)")
    _add("--outputFile", default=output_file,
         help="output EDM4hep file (every input collection + MLPFPFOs, MLPFParticleIDs, MLPFMCTruthLink)")
    _add("--model", default=model,
         help=f"exported MLPF model, TorchScript .pt or AOTInductor .pt2 (python_trainer export; default {model})")
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
    _add("--truth-links", choices=("auto", "on", "off"), default="auto",
         help="MLPFMCTruthLink from the input's SiTracksMCTruthLink/ClusterMCTruthLink: auto (default: those the "
              "first input file has), on (both), off (none, e.g. real data)")
    _add("--collections", nargs="*", default=[],
         help="collections to read (multi-threaded reading: k4FWCore then does not peek into the file with podio)")


def _collections_of(path: str) -> set[str] | None:
    """The collection names of an EDM4hep file (the project's reader), or None where it cannot tell."""
    if "://" in path or not os.path.isfile(path):
        return None  # remote, or missing (k4FWCore names a missing input itself)
    try:
        if REPO not in sys.path:
            sys.path.append(REPO)
        from k4mlpf.edm4hep import EDM4hepFile

        with EDM4hepFile(path) as f:
            return set(f.collections())
    except Exception as err:  # noqa: BLE001 - any failure: take the links without looking, and say so
        reason = str(err).splitlines()[0] if str(err) else repr(err)
        print(f"mlpf_options: cannot list the collections of {path} ({reason}); taking the truth links as there "
              "(--truth-links on/off to choose)", file=sys.stderr)
        return None


def truth_link_properties(mode: str, input_files) -> dict:
    """InputTrackLinks, InputClusterLinks and OutputLinks for ``--truth-links`` MODE (auto, on, off);
    ``auto`` looks into the first of ``input_files`` (none given: as ``on``, for links made in the job)."""
    present = None
    if mode == "auto" and input_files:
        present = _collections_of(str(input_files[0]))
    links = {prop: ([name] if mode != "off" and (present is None or name in present) else [])
             for prop, name in TRUTH_LINKS.items()}
    return {**links, "OutputLinks": ["MLPFMCTruthLink"] if any(links.values()) else []}


def mlpf_algorithm(args, name: str = "MLPF", input_files=None, **properties) -> MLPFParticleFlow:
    """The algorithm, configured from the parsed flags; ``input_files`` (the job's, for ``--truth-links
    auto``); ``properties`` override (collection names, ...)."""
    settings = dict(InputTracks="SiTracks_Refitted", InputDqdx="SiTracks_Refitted_dQdx",
                    InputClusters="PandoraClusters", OutputParticles="MLPFPFOs", OutputParticleIDs="MLPFParticleIDs",
                    **truth_link_properties(getattr(args, "truth_links", "auto"), input_files),
                    ModelPath=os.path.abspath(args.model) if args.model else "", Device=args.device, TorchThreads=args.torch_threads,
                    Detector=args.detector,
                    AllowDetectorMismatch=args.allow_detector_mismatch, HitCollections=list(args.hit_collections))
    settings.update(properties)
    return MLPFParticleFlow(name, **settings)


def mlpf_job(*, detector: str, model: str | None, input_file: str, output_file: str):
    """The whole job: IOSvc (read every collection, write them all + MLPF's) and MLPFParticleFlow."""
    from Gaudi.Configuration import INFO, WARNING
    from Configurables import EventDataSvc
    from k4FWCore import ApplicationMgr, IOSvc

    add_arguments(detector=detector, model=model, input_file=input_file, output_file=output_file)
    args = parser.parse_known_args()[0]
    io = IOSvc("IOSvc")
    io.Input = args.inputFiles
    io.Output = args.outputFile
    io.outputCommands = ["keep *"]
    mlpf = mlpf_algorithm(args, input_files=args.inputFiles)
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
