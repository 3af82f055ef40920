"""k4mlpf: machine-learned particle-flow reconstruction for Key4hep."""

__version__ = "0.1.0"
