"""What a podio file says about itself: categories, collections, types, schema versions.

Three layouts are understood, all through uproot:

* podio >= 1.3 (TTree and RNTuple): ``<category>___CollectionTypeInfo`` is a vector of
  ``podio::root_utils::CollectionWriteInfo`` {collectionID, dataType, isSubset, schemaVersion,
  name, storageType};
* podio < 1.3 (TTree): ``<category>___idTable`` {m_collectionIDs, m_names} plus a tuple-typed
  ``<category>___CollectionTypeInfo`` whose type-name string uproot cannot stream; the type is then
  taken from the data branch's own C++ type (``vector<edm4hep::ClusterData>``);
* EDMDefinitions (every layout): the datamodel's JSON definition, kept for writers and dumps.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

from .errors import EDM4hepError

_VECTOR_OF = re.compile(r"^(?:std::)?vector<\s*(.*?)\s*>$")


@dataclass(frozen=True)
class CollectionInfo:
    """One collection of one category, as podio describes it."""

    name: str
    collection_id: int
    type: str  # e.g. "edm4hep::ClusterCollection", "podio::LinkCollection<A,B>"
    is_subset: bool
    schema_version: int

    @property
    def value_type(self) -> str:
        return value_type_of(self.type)

    @property
    def data_type(self) -> str:
        return data_type_of(self.type)

    @property
    def is_link(self) -> bool:
        """podio links (EDM4hep >= 0.99.2), EDM4hep's own 0.99 link types, and 0.10 associations."""
        return self.type.startswith("podio::LinkCollection<") or _is_link_name(self.type)

    @property
    def is_user_data(self) -> bool:
        return self.type.startswith("podio::UserDataCollection<")


def _is_link_name(collection_type: str) -> bool:
    if not (collection_type.startswith("edm4hep::") and collection_type.endswith("Collection")):
        return False
    base = collection_type.removeprefix("edm4hep::").removesuffix("Collection")
    return base.endswith("Link") or (base.startswith("MCReco") and base.endswith("Association"))


def value_type_of(collection_type: str) -> str:
    """``edm4hep::XCollection`` -> ``edm4hep::X``; LinkCollection -> Link; UserData<T> -> T."""
    if collection_type.startswith("podio::LinkCollection<"):
        return "podio::Link<" + collection_type[len("podio::LinkCollection<"):]
    if collection_type.startswith("podio::UserDataCollection<"):
        return collection_type[len("podio::UserDataCollection<"):-1]
    return collection_type.removesuffix("Collection")


def data_type_of(collection_type: str) -> str:
    """The POD struct podio stores for each object of the collection."""
    if collection_type.startswith("podio::LinkCollection<"):
        return "podio::LinkData"
    if collection_type.startswith("podio::UserDataCollection<"):
        return value_type_of(collection_type)
    return value_type_of(collection_type) + "Data"


_USER_DATA_TYPES = {"float", "double", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t",
                    "uint16_t", "uint32_t", "uint64_t"}


def split_strings(branch, count: int | None = None) -> list[str] | None:
    """The ``count`` strings (None: all) of entry 0 of a split ``std::string`` member of a vector of
    structs (``tuple<...,string,...>._1``, ``CollectionWriteInfo.name``).

    uproot cannot interpret the tuple's branch (its type reads 'unknown'), and for the others it reads
    the file's whole streamer list first (tens of milliseconds), but the bytes are simple: ROOT's
    byte count and version (6 bytes), then each string as a length byte (255: a 4-byte big-endian
    length follows) and its characters. Returns None when the bytes do not parse as exactly
    ``count`` strings, so that a caller can fall back to other evidence.
    """
    try:
        basket = branch.basket(0)
        data = bytes(basket.data)
        offsets = basket.byte_offsets
        end = int(offsets[1]) if offsets is not None and len(offsets) > 1 else len(data)
    except Exception:  # noqa: BLE001 - an unreadable branch only means: no type names from it
        return None
    pos = 6 if data[:1] and data[0] & 0x40 else 0
    out = []
    while count is None and pos < end or count is not None and len(out) < count:
        if pos >= end:
            return None
        length, pos = data[pos], pos + 1
        if length == 255:
            length, pos = int.from_bytes(data[pos:pos + 4], "big"), pos + 4
        out.append(data[pos:pos + length].decode("utf-8", errors="replace"))
        pos += length
    return out if pos == end else None


