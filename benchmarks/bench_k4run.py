"""The two reconstruction paths on the same file and model: `k4run options/runMLPF_CLD.py` (Gaudi,
C++ packing, libtorch one event at a time on 1 thread (TorchThreads=1), podio's writer) against `python -m k4mlpf reco` (uproot
reading, numpy packing, TorchScript in batches of 32 on torch's default threads (and once with
OMP_NUM_THREADS=1), the project's ROOT-from-PyPI writer).

Both run as whole processes on a 500-event fast-simulation CLD ttbar file (made once and cached in
.k4mlpf_cache/bench/) with models/mlpf_cld_small.pt. Each is also run on a 1-event file, so wall
time = start-up + events x per-event cost. Then the standalone path is taken apart in this
process: ROOT writer start-up (import, declaring the EDM4hep structs), reading + packing the
elements, the model, and copying the file with the writer. Needs the Key4hep stack for k4run
(`source /opt/k4/env.sh` must work, or a sourced release); run it *without* that environment (the
project's writer must not see the stack's libraries). The machine may be shared: run it twice.

    python benchmarks/bench_k4run.py [--events 500] [--model models/mlpf_cld_small.pt]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout
CACHE = REPO / ".k4mlpf_cache" / "bench"


def stack_prefix() -> str:
    if os.environ.get("KEY4HEP_STACK"):
        return ""
    if Path("/opt/k4/env.sh").exists():
        return "source /opt/k4/env.sh && "
    print("bench_k4run: skipped, no Key4hep stack (../shared/key4hep/setup.sh .venv, or a sourced release)")
    raise SystemExit(0)


AUDITED = """# runMLPF_CLD.py + Gaudi's ChronoAuditor (CPU time per algorithm and event)
exec(open({options!r}).read(), {{"__file__": {options!r}}})
from Configurables import ApplicationMgr, AuditorSvc, ChronoAuditor
AuditorSvc().Auditors = [ChronoAuditor()]
ApplicationMgr().AuditAlgorithms = True
ApplicationMgr().ExtSvc += [AuditorSvc()]
"""


def chrono(output: str) -> dict[str, float]:
    """Mean CPU ms per event of the reader, MLPF and the writer from ChronoStatSvc's table."""
    found = {}
    for line in output.splitlines():
        if "Ave/Min/Max" not in line or "#=" not in line:
            continue
        name = line.split()[0]
        label = {"MLPF:Execute": "MLPF (pack, model, particles)", "k4FWCore__Reade...": "IOSvc reader",
                 "k4FWCore__Write...": "IOSvc writer"}.get(name)
        if label:
            value = line.split("Ave/Min/Max=")[1].split("(")[0].strip()
            unit = line.split("]")[0].rsplit("[", 1)[1]
            found[label] = float(value) * (1e3 if unit == "s" else 1e-3 if unit == "us" else 1.0)
    return found


def timed(command: list[str], *, k4: bool = False, env: dict | None = None, log: list | None = None) -> float:
    """Wall seconds of a whole process (k4: with the stack's environment)."""
    start = time.perf_counter()
    if k4:
        run = subprocess.run(["bash", "-c", stack_prefix() + " ".join(shlex.quote(c) for c in command)], cwd=REPO,
                             capture_output=True, text=True)
    else:
        run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if log is not None:
        log.append(run.stdout + run.stderr)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
    return elapsed


def make_file(n_events: int) -> Path:
    path = CACHE / f"cld_ttbar_{n_events}_seed5.edm4hep.root"
    if not path.exists():
        from fastsim.pipeline import RunConfig, run

        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"making {path} ...", flush=True)
        run(RunConfig(detector="CLD", process="ttbar", n_events=n_events, seed=5, chunk_size=250), str(path),
            jobs=2, progress=False)
    return path


def one_event_file() -> Path:
    """A 1-event file of the same kind: the start-up of a job is its time on it."""
    path = CACHE / "cld_ttbar_1_seed5.edm4hep.root"
    if not path.exists():
        from fastsim.pipeline import RunConfig, run

        CACHE.mkdir(parents=True, exist_ok=True)
        run(RunConfig(detector="CLD", process="ttbar", n_events=1, seed=5, chunk_size=1), str(path), jobs=1,
            progress=False)
    return path


