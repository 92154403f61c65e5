"""odlake's core: the one service every adapter calls (``LakeService``), its records, and the Rucio adapter,
cache and transfers behind it. No Jupyter in here."""

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
from .records import MODES, Alternative, Attachment, DIDInfo, FileEntry, Location, Page, Resolved, Rule, TransferRecord
from .service import LakeService, Service
from .transfers.cache import Cache

__all__ = [
    "DID",
    "MODES",
    "AccessDenied",
    "Alternative",
    "Attachment",
    "AuthenticationFailed",
    "Cache",
    "CacheUnusable",
    "Cancelled",
    "ChecksumMismatch",
    "DIDInfo",
    "FileEntry",
    "InstanceConfig",
    "InvalidRequest",
    "LakeService",
    "Location",
    "NotFound",
    "OdlakeError",
    "Page",
    "Resolved",
    "RucioFailed",
    "Rule",
    "Service",
    "StorageError",
    "TimedOut",
    "TransferRecord",
    "Unreachable",
    "discover",
    "from_lake",
    "from_rucio_cfg",
]
