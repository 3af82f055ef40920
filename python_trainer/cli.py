"""``python -m python_trainer prepare|pretrain|finetune|evaluate|export|scan|study``."""

from __future__ import annotations

import argparse
import glob
import json
import os
from pathlib import Path

from k4mlpf.cli_support import HelpFormatter, positive_int

HERE = Path(__file__).resolve().parent


def _shards(patterns: list[str]) -> list[str]:
    paths = []
    for pattern in patterns:
        if os.path.isdir(pattern):
            paths += sorted(glob.glob(os.path.join(pattern, "*.npz")))
        else:
            found = sorted(glob.glob(pattern))
            if not found:
                raise FileNotFoundError(f"no prepared shard matches {pattern!r} (run `prepare` first)")
            paths += found
    return paths


def _load_sets(args, config):
    from .data import EventSet

    events = EventSet.load(_shards(args.shards))
    if args.train_events:
        events = events.subset(_first(len(events), args.train_events))
    if args.val:
        return events, EventSet.load(_shards(args.val))
    return events.split(config.val_fraction, seed=config.seed)


def _first(n, k):
    import numpy as np

    if k > n:
        raise ValueError(f"--train-events {k} but only {n} events are prepared")
    return np.arange(k)


def _overrides(args) -> dict:
    return {k: getattr(args, k, None) for k in ("epochs", "batch_size", "lr", "model", "seed", "patience",
                                                 "strategy", "max_steps", "weight_decay", "warmup_steps")}


def cmd_prepare(args) -> int:
    from .prepare import PrepareOptions, prepare

    options = PrepareOptions(pf_collection=args.pf_collection, tracks=args.tracks, clusters=args.clusters,
                             detector=args.detector, b_field=args.bfield, step_size=args.step_size)
    report: list = []
    paths = prepare(args.inputs, args.output, options, jobs=args.jobs, progress=not args.quiet, report=report)
    for source, _, events, rebuilt, pf_name in report:
        print(f"{source}: {events} events, PF collection {pf_name}{'' if rebuilt else ' (cached shard)'}")
    print(f"{len(paths)} shard(s) in {args.output}")
    return 0


def cmd_train(args, finetune: bool) -> int:
    from k4mlpf.cli_support import check_device, check_output_dir

    from .checkpoint import backbone_state
    from .train import TrainConfig, train

    check_device(args.device)
    check_output_dir(args.output)

    default = HERE / "configs" / ("finetune.yaml" if finetune else "pretrain.yaml")
    config = TrainConfig.from_yaml(args.config or default, _overrides(args))
    train_set, val_set = _load_sets(args, config)
    init_state = model_config = None
    info = {"mode": "finetune" if finetune else "pretrain", "train_events": len(train_set),
            "shards": _shards(args.shards)}
    if finetune:
        state, model_config, source = backbone_state(args.from_)
        info["backbone"] = {"path": os.path.abspath(args.from_), **source}
        init_state = None if config.strategy == "scratch" else state
    summary = train(train_set, val_set, config, args.output, device=args.device, resume=args.resume,
                    init_state=init_state, model_config=model_config, info=info, progress=not args.quiet)
    summary.pop("history")
    if summary.pop("rank") == 0:  # under torchrun only the first process reports
        print(json.dumps(summary, indent=1))
    return 0


def cmd_evaluate(args) -> int:
    from k4mlpf.cli_support import check_device, check_output_dir

    from .data import EventSet

    check_device(args.device)
    check_output_dir(args.output)
    from .evaluate import evaluate

    events = EventSet.load(_shards(args.shards))
    result = evaluate(args.model, events, args.output, device=args.device, pf_name=args.pf_name,
                      progress=not args.quiet)
    print(json.dumps({k: result[k] for k in ("events", "jet_resolution_ratio_mlpf_over_pf",
                                             "met_resolution_ratio_mlpf_over_pf")}, indent=1))
    for name, jets in result["jets"].items():
        print(f"  {name:>8}: jet median {jets['response']['median']:.3f}  IQR/median "
              f"{jets['response']['resolution']:.3f}  MET delta IQR {result['met'][name]['delta']['iqr']:.2f} GeV")
    print(f"metrics and plots in {args.output}")
    return 0


