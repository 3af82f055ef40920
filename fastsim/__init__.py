"""Parametric fast simulation of CLD / CLICdet writing EDM4hep REC files (see DESIGN.md)."""
