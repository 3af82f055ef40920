"""The target rule on small hand-built events (reader-format awkward arrays)."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k4mlpf.edm4hep.murmur import collection_id
from k4mlpf.particles import CLASS_CH_HAD, CLASS_ELECTRON, CLASS_NEU_HAD, CLASS_PHOTON
from python_trainer.targets import PARTICLE_COLUMNS, build_targets, greedy_assign, status1_ancestor

COL = {c: i for i, c in enumerate(PARTICLE_COLUMNS)}
ECAL = collection_id("ECALBarrel")


def ref(coll, index):
    return {"index": index, "collectionID": collection_id(coll)}


def mc(pdg, status, p, parents=(), charge=0.0, mass=0.0):
    return {"PDG": pdg, "generatorStatus": status, "charge": charge, "mass": mass,
            "momentum": {"x": p[0], "y": p[1], "z": p[2]},
            "parents": [ref("MCParticles", i) for i in parents]}


def link(frm, to, weight):
    return {"weight": weight, "from": frm, "to": ref("MCParticles", to)}


def event_chunk(particles, track_links, hit_links, cluster_hits):
    """One-event chunk: cluster_hits = list of hit-index lists (all in ECALBarrel)."""
    clusters = [{"hits": [ref("ECALBarrel", h) for h in hits]} for hits in cluster_hits]
    def typed(rows, example):  # an empty collection keeps its record type, as the reader gives it
        return ak.Array([rows]) if rows else ak.Array([[example]])[:, :0]

    return {"MCParticles": ak.Array([particles]),
            "SiTracksMCTruthLink": typed([link(ref("SiTracks_Refitted", t), p, w) for t, p, w in track_links],
                                         link(ref("SiTracks_Refitted", 0), 0, 1.0)),
            "CalohitMCTruthLink": typed([link(ref("ECALBarrel", h), p, e) for h, p, e in hit_links],
                                        link(ref("ECALBarrel", 0), 0, 1.0)),
            "PandoraClusters": typed(clusters, {"hits": [ref("ECALBarrel", 0)]})}


def run(chunk, n_tracks, n_clusters):
    return build_targets(chunk, np.array([n_tracks]), np.array([n_clusters]))


def test_charged_pion_goes_to_its_track_first():
    particles = [mc(211, 1, (3.0, 4.0, 0.0), charge=1.0, mass=0.13957)]
    chunk = event_chunk(particles, [(0, 0, 0.9)], [(0, 0, 1.0), (1, 0, 0.5)], [[0, 1]])
    out = run(chunk, 1, 1)
    targets = out["targets"]
    assert out["target_mc"].tolist() == [0, -1]  # the track has it, the cluster does not
    assert targets[0, COL["cls"]] == CLASS_CH_HAD and targets[0, COL["charge"]] == 1.0
    assert targets[0, COL["pt"]] == pytest.approx(5.0)
    assert targets[0, COL["energy"]] == pytest.approx(np.sqrt(25 + 0.13957**2), rel=1e-6)
    assert targets[1, COL["cls"]] == 0


def test_photon_reaches_the_detector_through_its_daughters():
    # status-1 photon converts: its e+ e- (created in the simulation, status 0) deposit the energy
    particles = [mc(22, 1, (0.0, 10.0, 0.0)), mc(11, 0, (0.0, 6.0, 0.0), parents=[0], charge=-1.0),
                 mc(-11, 0, (0.0, 4.0, 0.0), parents=[0], charge=1.0)]
    chunk = event_chunk(particles, [], [(0, 1, 5.0), (1, 2, 3.0)], [[0], [1]])
    out = run(chunk, 0, 2)
    # all deposits credit the photon; it takes the cluster with most of its energy
    assert out["target_mc"].tolist() == [0, -1]
    assert out["targets"][0, COL["cls"]] == CLASS_PHOTON
    assert out["targets"][0, COL["energy"]] == pytest.approx(10.0)


def test_converted_photon_track_gets_a_charged_class():
    particles = [mc(22, 1, (0.0, 10.0, 0.0)), mc(11, 0, (0.0, 6.0, 0.0), parents=[0], charge=-1.0)]
    chunk = event_chunk(particles, [(0, 1, 1.0)], [], [])
    out = run(chunk, 1, 0)
    assert out["targets"][0, COL["cls"]] == CLASS_ELECTRON


def test_most_energetic_particle_wins_a_shared_cluster():
    k0 = mc(130, 1, (20.0, 0.0, 0.0), mass=0.4976)
    soft = mc(22, 1, (2.0, 0.0, 0.0))
    # both deposit most in cluster 0; the photon also left a little in cluster 1
    chunk = event_chunk([k0, soft], [], [(0, 0, 15.0), (1, 1, 1.5), (2, 1, 0.2)], [[0, 1], [2]])
    out = run(chunk, 0, 2)
    assert out["target_mc"].tolist() == [0, 1]  # neutral hadron on cluster 0, photon moved to cluster 1
    assert out["targets"][0, COL["cls"]] == CLASS_NEU_HAD
    assert out["targets"][1, COL["cls"]] == CLASS_PHOTON


def test_a_particle_without_an_element_of_its_own_is_merged_into_its_best_clusters_owner():
    # pi0 -> two photons in one cluster; a third photon shares cluster 1 with a neutral hadron
    g1, g2 = mc(22, 1, (0.0, 12.0, 0.0)), mc(22, 1, (0.0, 3.0, 4.0))
    k0, g3 = mc(130, 1, (20.0, 0.0, 0.0), mass=0.5), mc(22, 1, (1.0, 0.0, 0.0))
    hits = [(0, 0, 11.0), (1, 1, 4.5), (2, 2, 15.0), (3, 3, 0.9), (4, 3, 0.05)]
    chunk = event_chunk([g1, g2, k0, g3], [], hits, [[0, 1], [2, 3, 4]])
    out = run(chunk, 0, 2)
    targets = out["targets"]
    assert out["target_mc"].tolist() == [0, 2]                 # the owners stay
    assert targets[0, COL["cls"]] == CLASS_PHOTON
    assert targets[0, COL["energy"]] == pytest.approx(12.0 + 5.0)
    assert targets[0, COL["pz"]] == pytest.approx(4.0) and targets[0, COL["py"]] == pytest.approx(15.0)
    assert targets[0, COL["pt"]] == pytest.approx(15.0)
    assert targets[1, COL["cls"]] == CLASS_NEU_HAD
    assert targets[1, COL["px"]] == pytest.approx(21.0)
    assert targets[1, COL["energy"]] == pytest.approx(np.sqrt(400 + 0.25) + 1.0, rel=1e-6)
    # energy of everything that reached the calorimeter is conserved
    assert targets[:, COL["energy"]].sum() == pytest.approx(out["truth"][:, 3].sum(), rel=1e-6)


def test_a_left_over_particle_with_only_a_track_link_is_dropped():
    a = mc(211, 1, (10.0, 0.0, 0.0), charge=1.0)
    b = mc(211, 1, (1.0, 0.0, 0.0), charge=1.0)
    chunk = event_chunk([a, b], [(0, 0, 0.8), (0, 1, 0.2)], [], [])
    out = run(chunk, 1, 0)
    assert out["target_mc"].tolist() == [0]
    assert out["targets"][0, COL["px"]] == pytest.approx(10.0)


def test_neutrinos_and_undetected_particles_are_not_targets_but_truth_keeps_visible_ones():
    particles = [mc(12, 1, (5.0, 0.0, 0.0)), mc(22, 1, (0.0, 1.0, 0.0)), mc(211, 1, (1.0, 0.0, 0.0), charge=1.0)]
    chunk = event_chunk(particles, [(0, 2, 1.0)], [(0, 0, 5.0)], [[0]])  # a "neutrino deposit" is ignored
    out = run(chunk, 1, 1)
    assert out["target_mc"].tolist() == [2, -1]
    assert out["truth_counts"].tolist() == [2]  # photon and pion, no neutrino
    assert sorted(out["truth"][:, 3].round(3).tolist()) == [1.0, 1.0]


def test_status1_ancestor_walks_up_several_generations():
    particles = [mc(22, 1, (0, 1, 0)), mc(11, 0, (0, 1, 0), parents=[0]), mc(22, 0, (0, 1, 0), parents=[1]),
                 mc(11, 0, (0, 1, 0), parents=[2]), mc(23, 2, (0, 0, 0))]
    mcs = ak.Array([particles])
    assert status1_ancestor(mcs, np.array([0, 5])).tolist() == [0, 0, 0, 0, -1]


def _sequential_greedy(element, particle, weight, energy):
    """Reference: particles by decreasing energy, each takes its highest-weight free element
    (ties: the lowest element index)."""
    taken, out = set(), {}
    for p in sorted(set(particle.tolist()), key=lambda q: (-energy[q], q)):
        options = [(-w, e) for e, q, w in zip(element.tolist(), particle.tolist(), weight.tolist())
                   if q == p and e not in taken]
        if options:
            best = min(options)[1]
            taken.add(best)
            out[best] = p
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 5), st.floats(0.01, 10)), min_size=1, max_size=25),
       st.lists(st.floats(0.1, 100), min_size=6, max_size=6, unique=True))
def test_greedy_assignment_equals_sequential_greedy(pairs, energies):
    unique = {(e, p): w for e, p, w in pairs}  # one weight per (element, particle), as after summing
    element = np.array([k[0] for k in unique], np.int64)
    particle = np.array([k[1] for k in unique], np.int64)
    weight = np.array(list(unique.values()))
    energy = np.array(energies)
    e, p = greedy_assign(element, particle, weight, energy)
    assert dict(zip(e.tolist(), p.tolist())) == _sequential_greedy(element, particle, weight, energy)
    assert len(set(p.tolist())) == len(p)  # one element per particle


def test_targets_of_simulated_ttbar_events_reproduce_the_truth_jets(small_sample):
    """With left-over particles merged, no measured energy is missing from the targets: their jets
    are the truth jets (a particle that never reached the detector is the only difference)."""
    from k4mlpf.evaluation import Particles, jet_performance
    from python_trainer.data import EventSet
    from python_trainer.evaluate import particles_of

    events = EventSet.load(small_sample["shards"])
    a = events.arrays
    targets = particles_of(a["targets"], a["track_counts"] + a["cluster_counts"])
    jets = jet_performance(targets, Particles.from_rows(a["truth"], a["truth_counts"]))
    assert jets["efficiency"] > 0.95
    assert jets["response"]["median"] == pytest.approx(1.0, abs=1e-4)
    assert jets["response"]["iqr"] < 0.01


def test_oracle_particle_flow_by_hand():
    from k4mlpf.model.columns import CLASS_MASS, TRACK_COLUMNS
    from k4mlpf.physics import C_LIGHT

    pion = mc(211, 1, (3.0, 4.0, 0.0), charge=1.0, mass=0.13957)
    g1, g2 = mc(22, 1, (0.0, 10.0, 0.0)), mc(22, 1, (0.0, 0.0, 5.0))
    lost = mc(130, 1, (1.0, 0.0, 0.0), mass=0.4976)                     # no track, no deposit
    # hit 0 (8 GeV measured) is shared 6:2 by the first photon and the pion; the pion's share is not
    # counted again (it has a track); hit 2 holds the second photon
    hit_links = [(0, 1, 6.0), (0, 0, 2.0), (1, 1, 2.0), (2, 2, 4.0)]
    chunk = event_chunk([pion, g1, g2, lost], [(0, 0, 1.0)], hit_links, [[0, 1], [2]])
    tracks = np.zeros((1, len(TRACK_COLUMNS)), np.float32)
    col = {c: TRACK_COLUMNS.index(c) for c in ("phi", "omega", "tanLambda")}
    tracks[0, [col["phi"], col["omega"], col["tanLambda"]]] = (0.3, C_LIGHT * 2.0 / 5.5, 0.2)  # measured pt 5.5
    out = build_targets(chunk, np.array([1]), np.array([2]), track_columns=tracks, b_field=2.0,
                        link_hit_energy=np.array([8.0, 8.0, 2.0, 5.0]))
    assert out["oracle_counts"].tolist() == [3]
    assert out["oracle_cls"].tolist() == [CLASS_CH_HAD, CLASS_PHOTON, CLASS_PHOTON]
    rows = out["oracle"].astype(np.float64)
    p = 5.5 * np.array([np.cos(0.3), np.sin(0.3), 0.2])
    assert rows[0, :3] == pytest.approx(p, rel=1e-5)                  # the track's momentum, not the truth's
    assert rows[0, 3] == pytest.approx(np.sqrt(p @ p + CLASS_MASS[CLASS_CH_HAD] ** 2), rel=1e-5)
    # photon deposits 6 + 2 = 8 (response 0.8) and 5 (1.0): both divided by the median response 0.9
    assert rows[1, 3] == pytest.approx(8.0 / 0.9, rel=1e-5) and rows[2, 3] == pytest.approx(5.0 / 0.9, rel=1e-5)
    assert rows[1, :3] == pytest.approx([0.0, 8.0 / 0.9, 0.0], abs=1e-5)   # along the true direction
    assert rows[2, :3] == pytest.approx([0.0, 0.0, 5.0 / 0.9], abs=1e-5)


def test_calibrate_deposits_per_class_and_bin():
    from python_trainer.targets import calibrate_deposits

    deposit = np.array([1.0, 1.2, 0.9, 10.0, 9.0, 11.0])
    true = np.array([2.0, 2.0, 2.0, 10.0, 10.0, 10.0])
    cls = np.array([2, 2, 2, 3, 3, 3])
    out = calibrate_deposits(deposit, true, cls, bins=2, min_entries=1)
    # quantile edges of class 2: 0.9 | 1.0 | 1.2 -> bins {0.9} (response 0.45) and {1.0, 1.2} (median of
    # 0.5 and 0.6: 0.55); class 3: 9 | 10 | 11 -> {9} (0.9) and {10, 11} (1.05)
    assert out[:3] == pytest.approx([1.0 / 0.55, 1.2 / 0.55, 0.9 / 0.45])
    assert out[3:] == pytest.approx([10.0 / 1.05, 9.0 / 0.9, 11.0 / 1.05])
    everything = calibrate_deposits(deposit, true, cls, bins=2, min_entries=10)   # too few: one median per class
    assert everything[:3] == pytest.approx(deposit[:3] / 0.5) and everything[3:] == pytest.approx(deposit[3:])
