"""``python -m k4mlpf``: the reconstruction side's command line.

Subcommands: ``dump`` (like podio-dump), ``reco`` (run an exported model on a file), ``compare``
(jets and MET of PF collections against truth). Each subcommand lives in its own ``_cmd_*`` function;
errors about input files are reported in one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .edm4hep.errors import EDM4hepError


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

    n = reconstruct(args.input, args.output, args.model, collection=args.collection, tracks=args.tracks,
                    clusters=args.clusters, device=args.device, batch_size=args.batch_size,
                    progress=not args.quiet)
    print(f"wrote {n} events with {args.collection} to {args.output}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare, table

    result = compare(args.file, args.collections, args.output)
    print(table(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m k4mlpf",
                                     description="Machine-learned particle flow for Key4hep.")
    sub = parser.add_subparsers(dest="command", required=True)
    dump = sub.add_parser("dump", help="show the collections of an EDM4hep file (like podio-dump)",
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
                          description="Write every collection of INPUT plus the MLPF particles to OUTPUT.")
    reco.add_argument("input", help="EDM4hep REC file (tracks, clusters, calorimeter hits)")
    reco.add_argument("--model", "-m", required=True, help="exported model (.pt from python_trainer export)")
    reco.add_argument("--output", "-o", required=True, help="output EDM4hep file")
    reco.add_argument("--collection", default="MLPFPFOs", help="name of the new ReconstructedParticle collection")
    reco.add_argument("--tracks", default="SiTracks_Refitted")
    reco.add_argument("--clusters", default="PandoraClusters")
    reco.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    reco.add_argument("--batch-size", type=int, default=32, help="events per model call")
    reco.add_argument("--quiet", action="store_true")
    reco.set_defaults(run=_cmd_reco)

    cmp = sub.add_parser("compare", help="jets and MET of PF collections against truth, side by side")
    cmp.add_argument("file", help="EDM4hep file with MCParticles and the PF collections")
    cmp.add_argument("--collections", "-c", nargs="+", default=["MLPFPFOs", "PandoraPFOs"])
    cmp.add_argument("--output", "-o", help="folder for compare.json")
    cmp.set_defaults(run=_cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (EDM4hepError, ValueError) as err:
        print(f"k4mlpf {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. piped into head
        return 0
