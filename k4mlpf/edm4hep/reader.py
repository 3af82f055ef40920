"""Read podio/EDM4hep files with uproot and awkward: no podio, no ROOT.

A collection ``C`` comes back as one awkward array over events, ``N * var * {...}``, whose record
holds every member of the EDM4hep type under its EDM4hep name (components nested: ``position.x``),
every vector member as a list (``trackStates``), every relation as ``{index, collectionID}`` (a
list for one-to-many, a single record for one-to-one; index -2 means unset) and, for links,
``from``/``to`` (``rec``/``sim`` for EDM4hep 0.10 associations). A subset collection comes back
as the references it holds, ``N * var * {index, collectionID}``. Names resolve with
:meth:`EDM4hepFile.collection_name`. Which satellite branches (``_C_<member>``) belong to a
collection is read from the file's own datamodel definition (``EDMDefinitions``); only for types it
does not define are they found from the branch names alone. The record is built straight from the
columns podio wrote, vectorized over all events: no Python loop over events or objects.

``schema="current"`` (the default) presents files of older EDM4hep versions under today's member
names (Cluster ``phi`` -> ``iPhi``, ReconstructedParticle ``type`` -> ``PDG``, association
``rec``/``sim`` -> ``from``/``to``); ``schema="file"`` returns exactly what the file holds.

>>> with EDM4hepFile("rec.edm4hep.root") as f:                       # doctest: +SKIP
...     batch = f.arrays(["SiTracks_Refitted", "PandoraClusters"], entry_stop=100)
...     for chunk in f.iterate(["PandoraClusters"], step_size=1000):
...         energy = chunk["PandoraClusters"].energy                   # N * var * float32
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence

import awkward as ak
import numpy as np
import uproot

from .errors import CollectionNotFoundError, EDM4hepError, NotPodioFileError
from .evolution import MEMBER_RENAMES, TYPE_RENAMES
from .metadata import CollectionInfo, FileMetadata, read_metadata

_ARRAY_SUFFIX = re.compile(r"\[\d+\]$")
_GP_TYPES = (("Int", "int"), ("Float", "float"), ("Double", "double"), ("String", "std::string"))
_OLD_GP_TYPES = (("_intMap", "int"), ("_floatMap", "float"), ("_doubleMap", "double"),
                 ("_stringMap", "std::string"))

# schema="current": member renames between EDM4hep versions are evolution.MEMBER_RENAMES; associations:
_ASSOCIATION_NAMES = {"rec": "from", "sim": "to"}


def _regularize_names(names: str | Sequence[str] | None, available: list[str]) -> list[str]:
    if names is None:
        return list(available)
    if isinstance(names, str):
        return [names]
    return list(names)


class EDM4hepFile:
    """An open podio file (TTree or RNTuple). Use as a context manager.

    ``f.collections("events")`` lists :class:`CollectionInfo`; ``f.arrays(...)`` reads a range of
    entries; ``f.iterate(...)`` walks the file in chunks with bounded memory.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        if not os.path.exists(self.path):
            raise EDM4hepError("no such file", file_path=self.path)
        if os.path.isdir(self.path):
            raise EDM4hepError("is a directory, not a file", file_path=self.path)
        _check_root_header(self.path)
        try:
            self._file = uproot.open(self.path)
        except Exception as err:  # uproot raises many kinds for non-ROOT or damaged files
            raise NotPodioFileError(f"not a readable ROOT file ({_one_line(err)})",
                                    file_path=self.path) from err
        try:
            classes = self._file.classnames(recursive=False)
        except Exception as err:
            self._file.close()
            raise NotPodioFileError(f"damaged or truncated ROOT file ({err})", file_path=self.path) from err
        if "podio_metadata;1" not in classes and "podio_metadata" not in {k.split(";")[0] for k in classes}:
            self._file.close()
            raise NotPodioFileError("ROOT file without podio_metadata: not written by podio "
                                    f"(objects in file: {sorted({k.split(';')[0] for k in classes})})",
                                    file_path=self.path)
        meta_class = next((c for k, c in classes.items() if k.split(";")[0] == "podio_metadata"), "")
        self.is_rntuple = "RNTuple" in meta_class
        try:
            # one entry per name: uproot resolves a bare name to its highest (newest) cycle
            names = dict.fromkeys(k.split(";")[0] for k, c in classes.items()
                                  if c in ("TTree", "ROOT::RNTuple") and not k.startswith("podio_metadata"))
            self._trees = _Trees(self._file, names, self.path)
            if "events" in self._trees:
                self._trees["events"]  # noqa: B018 - opened now, so that a damaged one fails here
            self.metadata: FileMetadata = read_metadata(self._file["podio_metadata"], self._trees,
                                                        self.path, is_rntuple=self.is_rntuple)
        except EDM4hepError:
            raise
        except Exception as err:
            raise NotPodioFileError(f"damaged podio metadata ({_one_line(err)})",
                                    file_path=self.path) from err
        self._id_to_name = {info.collection_id: info.name for infos in self.metadata.collections.values()
                            for info in infos.values()}

    # -- context manager -------------------------------------------------------------------------
    def __enter__(self) -> "EDM4hepFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def __repr__(self) -> str:
        return f"<EDM4hepFile {self.path!r} ({'RNTuple' if self.is_rntuple else 'TTree'})>"

    # -- what is in the file ---------------------------------------------------------------------
    @property
    def categories(self) -> list[str]:
        return list(self.metadata.categories)

    def collections(self, category: str = "events") -> dict[str, CollectionInfo]:
        """Collections of ``category`` in podio's own (write) order, by name."""
        self._check_category(category)
        return dict(self.metadata.collections.get(category, {}))

    def collection(self, name: str, category: str = "events") -> CollectionInfo:
        infos = self.collections(category)
        if name not in infos:
            raise CollectionNotFoundError(name, list(infos), file_path=self.path, category=category)
        return infos[name]

    def collection_name(self, collection_id: int) -> str | None:
        """Name of the collection with this podio collection ID (None if not in the file)."""
        return self._id_to_name.get(int(collection_id))

    def num_entries(self, category: str = "events") -> int:
        self._check_category(category)
        tree = self._trees.get(category)
        return 0 if tree is None else int(tree.num_entries)

    def __len__(self) -> int:
        return self.num_entries("events")

    @property
    def edm4hep_version(self) -> tuple[int, int, int] | None:
        return self.metadata.datamodel_versions.get("edm4hep")

    def _check_category(self, category: str) -> None:
        if category not in self.metadata.categories:
            raise EDM4hepError(f"no category {category!r}; categories: {self.metadata.categories}",
                               file_path=self.path)

    # -- reading ---------------------------------------------------------------------------------
    def arrays(self, collections: str | Sequence[str] | None = None, *, category: str = "events",
               entry_start: int | None = None, entry_stop: int | None = None,
               schema: str = "current", skip: Sequence[str] = ()) -> dict[str, ak.Array]:
        """Read ``collections`` (default: all) for entries [entry_start, entry_stop).

        ``skip`` names members not to read, at any depth (e.g. ``["covMatrix", "positionError"]``):
        they are absent from the records, and reading is faster. TTree files only; RNTuple files
        are read whole.
        """
        if schema not in ("current", "file"):
            raise ValueError(f"schema must be 'current' or 'file', not {schema!r}")
        infos = self.collections(category)
        names = _regularize_names(collections, list(infos))
        for name in names:
            if name not in infos:
                raise CollectionNotFoundError(name, list(infos), file_path=self.path, category=category)
        tree = self._trees.get(category)
        n = self.num_entries(category)
        start, stop = _clip_range(entry_start, entry_stop, n)
        if tree is None or not names:
            return {name: ak.Array([[]] * (stop - start)) for name in names}
        plan = {name: self._plan(category, infos[name], tree) for name in names}
        wanted = sorted({b for branches in plan.values() for b in branches.all()})
        try:
            raw = self._read(category, tree, wanted, start, stop, frozenset(skip))
        except Exception as err:
            raise EDM4hepError(f"cannot read {names} in entries [{start}, {stop}) ({_one_line(err)}); "
                               "the file may be truncated or damaged", file_path=self.path) from err
        out = {}
        for name in names:
            out[name] = self._assemble(infos[name], plan[name], raw, schema)
        return out

    def branches(self, collections: str | Sequence[str] | None = None, *, category: str = "events",
                 skip: Sequence[str] = ()) -> list[str]:
        """The TTree branches (leaves, ``C/C.energy``) or RNTuple fields that :meth:`arrays` reads for
        ``collections`` with this ``skip``, in reading order: what a plain ``uproot`` read of the same
        data would name (see ``benchmarks/bench_io.py``)."""
        infos = self.collections(category)
        names = _regularize_names(collections, list(infos))
        tree = self._trees.get(category)
        if tree is None:
            return []
        wanted = sorted({b for name in names for b in self._plan(category, self.collection(name, category),
                                                                 tree).all()})
        if self.is_rntuple:
            return wanted
        return [path for b in wanted for path, _ in self._leaves(category, tree, b, frozenset(skip))]

    def iterate(self, collections: str | Sequence[str] | None = None, *, category: str = "events",
                step_size: int = 1000, entry_start: int | None = None, entry_stop: int | None = None,
                schema: str = "current", skip: Sequence[str] = ()) -> Iterator[dict[str, ak.Array]]:
        """Yield :meth:`arrays` for consecutive chunks of ``step_size`` entries (bounded memory)."""
        if not isinstance(step_size, (int, np.integer)) or step_size < 1:
            raise ValueError(f"step_size must be a positive number of entries, not {step_size!r}")
        start, stop = _clip_range(entry_start, entry_stop, self.num_entries(category))
        for chunk_start in range(start, stop, step_size):
            yield self.arrays(collections, category=category, entry_start=chunk_start,
                              entry_stop=min(chunk_start + step_size, stop), schema=schema, skip=skip)

    def parameters(self, category: str = "events", *, entry_start: int | None = None,
                   entry_stop: int | None = None) -> list[dict[str, dict[str, list]]]:
        """Frame parameters per entry: ``{name: {type: [values]}}`` as podio reports them."""
        tree = self._trees.get(category)
        self._check_category(category)
        if tree is None:
            return []
        start, stop = _clip_range(entry_start, entry_stop, self.num_entries(category))
        keys = set(tree.keys())
        frames: list[dict] = [{} for _ in range(stop - start)]
        if "GPIntKeys" in keys:
            for short, typename in _GP_TYPES:
                if f"GP{short}Keys" not in keys:
                    continue
                ks = tree[f"GP{short}Keys"].array(entry_start=start, entry_stop=stop, library="ak").tolist()
                vs = tree[f"GP{short}Values"].array(entry_start=start, entry_stop=stop, library="ak").tolist()
                for frame, names, values in zip(frames, ks, vs):
                    for key, value in zip(names, values):
                        frame[key] = {typename: list(value)}
        elif "PARAMETERS" in keys:
            for member, typename in _OLD_GP_TYPES:
                if f"PARAMETERS/{member}/{member}.first" not in keys:
                    continue
                ks = tree[f"PARAMETERS/{member}/{member}.first"].array(entry_start=start, entry_stop=stop,
                                                                       library="ak").tolist()
                vs = tree[f"PARAMETERS/{member}/{member}.second"].array(entry_start=start, entry_stop=stop,
                                                                        library="ak").tolist()
                for frame, names, values in zip(frames, ks, vs):
                    for key, value in zip(names, values):
                        frame[key] = {typename: list(value)}
        return [dict(sorted(frame.items())) for frame in frames]

    # -- internals -------------------------------------------------------------------------------
    def _read(self, category: str, tree, branches: list[str], start: int, stop: int,
              skip: frozenset = frozenset()) -> dict[str, ak.Array]:
        """Read whole branches; for TTree, as ``{branch: {leaf path: array}}`` of split leaves."""
        # array_cache=None: uproot's default keeps up to 100 MB of what it read, for re-reads that a
        # chunked reader never makes; skipping it (its keys and its inserts) is also faster
        if self.is_rntuple:
            arrays = tree.arrays(branches, entry_start=start, entry_stop=stop, library="ak", array_cache=None)
            return {b: arrays[b] for b in branches}
        leaves = {b: self._leaves(category, tree, b, skip) for b in branches}
        plain = [path for ls in leaves.values() for path, is_object in ls if not is_object]
        arrays = tree.arrays(plain, entry_start=start, entry_stop=stop, library="ak", how=dict, array_cache=None)
        out = {}
        for b, ls in leaves.items():
            if ls[0][0] == b:  # an unsplit branch
                out[b] = arrays[b]
                continue
            cols = {}
            for path, is_object in ls:
                cols[path[len(b) + 1:]] = _read_object_array(tree[path], self._file, start, stop) if is_object \
                    else arrays[path]
            out[b] = cols
        return out

    def _leaves(self, category: str, tree, branch: str, skip: frozenset) -> list[tuple[str, bool]]:
        """The leaf paths ``branch/leaf`` of a TTree branch that are read (``skip``ped members left
        out), each with whether it is an unsplit array of objects; the branch itself if it has no
        leaves. Worked out once per file: listing leaves costs as much as reading a small chunk."""
        cache = self.__dict__.setdefault("_leaf_cache", {})
        key = (category, branch, skip)
        if key not in cache:
            leaves = [(f"{branch}/{k}", b) for k, b in tree[branch].iteritems(recursive=True)
                      if not b.branches
                      and not skip.intersection(_ARRAY_SUFFIX.sub("", part) for part in k.split(".")[1:])]
            cache[key] = [(p, bool(_ARRAY_SUFFIX.search(p)) and _is_object_array(b)) for p, b in leaves] \
                or [(branch, False)]
        return cache[key]

    def _plan(self, category: str, info: CollectionInfo, tree) -> "_CollectionBranches":
        """The branches of a collection, worked out once per file and category."""
        cache = self.__dict__.setdefault("_plans", {})
        key = (category, info.name)
        if key not in cache:
            cache[key] = self._branches_of(category, info, tree)
        return cache[key]

    def _branches_of(self, category: str, info: CollectionInfo, tree) -> "_CollectionBranches":
        """Which branches/fields hold collection ``info``, from the file's own structure."""
        if info.is_subset:
            return _CollectionBranches(data=f"{info.name}_objIdx", subset=True)
        data = info.name
        all_keys = self._keys(category, tree)
        keys = _top_level_keys(tree, all_keys)
        if data not in keys:
            raise EDM4hepError(f"collection {info.name!r} is listed in podio_metadata but has no "
                               f"data branch", file_path=self.path)
        columns = _data_columns(tree, data, self.is_rntuple, all_keys)
        ranged = sorted({c[: -len("_begin")] for c in columns if c.endswith("_begin")})
        prefix = f"_{data}_"
        declared = self._declared_members(info)
        if declared is not None:  # the file's own datamodel names every satellite branch
            present = set(keys)
            members = {m: f"{prefix}{m}" for m in declared if f"{prefix}{m}" in present}
            unset = [m for m in declared if m not in members and m not in ranged]
        else:  # no definition of this type: branches "_<name>_<member>" owned by this collection
            extra = [k for k in keys if k.startswith(prefix) and self._owner_of(k, tree) == data]
            members = {k[len(prefix):]: k for k in extra}
            unset = []
        return _CollectionBranches(data=data, columns=columns, ranged=ranged, members=members,
                                   user_data=info.is_user_data, unset=unset)

    def _keys(self, category: str, tree) -> list[str]:
        """The category tree's top-level branch names (TTree) or every field name (RNTuple), listed
        once per file (listing every TTree leaf walks hundreds of branches: a few ms)."""
        cache = self.__dict__.setdefault("_key_cache", {})
        if category not in cache:
            cache[category] = list(tree.keys()) if self.is_rntuple else list(tree.keys(recursive=False))
        return cache[category]

    def _declared_members(self, info: CollectionInfo) -> list[str] | None:
        """Relations and vector members of the collection's type, from the file's EDMDefinitions.

        None when the file carries no definition of the type (then the branches are found from
        the file's structure alone).
        """
        if info.is_user_data:
            return []
        if info.type.startswith("podio::LinkCollection<"):
            return ["from", "to"]
        specs = self.__dict__.get("_specs")
        if specs is None:
            specs = {}
            for model in self.metadata.datamodels:
                try:
                    definition = self.metadata.datamodel_definition(model)
                except ValueError:  # not JSON (very old podio wrote nothing else, but be safe)
                    continue
                for name, spec in (definition.get("datatypes") or {}).items():
                    specs.setdefault(name, spec)
            self._specs = specs
        spec = specs.get(info.value_type)
        if spec is None:
            return None
        names = []
        for section in ("OneToManyRelations", "OneToOneRelations", "VectorMembers"):
            for text in spec.get(section) or []:
                names.append(text.split("//", 1)[0].split()[-1].split("[", 1)[0].split("{", 1)[0])
        return names

    def _owner_of(self, branch: str, tree) -> str | None:
        owners = [name for name in self._id_to_name.values() if branch.startswith(f"_{name}_")]
        return max(owners, key=len) if owners else None

    def _assemble(self, info: CollectionInfo, branches: "_CollectionBranches", raw: ak.Array,
                  schema: str) -> ak.Array:
        if branches.user_data:
            return raw[branches.data]
        if branches.subset:  # N * var * {index, collectionID}: references into other collections
            return _nest_columns(raw[branches.data], self.is_rntuple)
        # layouts, not high-level arrays, from here on: each ak.Array step costs ~0.1 ms, and a chunk
        # of CLD events has hundreds of them
        obj_offsets, record = _flat_objects(raw[branches.data], self.is_rntuple)  # N * var * record
        fields = {f: v for f, v in _record_fields(record).items() if not _is_range_field(f, branches.ranged)}
        ranges_done = set()
        for member, branch in branches.members.items():
            val_offsets, values = _flat_objects(raw[branch], self.is_rntuple)
            if member in branches.ranged:
                begin = _numpy(_record_field(record, f"{member}_begin")).astype(np.int64, copy=False)
                end = _numpy(_record_field(record, f"{member}_end")).astype(np.int64, copy=False)
                fields[member] = _slice_ranges(val_offsets, values, obj_offsets, begin, end)
                ranges_done.add(member)
            else:  # one-to-one relation (or link from/to): one entry per object
                fields[member] = values
        for member in branches.unset:  # a declared one-to-one relation without branch: unset
            fields[member] = _unset_refs(record.length)
        for member in branches.ranged:  # ranged member whose branch is absent: empty lists
            if member not in ranges_done:
                fields[member] = ak.contents.ListOffsetArray(
                    ak.index.Index64(np.zeros(record.length + 1, np.int64)),
                    ak.contents.EmptyArray())
        if schema == "current":
            fields = _rename_to_current(info, fields)
        content = ak.contents.RecordArray(list(fields.values()), list(fields), length=record.length)
        return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(obj_offsets), content))