def collection_type_from_branch_type(typename: str) -> str | None:
    """Recover the collection type from the data branch's C++ type (older podio files)."""
    match = _VECTOR_OF.match(typename.strip())
    if not match:
        return None
    element = match.group(1)
    if element == "podio::LinkData":
        return None  # podio >= 1.2 always writes CollectionWriteInfo, so this is never needed
    if element.endswith("Data"):
        return element[: -len("Data")] + "Collection"
    if element in _USER_DATA_TYPES:
        return f"podio::UserDataCollection<{element}>"
    return None


@dataclass
class FileMetadata:
    """Everything ``podio_metadata`` says, in one place."""

    categories: list[str]
    collections: dict[str, dict[str, CollectionInfo]]  # category -> name -> info
    datamodels: dict[str, str]  # datamodel name -> JSON definition text
    podio_version: tuple[int, int, int] | None
    datamodel_versions: dict[str, tuple[int, int, int]]

    def datamodel_definition(self, name: str = "edm4hep") -> dict:
        text = self.datamodels.get(name)
        return json.loads(text) if text else {}


def _version(meta, first: dict, key: str) -> tuple[int, int, int] | None:
    try:
        return tuple(int(_entry0(meta, first, f"{key}/{part}")) for part in ("major", "minor", "patch"))
    except Exception:  # noqa: BLE001 - a version is decoration, never fatal
        return None


_WRITE_INFO = ("collectionID", "dataType", "isSubset", "schemaVersion", "name")


_STRING_LEAVES = (".dataType", ".name", "EDMDefinitions._0", "EDMDefinitions._1")


def _first_entries(meta, keys: set[str]) -> dict:
    """Entry 0 of every podio >= 1.3 metadata leaf read below, numbers in one read (each separate
    ``branch.array()`` pays uproot's request round trip) and strings decoded by ``split_strings``
    (uproot would first read the file's whole streamer list, which reading the events never needs).
    Leaves that do not parse are left out: they are then read one by one, by uproot."""
    wanted = [k for k in keys if k.rsplit(".", 1)[-1] in _WRITE_INFO and "___CollectionTypeInfo/" in k
              or k in ("EDMDefinitions/EDMDefinitions._0", "EDMDefinitions/EDMDefinitions._1")
              or k.rsplit("/", 1)[-1] in ("major", "minor", "patch")]
    strings = [k for k in wanted if k.endswith(_STRING_LEAVES)]
    numbers = [k for k in wanted if k not in strings]
    try:
        arrays = meta.arrays(numbers, entry_stop=1, library="np", how=dict) if numbers else {}
        first = {k: v[0] for k, v in arrays.items() if len(v)}
    except Exception:  # noqa: BLE001 - e.g. an old layout uproot cannot stream: fall back
        return {}
    for key in strings:
        parsed = split_strings(meta[key])
        ids = first.get(key.rsplit(".", 1)[0] + ".collectionID") if "___CollectionTypeInfo/" in key else None
        if parsed is not None and (ids is None or len(ids) == len(parsed)):
            first[key] = np.array(parsed, dtype=object)
    return first


def _entry0(meta, first: dict, key: str):
    return first[key] if key in first else meta[key].array(library="np")[0]


def _as_version(value) -> tuple[int, int, int] | None:
    try:
        first = value[0]
        if isinstance(first, dict) or hasattr(first, "keys"):
            return int(first["major"]), int(first["minor"]), int(first["patch"])
        return tuple(int(v) for v in first[:3])  # RNTuple: var * uint16
    except Exception:  # noqa: BLE001
        return None


