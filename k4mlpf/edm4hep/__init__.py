"""EDM4hep I/O without podio: read any podio file with uproot, write podio's layout with ROOT.

The layer knows no physics, no model and no simulation.
"""

from .errors import CollectionNotFoundError, EDM4hepError, NotPodioFileError, SchemaEvolutionWarning, WriteError
from .metadata import CollectionInfo
from .murmur import collection_id
from .reader import EDM4hepFile, open_file

__all__ = ["CollectionInfo", "CollectionNotFoundError", "EDM4hepError", "EDM4hepFile",
           "NotPodioFileError", "SchemaEvolutionWarning", "WriteError", "collection_id", "open_file"]
