"""Writing EDM4hep files, whichever backend: the choice of writer (``open_writer``: podio's own inside
a Key4hep release, the ROOT-from-PyPI writer of :mod:`.writer` elsewhere) and the copy of a file with
new collections added (``copy_with_additions``, what ``k4mlpf reco`` runs), converting older EDM4hep
versions on the way (:mod:`.evolution`). The two backends know nothing of each other.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import awkward as ak

from .datamodel import EDM4HEP_VERSION
from .errors import SchemaEvolutionWarning, WriteError
from .podio_writer import podio_available

if TYPE_CHECKING:
    from .reader import EDM4hepFile


def open_writer(path: str | os.PathLike, backend: str = "auto", **kwargs):
    """The podio writer inside a Key4hep release, the ROOT-from-PyPI writer elsewhere.

    ``backend``: "auto" (podio if ``import podio, edm4hep`` works), "podio" or "root";
    ``K4MLPF_WRITER_BACKEND`` overrides "auto".
    """
    backend = os.environ.get("K4MLPF_WRITER_BACKEND", backend) if backend == "auto" else backend
    if backend not in ("auto", "podio", "root"):
        raise ValueError(f"writer backend must be 'auto', 'podio' or 'root', not {backend!r}")
    if backend == "podio" and not podio_available():
        raise WriteError("the podio writer backend needs `import podio, edm4hep` (a Key4hep release)",
                         file_path=os.fspath(path))
    if backend == "podio" or (backend == "auto" and podio_available()):
        from .podio_writer import PodioWriter

        return PodioWriter(path)
    from .writer import EDM4hepWriter

    return EDM4hepWriter(path, **kwargs)


def copy_with_additions(input_path: str | os.PathLike, output_path: str | os.PathLike,
                        produce: Callable[[dict[str, ak.Array], "EDM4hepFile"], tuple[dict, dict]] | None = None, *,
                        inputs: list[str] | None = None, step_size: int = 500,
                        progress: Callable[[int], None] | None = None, timings: dict | None = None) -> int:
    """Write every collection of ``input_path`` plus the new ones ``produce(chunk)`` returns.

    ``produce(chunk, source)`` receives the chunk's collections named by ``inputs`` (under today's
    member names, as ``EDM4hepFile.arrays(schema="current")`` gives them) and the open source file,
    and returns ``(collections, types)`` of the new collections. Frame parameters and the
    ``metadata`` frame are copied. Returns the number of events written.

    The output has today's layout (EDM4hep 1.x, podio >= 1.3) whatever the input's EDM4hep version:
    see :mod:`k4mlpf.edm4hep.evolution`. What cannot be converted is named in one
    :class:`SchemaEvolutionWarning` and left out.

    ``timings``, if given, accumulates seconds under "read" (the chunks, their frame parameters and
    the conversion to today's layout), "produce" and "write".
    """
    import time

    clock = {} if timings is None else timings

    def spent(key: str, since: float) -> float:
        now = time.perf_counter()
        clock[key] = clock.get(key, 0.0) + now - since
        return now

    from .evolution import plan_conversion
    from .reader import EDM4hepFile, current_names

    with EDM4hepFile(input_path) as source:
        infos = source.collections("events")
        dropped_types: set[str] = set()
        conversion = plan_conversion(infos, source.metadata.datamodel_definition("edm4hep"), dropped_types)
        names = list(conversion.plans)
        with open_writer(output_path, registry=conversion.registry) as writer:
            can_write = getattr(writer, "can_write", None)
            if can_write is not None:  # e.g. no dictionary for a type the loaded EDM4hep lacks
                for name in [n for n, t in conversion.types.items() if not can_write(t)]:
                    dropped_types.add(name)
                    del conversion.plans[name]
                names = list(conversion.plans)
            _copy_other_categories(source, writer, dropped_types)
            start = 0
            tick = time.perf_counter()
            for chunk in source.iterate(names, step_size=step_size, schema="file"):
                stop = start + len(next(iter(chunk.values()))) if chunk else start
                collections, all_types = conversion.apply(chunk)
                params = source.parameters("events", entry_start=start, entry_stop=stop)
                tick = spent("read", tick)
                if produce is not None:
                    view = {n: current_names(infos[n], chunk[n]) for n in (inputs or []) if n in chunk}
                    new, new_types = produce(view, source)
                    clash = set(new) & set(collections)
                    if clash:
                        raise WriteError(f"new collections {sorted(clash)} already exist in the input",
                                         file_path=os.fspath(output_path))
                    collections.update(new)
                    all_types.update(new_types)
                    tick = spent("produce", tick)
                writer.write_events(collections, all_types, params, subsets=conversion.subsets)
                tick = spent("write", tick)
                if progress is not None:
                    progress(stop - start)
                start = stop
            n_events = writer.num_events
            tick = time.perf_counter()
        spent("write", tick)  # closing the writer flushes its last baskets
        if dropped_types or conversion.dropped:
            _warn_lost(source, output_path, [f"collection {n} ({infos[n].type})" if n in infos else n
                                             for n in sorted(dropped_types)] + sorted(conversion.dropped))
        return n_events


def _copy_other_categories(source, writer, dropped: set[str]) -> None:
    """The frames of every category but 'events': their parameters (collections there are named)."""
    for category in source.categories:
        if category == "events" or not source.num_entries(category):
            continue
        if category == "metadata":
            writer.write_metadata(source.parameters("metadata")[0])
        elif hasattr(writer, "write_frames"):
            writer.write_frames(category, source.parameters(category))
        else:
            dropped.add(f"category {category}")
        for name in source.collections(category):  # not copied (no real file has them so far)
            dropped.add(f"{category}/{name}")


def _warn_lost(source, output_path, lost: list[str]) -> None:
    """One warning naming everything of ``source`` that today's EDM4hep has no place for."""
    import warnings

    schema = source.metadata.datamodel_definition("edm4hep").get("schema_version", "?")
    version = ".".join(map(str, source.edm4hep_version or ())) or f"schema {schema}"
    warnings.warn(SchemaEvolutionWarning(
        f"{source.path}: not converted to EDM4hep {'.'.join(map(str, EDM4HEP_VERSION))} (from {version}) and "
        f"left out of {os.fspath(output_path)}: {', '.join(lost)}"), stacklevel=3)
