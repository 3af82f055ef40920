"""``python -m python_trainer study``: the paper's data-efficiency scan and detector-variant study.

For every CLD training size N and seed, the same architecture is trained twice on the same N
events: fine-tuned from a backbone pre-trained on CLICdet, and from scratch. Both meet the same
held-out validation events (early stopping) and test events (jets, MET, particles, with the
baseline PF as a reference). The *data-efficiency factor* is how many more CLD events scratch needs
than fine-tuning to reach the same validation loss (or jet resolution), interpolated in log N.
Detector variants (cards with ``base: CLD_o2_v05`` that change one thing) are simulated with the
same generator seeds, then fine-tuned and trained from scratch with one fixed small N.

Everything lands in one folder and is resumable: simulated files and shards are cached by what made
them (card content, process, energy, seed, events), a finished training is skipped (its
``result.json``), an interrupted one continues from its ``last.pt``. Each training keeps its own
``log.csv``/``log.json``. ``study.json`` and the plots are rewritten from the finished trainings at
the end of every run.

The budget rule, the same for every training: batch 16 events, at most ``max_steps`` optimizer
steps with warm-up + cosine decay over them, an "epoch" of at least ``epoch_events`` events (a
smaller training set is repeated within it), validation loss after every epoch, stop after
``patience`` epochs without improvement, keep the best. Fine-tuning uses the shipped fine-tuning
learning rate (``configs/finetune.yaml``), scratch the pre-training one (``configs/pretrain.yaml``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
TRAINED = HERE.parent / "k4mlpf" / "trained"
SHIPPED_BACKBONE = TRAINED / "mlpf_clic_tiny_backbone.pt"
STRATEGIES = ("finetune", "scratch")
PARTICLE_CLASSES = ("charged_hadron", "neutral_hadron", "photon", "electron", "muon")
SEEDS = {"train": 21, "val": 41, "test": 31, "backbone": 11}  # generator seeds of the simulated samples


@dataclass
class StudyConfig:
    output: str
    detector: str = "CLD"
    process: str = "ttbar"
    ecm: float | None = None
    sizes: tuple[int, ...] = (100, 300, 1000, 3000)
    seeds: int = 2
    val_events: int = 200
    test_events: int = 500
    model: str = "tiny"
    backbone: str = "auto"
    backbone_detector: str = "CLIC"
    backbone_events: int = 3000
    backbone_epochs: int = 10
    variants: tuple[str, ...] = ()
    variant_events: int = 300
    batch_size: int = 16
    max_steps: int = 600
    epoch_events: int = 800
    patience: int = 4
    jobs: int = 1
    threads: int = 0  # torch threads per training (0: cores / jobs)
    sim_jobs: int = 1
    progress: bool = True
    train: tuple[str, ...] = ()  # prepared shards instead of simulating (train pool, validation, test)
    val: tuple[str, ...] = ()
    test: tuple[str, ...] = ()


# -- samples --------------------------------------------------------------------------------------------
def card_tag(card: str) -> str:
    """``CLD_o2_v05-1a2b3c``: the card's file name and a hash of its merged content."""
    from fastsim.card import raw_card

    raw, path = raw_card(card)
    digest = hashlib.sha1(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:6]
    return f"{path.stem}-{digest}"


def default_ecm(process: str, detector: str) -> float:
    from fastsim.generator import PROCESSES

    if process == "ttbar" and detector.upper().startswith("CLIC"):
        return 380.0
    return float(PROCESSES[process][1])


def simulated_shard(study: Path, card: str, process: str, ecm: float, seed: int, events: int, jobs: int,
                    log) -> list[str]:
    """Simulate (once) and prepare (once) a sample; returns its shard paths."""
    from fastsim.pipeline import RunConfig, run

    from .prepare import PrepareOptions, prepare

    data = study / "data"
    data.mkdir(parents=True, exist_ok=True)
    path = data / f"{card_tag(card)}_{process}{ecm:g}_s{seed}_n{events}.edm4hep.root"
    if not path.exists():
        log(f"simulating {events} {process} events at {ecm:g} GeV with {card} (seed {seed}) -> {path}")
        run(RunConfig(detector=card, process=process, n_events=events, seed=seed, ecm=ecm), str(path), jobs=jobs,
            progress=False)
    return [str(p) for p in prepare([str(path)], str(data / "shards"), PrepareOptions(), progress=False)]