def cmd_export(args) -> int:
    from k4mlpf.cli_support import check_device, check_output_file

    from .export import export

    check_output_file(args.output, [args.checkpoint])
    if args.format == "pt2" and not args.output.endswith(".pt2"):
        raise ValueError(f"--output {args.output}: a --format pt2 package must end in .pt2")
    device = check_device(args.device)
    for path in export(args.checkpoint, args.output, detector=args.detector, fmt=args.format, device=device):
        print(f"wrote {path}")
    return 0


def cmd_scan(args) -> int:
    """Grid over training options (--set key=v1,v2 ...): one short run each, a table of validation losses."""
    import itertools

    from .train import TrainConfig, train

    grid = {}
    if not args.set:
        raise ValueError("scan needs at least one --set KEY=V1,V2,... (e.g. --set lr=1e-3,3e-4)")
    for item in args.set:
        key, _, values = item.partition("=")
        if not key or not values:
            raise ValueError(f"--set {item!r}: expected KEY=V1,V2,... (e.g. lr=1e-3,3e-4)")
        grid[key] = [_parse(v) for v in values.split(",")]
    results = []
    base = TrainConfig.from_yaml(args.config or HERE / "configs" / "pretrain.yaml", _overrides(args))
    train_set, val_set = _load_sets(args, base)
    for combo in itertools.product(*grid.values()):
        point = dict(zip(grid, combo))
        config = TrainConfig(**{**base.__dict__, **point})
        name = "_".join(f"{k}-{v}" for k, v in point.items())
        summary = train(train_set, val_set, config, Path(args.output) / name, device=args.device,
                        progress=not args.quiet)
        summary.pop("rank")
        results.append({**point, "best_val_loss": summary["best_val_loss"], "epochs": summary["epochs"]})
        print(json.dumps(results[-1]))
    with open(Path(args.output) / "scan.json", "w") as stream:
        json.dump(results, stream, indent=1)
    return 0


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated event counts like 100,300,1000, not {text!r}")
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive event counts, not {text!r}")
    return sizes


def cmd_study(args) -> int:
    from fastsim.card import load_card

    from k4mlpf.cli_support import check_output_dir

    from .study import StudyConfig, print_summary, run_study

    for card in (args.detector, *args.variants):
        load_card(card)  # a bad card is one line now, not after an hour of training
    check_output_dir(args.output)
    for flag, shards in (("--train", args.train), ("--val", args.val), ("--test", args.test)):
        if bool(shards) != bool(args.train):
            raise ValueError("--train, --val and --test go together (prepared shards of the three sets)")
        if shards:
            _shards(shards)
    config = StudyConfig(
        output=args.output, detector=args.detector, process=args.process, ecm=args.ecm, sizes=args.sizes,
        seeds=args.seeds, val_events=args.val_events, test_events=args.test_events, model=args.model,
        backbone=args.backbone, backbone_events=args.backbone_events, backbone_epochs=args.backbone_epochs,
        variants=tuple(args.variants), variant_events=args.variant_events, max_steps=args.max_steps,
        epoch_events=args.epoch_events, patience=args.patience, batch_size=args.batch_size, jobs=args.jobs,
        threads=args.threads, sim_jobs=args.sim_jobs, progress=not args.quiet,
        train=tuple(_shards(args.train)) if args.train else (), val=tuple(_shards(args.val)) if args.val else (),
        test=tuple(_shards(args.test)) if args.test else ())
    summary = run_study(config)
    print_summary(summary)
    print(f"study.json and plots in {args.output}")
    return 0