def standalone_parts(path: Path, model: str) -> dict[str, float]:
    """Seconds of the pieces of `k4mlpf reco` in this process (start-up items once, the rest for all events)."""
    import torch

    from k4mlpf.edm4hep import EDM4hepFile
    from k4mlpf.edm4hep.output import copy_with_additions
    from k4mlpf.elements import ElementCollections, pack_elements
    from k4mlpf.model import load_algorithm
    from k4mlpf.reco import run_model

    torch.set_num_threads(1)  # as k4run's TorchThreads=1: less at the mercy of other jobs on the cores
    parts = {}
    t = time.perf_counter()
    algo = load_algorithm(model)
    parts["model load"] = time.perf_counter() - t
    names = ElementCollections()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        copy_with_additions(one_event_file(), Path(tmp) / "one.root")  # ROOT import + structs + 1 event
        parts["writer start-up (ROOT, EDM4hep structs, 1 event)"] = time.perf_counter() - t
        with EDM4hepFile(path) as f:
            t = time.perf_counter()
            chunk = f.arrays(names.needed(f))
            elements = pack_elements(f, chunk, names)
            parts["read + pack elements"] = time.perf_counter() - t
        t = time.perf_counter()
        run_model(algo, elements, 32, "cpu")
        parts["model (batches of 32, 1 torch thread)"] = time.perf_counter() - t
        t = time.perf_counter()
        copy_with_additions(path, Path(tmp) / "copy.root")
        parts["copy every collection with the writer"] = time.perf_counter() - t
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--model", default=str(REPO / "models" / "mlpf_cld_small.pt"))
    args = parser.parse_args()
    if "/opt/k4/lib" in os.environ.get("LD_LIBRARY_PATH", ""):
        raise SystemExit("bench_k4run: run without /opt/k4/env.sh (the project's writer crashes with it)")

    stack_prefix()  # skips without a stack
    k4build = REPO / "build" / "k4" / "run"
    if not k4build.exists():
        raise SystemExit("bench_k4run: build the Gaudi component first (make k4)")
    path, one = make_file(args.events), one_event_file()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.edm4hep.root"
        audited = Path(tmp) / "runMLPF_CLD_audited.py"
        audited.write_text(AUDITED.format(options=str(REPO / "options" / "runMLPF_CLD.py")))
        k4 = [str(k4build), "k4run", str(audited), "--model", args.model, "--outputFile", str(out)]
        reco = [sys.executable, "-m", "k4mlpf", "reco", "--model", args.model, "--output", str(out)]
        results = {}
        one_thread = dict(env, OMP_NUM_THREADS="1")
        runs = (("k4run", k4, True, env), ("k4mlpf reco", reco, False, env),
                ("k4mlpf reco, OMP_NUM_THREADS=1", reco, False, one_thread))
        for name, command, is_k4, run_env in runs:
            inputs = (lambda p: ["--inputFiles", str(p)]) if is_k4 else (lambda p: [str(p)])
            log: list[str] = []
            full = timed(command + inputs(path), k4=is_k4, env=run_env, log=log)
            if is_k4:
                k4_parts = chrono(log[0])
            single = timed(command + inputs(one), k4=is_k4, env=run_env)
            per_event = (full - single) / (args.events - 1)
            results[name] = (full, single, per_event)
        imports = timed([sys.executable, "-c", "import k4mlpf.reco, k4mlpf.cli"], env=env)
    print(f"{args.events} fast-simulation CLD ttbar events (365 GeV), model {Path(args.model).name}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'path':<31} {'wall [s]':>9} {'events/s':>9} {'1-event job [s]':>16} {'per event [ms]':>15} "
          f"{'events/s w/o start-up':>22}")
    for name, (full, single, per_event) in results.items():
        print(f"{name:<31} {full:9.1f} {args.events / full:9.1f} {single:16.1f} {1e3 * per_event:15.1f} "
              f"{1 / per_event:22.1f}")
    print("\nk4run, per event (ChronoAuditor, CPU time of both cores):")
    for name, ms in k4_parts.items():
        print(f"  {name:<52} {ms:7.1f} ms")
    print("\nk4mlpf reco, taken apart:")
    print(f"  {'python start-up + imports (torch, awkward, uproot)':<52} {imports:7.2f} s")
    for name, seconds in standalone_parts(path, args.model).items():
        scale = "" if "start-up" in name or "load" in name else f"  ({1e3 * seconds / args.events:.1f} ms/event)"
        print(f"  {name:<52} {seconds:7.2f} s{scale}")


if __name__ == "__main__":
    main()
