"""Command line: ``python -m fastsim generate ...`` (also ``fastsim generate``) and ``validate ...``.

    python -m fastsim generate --detector CLD --process ttbar --events 1000 \\
        --output cld_ttbar.edm4hep.root --seed 1 --jobs 2
    python -m fastsim generate --detector CLIC --process gun --particle 22 --energy 1 50 ...
    python -m fastsim validate cld_ttbar.edm4hep.root --output-dir plots/
    python -m fastsim mix fastsim/mixes/cld_physics.yaml --output data/mix --jobs 2
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from k4mlpf.cli_support import HelpFormatter, UsageError, check_output_dir, check_output_file, positive_int, run_command

PROCESSES = ("ttbar", "qq", "ww", "zh", "gun")


def main_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastsim", description=__doc__.splitlines()[0],
                                     formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="simulate events into an EDM4hep file", formatter_class=HelpFormatter,
                         description="Pythia8 events through the parametric detector of a card, written as an "
                                     "EDM4hep REC file (tracks, hits, clusters, truth links, BaselinePFOs).")
    gen.add_argument("--detector", default="CLD",
                     help="CLD (CLD_o2_v05), CLIC (CLIC_o3_v14) or a path to a YAML card")
    gen.add_argument("--process", default="ttbar", choices=PROCESSES, help="physics process")
    gen.add_argument("--events", type=positive_int, default=100, help="number of events")
    gen.add_argument("--output", required=True, metavar="PATH", help="output .edm4hep.root file")
    gen.add_argument("--seed", type=int, default=1, help="random seed (the same seed gives the same events)")
    gen.add_argument("--jobs", type=positive_int, default=1, help="worker processes")
    gen.add_argument("--ecm", type=float, default=None,
                     help="centre-of-mass energy [GeV] (default: per process: ttbar 365, qq 91.2, ww/zh 240)")
    gen.add_argument("--chunk-size", type=positive_int, default=50, help="events per chunk")
    gen.add_argument("--particle", type=int, default=211, help="gun: PDG code")
    gen.add_argument("--energy", type=float, nargs="+", default=[10.0], metavar="GEV",
                     help="gun: energy, or a range MIN MAX")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")
    gen.set_defaults(command_parser=gen)  # errors show the subcommand's own usage line
    val = sub.add_parser("validate", help="standard validation plots (PNG) and summary.json",
                         formatter_class=HelpFormatter)
    val.add_argument("files", nargs="+", metavar="FILE", help="fast-simulation EDM4hep files")
    val.add_argument("--output-dir", required=True, metavar="DIR", help="folder for the plots (made if missing)")
    val.add_argument("--max-events", type=positive_int, default=2000, help="events read per file")
    mix = sub.add_parser("mix", help="every sample of a training-mix YAML (processes, energies, guns), seeded",
                         formatter_class=HelpFormatter)
    mix.add_argument("spec", help="mix file, e.g. fastsim/mixes/cld_physics.yaml")
    mix.add_argument("--output", required=True, metavar="DIR", help="folder for the files (made if missing)")
    mix.add_argument("--jobs", type=positive_int, default=1, help="worker processes per sample")
    mix.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _generate(args, parser: argparse.ArgumentParser) -> int:
    from .card import load_card
    from .generator import GUN_PARTICLES, PROCESSES as PYTHIA_PROCESSES, THRESHOLDS
    from .pipeline import RunConfig, run

    if len(args.energy) not in (1, 2) or min(args.energy) <= 0:
        parser.error("--energy takes one positive value or a range MIN MAX")
    if args.process == "gun" and args.particle not in GUN_PARTICLES:
        parser.error(f"--particle {args.particle}: supported {', '.join(map(str, GUN_PARTICLES))}")
    if args.ecm is not None and args.ecm <= 0:
        parser.error("--ecm must be positive")
    if args.process in THRESHOLDS:
        ecm = args.ecm if args.ecm is not None else PYTHIA_PROCESSES[args.process][1]
        if ecm < THRESHOLDS[args.process]:
            raise UsageError(f"--ecm {ecm:g}: {args.process} is not produced below {THRESHOLDS[args.process]:.1f} GeV")
    check_output_file(args.output)
    card = load_card(args.detector)
    energy = (args.energy[0], args.energy[-1])
    cfg = RunConfig(detector=args.detector, process=args.process, n_events=args.events,
                    seed=args.seed, ecm=args.ecm, chunk_size=args.chunk_size,
                    gun_pdg=args.particle, gun_energy=energy)
    total = run(cfg, args.output, jobs=args.jobs, progress=not args.quiet)
    n = total["events"]
    print(f"wrote {n} {card.name} {args.process} events to {args.output}: per event {total['tracks'] / n:.1f} "
          f"tracks, {total['clusters'] / n:.1f} clusters, {total['hits'] / n:.0f} hits, {total['pfos'] / n:.1f} PFOs")
    return 0


def _validate(args) -> int:
    from .validate import validate

    check_output_dir(args.output_dir, "--output-dir")
    validate(args.files, args.output_dir, max_events=args.max_events)
    print(f"wrote the validation plots and summary.json of {len(args.files)} file(s) to {args.output_dir}")
    return 0


def _mix(args) -> int:
    from .mix import run_mix

    check_output_dir(args.output)
    for path, made in run_mix(args.spec, args.output, jobs=args.jobs, progress=not args.quiet):
        print(f"{path}{'' if made else ' (already there)'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from .card import CardError
    from .mix import MixError

    parser = main_parser()
    args = parser.parse_args(argv)
    if args.command == "generate":
        command = lambda: _generate(args, args.command_parser)  # noqa: E731
    elif args.command == "mix":
        command = lambda: _mix(args)  # noqa: E731
    else:
        command = lambda: _validate(args)  # noqa: E731
    return run_command(f"fastsim {args.command}", command, extra_errors=(CardError, MixError, KeyError, OSError))


if __name__ == "__main__":
    sys.exit(main())