def _parse(value: str):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _training_args(p, finetune=False):
    config = "finetune" if finetune else "pretrain"
    p.add_argument("shards", nargs="+", help="prepared shards (.npz files, globs or folders)")
    p.add_argument("--output", "-o", required=True, help="run folder: checkpoints, logs")
    p.add_argument("--val", nargs="*", help="validation shards (default: a split of the training events)")
    p.add_argument("--config", help=f"training YAML (default: the shipped python_trainer/configs/{config}.yaml; "
                                    "every key below overrides it)")
    p.add_argument("--model", help="model size: tiny | small | paper | a YAML path (default: the config's)")
    p.add_argument("--epochs", type=positive_int, help="epochs (default: the config's)")
    p.add_argument("--batch-size", type=positive_int, help="events per step (default: the config's)")
    p.add_argument("--lr", type=float, help="peak learning rate (default: the config's)")
    p.add_argument("--weight-decay", type=float, help="AdamW weight decay (default: the config's)")
    p.add_argument("--warmup-steps", type=int, help="linear warm-up steps (default: the config's)")
    p.add_argument("--patience", type=positive_int, help="early stopping: epochs without improvement (default: the config's)")
    p.add_argument("--seed", type=int, help="random seed (default: the config's)")
    p.add_argument("--max-steps", type=positive_int, help="stop after this many optimizer steps (smoke runs)")
    p.add_argument("--train-events", type=positive_int, help="use only the first N prepared events for training")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto: cuda if a GPU is visible")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT/last.pt")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python_trainer", description="Train and evaluate MLPF.",
                                     formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, **kwargs):
        return sub.add_parser(name, formatter_class=HelpFormatter, **kwargs)

    p = add("prepare", help="EDM4hep REC files -> cached training shards")
    p.add_argument("inputs", nargs="+", help="EDM4hep files (CLD/CLIC REC layout or the fast simulation)")
    p.add_argument("--output", "-o", default="shards", help="folder for the shards (made if missing)")
    p.add_argument("--pf-collection", default=None,
                   help="PF particles to compare with (default: PandoraPFOs if the file has it, else BaselinePFOs)")
    p.add_argument("--tracks", default="SiTracks_Refitted", help="track collection")
    p.add_argument("--clusters", default="PandoraClusters", help="cluster collection")
    p.add_argument("--detector", help="detector name (default: from the file, else CLD)")
    p.add_argument("--bfield", type=float, help="solenoid field in T (default: from the file or detector)")
    p.add_argument("--step-size", type=positive_int, default=500, help="events read at once")
    p.add_argument("--jobs", "-j", type=positive_int, default=1, help="files prepared in parallel")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_prepare)

    p = add("pretrain", help="train from scratch (e.g. on CLICdet)")
    _training_args(p)
    p.set_defaults(run=lambda a: cmd_train(a, finetune=False))

    p = add("finetune", help="start from a backbone (checkpoint or exported .pt)")
    _training_args(p, finetune=True)
    p.add_argument("--from", dest="from_", required=True, help="backbone: checkpoint (.pt) or exported model")
    p.add_argument("--strategy", choices=["full", "heads", "freeze-cls", "freeze-reg", "scratch"],
                   help="what is trained: everything, the heads only, all but one encoder, or the same "
                        "architecture from scratch (default: the config's)")
    p.set_defaults(run=lambda a: cmd_train(a, finetune=True))

    p = add("evaluate", help="jets, MET, particles: MLPF vs PF vs targets against truth")
    p.add_argument("model", help="checkpoint or exported model")
    p.add_argument("shards", nargs="+", help="prepared held-out shards (.npz files, globs or folders)")
    p.add_argument("--output", "-o", required=True, help="folder for metrics.json and plots")
    p.add_argument("--pf-name", default="PF", help="label of the PF collection in tables and plots")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"], help="auto: cuda if a GPU is visible")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_evaluate)

    p = add("export", help="checkpoint -> TorchScript algorithm module for reconstruction (or .pt -> .pt2)")
    p.add_argument("checkpoint", help="training checkpoint (best.pt or last.pt of a run folder), or an exported "
                                      ".pt model to compile again (e.g. --format pt2 of models/mlpf_cld_small.pt)")
    p.add_argument("--output", "-o", required=True, help="model file to write (.pt)")
    p.add_argument("--detector", help="detector name stored in the model (default: the training data's)")
    p.add_argument("--format", choices=["torchscript", "pt2", "both"], default="torchscript",
                   help="TorchScript .pt (libtorch, k4run), torch.export + AOTInductor .pt2 (compiled for --device; "
                        "takes a minute or two), or both (OUTPUT with .pt and .pt2)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="device the .pt2 package is compiled for")
    p.set_defaults(run=cmd_export)

    p = add("scan", help="grid of short trainings, e.g. --set lr=1e-3,3e-4 --set model=small")
    _training_args(p)
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a training option and the values to try; repeat for a grid (at least one)")
    p.set_defaults(run=cmd_scan)

    p = add("study", help="data-efficiency scan (fine-tuned vs scratch over CLD training size) and detector variants",
            description="Fine-tune a CLICdet backbone and train the same architecture from scratch on N CLD "
                        "events, for every N and seed, with one budget rule; evaluate all on the same held-out "
                        "events; the data-efficiency factor; detector-variant cards. Resumable: a rerun skips "
                        "what is done. Writes study.json and plots into --output.")
    p.add_argument("--output", "-o", default="study", help="study folder (simulated data, runs, study.json, plots)")
    p.add_argument("--backbone", default="auto",
                   help="auto (the shipped CLICdet backbone, else pre-train one), pretrain, or a checkpoint/model")
    p.add_argument("--sizes", type=_sizes, default=(100, 300, 1000, 3000), help="CLD training sizes N")
    p.add_argument("--seeds", type=positive_int, default=2, help="seeds per size (training subset, init, order)")
    p.add_argument("--variants", nargs="*", default=[], metavar="CARD",
                   help="detector cards to swap in, e.g. detectors/variants/*.yaml")
    p.add_argument("--variant-events", type=positive_int, default=300, help="training events of each variant")
    p.add_argument("--detector", default="CLD", help="the fine-tuning detector card")
    p.add_argument("--process", default="ttbar", help="simulated process")
    p.add_argument("--ecm", type=float, help="centre-of-mass energy (default: the process's)")
    p.add_argument("--val-events", type=positive_int, default=200, help="held-out validation events (early stopping)")
    p.add_argument("--test-events", type=positive_int, default=500, help="held-out test events (metrics)")
    p.add_argument("--train", nargs="*", help="prepared CLD training shards instead of simulating (pool for N)")
    p.add_argument("--val", nargs="*", help="prepared validation shards (with --train)")
    p.add_argument("--test", nargs="*", help="prepared test shards (with --train)")
    p.add_argument("--model", default="tiny", help="model size of a backbone pre-trained here")
    p.add_argument("--backbone-events", type=positive_int, default=3000, help="CLICdet events to pre-train on")
    p.add_argument("--backbone-epochs", type=positive_int, default=10, help="pre-training epochs")
    p.add_argument("--max-steps", type=positive_int, default=600, help="budget: optimizer steps per training")
    p.add_argument("--epoch-events", type=positive_int, default=800,
                   help="budget: events per epoch (smaller training sets are repeated); validation after each")
    p.add_argument("--patience", type=positive_int, default=4, help="budget: epochs without improvement before stopping")
    p.add_argument("--batch-size", type=positive_int, default=16, help="events per step")
    p.add_argument("--jobs", "-j", type=positive_int, default=1, help="trainings in parallel")
    p.add_argument("--threads", type=int, default=0, help="torch threads per training (0: cores / jobs)")
    p.add_argument("--sim-jobs", type=positive_int, default=1, help="processes per simulation")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=cmd_study)
    return parser


def main(argv: list[str] | None = None) -> int:
    from k4mlpf.cli_support import run_command

    args = build_parser().parse_args(argv)
    return run_command(f"python_trainer {args.command}", lambda: args.run(args), extra_errors=(KeyError,))
