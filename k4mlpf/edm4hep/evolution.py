"""Schema evolution on write: the collections of any EDM4hep file in today's EDM4hep 1.x layout.

A file of EDM4hep 0.10, 0.99 or a development version is copied (``output.copy_with_additions``)
into the layout that current podio/EDM4hep read. What the file's own datamodel definition
(``podio_metadata/EDMDefinitions``) says about each type drives the conversion:

* renamed members take their new name (Cluster ``phi`` -> ``iPhi``, ReconstructedParticle ``type``
  -> ``PDG`` and ``startVertex`` -> ``decayVertex``, SimTrackerHit ``EDep`` -> ``eDep``, ...);
* members whose layout changed are converted (``std::array<float, N>`` covariances ->
  ``CovMatrixNf``, float vectors -> double vectors, Vertex ``primary`` -> the ``type`` bit);
* EDM4hep 0.99's link datatypes and 0.10's associations become ``podio::LinkCollection<From,To>``
  (types read from the definition's relations, ``rec``/``sim`` -> ``from``/``to``);
* what moved to another collection is moved: Track ``dEdx``/``dEdxError`` -> a ``RecDqdx``
  collection ``<tracks>_dQdx``, Vertex ``associatedParticle`` -> a link collection
  ``<vertices>_associatedParticles`` (as the LCIO-to-EDM4hep converter names them);
* subset collections stay subset collections (of the converted type);
* what has no place in EDM4hep 1.x (Track ``radiusOfInnermostHit``, MCParticle ``spin``, the 0.10
  ``particleIDs`` relations, ...) is dropped and named: :attr:`Conversion.dropped` collects
  ``"collection.member"`` and the caller warns once.

Vectorized: each collection of a chunk is rebuilt column by column with awkward (no per-object loop).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import awkward as ak
import numpy as np

from .datamodel import Registry, parse_member
from .metadata import CollectionInfo
from .refs import refs

# member renames between EDM4hep versions (old name -> today's), by value type
MEMBER_RENAMES = {
    "edm4hep::Cluster": {"phi": "iPhi"},
    "edm4hep::ReconstructedParticle": {"type": "PDG", "startVertex": "decayVertex"},
    "edm4hep::SimTrackerHit": {"EDep": "eDep", "MCParticle": "particle", "mcparticle": "particle"},
    "edm4hep::TrackerHit3D": {"EDep": "eDep", "EDepError": "eDepError"},
    "edm4hep::TrackerHitPlane": {"EDep": "eDep", "EDepError": "eDepError"},
}
# datatypes renamed between EDM4hep versions (0.10's TrackerHit is 1.x's TrackerHit3D)
TYPE_RENAMES = {"edm4hep::TrackerHit": "edm4hep::TrackerHit3D"}
_BIT_PRIMARY_VERTEX = 1  # edm4hep::Vertex::BITPrimaryVertex


@dataclass
class _Plan:
    name: str
    source_type: str  # value type in the file
    target: str  # today's collection type
    subset: bool
    link_ends: tuple[str, str] | None = None  # source fields that become "from" and "to"
    identity: bool = False  # the file's layout is today's: written as read


@dataclass
class Conversion:
    """How every collection of one file is written in today's layout."""

    registry: Registry
    plans: dict[str, _Plan]
    taken: set[str]  # names of every input collection (new collections must not clash)
    dropped: set[str] = field(default_factory=set)

    @property
    def types(self) -> dict[str, str]:
        return {name: plan.target for name, plan in self.plans.items()}

    @property
    def subsets(self) -> set[str]:
        return {name for name, plan in self.plans.items() if plan.subset}

    def apply(self, chunk: dict[str, ak.Array]) -> tuple[dict[str, ak.Array], dict[str, str]]:
        """Today's layout of a chunk read with ``schema="file"``: (collections, types).

        The result may hold more collections than the input (members moved to collections of their
        own); their types are in the second dict.
        """
        out, types = {}, {}
        for name, array in chunk.items():
            plan = self.plans.get(name)
            if plan is None:
                continue
            if plan.subset or plan.identity or plan.target.startswith("podio::UserDataCollection<"):
                out[name], types[name] = array, plan.target
                continue
            converted, extra = self._convert(plan, array)
            out[name], types[name] = converted, plan.target
            for extra_name, (extra_array, extra_type) in extra.items():
                out[extra_name], types[extra_name] = extra_array, extra_type
        return out, types

    # -- one collection ----------------------------------------------------------------------------
    def _convert(self, plan: _Plan, objects: ak.Array):
        layout = self.registry.layout(plan.target)
        fields = list(ak.fields(objects))
        extra: dict[str, tuple[ak.Array, str]] = {}
        if plan.link_ends is not None:
            rename = {plan.link_ends[0]: "from", plan.link_ends[1]: "to"}
        else:
            rename = dict(MEMBER_RENAMES.get(_value_type(plan.target), {}))
        kinds = {m.name: ("member", m.type) for m in layout.members}
        kinds.update({m.name: ("vector", m.type) for m in layout.vector_members})
        kinds.update({m.name: ("relation", None) for m in layout.one_to_many + layout.one_to_one})
        record, converted = {}, set()
        for (value_type, source), (target, convert) in _CONVERTERS.items():
            if value_type == _value_type(plan.target) and source in fields and target not in fields:
                record[target] = convert(objects)
                converted.add(source)
        for source in fields:
            if source in converted:
                continue
            target = rename.get(source, source)
            if target not in kinds or target in record:
                if not self._moved(plan, source, objects, extra):
                    self.dropped.add(f"{plan.name}.{source}")
                continue
            kind, cpp_type = kinds[target]
            value = objects[source]
            if kind != "relation":
                value = self._conform(value, cpp_type, f"{plan.name}.{source}")
                if value is None:
                    continue
            record[target] = value
        if not record:
            return ak.Array([[]] * len(objects)) if len(objects) else objects, extra
        return ak.zip(record, depth_limit=2), extra

    def _moved(self, plan: _Plan, member: str, objects: ak.Array, extra: dict) -> bool:
        """Members that moved to a collection of their own (True when taken care of)."""
        value_type = _value_type(plan.target)
        if value_type == "edm4hep::Track" and member in ("dEdx", "dEdxError"):
            name = f"{plan.name}_dQdx"
            if name in self.taken:  # the file already has its RecDqdx collection
                return False
            if name not in extra:
                error = objects["dEdxError"] if "dEdxError" in ak.fields(objects) else objects["dEdx"] * 0
                dqdx = ak.zip({"type": ak.values_astype(objects["dEdx"] * 0, np.int32),
                               "value": objects["dEdx"], "error": error}, depth_limit=2)
                track = refs(plan.name, ak.local_index(objects["dEdx"], axis=1))
                extra[name] = (ak.zip({"dQdx": dqdx, "track": track}, depth_limit=2),
                               "edm4hep::RecDqdxCollection")
            return True
        if value_type == "edm4hep::Vertex" and member == "associatedParticle":
            name = f"{plan.name}_associatedParticles"
            if name in self.taken:
                return False
            to = objects["associatedParticle"]
            keep = to.index >= 0
            vertex = refs(plan.name, ak.local_index(to.index, axis=1))
            link = ak.zip({"weight": ak.values_astype(to.index[keep] * 0 + 1, np.float32),
                           "from": vertex[keep], "to": to[keep]}, depth_limit=2)
            extra[name] = (link, "podio::LinkCollection<edm4hep::Vertex,edm4hep::ReconstructedParticle>")
            return True
        return False

    def _conform(self, value: ak.Array, cpp_type: str, what: str):
        """``value`` shaped like the target member type (a component, array or number); None: dropped."""
        components = self.registry.definition["components"]
        element = cpp_type.strip()
        if element in components:
            members = [parse_member(m) for m in components[element]["Members"]]
            subfields = ak.fields(value)
            if not subfields:
                if len(members) == 1 and members[0].type.startswith("std::array<"):
                    depth = value.ndim - 1  # e.g. std::array<float, 10> -> CovMatrix4f {values}
                    return ak.zip({members[0].name: value}, depth_limit=depth)
                self.dropped.add(what)
                return None
            names = {m.name: m.type for m in members}
            out = {}
            for sub in subfields:
                if sub not in names:
                    self.dropped.add(f"{what}.{sub}")
                    continue
                converted = self._conform(value[sub], names[sub], f"{what}.{sub}")
                if converted is not None:
                    out[sub] = converted
            if not out:
                self.dropped.add(what)
                return None
            return ak.zip(out, depth_limit=value.ndim)
        if ak.fields(value):  # a record where today's type is a number
            self.dropped.add(what)
            return None
        return value


