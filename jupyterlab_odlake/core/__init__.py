"""odlake's core: Rucio instances, DIDs, replicas, the download cache. No Jupyter in here."""

from .cache import Cache
from .config import InstanceConfig, discover, from_lake, from_rucio_cfg
from .did import DID
from .errors import (
    AccessDenied,
    AuthenticationFailed,
    CacheUnusable,
    Cancelled,
    ChecksumMismatch,
    InvalidRequest,
    NotFound,
    OdlakeError,
    RucioFailed,
    StorageError,
    TimedOut,
    Unreachable,
)
from .instance import Instance
from .lake import Lake
from .records import MODES, Alternative, DIDInfo, DownloadRecord, FileEntry, Location, Page
from .service import Lakes

__all__ = [
    "DID",
    "MODES",
    "AccessDenied",
    "Alternative",
    "AuthenticationFailed",
    "Cache",
    "CacheUnusable",
    "Cancelled",
    "ChecksumMismatch",
    "DIDInfo",
    "DownloadRecord",
    "FileEntry",
    "Instance",
    "InstanceConfig",
    "InvalidRequest",
    "Lake",
    "Lakes",
    "Location",
    "NotFound",
    "OdlakeError",
    "Page",
    "RucioFailed",
    "StorageError",
    "TimedOut",
    "Unreachable",
    "discover",
    "from_lake",
    "from_rucio_cfg",
]
