"""Write EDM4hep files in podio's TTree layout (podio >= 1.3, EDM4hep 1.x) with CERN ROOT from PyPI.

The result is laid out exactly as podio 1.7 writes it (``fixtures/cld_like_rec_podio107``): an
``events`` tree with ``vector<edm4hep::XData>`` branches split per member, ``_C_<member>``
satellite branches for vector members and relations (``vector<podio::ObjectID>``), ``podio::LinkData``
links with ``_L_from``/``_L_to``, frame parameters in ``GP<Type>Keys``/``GP<Type>Values``; a
``metadata`` tree; and ``podio_metadata`` with ``<category>___CollectionTypeInfo``
(``podio::root_utils::CollectionWriteInfo``), ``PodioBuildVersion``, ``EDMDefinitions`` and
``edm4hep___Version``. Collection IDs are MurmurHash3 of the names, as podio computes them.

Subset collections are written as podio writes them (one ``<name>_objIdx`` branch of
``podio::ObjectID``); categories other than ``events``/``metadata`` as frames of parameters
(:meth:`EDM4hepWriter.write_frames`). Where podio's compiled dictionaries are loaded or loadable (a
Key4hep environment), the structs are not declared but taken from them (:mod:`.root_dictionaries`).
``k4mlpf.edm4hep.output.copy_with_additions`` converts older EDM4hep versions to this layout (:mod:`.evolution`).

Columns are copied, never objects: each collection of a chunk of events becomes one numpy
structured array (the aligned twin of the C++ struct), and each event's slice is ``memcpy``'d into
the branch's ``std::vector``. The output is written under a temporary name and renamed only when
the file is complete; on any error the temporary file is removed.

>>> from k4mlpf.edm4hep.refs import collection_type                   # doctest: +SKIP
>>> with EDM4hepWriter("out.edm4hep.root") as w:
...     w.write_events({"PandoraClusters": clusters}, {"PandoraClusters": collection_type("Cluster")})
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping

import awkward as ak
import numpy as np

from .datamodel import EDM4HEP_VERSION, PODIO_VERSION, DataLayout, Registry
from ..atomic import AtomicOutput
from . import root_dictionaries as dictionaries
from .errors import EDM4hepError, WriteError
from .murmur import collection_id

_REF_DTYPE = np.dtype([("index", "i4"), ("collectionID", "u4")], align=True)
_GP_KINDS = (("Int", "int", "int"), ("Float", "float", "float"), ("Double", "double", "double"),
             ("String", "std::string", "std::string"))
_ROOT_LOCK = threading.Lock()
_DECLARED: set[str] = set()  # struct names already known to ROOT


def _root():
    """Import PyROOT quietly (the PyPI build warns that it is alpha on every import)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ROOT  # noqa: N811

    ROOT.gROOT.SetBatch(True)
    return ROOT


def _declare(registry: Registry):
    """Declare podio's helper types and the registry's structs to ROOT, each once per process.

    Returns (ROOT, whether the real podio/EDM4hep dictionaries are used): where ROOT knows podio's
    compiled dictionary (a Key4hep environment), nothing is declared that could clash with it (see
    :mod:`.root_dictionaries`).
    """
    ROOT = _root()
    if "podio" not in _DECLARED and dictionaries.podio_dictionaries(ROOT):
        dictionaries.declare(ROOT)
        return ROOT, True
    with _ROOT_LOCK:
        if not _DECLARED:
            if not ROOT.gInterpreter.Declare(Registry.PRELUDE):
                raise EDM4hepError("ROOT could not compile podio's helper types")
            _DECLARED.add("podio")
        for name, code in registry.cpp_structs():
            if name in _DECLARED:
                continue
            if not ROOT.gInterpreter.Declare(code):
                raise EDM4hepError(f"ROOT could not compile the struct {name}")
            _DECLARED.add(name)
        for name in registry.cpp_type_names():
            ROOT.TClass.GetClass(name)  # components need their TClass before any container of them
    return ROOT, False


