"""The records that cross odlake's parts: a DID's info, a file entry, a location, a download, a page.

Each record is what core returns, what the REST API sends (``to_json``) and what the
kernel's HTTP backend reads back (``from_json``), so the in-process and the HTTP paths
give equal objects. The REST API's description (``server/openapi.yaml``) is tested
against ``to_json`` of each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Generic, Literal, TypeVar

DIDType = Literal["container", "dataset", "file", ""]
Mode = Literal["stream", "download", "mounted", "auto"]
MODES: tuple[Mode, ...] = ("stream", "download", "mounted", "auto")
LocationKind = Literal["mounted", "stream", "download"]
DownloadState = Literal["resolving", "running", "done", "failed", "cancelled"]
ACTIVE_STATES: tuple[DownloadState, ...] = ("resolving", "running")

JSON = dict[str, Any]
T = TypeVar("T")


def _shallow(record: Any) -> JSON:
    """A record's fields as a dict, without ``asdict``'s deep copy (a 100,000-file answer is built of these)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _from_json(cls: Any, data: JSON) -> Any:
    """A record from its JSON form, ignoring keys the record does not have (derived ones like ``did``)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class DIDInfo:
    """A DID as search, the DID route and the catalog show it."""

    scope: str
    name: str
    type: DIDType
    bytes: int | None = None
    length: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    adler32: str | None = None

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.name}"

    def to_json(self) -> JSON:
        return {"did": self.did, **asdict(self)}

    @classmethod
    def from_json(cls, data: JSON) -> DIDInfo:
        return _from_json(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class FileEntry:
    """One file of a DID; ``rses`` and ``available`` only when availability was asked for, ``read``
    (how it would be read: kind, scheme, rse) only when a mode was."""

    scope: str
    name: str
    bytes: int | None
    adler32: str | None
    rses: list[str] | None = None
    available: bool | None = None
    read: dict[str, str | None] | None = None

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.name}"

    def to_json(self) -> JSON:
        data = {"did": self.did, **_shallow(self)}  # no deep copy: a page holds up to 1,000 of these
        return {k: v for k, v in data.items() if v is not None or k in ("bytes", "adler32")}

    @classmethod
    def from_json(cls, data: JSON) -> FileEntry:
        return _from_json(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Alternative:
    """One way to read a file: in place from a mounted RSE, or streamed from a replica's URL."""

    kind: Literal["mounted", "stream"]
    location: str
    rse: str
    scheme: str
    available: bool
    priority: int = 0


@dataclass(frozen=True)
class Location:
    """Where to read one file in a mode (``kind``/``location``, None when it cannot be), and every alternative."""

    scope: str
    name: str
    bytes: int | None
    adler32: str | None
    mode: Mode
    kind: LocationKind | None
    location: str | None
    rse: str | None
    cached: bool | None  # None: not asked, only download mode reads the cache
    alternatives: tuple[Alternative, ...] = ()
    reason: str | None = None

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.name}"

    def to_json(self) -> JSON:
        data = _shallow(self)
        data["alternatives"] = [_shallow(a) for a in self.alternatives]
        return {"did": self.did, **data}

    @classmethod
    def from_json(cls, data: JSON) -> Location:
        record: Location = _from_json(cls, data)
        return replace(record, alternatives=tuple(Alternative(**a) for a in data.get("alternatives", ())))


@dataclass(frozen=True)
class DownloadRecord:
    """What a download is doing, as it was when asked."""

    id: str
    instance: str
    did: str
    state: DownloadState
    files_total: int
    files_done: int
    bytes_total: int
    bytes_done: int
    rate: float
    transfers: int
    errors: tuple[str, ...]
    created: float
    finished: float | None
    paths: tuple[str, ...]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def to_json(self) -> JSON:
        data = asdict(self)
        data["errors"], data["paths"] = list(self.errors), list(self.paths)
        return data

    @classmethod
    def from_json(cls, data: JSON) -> DownloadRecord:
        record: DownloadRecord = _from_json(cls, data)
        return replace(record, errors=tuple(data.get("errors", ())), paths=tuple(data.get("paths", ())))


UploadState = Literal["running", "done", "failed", "cancelled"]


@dataclass(frozen=True)
class UploadRecord:
    """What an upload is doing, as it was when asked: files go one after another, each verified and
    registered by Rucio before the next; ``uploaded`` lists those in the dataset (did, bytes, adler32)."""

    id: str
    instance: str
    dataset: str
    rse: str
    state: UploadState
    files_total: int
    files_done: int
    bytes_total: int
    bytes_done: int
    rate: float
    current: str | None
    errors: tuple[str, ...]
    created: float
    finished: float | None
    uploaded: tuple[dict[str, Any], ...]

    @property
    def active(self) -> bool:
        return self.state == "running"

    def to_json(self) -> JSON:
        data = asdict(self)
        data["errors"], data["uploaded"] = list(self.errors), list(self.uploaded)
        return data

    @classmethod
    def from_json(cls, data: JSON) -> UploadRecord:
        record: UploadRecord = _from_json(cls, data)
        return replace(record, errors=tuple(data.get("errors", ())), uploaded=tuple(data.get("uploaded", ())))


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next`` is the cursor of the following page, None at the end.

    ``total`` is None while the listing has more than was read from Rucio.
    """

    items: list[T]
    total: int | None
    next: str | None

    def to_json(self) -> JSON:
        return {"items": [item.to_json() for item in self.items], "total": self.total, "next": self.next}  # type: ignore[attr-defined]

    @classmethod
    def from_json(cls, data: JSON, item: Callable[[JSON], T]) -> Page[T]:
        return cls([item(i) for i in data["items"]], data["total"], data.get("next"))
