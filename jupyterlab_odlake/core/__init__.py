"""odlake's core: Rucio instances, DIDs, replicas, the download cache. No Jupyter in here."""

from .cache import Cache
from .config import InstanceConfig, discover, from_lake, from_rucio_cfg
from .did import DID
from .errors import (
    AccessDenied,
    AuthenticationFailed,
    Cancelled,
    ChecksumMismatch,
    InvalidRequest,
    NotFound,
    OdlakeError,
    StorageError,
    TimedOut,
    Unreachable,
)
from .instance import Instance, Page
from .service import Lakes

__all__ = [
    "AccessDenied", "AuthenticationFailed", "Cache", "Cancelled", "ChecksumMismatch", "DID", "Instance",
    "InstanceConfig", "InvalidRequest", "Lakes", "NotFound", "OdlakeError", "Page", "StorageError", "TimedOut",
    "Unreachable", "discover", "from_lake", "from_rucio_cfg",
]  # fmt: skip