@dataclass
class Samples:
    card: str
    train: list[str]
    val: list[str]
    test: list[str]


def card_samples(config: StudyConfig, study: Path, card: str, train_events: int, log) -> Samples:
    if card == config.detector and config.train:
        return Samples(card, list(config.train), list(config.val), list(config.test))
    ecm = config.ecm or default_ecm(config.process, card)
    make = lambda role, n: simulated_shard(study, card, config.process, ecm, SEEDS[role], n, config.sim_jobs, log)  # noqa: E731
    return Samples(card, make("train", train_events), make("val", config.val_events), make("test", config.test_events))


# -- the backbone ------------------------------------------------------------------------------------
def resolve_backbone(config: StudyConfig, study: Path, log) -> str:
    """``auto``: the shipped CLICdet backbone if present, else pre-train one; ``pretrain``: always
    pre-train (cached in STUDY/backbone); else a checkpoint or exported model path."""
    if config.backbone not in ("auto", "pretrain"):
        if not Path(config.backbone).is_file():
            raise FileNotFoundError(f"--backbone {config.backbone}: no such file")
        return config.backbone
    if config.backbone == "auto" and SHIPPED_BACKBONE.is_file():
        return str(SHIPPED_BACKBONE)
    run_dir = study / "backbone"
    if (run_dir / "result.json").exists():
        return str(run_dir / "best.pt")
    from .data import EventSet
    from .train import TrainConfig, train

    ecm = default_ecm(config.process, config.backbone_detector)
    shards = simulated_shard(study, config.backbone_detector, config.process, ecm, SEEDS["backbone"],
                             config.backbone_events, config.sim_jobs, log)
    events = EventSet.load(shards)
    train_set, val_set = events.split(0.1, seed=1)
    train_config = TrainConfig.from_yaml(HERE / "configs" / "pretrain.yaml",
                                         {"model": config.model, "epochs": config.backbone_epochs,
                                          "batch_size": config.batch_size, "patience": config.patience})
    log(f"pre-training the {config.model} backbone on {len(train_set)} {config.backbone_detector} events "
        f"x {config.backbone_epochs} epochs -> {run_dir}")
    torch_threads(config.threads or os.cpu_count() or 1)
    summary = train(train_set, val_set, train_config, run_dir, resume=(run_dir / "last.pt").exists(),
                    info={"mode": "pretrain", "train_events": len(train_set), "shards": shards},
                    progress=config.progress)
    _write_json(run_dir / "result.json", {k: summary[k] for k in ("best_val_loss", "epochs", "steps", "parameters")}
                | {"wall_s": sum(r["seconds"] for r in summary["history"]), "events": len(train_set),
                   "detector": config.backbone_detector})
    return str(run_dir / "best.pt")


# -- one training ------------------------------------------------------------------------------------
@dataclass
class Point:
    card: str
    strategy: str
    train_events: int
    seed: int

    def folder(self, study: Path) -> Path:
        return study / "runs" / card_tag(self.card) / f"{self.strategy}_n{self.train_events}_s{self.seed}"

    def label(self) -> str:
        return f"{Path(self.card).stem} {self.strategy} N={self.train_events} seed {self.seed}"


def training_indices(pool_size: int, n: int, seed: int, epoch_events: int) -> np.ndarray:
    """The N training events of a seed (the first N of a seeded permutation: nested in N), repeated to
    fill an epoch of at least ``epoch_events`` events."""
    if n > pool_size:
        raise ValueError(f"--sizes {n}: only {pool_size} training events are available")
    chosen = np.sort(np.random.default_rng(1000 + seed).permutation(pool_size)[:n])
    return np.tile(chosen, max(1, math.ceil(epoch_events / n)))


def metrics_of(result: dict, name: str) -> dict:
    """The study's numbers of one collection from ``evaluate``'s result."""
    jets, met = result["jets"][name], result["met"][name]
    out = {"jet_iqr_over_median": jets["response"]["resolution"], "jet_median": jets["response"]["median"],
           "met_resolution_gev": met["delta"]["iqr"], "particles": {}}
    for cls, values in result["particles"].get(name, {}).items():
        out["particles"][cls] = {"efficiency": values["efficiency"], "fake_rate": values["fake_rate"],
                                 "energy_resolution": values["energy_response"]["resolution"]}
    return out


