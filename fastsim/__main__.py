"""Command line: ``python -m fastsim generate ...`` and ``python -m fastsim validate ...``.

    python -m fastsim generate --detector CLD --process ttbar --events 1000 \\
        --output cld_ttbar.edm4hep.root --seed 1 --jobs 2
    python -m fastsim generate --detector CLIC --process gun --particle 22 --energy 1 50 ...
    python -m fastsim validate cld_ttbar.edm4hep.root --output-dir plots/   (not implemented yet)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

PROCESSES = ("ttbar", "qq", "ww", "zh", "gun")


def main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fastsim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="simulate events into an EDM4hep file")
    gen.add_argument("--detector", default="CLD",
                     help="CLD (CLD_o2_v05), CLIC (CLIC_o3_v14) or a path to a YAML card (default: CLD)")
    gen.add_argument("--process", default="ttbar", choices=PROCESSES, help="default: ttbar")
    gen.add_argument("--events", type=int, default=100, help="number of events (default: 100)")
    gen.add_argument("--output", required=True, metavar="PATH", help="output .edm4hep.root file")
    gen.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    gen.add_argument("--jobs", type=int, default=1, help="worker processes (default: 1)")
    gen.add_argument("--ecm", type=float, default=None,
                     help="centre-of-mass energy [GeV] (default: per process: ttbar 365, qq 91.2, ww/zh 240)")
    gen.add_argument("--chunk-size", type=int, default=50, help="events per chunk (default: 50)")
    gen.add_argument("--particle", type=int, default=211, help="gun: PDG code (default: 211)")
    gen.add_argument("--energy", type=float, nargs="+", default=[10.0], metavar="GEV",
                     help="gun: energy, or a range MIN MAX (default: 10)")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    val = sub.add_parser("validate", help="standard validation plots (PNG)")
    val.add_argument("files", nargs="+", metavar="FILE")
    val.add_argument("--output-dir", required=True, metavar="DIR")
    val.add_argument("--max-events", type=int, default=2000, help="per file (default: 2000)")
    return parser


def _error(message: str, code: int = 2) -> None:
    print(f"ERROR: {message}", file=sys.stderr)
    raise SystemExit(code)


def _generate(args, parser) -> None:
    from .card import CardError, load_card
    from .generator import GUN_PARTICLES
    from .pipeline import RunConfig, run

    if args.events <= 0 or args.jobs <= 0 or args.chunk_size <= 0:
        parser.error("--events, --jobs and --chunk-size must be positive")
    if len(args.energy) not in (1, 2) or min(args.energy) <= 0:
        parser.error("--energy takes one positive value or a range MIN MAX")
    if args.process == "gun" and args.particle not in GUN_PARTICLES:
        parser.error(f"--particle {args.particle}: supported {', '.join(map(str, GUN_PARTICLES))}")
    if args.ecm is not None and args.ecm <= 0:
        parser.error("--ecm must be positive")
    try:
        load_card(args.detector)
    except CardError as err:
        _error(str(err))
    energy = (args.energy[0], args.energy[-1])
    cfg = RunConfig(detector=args.detector, process=args.process, n_events=args.events,
                    seed=args.seed, ecm=args.ecm, chunk_size=args.chunk_size,
                    gun_pdg=args.particle, gun_energy=energy)
    total = run(cfg, args.output, jobs=args.jobs, progress=not args.quiet)
    n = total["events"]
    print(f"wrote {n} events to {args.output}: per event {total['tracks'] / n:.1f} tracks, "
          f"{total['clusters'] / n:.1f} clusters, {total['hits'] / n:.0f} hits, {total['pfos'] / n:.1f} PFOs")


def main(argv: Sequence[str] | None = None) -> None:
    parser = main_parser()
    args = parser.parse_args(argv)
    if args.command == "generate":
        _generate(args, parser)
    else:
        try:
            from .validate import validate
        except ImportError:
            _error("validation plots are not implemented yet (fastsim/validate.py is missing)", 1)
        try:
            validate(args.files, args.output_dir, max_events=args.max_events)
        except (OSError, KeyError, ValueError) as err:
            _error(str(err))


if __name__ == "__main__":
    main()