class EDM4hepWriter(AtomicOutput):
    """Write events (and one ``metadata`` frame) to a new podio TTree file, atomically."""

    def __init__(self, path: str | os.PathLike, *, registry: Registry | None = None,
                 basket_size: int = 256000, compression: int = 401):
        self.path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise WriteError("output directory does not exist", file_path=self.path)
        self.registry = registry or Registry()
        self._ROOT, self._dict = _declare(self.registry)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{os.path.basename(self.path)}.", suffix=".tmp",
                                         dir=directory)
        os.close(fd)
        # ROOT's algorithm*100 + level; every ROOT/podio reads any of them. Measured on fast-simulation
        # CLD ttbar (benchmarks/bench_io.py, bench_fastsim.py): LZ4 writes ~4x faster than ZSTD 5 (505)
        # and faster than podio's default zlib 1 (101), and uproot reads it fastest; level 1, because
        # ROOT switches to the slower LZ4-HC from level 4 (~2 ms/event more, files ~12% smaller).
        self._file = self._ROOT.TFile.Open(self._tmp, "RECREATE", "", compression)
        if not self._file or self._file.IsZombie():
            self._discard()
            raise WriteError("cannot create the output file", file_path=self.path)
        self._basket = basket_size
        self._events = None  # TTree, created on the first chunk (its first entry fixes the content)
        self._branches: dict[str, tuple] = {}  # branch name -> (std::vector, C++ type)
        self._collections: dict[str, DataLayout] = {}
        self._gp: dict[str, object] = {}
        self._metadata_params: dict | None = None
        self._frames: dict[str, list[dict]] = {}  # other categories: frames of parameters only
        self._gp_filled = False  # whether the events' parameter branches hold something to clear
        self._closed = False
        self.num_events = 0

    # -- public --------------------------------------------------------------------------------
    def write_events(self, collections: Mapping[str, ak.Array], types: Mapping[str, str],
                     parameters: Iterable[Mapping[str, list]] | None = None, *,
                     subsets: Iterable[str] = ()) -> None:
        """Append the events of ``collections`` (name -> ``N * var * record``) to the file.

        ``types`` gives each collection's podio type (see :func:`refs.collection_type`);
        ``parameters`` optionally gives each event's frame parameters, ``{name: [values]}`` (type
        inferred: str, int, float -> double) or podio's typed form ``{name: {"float": [values]}}``.
        Collections named in ``subsets`` are subset collections: ``N * var * {index, collectionID}``
        references to objects of other collections, written as podio does (``<name>_objIdx``).
        """
        try:
            self._write_events(collections, types, parameters, frozenset(subsets))
        except Exception:
            self.abort()
            raise

    def write_metadata(self, parameters: Mapping[str, list]) -> None:
        """Frame parameters of the ``metadata`` frame (e.g. ``<coll>__CellIDEncoding``)."""
        self._metadata_params = dict(parameters)

    def write_frames(self, category: str, frames: Iterable[Mapping[str, list]]) -> None:
        """Frames of parameters (no collections) of another category, e.g. k4FWCore's
        ``configuration_metadata`` or ddsim's ``runs``, in the form of :meth:`write_events`."""
        if category in ("events", "metadata", "podio_metadata"):
            raise WriteError(f"category {category!r} is written by write_events/write_metadata",
                             file_path=self.path)
        self._frames[category] = [dict(frame) for frame in frames]

    def close(self) -> None:
        """Finish the file and move it to its final name."""
        if self._closed:
            return
        try:
            self._finish()
            self._file.Close()
            self._closed = True
            os.replace(self._tmp, self.path)
        except Exception as err:
            self.abort()
            raise WriteError(f"writing failed ({err}); no output was left behind", file_path=self.path) from err

    def abort(self) -> None:
        """Give up: close and delete the temporary file."""
        if not self._closed:
            self._closed = True
            try:
                self._file.Close()
            except Exception:  # noqa: BLE001 - we are cleaning up
                pass
        self._discard()

    # -- internals -----------------------------------------------------------------------------
    def _discard(self) -> None:
        if os.path.exists(self._tmp):
            os.remove(self._tmp)

    def _write_events(self, collections, types, parameters, subsets=frozenset()) -> None:
        names = list(collections)
        missing = [n for n in names if n not in types]
        if missing:
            raise WriteError(f"no collection type given for {missing}", file_path=self.path)
        lengths = {n: len(collections[n]) for n in names}
        if len(set(lengths.values())) > 1:
            raise WriteError(f"collections cover different numbers of events: {lengths}", file_path=self.path)
        n_events = next(iter(lengths.values()), 0)
        params = list(parameters) if parameters is not None else [{}] * n_events
        if len(params) != n_events:
            raise WriteError(f"{len(params)} parameter sets for {n_events} events", file_path=self.path)
        if self._events is None:
            self._file.cd()
            self._events = self._ROOT.TTree("events", "events")
            for name in names:
                layout = self._layout(name, types[name])
                self._collections[name] = dataclasses.replace(layout, subset=name in subsets)
                self._book(name, self._collections[name])
            self._book_gp(self._events, self._gp)
        elif set(names) != set(self._collections):
            raise WriteError(f"every chunk must hold the same collections: first chunk had "
                             f"{sorted(self._collections)}, this one {sorted(names)}", file_path=self.path)
        columns = [(branch, buffer, offsets)
                   for name in names
                   for branch, buffer, offsets in self._columns(name, self._collections[name], collections[name])]
        if not any(params):  # the common case: one C++ loop over events and columns
            if self._gp_filled:
                self._set_gp(self._gp, {})
                self._gp_filled = False
            self._fill_in_cpp(columns, n_events)
            return
        self._gp_filled = True
        fill = self._events.Fill
        if self._dict:
            assign = self._ROOT.k4mlpf_dict_assign
            targets = [(self._branches[b][0].address, _bind(assign, self._branches[b][0].proxy), buf,
                        buf.ctypes.data, buf.dtype.itemsize, off) for b, buf, off in columns]
        else:
            assign = self._ROOT.k4mlpf_assign
            targets = [(self._branches[b][0], assign[self._branches[b][1]], buf, buf.ctypes.data,
                        buf.dtype.itemsize, off) for b, buf, off in columns]
        for event in range(n_events):
            for vector, fn, _keep, base, size, offsets in targets:
                lo, hi = offsets[event], offsets[event + 1]
                fn(vector, base + int(lo) * size, int(hi - lo))
            self._set_gp(self._gp, params[event])
            if fill() < 0:
                raise WriteError(f"ROOT failed to fill event {self.num_events}", file_path=self.path)
            self.num_events += 1

    def _fill_in_cpp(self, columns: list, n_events: int) -> None:
        ROOT = self._ROOT
        if self._dict:
            self._fill_with_dictionaries(columns, n_events)
            return
        if not hasattr(self, "_assigners"):
            self._assigners: dict[str, int] = {}
        functions, vectors, bases, sizes, offsets, keep = [], [], [], [], [], []
        for branch, buffer, off in columns:
            vector, cpp_type = self._branches[branch]
            if cpp_type not in self._assigners:
                self._assigners[cpp_type] = int(ROOT.gInterpreter.ProcessLine(
                    f"(std::uintptr_t)&k4mlpf_assign_erased<{cpp_type}>;"))
            off = np.ascontiguousarray(off, dtype=np.int64)
            keep += [buffer, off]
            functions.append(self._assigners[cpp_type])
            vectors.append(ROOT.addressof(vector))
            bases.append(buffer.ctypes.data)
            sizes.append(buffer.dtype.itemsize)
            offsets.append(off.ctypes.data)
        arrays = [np.asarray(a, dtype=np.uint64) for a in (functions, vectors, bases, sizes, offsets)]
        done = ROOT.k4mlpf_fill_events(self._events, len(columns), *arrays, n_events)
        self.num_events += int(done)
        if done != n_events:
            raise WriteError(f"ROOT failed to fill event {self.num_events}", file_path=self.path)
        del keep

    def _fill_with_dictionaries(self, columns: list, n_events: int) -> None:
        proxies, vectors, bases, sizes, offsets, keep = [], [], [], [], [], []
        for branch, buffer, off in columns:
            vector = self._branches[branch][0]
            if buffer.dtype.itemsize != vector.increment:
                raise WriteError(f"branch {branch!r}: {buffer.dtype.itemsize}-byte elements for a {vector.cls} "
                                 f"of {vector.increment}-byte elements", file_path=self.path)
            off = np.ascontiguousarray(off, dtype=np.int64)
            keep += [buffer, off]
            proxies.append(vector.proxy)
            vectors.append(vector.address)
            bases.append(buffer.ctypes.data)
            sizes.append(buffer.dtype.itemsize)
            offsets.append(off.ctypes.data)
        arrays = [np.asarray(a, dtype=np.uint64) for a in (proxies, vectors, bases, sizes, offsets)]
        done = self._ROOT.k4mlpf_dict_fill_events(self._events, len(columns), *arrays, n_events)
        self.num_events += int(done)
        if done != n_events:
            raise WriteError(f"ROOT failed to fill event {self.num_events}", file_path=self.path)
        del keep

    def can_write(self, collection_type: str) -> bool:
        """Whether collections of this type can be written (known layout; where the real podio
        dictionaries are used, a dictionary for the struct and its vector members)."""
        if not self.registry.knows(collection_type):
            return False
        if not self._dict:
            return True
        layout = self.registry.layout(collection_type)
        elements = [layout.data_type] + [_cpp_element(m.type) for m in layout.vector_members]
        return all(dictionaries.has_dictionary(self._ROOT, e) for e in elements if "::" in e)

    def _layout(self, name: str, collection_type: str) -> DataLayout:
        try:
            layout = self.registry.layout(collection_type)
        except KeyError as err:
            raise WriteError(f"collection {name!r}: {err.args[0]}", file_path=self.path) from None
        if self._dict:
            try:
                if not layout.user_data:
                    dictionaries.check_layout(self._ROOT, layout.data_type, layout.dtype)
                for member in layout.vector_members:
                    element = _cpp_element(member.type)
                    if "::" in element:
                        dictionaries.check_layout(self._ROOT, element, _element_dtype(self.registry, member.type))
            except EDM4hepError as err:
                raise WriteError(f"collection {name!r}: {err}", file_path=self.path) from None
        return layout

    def _book(self, name: str, layout: DataLayout) -> None:
        if layout.subset:
            self._add_branch(f"{name}_objIdx", "podio::ObjectID")
            return
        self._add_branch(name, layout.data_type)
        for member in layout.one_to_many:
            self._add_branch(f"_{name}_{member.name}", "podio::ObjectID")
        for member in layout.one_to_one:
            self._add_branch(f"_{name}_{member.name}", "podio::ObjectID")
        for member in layout.vector_members:
            self._add_branch(f"_{name}_{member.name}", _cpp_element(member.type))

    def _add_branch(self, branch: str, cpp_type: str) -> None:
        import warnings

        if self._dict:
            try:
                vector = dictionaries.DictVector(self._ROOT, cpp_type)
            except EDM4hepError as err:
                raise WriteError(f"branch {branch!r}: {err}", file_path=self.path) from None
            self._ROOT.k4mlpf_dict_branch(self._events, branch, vector.cls, vector.address, self._basket, 99)
            self._branches[branch] = (vector, cpp_type)
            return
        vector = self._ROOT.std.vector[cpp_type]()
        with warnings.catch_warnings():
            # ROOT warns for every interpreted struct nested in another (edm4hep::Vector3f in ClusterData)
            # that it "has no streamer or dictionary" and "will not be saved"; it is saved through the
            # interpreter's emulated streamer: tests/edm4hep/test_writer.py round-trips every member and
            # compares the StreamerInfo checksums with podio's own file.
            warnings.filterwarnings("ignore", message=r".*has no streamer or dictionary, data member",
                                    category=RuntimeWarning)
            self._events.Branch(branch, vector, self._basket, 99)
        self._branches[branch] = (vector, cpp_type)

    def _columns(self, name: str, layout: DataLayout, array: ak.Array):
        """Yield (branch, flat structured array, per-event offsets) for one collection.

        Works on the packed awkward layout (plain numpy buffers), not the high-level array: a chunk
        has ~100 member columns, and high-level calls would cost more than the copies themselves.
        """
        try:
            counts, flat = _list_layout(ak.Array(array))
        except (TypeError, ValueError) as err:
            raise WriteError(f"collection {name!r} must be an 'N * var * record' array ({err})",
                             file_path=self.path) from err
        offsets = _offsets(counts)
        n = int(offsets[-1])
        if layout.subset:
            data = np.zeros(n, _REF_DTYPE)
            _fill(data, flat, f"{name} (subset collection)", self.path)
            yield f"{name}_objIdx", data, offsets
            return
        if layout.user_data:
            data = np.zeros(n, layout.dtype)
            _fill(data, flat, name, self.path)
            yield name, data, offsets
            return
        if not isinstance(flat, (ak.contents.RecordArray, ak.contents.EmptyArray)):
            raise WriteError(f"collection {name!r} must be an 'N * var * record' array", file_path=self.path)
        fields = set(flat.fields) if isinstance(flat, ak.contents.RecordArray) else set()
        known = {m.name for m in layout.members + layout.vector_members + layout.one_to_many + layout.one_to_one}
        unknown = sorted(fields - known)
        if unknown:
            raise WriteError(f"collection {name!r} ({layout.collection_type}) has no member(s) {unknown}; "
                             f"members are {sorted(known)}", file_path=self.path)
        data = np.zeros(n, layout.dtype)
        for key, value in layout.defaults.items():
            data[key] = value
        for member in layout.members:
            if member.name in fields:
                _fill(data[member.name], flat.content(member.name), f"{name}.{member.name}", self.path)
        satellites = []
        for member in layout.vector_members + layout.one_to_many:
            is_relation = member in layout.one_to_many
            element = _REF_DTYPE if is_relation else _element_dtype(self.registry, member.type)
            if member.name in fields:
                per_object, elements = _lists(flat.content(member.name), f"{name}.{member.name}", self.path)
                values = np.zeros(int(per_object.sum()), element)
                _fill(values, elements, f"{name}.{member.name}", self.path)
            else:
                per_object = np.zeros(n, np.int64)
                values = np.zeros(0, element)
            # begin/end are positions within each event's vector
            global_offsets = _offsets(per_object)
            first_of_event = global_offsets[offsets[:-1]]
            begin = global_offsets[:-1] - np.repeat(first_of_event, counts)
            data[f"{member.name}_begin"] = begin
            data[f"{member.name}_end"] = begin + per_object
            satellites.append((f"_{name}_{member.name}", values, global_offsets[offsets]))
        for member in layout.one_to_one:
            refs = np.zeros(n, _REF_DTYPE)
            refs["index"] = -2
            if member.name in fields:
                _fill(refs, flat.content(member.name), f"{name}.{member.name}", self.path)
            satellites.append((f"_{name}_{member.name}", refs, offsets))
        yield name, data, offsets
        # podio's branch order: one-to-many, one-to-one, vector members
        order = {m.name: i for i, m in enumerate(layout.one_to_many + layout.one_to_one + layout.vector_members)}
        yield from sorted(satellites, key=lambda s: order[s[0][len(name) + 2:]])

    def _book_gp(self, tree, store: dict) -> None:
        ROOT = self._ROOT
        for short, cpp, _ in _GP_KINDS:
            keys = ROOT.std.vector["std::string"]()
            values = ROOT.std.vector[f"std::vector<{cpp}>"]()
            tree.Branch(f"GP{short}Keys", keys, self._basket, 99)
            tree.Branch(f"GP{short}Values", values, self._basket, 99)
            store[short] = (keys, values, cpp)

    def _set_gp(self, store: dict, params: Mapping[str, list]) -> None:
        ROOT = self._ROOT
        grouped = {short: [] for short, _, _ in _GP_KINDS}
        by_typename = {typename: short for short, typename, _ in _GP_KINDS}
        for key in sorted(params):
            values = params[key]
            if isinstance(values, Mapping):  # podio's typed form {"float": [1.0]}
                for typename, typed_values in values.items():
                    if typename not in by_typename:
                        raise WriteError(f"frame parameter {key!r}: unknown type {typename!r}",
                                         file_path=self.path)
                    grouped[by_typename[typename]].append((key, list(typed_values)))
                continue
            values = list(values) if isinstance(values, (list, tuple, np.ndarray)) else [values]
            grouped[_gp_kind(key, values)].append((key, values))
        for short, (keys, vectors, cpp) in store.items():
            keys.clear()
            vectors.clear()
            for key, values in grouped[short]:
                keys.push_back(key)
                vec = ROOT.std.vector[cpp]()
                for v in values:
                    vec.push_back(v if cpp == "std::string" else (int(v) if cpp == "int" else float(v)))
                vectors.push_back(vec)

    def _finish(self) -> None:
        ROOT = self._ROOT
        self._file.cd()
        if self._events is None:  # a file without events still gets its trees
            self._events = ROOT.TTree("events", "events")
            self._book_gp(self._events, self._gp)
        self._events.Write("", ROOT.TObject.kOverwrite)  # no stale auto-saved cycles
        for category, frames in self._parameter_frames():  # podio writes only the categories a job filled
            meta_tree = ROOT.TTree(category, category)
            meta_gp: dict = {}
            self._book_gp(meta_tree, meta_gp)
            for frame in frames:
                self._set_gp(meta_gp, frame)
                meta_tree.Fill()
            meta_tree.Write("", ROOT.TObject.kOverwrite)
        self._write_podio_metadata()

    def _parameter_frames(self) -> list[tuple[str, list[dict]]]:
        """Categories without collections: 'metadata', then any other, in the order written."""
        out = [("metadata", [self._metadata_params])] if self._metadata_params is not None else []
        return out + list(self._frames.items())

    def _write_podio_metadata(self) -> None:
        if self._dict:
            self._write_podio_metadata_with_dictionaries()
            return
        ROOT = self._ROOT
        tree = ROOT.TTree("podio_metadata", "metadata tree for podio I/O functionality")
        keep = []
        categories = [(name, {}) for name, _ in self._parameter_frames()] + [("events", self._collections)]
        for category, collections in categories:
            infos = ROOT.std.vector["podio::root_utils::CollectionWriteInfo"]()
            for name, layout in collections.items():
                info = ROOT.podio.root_utils.CollectionWriteInfo()
                info.collectionID = collection_id(name)
                info.dataType = layout.collection_type
                info.isSubset = layout.subset
                info.schemaVersion = layout.schema_version
                info.name = name
                info.storageType = f"std::vector<{layout.data_type}>"
                infos.push_back(info)
            tree.Branch(f"{category}___CollectionTypeInfo", infos, self._basket, 99)
            keep.append(infos)
        version = ROOT.podio.version.Version()
        version.major, version.minor, version.patch = PODIO_VERSION
        tree.Branch("PodioBuildVersion", version)
        definitions = ROOT.std.vector["std::tuple<std::string,std::string>"]()
        definitions.push_back(ROOT.std.make_tuple["std::string", "std::string"](
            "edm4hep", self.registry.definition_json()))
        tree.Branch("EDMDefinitions", definitions, self._basket, 99)
        edm_version = ROOT.podio.version.Version()
        edm_version.major, edm_version.minor, edm_version.patch = EDM4HEP_VERSION
        tree.Branch("edm4hep___Version", edm_version)
        keep += [version, definitions, edm_version]
        tree.Fill()
        tree.Write("", ROOT.TObject.kOverwrite)


    def _write_podio_metadata_with_dictionaries(self) -> None:
        """``podio_metadata`` as podio writes it, every podio struct made by its dictionary."""
        ROOT = self._ROOT
        tree = ROOT.TTree("podio_metadata", "metadata tree for podio I/O functionality")
        info_cls = "podio::root_utils::CollectionWriteInfo"
        offset = {m: int(ROOT.k4mlpf_dict_offset(info_cls, m))
                  for m in ("collectionID", "dataType", "isSubset", "schemaVersion", "name", "storageType")}
        keep = []
        categories = [(name, {}) for name, _ in self._parameter_frames()] + [("events", self._collections)]
        for category, collections in categories:
            infos = dictionaries.DictVector(ROOT, info_cls)
            first = int(ROOT.k4mlpf_dict_resize(infos.proxy, infos.address, len(collections)))
            for i, (name, layout) in enumerate(collections.items()):
                at = first + i * infos.increment
                ROOT.k4mlpf_dict_set_u32(at, offset["collectionID"], collection_id(name))
                ROOT.k4mlpf_dict_set_string(at, offset["dataType"], layout.collection_type)
                ROOT.k4mlpf_dict_set_bool(at, offset["isSubset"], layout.subset)
                ROOT.k4mlpf_dict_set_u32(at, offset["schemaVersion"], layout.schema_version)
                ROOT.k4mlpf_dict_set_string(at, offset["name"], name)
                ROOT.k4mlpf_dict_set_string(at, offset["storageType"], f"std::vector<{layout.data_type}>")
            ROOT.k4mlpf_dict_branch(tree, f"{category}___CollectionTypeInfo", infos.cls, infos.address,
                                    self._basket, 99)
            keep.append(infos)

        def version(branch: str, numbers) -> None:
            obj = int(ROOT.k4mlpf_dict_new("podio::version::Version"))
            for part, number in zip(("major", "minor", "patch"), numbers):
                ROOT.k4mlpf_dict_set_u16(obj, int(ROOT.k4mlpf_dict_offset("podio::version::Version", part)), number)
            ROOT.k4mlpf_dict_branch(tree, branch, "podio::version::Version", obj, 32000, 99)

        version("PodioBuildVersion", PODIO_VERSION)
        definitions = ROOT.std.vector["std::tuple<std::string,std::string>"]()
        definitions.push_back(ROOT.std.make_tuple["std::string", "std::string"](
            "edm4hep", self.registry.definition_json()))
        tree.Branch("EDMDefinitions", definitions, self._basket, 99)
        version("edm4hep___Version", EDM4HEP_VERSION)
        keep.append(definitions)
        tree.Fill()
        tree.Write("", ROOT.TObject.kOverwrite)