def run_point(point: Point, study: Path, samples: Samples, backbone: str, config: StudyConfig) -> dict:
    """Train and evaluate one point (resuming a half-finished training); returns its record."""
    from .checkpoint import backbone_state
    from .data import EventSet
    from .evaluate import evaluate
    from .train import TrainConfig, train

    _set_threads(config)
    folder = point.folder(study)
    pool = EventSet.load(samples.train)
    train_set = pool.subset(training_indices(len(pool), point.train_events, point.seed, config.epoch_events))
    val_set, test_set = EventSet.load(samples.val), EventSet.load(samples.test)
    state, model_config, _ = backbone_state(backbone)
    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
    yaml_file = "finetune.yaml" if point.strategy == "finetune" else "pretrain.yaml"
    train_config = TrainConfig.from_yaml(HERE / "configs" / yaml_file, {
        "batch_size": config.batch_size, "max_steps": config.max_steps, "schedule_steps": config.max_steps,
        "patience": config.patience,
        "epochs": math.ceil(config.max_steps / steps_per_epoch), "seed": point.seed,
        "warmup_steps": min(20, config.max_steps // 10), "strategy": "full"})
    info = {"mode": f"study-{point.strategy}", "train_events": point.train_events, "shards": samples.train,
            "backbone": os.path.abspath(backbone) if point.strategy == "finetune" else None}
    summary = train(train_set, val_set, train_config, folder, device="cpu", resume=(folder / "last.pt").exists(),
                    init_state=state if point.strategy == "finetune" else None, model_config=model_config,
                    info=info, progress=False)
    result = evaluate(folder / "best.pt", test_set, folder / "eval", pf_name="PF", plots=False, progress=False)
    best = min(summary["history"], key=lambda row: row["val_loss"])
    record = {**asdict(point), "card": Path(point.card).stem, "val_loss": summary["best_val_loss"],
              "best_epoch": best["epoch"], "epochs": summary["epochs"], "steps": summary["steps"],
              "passes": summary["steps"] * config.batch_size / point.train_events,
              "wall_s": sum(row["seconds"] for row in summary["history"]), "test_events": len(test_set),
              **metrics_of(result, "MLPF"), "baseline": metrics_of(result, "PF")}
    if "Oracle" in result["jets"]:
        record["oracle"] = metrics_of(result, "Oracle")
    _write_json(folder / "result.json", record)
    return record


def _set_threads(config: StudyConfig) -> None:
    torch_threads(config.threads or max(1, (os.cpu_count() or 1) // max(1, config.jobs)))


def torch_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def _write_json(path: Path, payload) -> None:
    from k4mlpf.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w") as stream:
        json.dump(payload, stream, indent=1, default=float)


# -- the whole study ----------------------------------------------------------------------------------
def plan(config: StudyConfig) -> list[Point]:
    """Every training of the study, in the order they run: the first seed over all sizes, then the
    variants (and the reference card at the variant size), then the other seeds, so that an early
    stop still leaves a complete curve and the variant table."""
    first = [Point(config.detector, s, n, 1) for n in config.sizes for s in STRATEGIES]
    variants = [Point(card, s, config.variant_events, 1) for card in (config.detector, *config.variants)
                for s in STRATEGIES] if config.variants else []
    others = [Point(config.detector, s, n, seed) for seed in range(2, config.seeds + 1) for n in config.sizes
              for s in STRATEGIES]
    return list({(p.card, p.strategy, p.train_events, p.seed): p for p in first + variants + others}.values())


def run_study(config: StudyConfig) -> dict:
    from tqdm import tqdm

    study = Path(config.output)
    study.mkdir(parents=True, exist_ok=True)
    log = tqdm.write if config.progress else print
    backbone = resolve_backbone(config, study, log)
    samples = {config.detector: card_samples(config, study, config.detector, max(config.sizes), log)}
    for card in config.variants:
        samples[card] = card_samples(config, study, card, config.variant_events, log)
    points = plan(config)
    records, todo = [], []
    for point in points:
        done = point.folder(study) / "result.json"
        if done.exists():
            records.append(json.loads(done.read_text()))
        else:
            todo.append(point)
    log(f"study in {study}: {len(points)} trainings, {len(records)} already done, {len(todo)} to run "
        f"(backbone {backbone})")
    bar = tqdm(total=len(points), initial=len(records), desc="study", unit="training", disable=not config.progress)
    started = time.perf_counter()
    try:
        if config.jobs <= 1:
            for point in todo:
                bar.set_postfix_str(point.label())
                records.append(run_point(point, study, samples[point.card], backbone, config))
                _report(records[-1], log, bar)
        else:
            from k4mlpf.cli_support import ignore_interrupts_in_worker

            with ProcessPoolExecutor(max_workers=config.jobs, initializer=ignore_interrupts_in_worker) as pool:
                futures = [pool.submit(run_point, p, study, samples[p.card], backbone, config) for p in todo]
                for future in futures:
                    records.append(future.result())
                    _report(records[-1], log, bar)
    finally:
        bar.close()
        if records:
            summary = summarize(records, config, backbone, study, time.perf_counter() - started)
            write_report(summary, study)
    return summary


def _report(record: dict, log, bar) -> None:
    bar.update()
    log(f"{record['card']} {record['strategy']} N={record['train_events']} seed {record['seed']}: val loss "
        f"{record['val_loss']:.4f}, jets IQR/median {record['jet_iqr_over_median']:.3f}, MET "
        f"{record['met_resolution_gev']:.2f} GeV, {record['epochs']} epochs, {record['wall_s']:.0f} s")


# -- what the study says --------------------------------------------------------------------------------
def crossing(sizes: np.ndarray, values: np.ndarray, target: float) -> tuple[float, str]:
    """Smallest N (interpolated in log N) at which a falling curve reaches ``target``; returns (N, kind)
    with kind "inside", "below" (the curve starts at or under the target: N <= sizes[0]) or "above"
    (never reached: N > sizes[-1])."""
    if values[0] <= target:
        return float(sizes[0]), "below"
    for (n0, v0), (n1, v1) in zip(zip(sizes, values), zip(sizes[1:], values[1:])):
        if v1 <= target:
            t = (v0 - target) / (v0 - v1)
            return float(math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0)))), "inside"
    return float(sizes[-1]), "above"


def _curve(records: list[dict], strategy: str, metric: str, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    by_size: dict[int, list[float]] = {}
    for r in records:
        if r["strategy"] == strategy and (seed is None or r["seed"] == seed):
            by_size.setdefault(r["train_events"], []).append(r[metric])
    sizes = np.array(sorted(by_size), float)
    return sizes, np.array([np.mean(by_size[int(n)]) for n in sizes])


def efficiency_factor(records: list[dict], metric: str) -> dict:
    """Data-efficiency factor for a lower-is-better metric: for every fine-tuning size N_f, the N at
    which the scratch curve reaches fine-tuning's value at N_f, over N_f. The factor is the geometric
    mean over the N_f where that N lies inside the scanned range; its uncertainty is the standard
    error of the same number computed seed by seed. Bounds are reported where the curves do not cross."""

    def factors(seed=None):
        f_sizes, f_values = _curve(records, "finetune", metric, seed)
        s_sizes, s_values = _curve(records, "scratch", metric, seed)
        if len(s_sizes) < 2:
            return [], []
        s_values = np.minimum.accumulate(s_values)  # what scratch has reached by N (the curve is noisy)
        rows = []
        for n_f, v_f in zip(f_sizes, f_values):
            n_s, kind = crossing(s_sizes, s_values, v_f)
            rows.append({"finetune_events": int(n_f), "finetune_value": float(v_f), "scratch_events": n_s,
                         "kind": kind, "factor": n_s / n_f})
        return [r["factor"] for r in rows if r["kind"] == "inside"], rows

    inside, rows = factors()
    seeds = sorted({r["seed"] for r in records if r["strategy"] == "finetune"})
    per_seed = [float(np.exp(np.mean(np.log(f)))) for f in (factors(s)[0] for s in seeds) if f]
    out = {"metric": metric, "per_size": rows, "per_seed": per_seed,
           "criterion": f"scratch's {metric} curve (mean over seeds, best reached so far, interpolated in log N) "
                        f"against fine-tuning's at each N; geometric mean over the sizes where they cross"}
    if inside:
        out["factor"] = float(np.exp(np.mean(np.log(inside))))
        out["uncertainty"] = float(np.std(per_seed, ddof=1) / math.sqrt(len(per_seed))) if len(per_seed) > 1 else None
    else:
        above = [r for r in rows if r["kind"] == "above"]
        out["factor"] = None
        if above:
            first = min(above, key=lambda r: r["finetune_events"])
            out["bound"] = (f"> {first['factor']:.3g} (scratch with {first['scratch_events']:.0f} events does not reach "
                            f"fine-tuning's value at {first['finetune_events']} events)")
        else:
            out["bound"] = "<= 1 (scratch reaches fine-tuning's value at the smallest size)"
    return out


def summarize(records: list[dict], config: StudyConfig, backbone: str, study: Path, wall_s: float) -> dict:
    import torch

    from fastsim.card import changes_from_base

    main = [r for r in records if r["train_events"] in config.sizes and _same_card(r["card"], config.detector)]
    scan = [r for r in main if r["seed"] <= config.seeds]
    variants = []
    for card in (config.detector, *config.variants):
        rows = [r for r in records if _same_card(r["card"], card) and r["train_events"] == config.variant_events
                and r["seed"] == 1]
        if not rows:
            continue
        entry = {"card": str(card), "name": rows[0]["card"], "train_events": config.variant_events,
                 "changed": changes_from_base(card) if card != config.detector else ["reference"],
                 "baseline": rows[0]["baseline"], "oracle": rows[0].get("oracle")}
        for r in rows:
            entry[r["strategy"]] = {k: r[k] for k in ("val_loss", "jet_iqr_over_median", "jet_median",
                                                      "met_resolution_gev", "particles", "wall_s")}
        variants.append(entry)
    return {"points": sorted(scan, key=lambda r: (r["strategy"], r["train_events"], r["seed"])),
            "baseline": scan[0]["baseline"] if scan else None,
            "oracle": scan[0].get("oracle") if scan else None,
            "data_efficiency": {**efficiency_factor(scan, "val_loss"),
                                "jet_resolution": efficiency_factor(scan, "jet_iqr_over_median")} if scan else None,
            "variants": variants,
            "config": {k: v for k, v in asdict(config).items() if k not in ("progress",)},
            "backbone": backbone,
            "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                        "cpus": os.cpu_count(), "torch": torch.__version__, "device": "cpu"},
            "wall_s_this_run": wall_s,
            "wall_s_trainings": sum(r["wall_s"] for r in records)}


def _same_card(name: str, card: str) -> bool:
    return name == Path(card).stem


def write_report(summary: dict, study: Path) -> None:
    _write_json(study / "study.json", summary)
    (study / "tables.md").write_text(markdown_tables(summary))
    if summary["points"]:
        scan_figures(summary, study)
    if summary["variants"]:
        variant_figure(summary, study)


COLORS = {"finetune": "tab:red", "scratch": "tab:blue"}
LABELS = {"finetune": "fine-tuned from CLICdet", "scratch": "from scratch"}


def _band(ax, points: list[dict], strategy: str, value) -> None:
    by_size: dict[int, list[float]] = {}
    for r in points:
        if r["strategy"] == strategy:
            by_size.setdefault(r["train_events"], []).append(value(r))
    sizes = sorted(by_size)
    mean = np.array([np.mean(by_size[n]) for n in sizes])
    low = np.array([np.min(by_size[n]) for n in sizes])
    high = np.array([np.max(by_size[n]) for n in sizes])
    ax.plot(sizes, mean, "o-", color=COLORS[strategy], label=LABELS[strategy])
    ax.fill_between(sizes, low, high, color=COLORS[strategy], alpha=0.25)
    ax.set_xscale("log")
    ax.set_xlabel("CLD training events")


def scan_figures(summary: dict, study: Path) -> list[str]:
    """``study_vs_size.png`` (validation loss, jet and MET resolution) and ``efficiency_vs_size.png``:
    mean over seeds with the min-max band, the baseline PF as a dashed line."""
    from k4mlpf.plots import pyplot, save

    plt = pyplot()
    points, baseline = summary["points"], summary["baseline"]
    seeds = len({r["seed"] for r in points})
    fig, axes = plt.subplots(1, 3, figsize=(24, 7), layout="constrained")
    panels = (("val_loss", "validation loss", None), ("jet_iqr_over_median", "jet resolution (IQR / median)",
                                                      baseline["jet_iqr_over_median"]),
              ("met_resolution_gev", r"MET resolution ($\Delta$ IQR) [GeV]", baseline["met_resolution_gev"]))
    for ax, (key, title, reference) in zip(axes, panels):
        for strategy in STRATEGIES:
            _band(ax, points, strategy, lambda r, k=key: r[k])
        if reference is not None:
            ax.axhline(reference, color="k", ls="--", label="baseline PF")
        if key != "val_loss" and summary.get("oracle"):
            ax.axhline(summary["oracle"][key], color="tab:green", ls=":", label="oracle PF (detector limit)")
        ax.set_ylabel(title)
        ax.legend(fontsize=13)
    axes[0].set_title(f"mean and min-max over {seeds} seed(s)", fontsize=14)
    names = [save(fig, study / "study_vs_size.png")]
    fig, axes = plt.subplots(1, 3, figsize=(24, 7), layout="constrained")
    for ax, cls in zip(axes, ("charged_hadron", "neutral_hadron", "photon")):
        for strategy in STRATEGIES:
            _band(ax, points, strategy, lambda r, c=cls: r["particles"][c]["efficiency"])
        ax.axhline(baseline["particles"][cls]["efficiency"], color="k", ls="--", label="baseline PF")
        ax.set_ylabel(f"{cls.replace('_', ' ')} efficiency")
        ax.legend(fontsize=13)
    names.append(save(fig, study / "efficiency_vs_size.png"))
    return names


def variant_figure(summary: dict, study: Path) -> str:
    """``variants.png``: jets, MET, photon and neutral-hadron energy resolution per detector card."""
    from k4mlpf.plots import pyplot, save

    plt = pyplot()
    variants = summary["variants"]
    panels = (("jet resolution (IQR / median)", lambda m: m["jet_iqr_over_median"]),
              (r"MET $\Delta$ IQR [GeV]", lambda m: m["met_resolution_gev"]),
              ("photon energy IQR / median", lambda m: m["particles"]["photon"]["energy_resolution"]),
              ("neutral hadron energy IQR / median", lambda m: m["particles"]["neutral_hadron"]["energy_resolution"]))
    fig, axes = plt.subplots(1, 4, figsize=(30, 8), layout="constrained")
    x = np.arange(len(variants))
    for ax, (title, value) in zip(axes, panels):
        for i, (name, color) in enumerate((("finetune", COLORS["finetune"]), ("scratch", COLORS["scratch"]),
                                           ("baseline", "k"))):
            heights = [value(v[name]) if name in v else np.nan for v in variants]
            ax.bar(x + 0.27 * (i - 1), heights, 0.27, color=color, alpha=0.8,
                   label=LABELS.get(name, "baseline PF"))
        ax.set_xticks(x, [v["name"].replace("CLD_o2_v05_", "").replace("CLD_o2_v05", "CLD") for v in variants],
                      rotation=30, fontsize=12)
        ax.set_ylabel(title)
    axes[0].legend(fontsize=12)
    axes[0].set_title(f"N = {variants[0]['train_events']} CLD-variant events", fontsize=14)
    return save(fig, study / "variants.png")


def _mean_spread(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def markdown_tables(summary: dict) -> str:
    """The study's tables in Markdown (``tables.md``): per size and strategy the mean ± standard
    deviation over seeds, the baseline and oracle rows, the data-efficiency factors and the variants."""
    lines = ["| strategy | CLD events | seeds | validation loss | jet IQR/median | MET ΔIQR [GeV] | "
             "γ eff. | n.h. eff. | e eff. | μ eff. | steps | wall [s] |", "|---" * 12 + "|"]
    groups: dict[tuple, list[dict]] = {}
    for r in summary["points"]:
        groups.setdefault((r["strategy"], r["train_events"]), []).append(r)
    for (strategy, n), rows in sorted(groups.items()):
        eff = lambda cls: _mean_spread([r["particles"][cls]["efficiency"] for r in rows], 3)  # noqa: E731
        lines.append(f"| {strategy} | {n} | {len(rows)} | {_mean_spread([r['val_loss'] for r in rows], 4)} | "
                     f"{_mean_spread([r['jet_iqr_over_median'] for r in rows], 4)} | "
                     f"{_mean_spread([r['met_resolution_gev'] for r in rows], 2)} | {eff('photon')} | "
                     f"{eff('neutral_hadron')} | {eff('electron')} | {eff('muon')} | "
                     f"{np.mean([r['steps'] for r in rows]):.0f} | {np.mean([r['wall_s'] for r in rows]):.0f} |")
    for name in ("baseline", "oracle"):
        ref = summary.get(name)
        if ref:
            effs = " | ".join(f"{ref['particles'][c]['efficiency']:.3f}" if c in ref["particles"] else "–"
                              for c in ("photon", "neutral_hadron", "electron", "muon"))
            lines.append(f"| {name} PF | – | – | – | {ref['jet_iqr_over_median']:.4f} | {ref['met_resolution_gev']:.2f} | "
                         f"{effs} | – | – |")
    eff = summary.get("data_efficiency")
    if eff:
        lines += ["", "| criterion | data-efficiency factor | per seed | fine-tuning N → scratch N |", "|---|---|---|---|"]
        for name, part in (("validation loss", eff), ("jet IQR/median", eff["jet_resolution"])):
            value = (f"{part['factor']:.2f}" + (f" ± {part['uncertainty']:.2f}" if part.get("uncertainty") is not None
                                                else "")) if part.get("factor") is not None else part["bound"]
            sizes = "; ".join(f"{r['finetune_events']} → {r['scratch_events']:.0f} ({r['kind']})" for r in part["per_size"])
            lines.append(f"| {name} | {value} | {', '.join(f'{v:.2f}' for v in part['per_seed'])} | {sizes} |")
    if summary["variants"]:
        lines += ["", "| detector | what changed | strategy | jet IQR/median | MET ΔIQR [GeV] | γ energy IQR/median | "
                  "n.h. energy IQR/median | validation loss |", "|---" * 8 + "|"]
        for v in summary["variants"]:
            for strategy in (*STRATEGIES, "baseline", "oracle"):
                m = v.get(strategy)
                if not m:
                    continue
                parts = m.get("particles", {})
                res = lambda c: f"{parts[c]['energy_resolution']:.3f}" if c in parts else "–"  # noqa: E731
                lines.append(f"| {v['name']} | {'; '.join(v['changed'])} | {strategy} | {m['jet_iqr_over_median']:.4f} | "
                             f"{m['met_resolution_gev']:.2f} | {res('photon')} | {res('neutral_hadron')} | "
                             f"{m['val_loss']:.4f} |" if "val_loss" in m else
                             f"| {v['name']} | {'; '.join(v['changed'])} | {strategy} PF | {m['jet_iqr_over_median']:.4f} | "
                             f"{m['met_resolution_gev']:.2f} | {res('photon')} | {res('neutral_hadron')} | – |")
    return "\n".join(lines) + "\n"


def print_summary(summary: dict) -> None:
    """The tables, as text."""
    print(f"{'strategy':>9} {'N':>6} {'seed':>4} {'val loss':>9} {'jets':>6} {'MET':>6} {'eff γ':>6} {'eff n':>6}"
          f" {'epochs':>6} {'wall s':>7}")
    for r in summary["points"]:
        print(f"{r['strategy']:>9} {r['train_events']:>6} {r['seed']:>4} {r['val_loss']:9.4f} "
              f"{r['jet_iqr_over_median']:6.3f} {r['met_resolution_gev']:6.2f} "
              f"{r['particles']['photon']['efficiency']:6.3f} {r['particles']['neutral_hadron']['efficiency']:6.3f} "
              f"{r['epochs']:>6} {r['wall_s']:7.0f}")
    for name in ("baseline", "oracle"):
        if summary.get(name):
            b = summary[name]
            print(f"{name:>9} {'':>6} {'':>4} {'':>9} {b['jet_iqr_over_median']:6.3f} {b['met_resolution_gev']:6.2f}")
    eff = summary["data_efficiency"]
    if eff:
        for name, part in (("validation loss", eff), ("jet resolution", eff["jet_resolution"])):
            if part.get("factor") is not None:
                unc = f" ± {part['uncertainty']:.2g}" if part.get("uncertainty") is not None else ""
                print(f"data-efficiency factor ({name}): {part['factor']:.3g}{unc}")
            else:
                print(f"data-efficiency factor ({name}): {part['bound']}")
    for v in summary["variants"]:
        cells = "  ".join(f"{s} jets {v[s]['jet_iqr_over_median']:.3f} MET {v[s]['met_resolution_gev']:.2f}"
                          for s in STRATEGIES if s in v)
        print(f"{v['name']}: {'; '.join(v['changed'])}: {cells}; baseline jets "
              f"{v['baseline']['jet_iqr_over_median']:.3f} MET {v['baseline']['met_resolution_gev']:.2f}")

