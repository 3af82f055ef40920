"""One chunk of events end to end (generate, track, shower, cluster, particle flow, collections),
and a parallel run over chunks written in chunk order, so the output depends only on the seed.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import output
from .baseline_pf import baseline_pf
from .calorimetry import simulate_calorimetry
from .card import load_card
from .clustering import cluster_hits
from .generator import generate_gun, generate_pythia
from .tracking import simulate_tracks

RUN_NUMBER = 1


@dataclass(frozen=True)
class RunConfig:
    detector: str
    process: str = "ttbar"
    n_events: int = 100
    seed: int = 1
    ecm: float | None = None
    chunk_size: int = 50
    gun_pdg: int = 211
    gun_energy: tuple = (10.0, 10.0)


@functools.lru_cache(maxsize=4)
def _card(detector: str):
    return load_card(detector)


class DetectorResponse(NamedTuple):
    tracks: object          # tracking.Tracks, ordered by event
    track_event: np.ndarray
    hits: object            # calorimetry hits
    book: object            # energy book-keeping per event (generated = deposited + leaked + ...)
    clusters: object
    pfos: object            # baseline PF


def detector_response(truth, card, rng: np.random.Generator) -> DetectorResponse:
    """Generated events -> tracks, calorimeter hits, clusters and the baseline particle flow."""
    charged = np.flatnonzero(truth.final_state() & (truth.charge != 0))
    tr = simulate_tracks(charged, truth.p4, truth.vertex, truth.charge, truth.mass, card, rng)
    t_event = truth.event[tr.particle]
    order = np.argsort(t_event, kind="stable")
    tr, t_event = tr.take(order), t_event[order]
    hits, book = simulate_calorimetry(truth, card, rng)
    cl = cluster_hits(hits, card, len(truth.pdg))
    return DetectorResponse(tr, t_event, hits, book, cl, baseline_pf(t_event, tr, cl, hits, card))


def simulate_chunk(cfg: RunConfig, chunk: int, n_events: int):
    """Everything for events [chunk * chunk_size, + n_events): (collections, summary numbers)."""
    card = _card(cfg.detector)
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, chunk]))
    if cfg.process == "gun":
        truth = generate_gun(cfg.gun_pdg, n_events, rng, cfg.gun_energy)
    else:
        truth = generate_pythia(cfg.process, n_events, cfg.seed, chunk, cfg.ecm)
    tr, t_event, hits, book, cl, pf = detector_response(truth, card, rng)
    cols = _collections(cfg, chunk, truth, tr, t_event, hits, cl, pf, card)
    summary = {"events": n_events, "tracks": len(t_event), "clusters": len(cl.event),
               "hits": len(hits.event), "pfos": len(pf.event),
               "generated": book.generated.sum(), "deposited": book.deposited.sum(),
               "leaked": book.leaked.sum(), "invisible": book.invisible.sum(), "lost": book.lost.sum()}
    return cols, summary


def _collections(cfg, chunk, truth, tr, t_event, hits, cl, pf, card):
    n = truth.n_events
    local = truth.local_index
    track_cols, dqdx = output.tracks(tr, t_event, n)
    cols = {"EventHeader": output.event_headers(n, chunk * cfg.chunk_size, RUN_NUMBER),
            "MCParticles": output.mc_particles(truth), output.TRACKS: track_cols, output.DQDX: dqdx,
            **output.hit_collections(hits, n), output.CLUSTERS: output.clusters(cl, hits, n),
            output.PFOS: output.pfos(pf, t_event, cl.event, n)}
    t_local, _ = output._local(t_event, n)
    cols["SiTracksMCTruthLink"] = output.links(output.TRACKS, t_local, local[tr.particle],
                                               tr.hit_fraction, t_event, n)
    h_local, h_cid = output.hit_refs(hits, hits.link_hit)
    cols["CalohitMCTruthLink"] = output.links("", h_local, local[hits.link_particle], hits.link_energy,
                                              hits.event[hits.link_hit], n, from_cid=h_cid)
    c_local, _ = output._local(cl.event, n)
    cols["ClusterMCTruthLink"] = output.links(output.CLUSTERS, c_local[cl.link_cluster],
                                              local[cl.link_particle], cl.link_weight,
                                              cl.event[cl.link_cluster], n)
    cols["RecoMCTruthLink"] = _reco_links(pf, tr, cl, local, n)
    return cols


def _reco_links(pf, tr, cl, local, n):
    """Charged PFOs -> their track's particle; neutral PFOs -> their cluster's particles."""
    p_local, _ = output._local(pf.event, n)
    ch = np.flatnonzero(pf.track >= 0)
    neu = np.flatnonzero(pf.track < 0)
    c2p = np.full(len(cl.event), -1)
    c2p[pf.cluster[neu]] = neu
    m = c2p[cl.link_cluster] >= 0
    src = np.concatenate([ch, c2p[cl.link_cluster[m]]])
    dst = np.concatenate([tr.particle[pf.track[ch]], cl.link_particle[m]])
    w = np.concatenate([tr.hit_fraction[pf.track[ch]], cl.link_weight[m]])
    return output.links(output.PFOS, p_local[src], local[dst], w, pf.event[src], n)


def sample_description(cfg: RunConfig) -> dict:
    """What a file holds, as stored in its metadata (``k4mlpf_sample``) and carried into shards."""
    from .generator import PROCESSES

    out = {"process": cfg.process, "seed": cfg.seed, "events": cfg.n_events}
    if cfg.process == "gun":
        out.update(particle=cfg.gun_pdg, energy=list(cfg.gun_energy))
    else:
        out["ecm"] = float(cfg.ecm if cfg.ecm is not None else PROCESSES[cfg.process][1])
    return out


def chunks(cfg: RunConfig):
    n_chunks = -(-cfg.n_events // cfg.chunk_size)
    return [(i, min(cfg.chunk_size, cfg.n_events - i * cfg.chunk_size)) for i in range(n_chunks)]


def _work(args):
    cfg, chunk, n = args
    return simulate_chunk(cfg, chunk, n)


def run(cfg: RunConfig, output_path: str, jobs: int = 1, progress: bool = True) -> dict:
    """Simulate ``cfg.n_events`` events into ``output_path``; returns summed summary numbers."""
    from tqdm import tqdm

    from k4mlpf.edm4hep.output import open_writer

    card = _card(cfg.detector)
    tasks = [(cfg, c, n) for c, n in chunks(cfg)]
    total: dict = {}
    bar = tqdm(total=cfg.n_events, unit="ev", disable=not progress, desc=f"{card.name} {cfg.process}")
    with open_writer(output_path) as writer:  # podio's writer in a Key4hep release, ROOT's elsewhere
        if jobs > 1:
            from k4mlpf.cli_support import ignore_interrupts_in_worker

            pool = mp.get_context("fork").Pool(jobs, initializer=ignore_interrupts_in_worker)
            results = pool.imap(_work, tasks)
        else:
            pool, results = None, map(_work, tasks)
        try:
            for cols, summary in results:
                writer.write_events(cols, {k: output.TYPES[k] for k in cols})
                for k, v in summary.items():
                    total[k] = total.get(k, 0) + v
                bar.update(summary["events"])
        finally:
            if pool is not None:
                pool.terminate()
        writer.write_metadata(output.metadata(card, sample_description(cfg)))
    bar.close()
    return total