def _bind(assign, proxy: int):
    """``assign(vector, buffer, n)`` for one proxy (the declaring path's signature)."""
    return lambda vector, buffer, n: assign(proxy, vector, buffer, n)


def _offsets(counts: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def _cpp_element(cpp_type: str) -> str:
    return {"std::int32_t": "int", "std::uint32_t": "unsigned int", "std::int64_t": "long",
            "std::uint64_t": "unsigned long", "std::int16_t": "short",
            "std::uint16_t": "unsigned short"}.get(cpp_type, cpp_type)


def _element_dtype(registry: Registry, cpp_type: str) -> np.dtype:
    kind = registry.numpy_type(cpp_type)
    return kind if isinstance(kind, np.dtype) else np.dtype([("v", kind)])


def _list_layout(array: ak.Array) -> tuple[np.ndarray, ak.contents.Content]:
    """(per-event counts, packed content) of an ``N * var * X`` array."""
    layout = ak.to_packed(array).layout
    if not isinstance(layout, ak.contents.ListOffsetArray):
        raise TypeError(f"expected a list per event, got {array.type}")
    offsets = np.asarray(layout.offsets, dtype=np.int64)
    return np.diff(offsets), layout.content


def _lists(layout: ak.contents.Content, what: str, path: str) -> tuple[np.ndarray, ak.contents.Content]:
    """(length of each list, their packed elements) of a list-typed member (vector member, relation)."""
    if isinstance(layout, ak.contents.ListOffsetArray):
        offsets = np.asarray(layout.offsets, dtype=np.int64)
        return np.diff(offsets), layout.content[int(offsets[0]):int(offsets[-1])]
    if isinstance(layout, ak.contents.RegularArray):
        return np.full(layout.length, layout.size, np.int64), layout.content[: layout.length * layout.size]
    if isinstance(layout, ak.contents.EmptyArray):
        return np.zeros(0, np.int64), layout
    raise WriteError(f"{what}: expected a list per object, got {layout.form.type}", file_path=path)


def _fill(target: np.ndarray, source: ak.contents.Content, what: str, path: str) -> None:
    """Copy a packed awkward column (possibly a nested record) into a numpy (structured) column."""
    if isinstance(source, ak.contents.EmptyArray):
        if len(target):
            raise WriteError(f"{what}: no values for {len(target)} objects", file_path=path)
        return
    if target.dtype.names:
        if isinstance(source, (ak.contents.RegularArray, ak.contents.ListOffsetArray)) and \
                isinstance(source.content, ak.contents.RecordArray):
            # records inside lists (``21 * {values}``): project each field through the list, as
            # awkward's array["values"] does, giving ``{values: 21 * float}``
            for name in target.dtype.names:
                if name in source.content.fields:
                    _fill(target[name], source.copy(content=source.content.content(name)), f"{what}.{name}", path)
            return
        if not isinstance(source, ak.contents.RecordArray):
            raise WriteError(f"{what}: expected a record with fields {target.dtype.names}", file_path=path)
        for name in target.dtype.names:
            if name in source.fields:
                _fill(target[name], source.content(name), f"{what}.{name}", path)
        return
    if isinstance(source, ak.contents.NumpyArray):
        values = np.asarray(source.data)
    elif isinstance(source, (ak.contents.RegularArray, ak.contents.ListOffsetArray)) and target.ndim == 2:
        counts, inner = _lists(source, what, path)  # a fixed-size array member given as lists
        if len(counts) and not np.all(counts == target.shape[1]):
            raise WriteError(f"{what}: every object needs {target.shape[1]} values", file_path=path)
        values = np.asarray(inner.data if isinstance(inner, ak.contents.NumpyArray) else
                            ak.to_numpy(ak.Array(inner))).reshape(len(counts), target.shape[1])
    else:
        raise WriteError(f"{what}: cannot convert {source.form.type} to {target.dtype}"
                         f"{' (missing values are not allowed)' if 'option' in type(source).__name__.lower() else ''}",
                         file_path=path)
    if values.shape != target.shape:
        raise WriteError(f"{what}: shape {values.shape} does not fit {target.shape}", file_path=path)
    target[...] = values


def _gp_kind(key: str, values: list) -> str:
    if all(isinstance(v, str) for v in values):
        return "String"
    if all(isinstance(v, (bool, int, np.integer)) for v in values):
        return "Int"
    if all(isinstance(v, (float, int, np.floating, np.integer)) for v in values):
        return "Float" if all(isinstance(v, np.float32) for v in values) else "Double"
    raise WriteError(f"frame parameter {key!r}: values must be all str, all int or all float, not {values!r}")
