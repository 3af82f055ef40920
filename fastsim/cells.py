"""Calorimeter cells: which cell a point is in, the cell's centre, and its 64-bit cellID.

Barrel cells are (layer, phi, z) tiles of the card's cell size measured at each layer's radius;
endcap and ring cells are (layer, x, y) squares. cellIDs follow the DD4hep bit field written to the
``<collection>__CellIDEncoding`` metadata: ``system:5,side:-2,module:8,stave:4,layer:9,
submodule:4,x:32:-16,y:-16`` (barrel: x = phi index, y = z index). Hit ``type`` is CHT-like:
caloType (em 0, had 1, muon 2) + 10 caloID (ecal 1, hcal 2, yoke 3) + 1000 layout (barrel 1,
endcap 2, ring 4).
"""

from __future__ import annotations

import numpy as np

CELLID_ENCODING = "system:5,side:-2,module:8,stave:4,layer:9,submodule:4,x:32:-16,y:-16"

#: hit collections in output order: name -> (DD4hep system ID, layout, CHT type)
HIT_COLLECTIONS = {
    "ECALBarrel": (20, "barrel", 0 + 10 * 1 + 1000 * 1),
    "ECALEndcap": (29, "endcap", 0 + 10 * 1 + 1000 * 2),
    "HCALBarrel": (10, "barrel", 1 + 10 * 2 + 1000 * 1),
    "HCALEndcap": (11, "endcap", 1 + 10 * 2 + 1000 * 2),
    "HCALOther": (12, "endcap", 1 + 10 * 2 + 1000 * 4),
    "MUON": (13, "barrel", 2 + 10 * 3 + 1000 * 1),
}
COLLECTION_NAMES = list(HIT_COLLECTIONS)
ECAL_BARREL, ECAL_ENDCAP, HCAL_BARREL, HCAL_ENDCAP, HCAL_OTHER, MUON = range(6)
SYSTEM_IDS = np.array([v[0] for v in HIT_COLLECTIONS.values()], np.uint64)
HIT_TYPES = np.array([v[2] for v in HIT_COLLECTIONS.values()], np.int32)


def _field(value, shift: int, width: int) -> np.ndarray:
    mask = (1 << width) - 1
    return (np.asarray(value).astype(np.int64) & mask).astype(np.uint64) << np.uint64(shift)


def encode_cellid(system, side, layer, x, y) -> np.ndarray:
    """Pack the fields into DD4hep cellIDs (signed fields in two's complement)."""
    return (_field(system, 0, 5) | _field(side, 5, 2) | _field(layer, 19, 9)
            | _field(x, 32, 16) | _field(y, 48, 16))