def _one_line(err: Exception) -> str:
    return f"{type(err).__name__}: " + " ".join(str(err).split())


def _check_root_header(path: str) -> None:
    """Cheap checks before uproot: ROOT's magic bytes and the file length its header promises."""
    with open(path, "rb") as stream:
        head = stream.read(64)
        size = stream.seek(0, os.SEEK_END)
    if head[:4] != b"root":
        raise NotPodioFileError("not a ROOT file (it does not start with ROOT's 'root' magic bytes)",
                                file_path=path)
    version = int.from_bytes(head[4:8], "big")
    end = int.from_bytes(head[12:20], "big") if version >= 1000000 else int.from_bytes(head[12:16], "big")
    if end > size:
        raise NotPodioFileError(f"truncated ROOT file: its header says {end} bytes, the file has {size}",
                                file_path=path)


class _Trees(Mapping):
    """The category trees by name, each opened on first use: opening a TTree reads the descriptions
    of all its branches, which a reader of 'events' alone need not pay for 'metadata' or 'runs'."""

    def __init__(self, file, names, path: str):
        self._file, self._names, self._path, self._open = file, list(names), path, {}

    def __getitem__(self, name):
        if name not in self._open:
            if name not in self._names:
                raise KeyError(name)
            try:
                self._open[name] = self._file[name]
            except Exception as err:  # noqa: BLE001 - uproot raises many kinds for damaged objects
                raise NotPodioFileError(f"damaged tree {name!r} ({_one_line(err)})", file_path=self._path) from err
        return self._open[name]

    def __contains__(self, name) -> bool:
        return name in self._names

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class _CollectionBranches:
    def __init__(self, data, columns=(), ranged=(), members=None, subset=False, user_data=False, unset=()):
        self.data, self.columns, self.ranged = data, list(columns), list(ranged)
        self.unset = list(unset)
        self.members = dict(members or {})
        self.subset, self.user_data = subset, user_data

    def all(self) -> list[str]:
        return [self.data, *self.members.values()]