def _value_type(collection_type: str) -> str:
    return collection_type.removesuffix("Collection")


def _relations(spec: dict) -> list[tuple[str, str]]:
    return [(parse_member(m).type, parse_member(m).name) for m in spec.get("OneToOneRelations") or []]


def _link_target(registry: Registry, ends: list[tuple[str, str]]) -> tuple[str, tuple[str, str]] | None:
    """Today's link type for an old link/association with relations ``ends`` [(type, name), ...].

    Returns (collection type, (source field of 'from', source field of 'to')). 0.10 associations
    point ``rec`` -> ``sim``; where today's link goes the other way (Vertex -> ReconstructedParticle)
    the ends are swapped; a datatype that implements an interface (TrackerHitPlane) links as the
    interface (TrackerHit).
    """
    if len(ends) != 2:
        return None
    names = [n for _, n in ends]
    if set(names) == {"from", "to"}:
        ends = sorted(ends, key=lambda e: e[1] != "from")
    elif "rec" in names:
        ends = sorted(ends, key=lambda e: e[1] != "rec")
    known = {(v["From"], v["To"]) for v in (registry.definition.get("links") or {}).values()}
    interfaces = registry.definition.get("interfaces") or {}

    def general(t: str) -> str:
        return next((i for i, spec in interfaces.items() if t in spec.get("Types", [])), t)

    (ta, na), (tb, nb) = ends
    for a, b, fields in ((ta, tb, (na, nb)), (tb, ta, (nb, na))):
        for a2, b2 in ((a, b), (general(a), general(b))):
            if (a2, b2) in known:
                return f"podio::LinkCollection<{a2},{b2}>", fields
    return f"podio::LinkCollection<{ta},{tb}>", (na, nb)


