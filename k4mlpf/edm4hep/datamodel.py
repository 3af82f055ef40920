"""EDM4hep 1.x type definitions and their memory layout, for writing podio's layout.

The definitions use podio's own datamodel-definition structure (the JSON that podio stores in
``podio_metadata/EDMDefinitions``): ``components`` and ``datatypes`` with ``Members``,
``VectorMembers``, ``OneToOneRelations`` and ``OneToManyRelations`` written as
``"<type> <name>"``. The built-in set covers what k4mlpf writes; a file's own definitions can be
merged in (:meth:`Registry.with_definition`) so that any collection of a current EDM4hep file can be
copied. From a definition this module derives

* the C++ declaration of each ``...Data`` struct, in podio's member order (members, then
  ``<vector member>_begin/_end``, then ``<one-to-many>_begin/_end``), declared to ROOT by the writer;
* the matching numpy aligned dtype, so whole columns are copied into ``std::vector<XData>`` with one
  ``memcpy`` per event and branch.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import numpy as np

SCHEMA_VERSION = 6  # EDM4hep 1.0/1.1
EDM4HEP_VERSION = (1, 1, 0)
PODIO_VERSION = (1, 7, 0)  # the podio release whose layout is written (CollectionWriteInfo, LinkData)
LINK_SCHEMA_VERSION = 1

_V3F = ["float x", "float y", "float z"]
BUILTIN_DEFINITION: dict = {
    "options": {"getSyntax": True, "exposePODMembers": False, "includeSubfolder": "edm4hep/"},
    "schema_version": SCHEMA_VERSION,
    "components": {
        "edm4hep::Vector3f": {"Members": _V3F},
        "edm4hep::Vector3d": {"Members": ["double x", "double y", "double z"]},
        "edm4hep::Vector2i": {"Members": ["std::int32_t a", "std::int32_t b"]},
        "edm4hep::Vector2f": {"Members": ["float a", "float b"]},
        "edm4hep::Vector4f": {"Members": ["float x", "float y", "float z", "float t"]},
        "edm4hep::CovMatrix2f": {"Members": ["std::array<float, 3> values"]},
        "edm4hep::CovMatrix3f": {"Members": ["std::array<float, 6> values"]},
        "edm4hep::CovMatrix4f": {"Members": ["std::array<float, 10> values"]},
        "edm4hep::CovMatrix6f": {"Members": ["std::array<float, 21> values"]},
        "edm4hep::Quantity": {"Members": ["std::int32_t type", "float value", "float error"]},
        "edm4hep::TrackState": {"Members": [
            "std::int32_t location", "float D0", "float phi", "float omega", "float Z0",
            "float tanLambda", "float time", "edm4hep::Vector3f referencePoint",
            "edm4hep::CovMatrix6f covMatrix"]},
    },
    "datatypes": {
        "edm4hep::EventHeader": {
            "Members": ["std::uint64_t eventNumber", "std::uint32_t runNumber", "std::uint64_t timeStamp",
                        "double weight"],
            "VectorMembers": ["double weights"]},
        "edm4hep::MCParticle": {
            "Members": ["std::int32_t PDG", "std::int32_t generatorStatus", "std::int32_t simulatorStatus",
                        "float charge", "float time", "double mass", "edm4hep::Vector3d vertex",
                        "edm4hep::Vector3d endpoint", "edm4hep::Vector3d momentum",
                        "edm4hep::Vector3d momentumAtEndpoint", "std::int32_t helicity{9}"],
            "OneToManyRelations": ["edm4hep::MCParticle parents", "edm4hep::MCParticle daughters"]},
        "edm4hep::SimTrackerHit": {
            "Members": ["std::uint64_t cellID", "float eDep", "float time", "float pathLength", "std::int32_t quality",
                        "edm4hep::Vector3d position", "edm4hep::Vector3f momentum"],
            "OneToOneRelations": ["edm4hep::MCParticle particle"]},
        "edm4hep::CaloHitContribution": {
            "Members": ["std::int32_t PDG", "float energy", "float time", "edm4hep::Vector3f stepPosition",
                        "float stepLength"],
            "OneToOneRelations": ["edm4hep::MCParticle particle"]},
        "edm4hep::SimCalorimeterHit": {
            "Members": ["std::uint64_t cellID", "float energy", "edm4hep::Vector3f position"],
            "OneToManyRelations": ["edm4hep::CaloHitContribution contributions"]},
        "edm4hep::RawCalorimeterHit": {
            "Members": ["std::uint64_t cellID", "std::int32_t amplitude", "std::int32_t timeStamp"]},
        "edm4hep::TrackerHit3D": {
            "Members": ["std::uint64_t cellID", "std::int32_t type", "std::int32_t quality", "float time", "float eDep",
                        "float eDepError", "edm4hep::Vector3d position", "edm4hep::CovMatrix3f covMatrix"]},
        "edm4hep::TrackerHitPlane": {
            "Members": ["std::uint64_t cellID", "std::int32_t type", "std::int32_t quality", "float time", "float eDep",
                        "float eDepError", "edm4hep::Vector2f u", "edm4hep::Vector2f v", "float du", "float dv",
                        "edm4hep::Vector3d position", "edm4hep::CovMatrix3f covMatrix"]},
        "edm4hep::SenseWireHit": {
            "Members": ["std::uint64_t cellID", "std::int32_t type", "std::int32_t quality", "float time", "float eDep",
                        "float eDepError", "float wireStereoAngle", "float wireAzimuthalAngle",
                        "edm4hep::Vector3d position", "double positionAlongWireError", "float distanceToWire",
                        "float distanceToWireError"],
            "VectorMembers": ["std::uint16_t nElectrons"]},
        "edm4hep::RawTimeSeries": {
            "Members": ["std::uint64_t cellID", "std::int32_t quality", "float time", "float charge", "float interval"],
            "VectorMembers": ["std::int32_t adcCounts"]},
        "edm4hep::TimeSeries": {
            "Members": ["std::uint64_t cellID", "float time", "float interval"],
            "VectorMembers": ["float amplitude"]},
        "edm4hep::GeneratorEventParameters": {
            "Members": ["double sqrts", "std::array<double, 2> beamsPz", "std::array<int, 2> partonIds",
                        "std::array<float, 2> beamPolarizations"],
            "VectorMembers": ["double crossSections", "double crossSectionErrors", "double weights"],
            "OneToManyRelations": ["edm4hep::MCParticle signalVertexParticles"]},
        "edm4hep::Track": {
            "Members": ["std::int32_t type", "float chi2", "std::int32_t ndf", "std::int32_t Nholes"],
            "VectorMembers": ["std::int32_t subdetectorHitNumbers", "std::int32_t subdetectorHoleNumbers",
                              "edm4hep::TrackState trackStates"],
            "OneToManyRelations": ["edm4hep::TrackerHit trackerHits", "edm4hep::Track tracks"]},
        "edm4hep::RecDqdx": {
            "Members": ["edm4hep::Quantity dQdx"],
            "OneToOneRelations": ["edm4hep::Track track"]},
        "edm4hep::CalorimeterHit": {
            "Members": ["std::uint64_t cellID", "float energy", "float energyError", "float time",
                        "edm4hep::Vector3f position", "std::int32_t type"]},
        "edm4hep::Cluster": {
            "Members": ["std::int32_t type", "float energy", "float energyError", "edm4hep::Vector3f position",
                        "edm4hep::CovMatrix3f positionError", "float iTheta", "float iPhi",
                        "edm4hep::Vector3f directionError"],
            "VectorMembers": ["float shapeParameters", "float subdetectorEnergies"],
            "OneToManyRelations": ["edm4hep::Cluster clusters", "edm4hep::CalorimeterHit hits"]},
        "edm4hep::ReconstructedParticle": {
            "Members": ["std::int32_t PDG", "float energy", "edm4hep::Vector3f momentum",
                        "edm4hep::Vector3f referencePoint", "float charge", "float mass", "float goodnessOfPID",
                        "edm4hep::CovMatrix4f covMatrix"],
            "OneToOneRelations": ["edm4hep::Vertex decayVertex"],
            "OneToManyRelations": ["edm4hep::Cluster clusters", "edm4hep::Track tracks",
                                   "edm4hep::ReconstructedParticle particles"]},
        "edm4hep::ParticleID": {
            "Members": ["std::int32_t type", "std::int32_t PDG", "std::int32_t algorithmType", "float likelihood"],
            "VectorMembers": ["float parameters"],
            "OneToOneRelations": ["edm4hep::ReconstructedParticle particle"]},
        "edm4hep::Vertex": {
            "Members": ["std::uint32_t type", "float chi2", "std::int32_t ndf", "edm4hep::Vector3f position",
                        "edm4hep::CovMatrix3f covMatrix", "std::int32_t algorithmType"],
            "VectorMembers": ["float parameters"],
            "OneToManyRelations": ["edm4hep::ReconstructedParticle particles"]},
    },
    "interfaces": {"edm4hep::TrackerHit": {
        "Members": ["std::uint64_t cellID", "std::int32_t type", "std::int32_t quality", "float time", "float eDep",
                    "float eDepError", "edm4hep::Vector3d position"],
        "Types": ["edm4hep::TrackerHit3D", "edm4hep::TrackerHitPlane", "edm4hep::SenseWireHit"]}},
    "links": {
        "edm4hep::RecoMCParticleLink": {"From": "edm4hep::ReconstructedParticle", "To": "edm4hep::MCParticle"},
        "edm4hep::CaloHitMCParticleLink": {"From": "edm4hep::CalorimeterHit", "To": "edm4hep::MCParticle"},
        "edm4hep::ClusterMCParticleLink": {"From": "edm4hep::Cluster", "To": "edm4hep::MCParticle"},
        "edm4hep::TrackMCParticleLink": {"From": "edm4hep::Track", "To": "edm4hep::MCParticle"},
        "edm4hep::CaloHitSimCaloHitLink": {"From": "edm4hep::CalorimeterHit", "To": "edm4hep::SimCalorimeterHit"},
        "edm4hep::TrackerHitSimTrackerHitLink": {"From": "edm4hep::TrackerHit", "To": "edm4hep::SimTrackerHit"},
        "edm4hep::VertexRecoParticleLink": {"From": "edm4hep::Vertex", "To": "edm4hep::ReconstructedParticle"},
    },
}

_MEMBER = re.compile(r"^(?P<type>.+?)\s+(?P<name>[A-Za-z_]\w*)\s*(?P<default>\{[^}]*\})?\s*(?:\[[^\]]*\])?\s*$")
_ARRAY = re.compile(r"^std::array<\s*(?P<type>[^,]+?)\s*,\s*(?P<n>\d+)\s*>$")
_SCALARS = {
    "std::int8_t": "i1", "int8_t": "i1", "std::uint8_t": "u1", "uint8_t": "u1",
    "std::int16_t": "i2", "int16_t": "i2", "short": "i2", "std::uint16_t": "u2", "uint16_t": "u2",
    "std::int32_t": "i4", "int32_t": "i4", "int": "i4", "std::uint32_t": "u4", "uint32_t": "u4",
    "unsigned int": "u4", "std::int64_t": "i8", "int64_t": "i8", "std::uint64_t": "u8", "uint64_t": "u8",
    "unsigned long": "u8", "long": "i8", "float": "f4", "double": "f8", "bool": "?",
}


@dataclass(frozen=True)
class Member:
    type: str
    name: str
    default: str | None = None


def parse_member(text: str) -> Member:
    """``"std::int32_t helicity{9} // comment"`` -> Member('std::int32_t', 'helicity', '9')."""
    text = text.split("//", 1)[0].strip()
    match = _MEMBER.match(text)
    if not match:
        raise ValueError(f"cannot parse datamodel member {text!r}")
    default = match.group("default")
    return Member(match.group("type").strip(), match.group("name"), default[1:-1] if default else None)


@dataclass
class DataLayout:
    """How one collection type is stored: the Data struct and its satellite branches."""

    collection_type: str
    data_type: str  # C++ name of the stored struct, e.g. "edm4hep::ClusterData"
    dtype: np.dtype  # aligned numpy twin of the struct
    members: list[Member]  # plain members (components expanded by the dtype)
    vector_members: list[Member] = field(default_factory=list)
    one_to_many: list[Member] = field(default_factory=list)
    one_to_one: list[Member] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    defaults: dict = field(default_factory=dict)  # member name -> default value
    user_data: bool = False  # podio::UserDataCollection<T>: a plain vector<T>
    subset: bool = False  # a subset collection: only '<name>_objIdx' (vector<podio::ObjectID>)


class Registry:
    """Known components and datatypes (built-in EDM4hep 1.x, plus any merged file definition)."""

    def __init__(self, definition: dict | None = None, schema_versions: dict | None = None):
        self.definition = json.loads(json.dumps(definition or BUILTIN_DEFINITION))
        # datatypes taken over from another definition keep that definition's schema version
        self.schema_versions = dict(schema_versions or {})

    def with_definition(self, other: dict) -> "Registry":
        """A registry that also knows the components/datatypes/links that only ``other`` defines.

        Types this registry already has keep their definition (today's EDM4hep layout wins);
        datatypes taken over keep the schema version of ``other``.
        """
        merged = json.loads(json.dumps(self.definition))
        versions = dict(self.schema_versions)
        for section in ("components", "datatypes", "links", "interfaces"):
            for name, value in (other.get(section) or {}).items():
                if name not in merged.setdefault(section, {}):
                    merged[section][name] = value
                    if section == "datatypes" and "schema_version" in other:
                        versions[name] = int(other["schema_version"])
        return Registry(merged, versions)

    def knows(self, collection_type: str) -> bool:
        """Whether :meth:`layout` can describe this collection type."""
        return collection_type.startswith(("podio::LinkCollection<", "podio::UserDataCollection<")) or \
            collection_type.removesuffix("Collection") in self.definition["datatypes"]

    # -- numpy / C++ views ---------------------------------------------------------------------
    def numpy_type(self, cpp_type: str):
        cpp_type = cpp_type.strip()
        if cpp_type in _SCALARS:
            return np.dtype(_SCALARS[cpp_type])
        array = _ARRAY.match(cpp_type)
        if array:
            return (self.numpy_type(array.group("type")), (int(array.group("n")),))
        if cpp_type in self.definition["components"]:
            return self.component_dtype(cpp_type)
        raise KeyError(f"unknown datamodel type {cpp_type!r}")

    def component_dtype(self, name: str) -> np.dtype:
        members = [parse_member(m) for m in self.definition["components"][name]["Members"]]
        return _aligned([(m.name, self.numpy_type(m.type)) for m in members])

    def layout(self, collection_type: str) -> DataLayout:
        """Layout of ``edm4hep::XCollection`` or ``podio::LinkCollection<A,B>``."""
        if collection_type.startswith("podio::LinkCollection<"):
            return DataLayout(collection_type, "podio::LinkData", _aligned([("weight", np.dtype("f4"))]),
                              [Member("float", "weight")],
                              one_to_one=[Member("", "from"), Member("", "to")],
                              schema_version=LINK_SCHEMA_VERSION, defaults={"weight": 1.0})
        if collection_type.startswith("podio::UserDataCollection<"):
            element = collection_type[len("podio::UserDataCollection<"):-1]
            return DataLayout(collection_type, element, np.dtype(_SCALARS[element]), [],
                              schema_version=1, user_data=True)
        value_type = collection_type.removesuffix("Collection")
        spec = self.definition["datatypes"].get(value_type)
        if spec is None:
            raise KeyError(f"no datamodel definition for {collection_type!r}")
        members = [parse_member(m) for m in spec.get("Members", [])]
        vectors = [parse_member(m) for m in spec.get("VectorMembers", [])]
        many = [parse_member(m) for m in spec.get("OneToManyRelations", [])]
        one = [parse_member(m) for m in spec.get("OneToOneRelations", [])]
        fields = [(m.name, self.numpy_type(m.type)) for m in members]
        for m in vectors + many:
            fields += [(f"{m.name}_begin", np.dtype("u4")), (f"{m.name}_end", np.dtype("u4"))]
        defaults = {m.name: float(m.default) if "." in m.default else int(m.default)
                    for m in members if m.default}
        return DataLayout(collection_type, value_type + "Data", _aligned(fields), members, vectors, many, one,
                          schema_version=self.schema_versions.get(
                              value_type, int(self.definition.get("schema_version", SCHEMA_VERSION))),
                          defaults=defaults)

    PRELUDE = "\n".join([
        "#include <array>", "#include <cstdint>", "#include <cstring>", "#include <string>",
        "#include <tuple>", "#include <vector>",
        "namespace podio {",
        "struct ObjectID { int index{-2}; std::uint32_t collectionID{0}; };",
        "struct LinkData { float weight{1.f}; };",
        "namespace version { struct Version { std::uint16_t major{0}; std::uint16_t minor{0}; "
        "std::uint16_t patch{0}; }; }",
        "namespace root_utils { struct CollectionWriteInfo { std::uint32_t collectionID{0}; "
        "std::string dataType{}; bool isSubset{false}; unsigned int schemaVersion{0}; "
        "std::string name{}; std::string storageType{}; }; }",
        "}",
        "template <class T> void k4mlpf_assign(std::vector<T>& v, std::uintptr_t buffer, std::size_t n) "
        "{ v.resize(n); if (n) std::memcpy((void*)v.data(), (const void*)buffer, n * sizeof(T)); }",
        # type-erased twin, so that one C++ loop can fill branches of every type
        "template <class T> void k4mlpf_assign_erased(void* v, std::uintptr_t buffer, std::size_t n) "
        "{ k4mlpf_assign(*static_cast<std::vector<T>*>(v), buffer, n); }",
        "using k4mlpf_assign_fn = void (*)(void*, std::uintptr_t, std::size_t);",
        # all events of a chunk: for each event, each column's slice into its vector, then Fill
        "#include \"TTree.h\"",
        "long long k4mlpf_fill_events(TTree* tree, int n_columns, const std::uint64_t* functions, "
        "const std::uint64_t* vectors, const std::uint64_t* bases, const std::uint64_t* item_sizes, "
        "const std::uint64_t* offsets, long long n_events) { "
        "for (long long e = 0; e < n_events; ++e) { "
        "for (int c = 0; c < n_columns; ++c) { "
        "const long long* off = reinterpret_cast<const long long*>(offsets[c]); "
        "reinterpret_cast<k4mlpf_assign_fn>(functions[c])(reinterpret_cast<void*>(vectors[c]), "
        "bases[c] + off[e] * item_sizes[c], static_cast<std::size_t>(off[e + 1] - off[e])); } "
        "if (tree->Fill() < 0) return e; } return n_events; }",
    ])

    def cpp_structs(self) -> list[tuple[str, str]]:
        """(class name, C++ declaration) of every component and ``...Data`` struct, dependencies first."""
        out = []
        for name in _dependency_order(self.definition["components"]):
            members = [parse_member(m) for m in self.definition["components"][name]["Members"]]
            out.append((name, _struct(name, [(m.type, m.name, m.default) for m in members])))
        for name, spec in self.definition["datatypes"].items():
            members = [parse_member(m) for m in spec.get("Members", [])]
            entries = [(m.type, m.name, m.default) for m in members]
            for m in [parse_member(m) for m in spec.get("VectorMembers", []) + spec.get("OneToManyRelations", [])]:
                entries += [("unsigned int", f"{m.name}_begin", None), ("unsigned int", f"{m.name}_end", None)]
            out.append((name + "Data", _struct(name + "Data", entries)))
        return out

    def cpp_type_names(self) -> list[str]:
        """Every declared class, components first (ROOT needs their TClass before the containers)."""
        return (["podio::ObjectID", "podio::LinkData", "podio::version::Version",
                 "podio::root_utils::CollectionWriteInfo"]
                + _dependency_order(self.definition["components"])
                + [name + "Data" for name in self.definition["datatypes"]])

    def definition_json(self) -> str:
        return json.dumps(self.definition)


def _aligned(fields) -> np.dtype:
    return np.dtype([(n, t) for n, t in fields], align=True)


def _struct(qualified: str, entries) -> str:
    namespace, _, name = qualified.rpartition("::")
    body = " ".join(f"{'::' + t if '::' in t and not t.startswith('std::') else t} {n}"
                    f"{{{d if d is not None else ''}}};" for t, n, d in entries)
    return f"namespace {namespace} {{ struct {name} {{ {body} }}; }}"


def _dependency_order(components: dict) -> list[str]:
    done: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        for member in components[name]["Members"]:
            dep = parse_member(member).type
            array = _ARRAY.match(dep)
            dep = array.group("type") if array else dep
            if dep in components:
                visit(dep)
        done.append(name)

    for component in components:
        visit(component)
    return done
