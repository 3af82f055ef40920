"""Exceptions of the EDM4hep I/O layer.

Every error names the file it is about; a missing collection also lists the collections that do
exist, nearest names first (as uproot's ``KeyInFileError`` does), so a typo shows the fix.
"""

from __future__ import annotations

import difflib


class EDM4hepError(Exception):
    """Base class: something is wrong with an EDM4hep file or a request made of it."""

    def __init__(self, message: str, *, file_path: str | None = None):
        self.file_path = file_path
        super().__init__(message if file_path is None else f"{file_path}: {message}")


class NotPodioFileError(EDM4hepError):
    """The file is not ROOT, is truncated, or is ROOT without podio's metadata."""


class CollectionNotFoundError(EDM4hepError, KeyError):
    """A requested collection is not in the file (also a ``KeyError``)."""

    def __init__(self, name: str, available: list[str], *, file_path: str | None = None,
                 category: str = "events"):
        self.name = name
        self.available = list(available)
        near = difflib.get_close_matches(name, self.available, n=len(self.available), cutoff=0.0)
        listing = ", ".join(near) if near else "(none)"
        super().__init__(
            f"no collection {name!r} in category {category!r}; available collections: {listing}",
            file_path=file_path,
        )

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class WriteError(EDM4hepError):
    """Writing failed; the partial output was removed."""


class SchemaEvolutionWarning(UserWarning):
    """Members or collections of an older EDM4hep version that today's layout has no place for."""