def read_metadata(meta, trees: dict, file_path: str, *, is_rntuple: bool) -> FileMetadata:
    """Read ``podio_metadata`` (``meta``) of a file whose category objects are ``trees``."""
    keys = set(meta.keys())
    if is_rntuple:
        row = meta.arrays(library="ak")[0].to_list()
        fields = set(row)
        categories = [str(c) for c in row["availableCategories"]] if "availableCategories" in fields \
            else [k[: -len("___CollectionTypeInfo")] for k in fields if k.endswith("___CollectionTypeInfo")]
        collections = {}
        for category in categories:
            infos = row[f"{category}___CollectionTypeInfo"] if f"{category}___CollectionTypeInfo" in fields else []
            collections[category] = {
                str(i["name"]): CollectionInfo(str(i["name"]), int(i["collectionID"]), str(i["dataType"]),
                                               bool(i["isSubset"]), int(i["schemaVersion"]))
                for i in infos
            }
        datamodels = {str(n): str(d) for n, d in row["EDMDefinitions"]} if "EDMDefinitions" in fields else {}
        podio_version = _as_version([row["PodioBuildVersion"]]) if "PodioBuildVersion" in fields else None
        dm_versions = {k[: -len("___Version")]: _as_version([row[k]]) for k in fields if k.endswith("___Version")}
        return FileMetadata(categories, collections, datamodels, podio_version, dm_versions)

    first = _first_entries(meta, keys)
    categories = []
    for key in meta.keys(recursive=False):
        for suffix in ("___CollectionTypeInfo", "___idTable"):
            if key.endswith(suffix) and key[: -len(suffix)] not in categories:
                categories.append(key[: -len(suffix)])
    collections = {}
    for category in categories:
        info_key = f"{category}___CollectionTypeInfo"
        if f"{info_key}/{info_key}.name" in keys:  # podio >= 1.3: CollectionWriteInfo
            cols = {f: _entry0(meta, first, f"{info_key}/{info_key}.{f}") for f in _WRITE_INFO}
            collections[category] = {
                str(n): CollectionInfo(str(n), int(i), str(t), bool(s), int(v))
                for i, t, s, v, n in zip(cols["collectionID"], cols["dataType"], cols["isSubset"],
                                         cols["schemaVersion"], cols["name"])
            }
            continue
        id_key = f"{category}___idTable"
        if f"{id_key}/m_names" not in keys:
            collections[category] = {}
            continue
        names = [str(n) for n in meta[f"{id_key}/m_names"].array(library="np")[0]]
        ids = [int(i) for i in meta[f"{id_key}/m_collectionIDs"].array(library="np")[0]]
        by_id = {}
        if f"{info_key}/{info_key}._0" in keys:
            tuple_ids = meta[f"{info_key}/{info_key}._0"].array(library="np")[0]
            subset = meta[f"{info_key}/{info_key}._2"].array(library="np")[0] \
                if f"{info_key}/{info_key}._2" in keys else [False] * len(tuple_ids)
            # podio < 0.16 stored (collectionID, type, isSubset) without a schema version
            versions = meta[f"{info_key}/{info_key}._3"].array(library="np")[0] \
                if f"{info_key}/{info_key}._3" in keys else [0] * len(tuple_ids)
            type_names = split_strings(meta[f"{info_key}/{info_key}._1"], len(tuple_ids)) \
                if f"{info_key}/{info_key}._1" in keys else None
            type_names = type_names or [None] * len(tuple_ids)
            by_id = {int(i): (bool(s), int(v), t) for i, s, v, t in zip(tuple_ids, subset, versions, type_names)}
        tree = trees.get(category)
        infos = {}
        name_of = dict(zip(ids, names))
        # podio inserts collections in CollectionTypeInfo order (it decides podio's name order)
        ordered = [i for i in by_id if i in name_of] + [i for i in ids if i not in by_id]
        for cid in ordered:
            name = name_of[cid]
            is_subset, version, ctype = by_id.get(cid, (False, 0, None))
            if ctype is None and tree is not None:
                branch_name = f"{name}_objIdx" if is_subset else name
                if branch_name in tree:
                    ctype = collection_type_from_branch_type(tree[branch_name].typename)
            if ctype is None:
                raise EDM4hepError(f"cannot determine the type of collection {name!r} in category "
                                   f"{category!r} (podio < 1.3 layout)", file_path=file_path)
            infos[name] = CollectionInfo(name, cid, ctype, is_subset, version)
        collections[category] = infos

    datamodels = {}
    if "EDMDefinitions/EDMDefinitions._0" in keys:
        names = _entry0(meta, first, "EDMDefinitions/EDMDefinitions._0")
        texts = _entry0(meta, first, "EDMDefinitions/EDMDefinitions._1")
        datamodels = {str(n): str(t) for n, t in zip(names, texts)}
    podio_version = _version(meta, first, "PodioBuildVersion") if "PodioBuildVersion" in keys else None
    dm_versions = {}
    for key in meta.keys(recursive=False):
        if key.endswith("___Version"):
            dm_versions[key[: -len("___Version")]] = _version(meta, first, key)
    # Trees that hold frames but no collections (e.g. 'metadata' of old files) are categories too.
    for name in trees:
        if name not in categories:
            categories.append(name)
            collections[name] = {}
    return FileMetadata(categories, collections, datamodels, podio_version, dm_versions)