def _unset_refs(n: int):
    """``n`` unset one-to-one relations, as podio reads a relation that was never written."""
    return ak.contents.RecordArray(
        [ak.contents.NumpyArray(np.full(n, -2, np.int32)), ak.contents.NumpyArray(np.zeros(n, np.uint32))],
        ["index", "collectionID"], length=n)


def _clip_range(start, stop, n) -> tuple[int, int]:
    start = 0 if start is None else (start + n if start < 0 else start)
    stop = n if stop is None else (stop + n if stop < 0 else stop)
    start, stop = max(0, min(start, n)), max(0, min(stop, n))
    return start, max(start, stop)


def _top_level_keys(tree, keys: list[str]) -> list[str]:
    return [k for k in keys if "/" not in k and "." not in k] if hasattr(tree, "branches") \
        else [k for k in keys if "." not in k]


def _data_columns(tree, data: str, is_rntuple: bool, keys: list[str]) -> list[str]:
    """Member columns of the data branch, as dotted paths relative to the object (``keys``: RNTuple
    field names)."""
    if is_rntuple:
        return [k[len(data) + 1:] for k in keys if k.startswith(data + ".")]
    return [k[len(data) + 1:] for k in tree[data].keys(recursive=True) if k.startswith(data + ".")]


def _is_range_field(field: str, ranged: list[str]) -> bool:
    return any(field in (f"{r}_begin", f"{r}_end") for r in ranged)


