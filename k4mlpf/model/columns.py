"""The input contract of the MLPF algorithm module: column order of the packed EDM4hep members.

The trainer, the Python reconstruction and the C++ Gaudi algorithm all pack exactly these
columns (float32), so this file is the single source of truth for the layout.
"""

# tracks [T, 13]: helix parameters of the AtIP track state, fit quality, dQ/dx from the
# `<tracks>_dQdx` RecDqdx collection (0 if absent), referencePoint of the AtFirstHit state (0 if absent)
TRACK_COLUMNS = [
    "D0", "phi", "omega", "Z0", "tanLambda", "time",    # AtIP track state (mm, rad, 1/mm, mm, -, ns)
    "chi2", "ndf",
    "dQdx", "dQdxError",                                # RecDqdx.dQdx.value / .error (0 if absent)
    "firstHitX", "firstHitY", "firstHitZ",              # AtFirstHit state referencePoint (mm; 0 if absent)
]

# clusters [C, 6]: edm4hep::Cluster members (GeV, mm, rad)
CLUSTER_COLUMNS = ["energy", "x", "y", "z", "iTheta", "iPhi"]

# hits [H, 6]: the calorimeter hits of the clusters; `cluster` = index of the owning cluster in the event
HIT_COLUMNS = ["energy", "x", "y", "z", "subsystem", "cluster"]
SUBSYSTEM_ECAL, SUBSYSTEM_HCAL, SUBSYSTEM_OTHER = 0, 1, 2  # values of the hit `subsystem` column


def subsystem_of(collection_name: str) -> int:
    """The one rule for a hit's `subsystem`, from the name of its collection: ECAL if the upper-cased
    name contains "ECAL" (ECALBarrel, ECalEndcapCollection), else HCAL if it contains "HCAL", else
    other (MUON, LumiCal, ...). MLPFParticleFlow.cpp's subsystemOf applies the same rule."""
    name = collection_name.upper()
    if "ECAL" in name:
        return SUBSYSTEM_ECAL
    if "HCAL" in name:
        return SUBSYSTEM_HCAL
    return SUBSYSTEM_OTHER

# element types (column 0 of the feature matrix; 0 marks padding)
ELEM_TRACK, ELEM_CLUSTER = 1, 2

# the features built inside the model (k4mlpf.model.features), both blocks padded to N_FEATURES
TRACK_FEATURES = [
    "elemtype", "pt", "eta", "sin_phi", "cos_phi", "p", "chi2", "ndf", "dEdx", "dEdxError",
    "radiusOfInnermostHit", "tanLambda", "D0", "omega", "Z0", "time",
]
CLUSTER_FEATURES = [
    "elemtype", "et", "eta", "sin_phi", "cos_phi", "energy", "x", "y", "z", "iTheta",
    "energy_ecal", "energy_hcal", "energy_other", "num_hits", "sigma_x", "sigma_y", "sigma_z",
]
N_FEATURES = 17  # = len(CLUSTER_FEATURES); the track block carries one zero column at the end

# particle classes: index -> PDG code (unsigned); class 0 = "no particle"
CLASS_PDG = [0, 211, 130, 22, 11, 13]
CLASS_NAMES = ["none", "charged_hadron", "neutral_hadron", "photon", "electron", "muon"]
# the mass [GeV] a particle of each class is written with (PDG 2024 values: pi+-, K0L, photon, e, mu), as
# Pandora and k4PFHitML do; the energy of a charged particle is then sqrt(|p|^2 + m^2), the momentum of
# a neutral one sqrt(E^2 - m^2)
CLASS_MASS = [0.0, 0.13957039, 0.497611, 0.0, 0.51099895e-3, 0.1056583755]
CHARGED_CLASSES = [1, 4, 5]  # allowed for track elements
NEUTRAL_CLASSES = [2, 3]     # allowed for cluster elements