def decode_field(cellid, shift: int, width: int, signed: bool) -> np.ndarray:
    v = ((np.asarray(cellid, np.uint64) >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int64)
    return np.where(signed & (v >= (1 << (width - 1))), v - (1 << width), v)


def barrel_cells(pos, r_inner, thickness, n_layers, cell, centres: bool = True):
    """(layer, i_phi, i_z, centre) of points in a barrel starting at radius ``r_inner``."""
    r = np.hypot(pos[:, 0], pos[:, 1])
    layer = np.clip(((r - r_inner) / thickness).astype(np.int64), 0, n_layers - 1)
    r_layer = r_inner + (layer + 0.5) * thickness
    n_phi = np.floor(2 * np.pi * r_layer / cell)
    phi = np.arctan2(pos[:, 1], pos[:, 0])
    i_phi = np.minimum(((phi + np.pi) / (2 * np.pi) * n_phi).astype(np.int64), n_phi - 1)
    i_z = np.floor(pos[:, 2] / cell).astype(np.int64)
    centre = np.stack(barrel_centres(layer, i_phi, i_z, r_inner, thickness, cell), 1) if centres else None
    return layer, i_phi, i_z, centre


def barrel_centres(layer, i_phi, i_z, r_inner, thickness, cell):
    r_layer = r_inner + (layer + 0.5) * thickness
    n_phi = np.floor(2 * np.pi * r_layer / cell)
    phi_c = (i_phi + 0.5) / n_phi * 2 * np.pi - np.pi
    return r_layer * np.cos(phi_c), r_layer * np.sin(phi_c), (i_z + 0.5) * cell


def endcap_cells(pos, z_inner, thickness, n_layers, cell, centres: bool = True):
    """(layer, i_x, i_y, side, centre) of points in an endcap starting at |z| = ``z_inner``."""
    side = np.where(pos[:, 2] >= 0, 1, -1)
    layer = np.clip(((np.abs(pos[:, 2]) - z_inner) / thickness).astype(np.int64), 0, n_layers - 1)
    i_x = np.floor(pos[:, 0] / cell).astype(np.int64)
    i_y = np.floor(pos[:, 1] / cell).astype(np.int64)
    centre = np.stack(endcap_centres(layer, i_x, i_y, side, z_inner, thickness, cell), 1) if centres else None
    return layer, i_x, i_y, side, centre


def endcap_centres(layer, i_x, i_y, side, z_inner, thickness, cell):
    return (i_x + 0.5) * cell, (i_y + 0.5) * cell, side * (z_inner + (layer + 0.5) * thickness)


def _specs(card):
    """Collection code -> (layout, start, layer thickness, layers, cell size) of the calorimeters."""
    e, h = card.ecal, card.hcal
    h_thick = h.depth_mm / h.layers
    return {
        ECAL_BARREL: ("b", e.barrel_inner_radius_mm, e.depth_mm / e.layers, e.layers, e.cell_size_mm),
        ECAL_ENDCAP: ("e", e.endcap_inner_z_mm, e.depth_mm / e.layers, e.layers, e.cell_size_mm),
        HCAL_BARREL: ("b", h.barrel_inner_radius_mm, h_thick, h.layers, h.cell_size_mm),
        HCAL_ENDCAP: ("e", h.endcap_inner_z_mm, h_thick, h.layers, h.cell_size_mm),
        HCAL_OTHER: ("e", h.ring_inner_z_mm, h_thick, h.layers, h.cell_size_mm),
    }


def locate(coll, pos, card):
    """cellIDs of points ``pos`` already assigned to hit collection ``coll``, their cell indices
    (arrays layer, x, y, side) and the cell centres of the muon-chamber points (others zero);
    ``cell_centres`` gives the calorimeter cells theirs from the indices.
    """
    cellid = np.zeros(len(coll), np.uint64)
    index = [np.zeros(len(coll), np.int64) for _ in range(4)]
    centre = np.zeros_like(pos)
    for code, (kind, start, thick, n_layers, cell) in _specs(card).items():
        m = np.flatnonzero(coll == code)
        if not len(m):
            continue
        p = np.take(pos, m, axis=0)
        if kind == "b":
            layer, ix, iy, _ = barrel_cells(p, start, thick, n_layers, cell, centres=False)
            side = np.zeros_like(layer)
        else:
            layer, ix, iy, side, _ = endcap_cells(p, start, thick, n_layers, cell, centres=False)
        cellid[m] = encode_cellid(SYSTEM_IDS[code], side, layer, ix, iy)
        for column, value in zip(index, (layer, ix, iy, side)):
            column[m] = value
    m = coll == MUON
    if m.any():
        cellid[m], centre[m] = _muon_cells(pos[m], card.muon)
    return cellid, index, centre


def cell_centres(coll, index, centre, card):
    """Fill ``centre`` of the calorimeter cells of collection ``coll`` from their ``index``
    (layer, x, y, side arrays)."""
    columns = [np.ascontiguousarray(centre[:, i]) for i in range(3)]
    for code, (kind, start, thick, _, cell) in _specs(card).items():
        m = np.flatnonzero(coll == code)
        if not len(m):
            continue
        layer, ix, iy, side = (i[m] for i in index)
        c = (barrel_centres(layer, ix, iy, start, thick, cell) if kind == "b"
             else endcap_centres(layer, ix, iy, side, start, thick, cell))
        for column, value in zip(columns, c):
            column[m] = value
    return np.stack(columns, 1)


def _muon_cells(pos, mu):
    """Muon-chamber hits: barrel layers on cylinders, endcap layers on planes (side != 0)."""
    r = np.hypot(pos[:, 0], pos[:, 1])
    radii, zs = np.asarray(mu.barrel_layer_radius_mm), np.asarray(mu.endcap_layer_z_mm)
    in_barrel = np.abs(pos[:, 2]) <= mu.barrel_half_length_mm
    lb = np.argmin(np.abs(r[:, None] - radii[None]), axis=1)
    le = np.argmin(np.abs(np.abs(pos[:, 2])[:, None] - zs[None]), axis=1)
    _, ipb, izb, cb = barrel_cells(pos, radii[lb] - 1.0, 2.0, 1, mu.cell_size_mm)
    cb[:, :2] *= (radii[lb] / np.hypot(cb[:, 0], cb[:, 1]))[:, None]
    side, ixe, iye = np.where(pos[:, 2] >= 0, 1, -1), None, None
    ixe = np.floor(pos[:, 0] / mu.cell_size_mm).astype(np.int64)
    iye = np.floor(pos[:, 1] / mu.cell_size_mm).astype(np.int64)
    ce = np.stack([(ixe + 0.5) * mu.cell_size_mm, (iye + 0.5) * mu.cell_size_mm, side * zs[le]], 1)
    layer = np.where(in_barrel, lb, le)
    cellid = encode_cellid(SYSTEM_IDS[MUON], np.where(in_barrel, 0, side), layer,
                           np.where(in_barrel, ipb, ixe), np.where(in_barrel, izb, iye))
    return cellid, np.where(in_barrel[:, None], cb, ce)