def _nest_columns(data, is_rntuple: bool) -> ak.Array:
    """TTree gives flat leaves 'C.position.x'; make them the nested record RNTuple gives."""
    if is_rntuple or not isinstance(data, dict):
        return data
    offsets, record = _flat_objects(data, is_rntuple)
    return ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets), record))


def _flat_objects(data, is_rntuple: bool) -> tuple[np.ndarray, ak.contents.Content]:
    """A collection's data (or ``_C_member``) branch as (per-event offsets starting at 0, the flat
    layout of all its objects); TTree leaves 'C.position.x' nested into records as RNTuple has them."""
    if is_rntuple or not isinstance(data, dict):
        return _list_parts(data)
    offsets = None
    tree: dict = {}
    for leaf, array in data.items():
        column = leaf.split(".", 1)[1] if "." in leaf else leaf
        layout = array.layout
        if offsets is None:
            offsets = np.asarray(layout.offsets)
            length = int(offsets[-1] - offsets[0])
        content = layout.content[int(offsets[0]): int(offsets[-1])] \
            if isinstance(layout, ak.contents.ListOffsetArray) else layout
        node = tree
        parts = [_ARRAY_SUFFIX.sub("", p) for p in column.split(".")]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = content
    return (offsets - offsets[0]).astype(np.int64, copy=False), _build_record(tree, length)