def plan_conversion(infos: dict[str, CollectionInfo], definition: dict, dropped_types: set[str]) -> Conversion:
    """Plan today's layout for collections ``infos`` of a file whose EDM4hep definition is ``definition``.

    Collections of a type neither today's EDM4hep nor the file defines are left out and their names
    added to ``dropped_types``.
    """
    old_types = definition.get("datatypes") or {}
    interfaces = set(Registry().definition.get("interfaces") or {})
    # types renamed since (0.10's TrackerHit datatype is today's interface) are not taken over
    carried = dict(definition, datatypes={k: v for k, v in old_types.items()
                                          if k not in TYPE_RENAMES and k not in interfaces})
    registry = Registry().with_definition(carried)
    plans = {}
    for name, info in infos.items():
        ctype = info.type
        value = info.value_type
        link_ends = None
        if ctype.startswith(("podio::LinkCollection<", "podio::UserDataCollection<")):
            target = ctype
            link_ends = ("from", "to") if info.is_link else None
        elif info.is_link and value in old_types:  # 0.99 link datatype or 0.10 association
            found = _link_target(registry, _relations(old_types[value]))
            if found is None:
                dropped_types.add(name)
                continue
            target, link_ends = found
        else:
            target = TYPE_RENAMES.get(value, value) + "Collection"
        if not registry.knows(target):
            dropped_types.add(name)
            continue
        identity = (target == ctype and link_ends in (None, ("from", "to")) and
                    (ctype.startswith("podio::") or _same_layout(definition, registry, value)))
        plans[name] = _Plan(name, info.value_type, target, info.is_subset, link_ends, identity)
    return Conversion(registry, plans, set(infos))


def _same_layout(definition: dict, registry: Registry, value_type: str) -> bool:
    """Whether the file's definition of a datatype is today's: the same members, vector members and
    relations, in the same order, of components that are themselves the same (recursively)."""
    spec = (definition.get("datatypes") or {}).get(value_type)
    today = registry.definition["datatypes"].get(value_type)
    if spec is None or today is None:
        return False
    sections = ("Members", "VectorMembers", "OneToOneRelations", "OneToManyRelations")
    if any(_entries(spec, sec) != _entries(today, sec) for sec in sections):
        return False
    theirs, ours = definition.get("components") or {}, registry.definition["components"]
    pending = [t for sec in ("Members", "VectorMembers") for t, _ in _entries(today, sec)]
    seen = set()
    while pending:
        name = pending.pop()
        array = name.startswith("std::array<")
        name = name.split("<", 1)[1].split(",", 1)[0].strip() if array else name
        if name in seen or name not in ours:
            continue
        seen.add(name)
        if name not in theirs or _entries(theirs[name], "Members") != _entries(ours[name], "Members"):
            return False
        pending += [t for t, _ in _entries(ours[name], "Members")]
    return True


def _entries(spec: dict, section: str) -> list[tuple[str, str]]:
    return [(parse_member(m).type, parse_member(m).name) for m in spec.get(section) or []]


def _vertex_type_from_primary(objects: ak.Array) -> ak.Array:
    """EDM4hep 0.10 Vertex ``primary`` (int) as today's ``type`` flag word (BITPrimaryVertex)."""
    return ak.values_astype((objects["primary"] != 0) * (1 << _BIT_PRIMARY_VERTEX), np.uint32)


# members converted into another member: (value type, old member) -> (today's member, conversion)
_CONVERTERS = {("edm4hep::Vertex", "primary"): ("type", _vertex_type_from_primary)}
