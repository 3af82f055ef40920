"""``python -m python_trainer prepare|pretrain|finetune|evaluate|export|scan``."""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from pathlib import Path

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
    paths = prepare(args.inputs, args.output, options, jobs=args.jobs, progress=not args.quiet)
    print(f"{len(paths)} shard(s) in {args.output}")
    return 0


def cmd_train(args, finetune: bool) -> int:
    from .train import TrainConfig, backbone_state, train

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
    from .data import EventSet
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
    from .export import export

    path = export(args.checkpoint, args.output, detector=args.detector)
    print(f"wrote {path}")
    return 0


def cmd_scan(args) -> int:
    """Grid over training options (--set key=v1,v2 ...): one short run each, a table of validation losses."""
    import itertools

    from .train import TrainConfig, train

    grid = {}
    for item in args.set:
        key, _, values = item.partition("=")
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


def _parse(value: str):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _training_args(p, finetune=False):
    p.add_argument("shards", nargs="+", help="prepared shards (.npz files, globs or folders)")
    p.add_argument("--output", "-o", required=True, help="run folder: checkpoints, logs")
    p.add_argument("--val", nargs="*", help="validation shards (default: a split of the training events)")
    p.add_argument("--config", help="training YAML (default: python_trainer/configs/%s.yaml)"
                   % ("finetune" if finetune else "pretrain"))
    p.add_argument("--model", help="model size: small | paper | a YAML path")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--warmup-steps", type=int)
    p.add_argument("--patience", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps (smoke runs)")
    p.add_argument("--train-events", type=int, help="use only the first N prepared events for training")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT/last.pt")
    p.add_argument("--quiet", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m python_trainer", description="Train and evaluate MLPF.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare", help="EDM4hep REC files -> cached training shards")
    p.add_argument("inputs", nargs="+", help="EDM4hep files (CLD/CLIC REC layout or the fast simulation)")
    p.add_argument("--output", "-o", required=True)
    p.add_argument("--pf-collection", default="PandoraPFOs", help="PF particles to compare with (e.g. BaselinePFOs)")
    p.add_argument("--tracks", default="SiTracks_Refitted")
    p.add_argument("--clusters", default="PandoraClusters")
    p.add_argument("--detector", help="detector name (default: from the file, else CLD)")
    p.add_argument("--bfield", type=float, help="solenoid field in T (default: from the file or detector)")
    p.add_argument("--step-size", type=int, default=500, help="events read at once")
    p.add_argument("--jobs", "-j", type=int, default=1)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=cmd_prepare)

    p = sub.add_parser("pretrain", help="train from scratch (e.g. on CLICdet)")
    _training_args(p)
    p.set_defaults(run=lambda a: cmd_train(a, finetune=False))

    p = sub.add_parser("finetune", help="start from a backbone (checkpoint or exported .pt)")
    _training_args(p, finetune=True)
    p.add_argument("--from", dest="from_", required=True, help="backbone: checkpoint (.pt) or exported model")
    p.add_argument("--strategy", choices=["full", "heads", "freeze-cls", "freeze-reg", "scratch"])
    p.set_defaults(run=lambda a: cmd_train(a, finetune=True))

    p = sub.add_parser("evaluate", help="jets, MET, particles: MLPF vs PF vs targets against truth")
    p.add_argument("model", help="checkpoint or exported model")
    p.add_argument("shards", nargs="+")
    p.add_argument("--output", "-o", required=True, help="folder for metrics.json and plots")
    p.add_argument("--pf-name", default="PF", help="label of the PF collection in tables and plots")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("export", help="checkpoint -> TorchScript algorithm module for reconstruction")
    p.add_argument("checkpoint")
    p.add_argument("--output", "-o", required=True)
    p.add_argument("--detector", help="detector name stored in the model (default: the training data's)")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("scan", help="grid of short trainings, e.g. --set lr=1e-3,3e-4 --set model=small")
    _training_args(p)
    p.add_argument("--set", action="append", default=[], required=True, help="key=v1,v2,...")
    p.set_defaults(run=cmd_scan)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"python_trainer {args.command}: error: {message}", file=sys.stderr)
        return 2