def _record_fields(record: ak.contents.Content) -> dict:
    """The fields of a flat record layout, as layouts."""
    if isinstance(record, ak.contents.RecordArray):
        return {f: record.content(f) for f in record.fields}
    array = ak.Array(record)
    return {f: array[f].layout for f in array.fields}


def _record_field(record: ak.contents.Content, field: str) -> ak.contents.Content:
    return record.content(field) if isinstance(record, ak.contents.RecordArray) else ak.Array(record)[field].layout


def _numpy(layout: ak.contents.Content) -> np.ndarray:
    if isinstance(layout, ak.contents.NumpyArray):
        return np.asarray(layout.data)
    return np.asarray(ak.to_numpy(ak.Array(layout)))


def _is_object_array(branch) -> bool:
    """A fixed-size array of structs stored unsplit (e.g. 0.10 RecDqdx ``hypotheses[5]``)."""
    return "::" in branch.typename and bool(re.search(r"\[\]\[\d+\]$", branch.typename))


def _read_object_array(branch, file, start: int, stop: int) -> ak.Array:
    """Decode ``T[][n]`` of a struct T of plain numbers, each object with its ROOT header."""
    element = branch.typename.split("[", 1)[0]
    size = int(branch.typename.rsplit("[", 1)[1].rstrip("]"))
    streamer = file.file.streamer_named(element)
    kinds = {"float": ">f4", "double": ">f8", "int": ">i4", "short": ">i2", "unsigned int": ">u4",
             "Float_t": ">f4", "Double_t": ">f8", "Int_t": ">i4", "Short_t": ">i2", "UInt_t": ">u4",
             "int32_t": ">i4", "int16_t": ">i2", "uint32_t": ">u4", "float32_t": ">f4"}
    members = [(m.member("fName"), kinds[m.member("fTypeName")]) for m in streamer.elements]
    # each object: byte count (4), version (2), class checksum (4, when version is 0), members
    header = [("bytecount", ">u4"), ("version", ">u2"), ("checksum", ">u4")]
    record = np.dtype(header + members)
    raw = branch.array(uproot.AsJagged(uproot.AsDtype(record)), entry_start=start, entry_stop=stop,
                       library="ak")
    counts = ak.num(raw)
    flat = ak.flatten(raw)
    values = ak.zip({name: ak.values_astype(flat[name], np.dtype(kind).newbyteorder("="))
                     for name, kind in members})
    per_object = ak.unflatten(values, np.full(int(ak.sum(counts)) // size, size))
    return ak.unflatten(per_object, np.asarray(counts) // size)


def _build_record(tree: dict, length: int):
    fields, contents = [], []
    for key, value in tree.items():
        fields.append(key)
        contents.append(_build_record(value, length) if isinstance(value, dict) else value)
    return ak.contents.RecordArray(contents, fields, length=length)


def _list_parts(objects: ak.Array) -> tuple[np.ndarray, ak.contents.Content]:
    """Split ``N * var * record`` into (offsets starting at 0, flat record layout)."""
    layout = objects.layout
    while not isinstance(layout, (ak.contents.ListOffsetArray, ak.contents.ListArray)):
        layout = layout.content
    layout = layout.to_ListOffsetArray64(True)
    offsets = np.asarray(layout.offsets, dtype=np.int64)
    flat = layout.content[int(offsets[0]): int(offsets[-1])]
    return offsets - offsets[0], flat


def _slice_ranges(val_offsets: np.ndarray, flat: ak.contents.Content, obj_offsets: np.ndarray,
                  begin: np.ndarray, end: np.ndarray):
    """Per object, the [begin, end) slice of its event's values (``val_offsets``, ``flat``); vectorized."""
    obj_event = np.repeat(np.arange(len(obj_offsets) - 1), np.diff(obj_offsets))
    starts = val_offsets[obj_event] + begin
    counts = np.maximum(end - begin, 0)
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    if len(counts) and np.array_equal(starts, offsets[:-1] + starts[0]) and starts[0] == 0 \
            and offsets[-1] == flat.length:
        content = flat  # stored contiguously, in order: no copy needed
    else:
        index = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
        if offsets[-1] and (index.max() >= flat.length or index.min() < 0):
            raise EDM4hepError("a [begin, end) range points outside its vector member")
        content = flat[index] if offsets[-1] else flat[0:0]
    return ak.contents.ListOffsetArray(ak.index.Index64(offsets), content)


def _rename_to_current(info: CollectionInfo, fields: dict) -> dict:
    renames = dict(MEMBER_RENAMES.get(TYPE_RENAMES.get(info.value_type, info.value_type), {}))
    if info.is_link and "rec" in fields and "sim" in fields:
        renames.update(_ASSOCIATION_NAMES)
    if not renames:
        return fields
    return {renames.get(k, k) if renames.get(k, k) not in fields or k == renames.get(k, k) else k: v
            for k, v in fields.items()}


def current_names(info: CollectionInfo, objects: ak.Array) -> ak.Array:
    """A collection read with ``schema="file"`` under today's member names (as ``schema="current"``)."""
    fields = ak.fields(objects)
    if not fields:
        return objects
    renamed = _rename_to_current(info, dict.fromkeys(fields))
    if list(renamed) == fields:
        return objects
    return ak.zip({new: objects[old] for old, new in zip(fields, renamed)}, depth_limit=2)


def open_file(path: str | os.PathLike) -> EDM4hepFile:
    """Open an EDM4hep file (TTree or RNTuple); see :class:`EDM4hepFile`."""
    return EDM4hepFile(path)
