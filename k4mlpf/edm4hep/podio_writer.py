"""Writing through podio itself (``podio.root_io.Writer``), where a Key4hep release provides podio.

Same interface as :class:`k4mlpf.edm4hep.writer.EDM4hepWriter` (``write_events``,
``write_metadata``, ``write_frames``, ``close``, ``abort``), same record form in, same atomic
temporary-name-then-rename. Chosen where podio's Python bindings load; where only podio's compiled
dictionaries do (e.g. podio >= 1.3 with a C++17 ROOT), the ROOT backend uses those dictionaries
instead of declaring its own structs (:mod:`.root_dictionaries`).

Objects are built one by one through the EDM4hep Python bindings (that is the only way podio's
Python API offers), members by their setters, vector members by ``addTo...``, relations and links
in a second pass once every collection of the event exists.

Not exercised by this project's CI: podio and EDM4hep are not installable from PyPI.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping

import awkward as ak

from ..atomic import AtomicOutput
from .errors import WriteError
from .murmur import collection_id
from .refs import LINK_COLLECTION_TYPES

_LINK_CLASS = {v: k.removeprefix("edm4hep::") + "Collection" for k, v in LINK_COLLECTION_TYPES.items()}


_PODIO_IMPORTS: bool | None = None


def podio_available() -> bool:
    """Whether ``import podio, edm4hep`` works (a Key4hep release with working Python bindings).

    Tried first in a child process: where the bindings cannot load (podio >= 1.3 with a C++17
    ROOT), a failed import leaves ROOT's interpreter half-parsed and prints pages of C++ errors,
    which must not happen in the process that then writes with ROOT.
    """
    global _PODIO_IMPORTS
    if _PODIO_IMPORTS is None:
        import importlib.util
        import subprocess
        import sys

        if importlib.util.find_spec("podio") is None or importlib.util.find_spec("edm4hep") is None:
            _PODIO_IMPORTS = False
        else:
            probe = subprocess.run([sys.executable, "-c", "import podio, edm4hep"], capture_output=True,
                                   timeout=300)
            _PODIO_IMPORTS = probe.returncode == 0
    if not _PODIO_IMPORTS:
        return False
    try:
        import edm4hep  # noqa: F401
        import podio  # noqa: F401
    except Exception:  # noqa: BLE001 - any failure means: not in a Key4hep environment
        return False
    return True


def _setter(name: str) -> str:
    return "set" + name[0].upper() + name[1:]


class PodioWriter(AtomicOutput):
    """Write events with ``podio.root_io.Writer`` (TTree layout of the installed podio)."""

    def __init__(self, path: str | os.PathLike):
        import edm4hep
        import podio
        from podio import root_io

        self.path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise WriteError("output directory does not exist", file_path=self.path)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{os.path.basename(self.path)}.", suffix=".tmp", dir=directory)
        os.close(fd)
        self._edm4hep, self._podio = edm4hep, podio
        self._writer = root_io.Writer(self._tmp)
        self._metadata: Mapping | None = None
        self._closed = False
        self.num_events = 0

    def write_events(self, collections: Mapping[str, ak.Array], types: Mapping[str, str], parameters=None, *,
                     subsets=()) -> None:
        try:
            n = len(next(iter(collections.values()))) if collections else 0
            params = list(parameters) if parameters is not None else [{}] * n
            subsets = frozenset(subsets)
            for event in range(n):
                frame = self._podio.Frame()
                for name, coll in self._event_collections({k: v[event] for k, v in collections.items()}, types,
                                                          subsets):
                    frame.put(coll, name)
                self._put_parameters(frame, params[event])
                self._writer.write_frame(frame, "events")
                self.num_events += 1
        except Exception:
            self.abort()
            raise

    def write_metadata(self, parameters: Mapping) -> None:
        self._metadata = dict(parameters)

    def write_frames(self, category: str, frames) -> None:
        for params in frames:
            frame = self._podio.Frame()
            self._put_parameters(frame, params)
            self._writer.write_frame(frame, category)

    def close(self) -> None:
        if self._closed:
            return
        if self._metadata is not None:
            frame = self._podio.Frame()
            self._put_parameters(frame, self._metadata)
            self._writer.write_frame(frame, "metadata")
        self._writer._writer.finish()
        self._closed = True
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._closed = True
        if os.path.exists(self._tmp):
            os.remove(self._tmp)

    # -- internals -------------------------------------------------------------------------------
    def _event_collections(self, records: Mapping[str, ak.Array], types: Mapping[str, str], subsets=frozenset()):
        edm = self._edm4hep
        built, objects = {}, {}
        for name, rows in records.items():  # pass 1: objects and their plain/vector members
            ctype = types[name]
            cls = _LINK_CLASS.get(ctype) or ctype.removeprefix("edm4hep::")
            coll = getattr(edm, cls)()
            objs = []
            if name in subsets:  # filled in pass 2, with the objects it points to
                coll.setSubsetCollection()
                built[name], objects[name] = coll, objs
                continue
            for row in ak.to_list(rows):
                obj = coll.create()
                for key, value in row.items():
                    if key in ("from", "to") or _is_ref(value) or (isinstance(value, list) and value and _is_ref(value[0])):
                        continue
                    if isinstance(value, list):
                        for item in value:
                            getattr(obj, "addTo" + key[0].upper() + key[1:])(self._component(item))
                    else:
                        getattr(obj, _setter(key))(self._component(value))
                objs.append(obj)
            built[name], objects[name] = coll, objs
        by_id = {collection_id(name): name for name in records}
        for name, rows in records.items():  # pass 2: subset collections, relations and links
            if name in subsets:
                for ref in ak.to_list(rows):
                    target = self._resolve(ref, by_id, objects)
                    if target is not None:
                        built[name].push_back(target)
                continue
            for obj, row in zip(objects[name], ak.to_list(rows)):
                for key, value in row.items():
                    if _is_ref(value):
                        target = self._resolve(value, by_id, objects)
                        if target is not None:
                            getattr(obj, _setter(key))(target)
                    elif isinstance(value, list) and value and _is_ref(value[0]):
                        for ref in value:
                            target = self._resolve(ref, by_id, objects)
                            if target is not None:
                                getattr(obj, "addTo" + key[0].upper() + key[1:])(target)
        return built.items()

    def _component(self, value):
        if not isinstance(value, dict):
            return value
        edm = self._edm4hep
        keys = tuple(value)
        if keys == ("x", "y", "z"):
            return edm.Vector3f(*value.values()) if all(isinstance(v, float) for v in value.values()) else \
                edm.Vector3d(*value.values())
        if keys == ("values",):  # covariance matrices: podio accepts a plain array for CovMatrixNf
            return value["values"]
        if set(keys) == {"type", "value", "error"}:
            return edm.Quantity(value["type"], value["value"], value["error"])
        raise WriteError(f"cannot convert component {value!r} for podio", file_path=self.path)

    @staticmethod
    def _resolve(ref, by_id, objects):
        name = by_id.get(ref["collectionID"])
        if name is None or ref["index"] < 0:
            return None
        return objects[name][ref["index"]]

    @staticmethod
    def _put_parameters(frame, params: Mapping) -> None:
        for key, value in params.items():
            if isinstance(value, Mapping):  # podio's typed form {"float": [..]}
                value = next(iter(value.values()))
            frame.put_parameter(key, list(value) if isinstance(value, (list, tuple)) else value)


def _is_ref(value) -> bool:
    return isinstance(value, dict) and set(value) == {"index", "collectionID"}
