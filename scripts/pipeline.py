#!/usr/bin/env python3
"""The main job (``make run``): the whole k4mlpf chain on built-in defaults, through its command lines.

    fastsim generate (CLICdet, CLD)  ->  python_trainer prepare  ->  pretrain on CLICdet
    ->  finetune on CLD  ->  evaluate (MLPF vs baseline PF vs targets)  ->  export
    ->  k4mlpf reco (MLPFPFOs next to BaselinePFOs)  ->  k4mlpf compare
    and the same held-out events through the project's trained model, models/mlpf_cld_small.pt

Every step is the command a physicist would type; each is skipped when its outputs exist and it
last ran with the same command line on the same input files (a stamp in OUTPUT/.steps/), so a second run only prints the
results. Sizes are small (minutes on a laptop CPU); raise them with the options.

    python scripts/pipeline.py [--output out] [--clic-events 600] [--cld-events 400] [--test-events 200]
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from k4mlpf.evaluation import resolution_ratios

REFERENCE_MODEL = Path(__file__).resolve().parent.parent / "models" / "mlpf_cld_small.pt"


STAMPS = Path("out") / ".steps"


def inputs_of(args: list[str], outputs: tuple[Path, ...]) -> str:
    """Size and modification time of every file the command line names that is not an output: a new
    model file or a re-simulated sample makes the step run again."""
    skip = {str(o) for o in outputs}
    lines = []
    for a in args[1:]:
        path = Path(a)
        if a not in skip and path.is_file():
            stat = path.stat()
            lines.append(f"{a} {stat.st_size} {stat.st_mtime_ns}")
    return "\n".join(lines)


def step(title: str, args: list[str], *outputs: Path) -> None:
    """Run ``args`` unless every output exists and the stamp says it ran with the same command line
    on the same input files."""
    command = " ".join(shlex.quote(a) for a in args) + "\n" + inputs_of(args, outputs)
    stamp = STAMPS / (title.replace(" ", "_").replace("/", "_")[:80] + ".cmd")
    if outputs and all(p.exists() for p in outputs) and stamp.exists() and stamp.read_text() == command:
        print(f"[skip] {title}: done ({', '.join(map(str, outputs))})")
        return
    print(f"\n=== {title}\n$ {command.splitlines()[0]}", flush=True)
    start = time.perf_counter()
    result = subprocess.run(args)
    if result.returncode != 0:
        print(f"make run: step '{title}' failed (exit {result.returncode})", file=sys.stderr)
        raise SystemExit(result.returncode)
    print(f"    ({time.perf_counter() - start:.0f} s)", flush=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(command)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default="out", help="folder for everything the chain writes")
    parser.add_argument("--clic-events", type=int, default=600)
    parser.add_argument("--cld-events", type=int, default=400)
    parser.add_argument("--test-events", type=int, default=200)
    parser.add_argument("--model", default="tiny", help="model config: tiny | small | paper | YAML")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    global STAMPS
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    STAMPS = out / ".steps"
    started = time.perf_counter()
    py = sys.executable
    samples = {"clic": ("CLIC", 380, args.clic_events, 11), "cld": ("CLD", 365, args.cld_events, 21),
               "cld_test": ("CLD", 365, args.test_events, 31)}
    for name, (detector, ecm, events, seed) in samples.items():
        path = out / f"{name}_ttbar.edm4hep.root"
        step(f"simulate {events} {detector} ttbar events at {ecm} GeV", [
            py, "-m", "fastsim", "generate", "--detector", detector, "--process", "ttbar", "--ecm", str(ecm),
            "--events", str(events), "--seed", str(seed), "--jobs", str(args.jobs), "--output", str(path)], path)
        step(f"prepare {name}", [py, "-m", "python_trainer", "prepare", str(path), "--output",
                                 str(out / "shards" / name), "--quiet"], out / "shards" / name)
    step("pretrain on CLICdet", [py, "-m", "python_trainer", "pretrain", str(out / "shards" / "clic"), "--output",
                                 str(out / "pretrain_clic"), "--model", args.model, "--epochs", str(args.epochs),
                                 "--batch-size", "16", "--quiet"], out / "pretrain_clic" / "best.pt")
    step("fine-tune on CLD", [py, "-m", "python_trainer", "finetune", str(out / "shards" / "cld"), "--from",
                              str(out / "pretrain_clic" / "best.pt"), "--output", str(out / "finetune_cld"),
                              "--epochs", str(args.epochs), "--batch-size", "16", "--quiet"],
         out / "finetune_cld" / "best.pt")
    step("evaluate on held-out CLD events", [py, "-m", "python_trainer", "evaluate",
                                              str(out / "finetune_cld" / "best.pt"), str(out / "shards" / "cld_test"),
                                              "--output", str(out / "evaluation"), "--pf-name", "Baseline", "--quiet"],
         out / "evaluation" / "metrics.json")
    step("export the model file", [py, "-m", "python_trainer", "export", str(out / "finetune_cld" / "best.pt"),
                                   "--output", str(out / "mlpf_cld.pt")], out / "mlpf_cld.pt")
    reco = out / "cld_test_mlpf.edm4hep.root"
    step("reconstruct with MLPF (k4mlpf reco)", [py, "-m", "k4mlpf", "reco", str(out / "cld_test_ttbar.edm4hep.root"),
                                                "--model", str(out / "mlpf_cld.pt"), "--output", str(reco), "--quiet"],
         reco)
    step("compare MLPF with the baseline PF", [py, "-m", "k4mlpf", "compare", str(reco), "-c", "MLPFPFOs",
                                               "BaselinePFOs", "--output", str(out / "compare")],
         out / "compare" / "compare.json")
    reference = out / "cld_test_mlpf_reference.edm4hep.root"
    step(f"reconstruct the same events with the project's trained model ({REFERENCE_MODEL.name})",
         [py, "-m", "k4mlpf", "reco", str(out / "cld_test_ttbar.edm4hep.root"), "--model", str(REFERENCE_MODEL),
          "--output", str(reference), "--quiet"], reference)
    step("compare it with the baseline PF", [py, "-m", "k4mlpf", "compare", str(reference), "-c", "MLPFPFOs",
                                             "BaselinePFOs", "--output", str(out / "compare_reference")],
         out / "compare_reference" / "compare.json")
    print(f"\nDone in {time.perf_counter() - started:.0f} s. Plots and metrics: {out / 'evaluation'}, {out / 'compare'}, {out / 'compare_reference'}.")
    for label, folder in ((f"Model trained just now ({args.model}, {args.cld_events} CLD events x {args.epochs} "
                           "epochs)", out / "compare"),
                          (f"Project's trained model ({REFERENCE_MODEL.name})", out / "compare_reference")):
        jets, met = resolution_ratios(json.loads((folder / "compare.json").read_text()), "MLPFPFOs", "BaselinePFOs")
        print(f"{label}: MLPF/baseline jet resolution {jets:.2f}, MET {met:.2f}"
              + (" (minutes of training; README: what hours give)" if jets > 1 else "."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
