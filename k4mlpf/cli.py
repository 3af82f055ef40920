"""``python -m k4mlpf``: the reconstruction side's command line.

Subcommands: ``dump`` (like podio-dump), ``reco`` (run an exported model on a file), ``compare``
(jets and MET of PF collections against truth). Each subcommand lives in its own ``_cmd_*`` function;
errors about input files are reported in one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys



def _cmd_dump(args: argparse.Namespace) -> int:
    from .edm4hep.dump import file_to_json, summary
    from .edm4hep.reader import EDM4hepFile

    with EDM4hepFile(args.file) as f:
        if args.json:
            events = args.events if args.events is not None else "all"
            json.dump(file_to_json(f, events=events), sys.stdout, indent=args.indent)
            sys.stdout.write("\n")
        else:
            print(summary(f, events=args.events))
    return 0


def _cmd_reco(args: argparse.Namespace) -> int:
    from .reco import reconstruct

    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    n = reconstruct(args.input, args.output, args.model, collection=args.collection, tracks=args.tracks,
                    clusters=args.clusters, device=args.device, batch_size=args.batch_size,
                    progress=not args.quiet, detector=args.detector, b_field=args.bfield,
                    allow_detector_mismatch=args.allow_detector_mismatch)
    print(f"wrote {n} events with {args.collection} to {args.output}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .cli_support import check_output_dir
    from .compare import compare, default_collections, table

    if args.output is not None:
        check_output_dir(args.output)
    collections = args.collections
    if collections is None:
        collections = default_collections(args.file)
        print(f"comparing {', '.join(collections)} (pass --collections to choose)", file=sys.stderr)
    result = compare(args.file, collections, args.output)
    print(table(result))
    if args.output is not None:
        print(f"wrote {args.output}/compare.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .cli_support import HelpFormatter, positive_int

    parser = argparse.ArgumentParser(prog="k4mlpf", description="Machine-learned particle flow for Key4hep.",
                                     formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    dump = sub.add_parser("dump", help="show the collections of an EDM4hep file (like podio-dump)",
                          formatter_class=HelpFormatter,
                          description="Show an EDM4hep file's categories and collections with their types "
                                      "and sizes; with --json, every object of the chosen events in podio's "
                                      "JSON structure.")
    dump.add_argument("file", help="EDM4hep file (podio TTree or RNTuple)")
    dump.add_argument("--events", "-e", default=None,
                      help="events to show: 'all', or a list like '0,2,5-7' (default: event 0; all with --json)")
    dump.add_argument("--json", action="store_true", help="print every object as JSON")
    dump.add_argument("--indent", type=int, default=None, help="indent the JSON output")
    dump.set_defaults(run=_cmd_dump)

    reco = sub.add_parser("reco", help="run an exported MLPF model on an EDM4hep file (no Gaudi needed)",
                          formatter_class=HelpFormatter,
                          description="Write every collection of INPUT plus the MLPF particles to OUTPUT "
                                      "(written under a temporary name, renamed when complete).")
    reco.add_argument("input", help="EDM4hep REC file (tracks, clusters, calorimeter hits)")
    reco.add_argument("--output", "-o", required=True, help="output EDM4hep file (never the input)")
    reco.add_argument("--model", "-m", default=None,
                      help="exported model (.pt from python_trainer export); default: the model shipped for "
                           "the file's detector (CLD: mlpf_cld_small.pt)")
    reco.add_argument("--collection", default="MLPFPFOs", help="name of the new ReconstructedParticle collection")
    reco.add_argument("--tracks", default="SiTracks_Refitted", help="track collection the model reads")
    reco.add_argument("--clusters", default="PandoraClusters",
                      help="cluster collection the model reads (their hits are found through the clusters)")
    reco.add_argument("--detector", default=None,
                      help="detector that made the file, e.g. CLD_o2_v05 (default: what the file says)")
    reco.add_argument("--bfield", type=float, default=None, help="solenoid field in T (default: the detector's)")
    reco.add_argument("--allow-detector-mismatch", action="store_true",
                      help="run a model trained for another detector than the file's (wrong physics!)")
    reco.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"],
                      help="where the model runs (auto: cuda if a GPU is visible)")
    reco.add_argument("--batch-size", type=positive_int, default=32, help="events per model call")
    reco.add_argument("--threads", type=int, default=1,
                      help="CPU threads of the model (0: PyTorch's default, all cores); 1 as k4run's TorchThreads, "
                           "which suits batch jobs and shared machines")
    reco.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    reco.set_defaults(run=_cmd_reco)

    cmp = sub.add_parser("compare", help="jets and MET of PF collections against truth, side by side",
                         formatter_class=HelpFormatter)
    cmp.add_argument("file", help="EDM4hep file with MCParticles and the PF collections")
    cmp.add_argument("--collections", "-c", nargs="+", default=None,
                     help="ReconstructedParticle collections (default: MLPFPFOs and PandoraPFOs, else BaselinePFOs, "
                          "those present)")
    cmp.add_argument("--output", "-o", help="folder for compare.json (made if missing)")
    cmp.set_defaults(run=_cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .cli_support import run_command

    parser = build_parser()
    args = parser.parse_args(argv)
    return run_command(f"k4mlpf {args.command}", lambda: args.run(args))
