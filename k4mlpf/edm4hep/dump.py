"""``python -m k4mlpf dump``: what podio-dump shows, and the full content as podio's JSON.

The JSON has the structure of ``../shared/fixtures/*.expected.json`` (what podio itself reads from
a file): ``{"categories", "datamodels_in_file", "frames": {category: [frame, ...]}}``, a frame being
``{"index", "parameters", "collection_names", "collections"}``. Objects carry every member and every
relation as ``[collection name, index]`` (``null`` for an unset one-to-one relation). A subset
collection's objects are the ObjectIDs it holds, ``{"collectionID", "index"}``, as podio's own
``to_json`` of a subset collection writes them (``elem.id()``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import awkward as ak

from .podio_order import podio_category_order, podio_name_order
from .reader import EDM4hepFile

_UNSET = -2  # podio::ObjectID::invalid


def _is_ref(value) -> bool:
    return isinstance(value, dict) and len(value) == 2 and "index" in value and "collectionID" in value


def _json_value(value, names):
    """Turn one object (nested dicts/lists from awkward) into podio's JSON form."""
    if _is_ref(value):
        if value["index"] == _UNSET and value["collectionID"] == 0:
            return None
        return [names.get(value["collectionID"], value["collectionID"]), value["index"]]
    if isinstance(value, dict):
        return {k: _json_value(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v, names) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return value
    return value


def _subset_entry(ref: dict) -> dict:
    """An element of a subset collection, as podio's JSON writes it: the ObjectID it points to."""
    return {"collectionID": ref["collectionID"], "index": ref["index"]}


def _parse_events(spec: str | Sequence[int] | None, n: int) -> list[int]:
    if spec is None or spec == "all":
        return list(range(n))
    if isinstance(spec, str):
        picked = []
        for part in spec.split(","):
            part = part.strip()
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                picked.extend(range(int(lo), int(hi) + 1))
            elif part:
                picked.append(int(part))
    else:
        picked = [int(i) for i in spec]
    bad = [i for i in picked if not 0 <= i < n]
    if bad:
        raise ValueError(f"event(s) {bad} out of range: the file has {n} events")
    return picked


def file_to_json(f: EDM4hepFile, events: str | Sequence[int] | None = "all",
                 categories: Sequence[str] | None = None) -> dict:
    """Everything podio reads from the file, as podio's JSON (``events`` selects 'events' entries)."""
    names = {info.collection_id: info.name for infos in f.metadata.collections.values()
             for info in infos.values()}
    out = {
        "categories": podio_category_order(f.categories, rntuple=f.is_rntuple),
        "datamodels_in_file": list(f.metadata.datamodels),
        "frames": {},
    }
    for category in categories or f.categories:
        n = f.num_entries(category)
        indices = _parse_events(events, n) if category == "events" else list(range(n))
        infos = f.collections(category)
        frames = []
        for index in indices:
            arrays = f.arrays(list(infos), category=category, entry_start=index, entry_stop=index + 1,
                              schema="file")
            params = f.parameters(category, entry_start=index, entry_stop=index + 1)[0]
            collections = {}
            for name in sorted(infos):
                info = infos[name]
                objects = ak.to_list(arrays[name][0])
                collections[name] = {
                    "type": info.type,
                    "value_type": info.value_type,
                    "data_type": info.data_type,
                    "id": info.collection_id,
                    "is_subset": info.is_subset,
                    "schema_version": info.schema_version,
                    "size": len(objects),
                    "objects": [_subset_entry(o) for o in objects] if info.is_subset
                    else [_json_value(o, names) for o in objects],
                }
            frames.append({
                "index": index,
                "parameters": params,
                "collection_names": podio_name_order(list(infos)),
                "collections": collections,
            })
        out["frames"][category] = frames
    return out


def _datamodel_label(f: EDM4hepFile, name: str) -> str:
    version = f.metadata.datamodel_versions.get(name)
    schema = f.metadata.datamodel_definition(name).get("schema_version", "?")
    return f"{name} {'.'.join(map(str, version)) if version else '(version not stored)'} (schema {schema})"


def summary(f: EDM4hepFile, events: str | Sequence[int] | None = None) -> str:
    """A podio-dump-like text overview: file facts, then collections with per-event sizes."""
    lines = [f"input file: {f.path}",
             f"  format: {'RNTuple' if f.is_rntuple else 'TTree'}; podio "
             f"{'.'.join(map(str, f.metadata.podio_version or ())) or '?'}; datamodels: "
             + ", ".join(_datamodel_label(f, name) for name in f.metadata.datamodels),
             "  categories: " + ", ".join(f"{c} ({f.num_entries(c)} entries)" for c in f.categories)]
    n = f.num_entries("events") if "events" in f.categories else 0
    indices = _parse_events(events, n) if events is not None else list(range(min(n, 1)))
    infos = f.collections("events") if "events" in f.categories else {}
    for index in indices:
        arrays = f.arrays(list(infos), entry_start=index, entry_stop=index + 1, schema="file")
        lines.append(f"\nevent {index}:")
        labels = {name: name + (" (s)" if info.is_subset else "") for name, info in infos.items()}
        width = max((len(label) for label in labels.values()), default=4)
        title = "Name (s = subset collection)" if any(i.is_subset for i in infos.values()) else "Name"
        width = max(width, len(title))
        lines.append(f"  {title:<{width}}  {'ValueType':<60} {'Size':>6}  {'ID':>10}  schema")
        for name in sorted(infos):
            info = infos[name]
            size = len(arrays[name][0])
            lines.append(f"  {labels[name]:<{width}}  {info.value_type:<60} {size:>6}  {info.collection_id:>10}  "
                         f"{info.schema_version}")
    return "\n".join(lines)
