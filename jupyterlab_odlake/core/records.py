"""The records that cross odlake's parts: a DID's info, a file entry, a location, a page, a transfer job,
a replication rule, an attach resolved.

Each record is what the service (core/service.py) returns, what the REST API sends (``to_json``)
and what the kernel's ``ServerService`` reads back (``from_json``), so the in-process and the HTTP
paths give equal objects. The records are also the one statement of their JSON: core/schema.py
makes the JSON Schema of each from its fields' types, its docstring and what the fields are
annotated with (``Wire``), and from the two lists a record keeps beside its fields, ``DERIVED``
(properties its JSON carries too, like ``did``) and ``OMITTED_WHEN_NONE`` (fields its JSON leaves
out rather than send null), which ``to_json`` reads as well. server/spec.py puts those schemas
into the REST API's description, from which the panel's types are generated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from operator import attrgetter
from typing import Annotated, Any, ClassVar, Generic, Literal, TypedDict, TypeVar

DIDType = Literal["container", "dataset", "file", ""]
Mode = Literal["stream", "download", "mounted", "auto"]
MODES: tuple[Mode, ...] = ("stream", "download", "mounted", "auto")
LocationKind = Literal["mounted", "stream", "download"]
# a DID's metadata as the lake shows it: key -> value
DIDMetadata = dict[str, str | float | bool | None]

JSON = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Wire:
    """What a field's JSON is beyond its Python type, as ``Annotated[int, Wire(...)]``: a description, a
    lower bound, or the ``shape`` of a dict whose keys are known (a TypedDict) where the field is typed loosely."""

    description: str = ""
    minimum: int | None = None
    shape: Any = None


class FileRead(TypedDict):
    """How the file would be read in the mode asked for (only when one was)."""

    kind: LocationKind | None
    scheme: Annotated[str | None, Wire("the stream's or the mount's URL scheme")]
    rse: str | None
    reason: Annotated[str | None, Wire("why there is no way to read it, when kind is null")]


class UploadedFile(TypedDict):
    """A file an upload put into its dataset."""

    did: str
    bytes: int | None
    adler32: str | None


@dataclass(frozen=True)
class _Shape:
    """What the JSON of a record class needs of it, read once per class, not for each of a 100,000-file answer's
    records (``fields`` walks the class every time)."""

    names: tuple[str, ...]  # its fields, in order
    known: frozenset[str]
    values: Callable[[Any], tuple[Any, ...]]
    plain: bool  # made by its __init__ alone, which sets each field in order and nothing else


_SHAPES: dict[Any, _Shape] = {}


def _shape(cls: Any) -> _Shape:
    found = _SHAPES.get(cls)
    if found is None:
        names = tuple(f.name for f in fields(cls))
        values = attrgetter(*names) if len(names) > 1 else (lambda r: (getattr(r, names[0]),))
        plain = not hasattr(cls, "__post_init__") and "__slots__" not in vars(cls) and all(f.init for f in fields(cls))
        found = _SHAPES[cls] = _Shape(names, frozenset(names), values, plain)
    return found


def _shallow(record: Any) -> JSON:
    """A record's fields as a dict, without ``asdict``'s deep copy (a 100,000-file answer is built of these)."""
    shape = _shape(type(record))
    if shape.plain:
        own = record.__dict__
        if tuple(own) == shape.names:  # the fields, in order: the dict built below, at a tenth of its cost
            return dict(own)
    return dict(zip(shape.names, shape.values(record), strict=True))


def _derived(record: Any) -> JSON:
    """The properties a record's JSON carries beside its fields (its ``DERIVED``)."""
    return {name: getattr(record, name) for name in record.DERIVED}


def _from_json(cls: Any, data: JSON) -> Any:
    """A record from its JSON form, ignoring keys the record does not have (derived ones like ``did``)."""
    shape = _shape(cls)
    if shape.plain and tuple(data) == shape.names:  # every field, in order, as ``to_json`` gives them
        # what ``cls(**data)`` makes, without a frozen record's cost of setting each field through object's
        # __setattr__ (a fifth of a 100,000-file attach's time in the kernel)
        record = object.__new__(cls)
        record.__dict__.update(data)
        return record
    if data.keys() <= shape.known:  # as the REST API sends most records: no key to leave out
        return cls(**data)
    return cls(**{k: v for k, v in data.items() if k in shape.known})


@dataclass(frozen=True)
class DIDInfo:
    """A DID as search, the DID route and the catalog show it."""

    DERIVED: ClassVar[tuple[str, ...]] = ("did",)

    scope: str
    name: str
    type: DIDType
    bytes: int | None = None
    length: Annotated[int | None, Wire("how many files")] = None
    metadata: DIDMetadata = field(default_factory=dict)
    adler32: str | None = None

    @property
    def did(self) -> str:
        """scope:name"""
        return f"{self.scope}:{self.name}"

    def to_json(self) -> JSON:
        return {**_derived(self), **asdict(self)}

    @classmethod
    def from_json(cls, data: JSON) -> DIDInfo:
        return _from_json(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class FileEntry:
    """One file of a DID; ``rses`` and ``available`` only when availability was asked for, ``read``
    (how it would be read: kind, scheme, rse) only when a mode was."""

    DERIVED: ClassVar[tuple[str, ...]] = ("did",)
    OMITTED_WHEN_NONE: ClassVar[tuple[str, ...]] = ("rses", "available", "read")

    scope: str
    name: str
    bytes: int | None
    adler32: str | None
    rses: Annotated[
        list[str] | None,
        Wire(
            "The RSEs of the dataset's whole copies when every copy Rucio counts is whole (then known without "
            "asking per file); else every RSE with a replica of the file, in any state."
        ),
    ] = None
    available: bool | None = None
    read: Annotated[dict[str, str | None], Wire(shape=FileRead)] | None = None

    @property
    def did(self) -> str:
        """scope:name"""
        return f"{self.scope}:{self.name}"

    def to_json(self) -> JSON:
        data = {**_derived(self), **_shallow(self)}  # no deep copy: a page holds up to 1,000 of these
        return {k: v for k, v in data.items() if v is not None or k not in self.OMITTED_WHEN_NONE}

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
    """Where to read one file in a mode (``kind`` and ``location``, both null when it cannot be, with the
    ``reason``), and every alternative."""

    DERIVED: ClassVar[tuple[str, ...]] = ("did",)

    scope: str
    name: str
    bytes: int | None
    adler32: str | None
    mode: Mode
    kind: LocationKind | None
    location: str | None
    rse: str | None
    cached: Annotated[
        bool | None, Wire("A verified copy is in the cache; null in the modes that do not read the cache.")
    ]
    alternatives: tuple[Alternative, ...] = ()
    reason: str | None = None

    @property
    def did(self) -> str:
        """scope:name"""
        return f"{self.scope}:{self.name}"

    def to_json(self) -> JSON:
        data = _shallow(self)
        data["alternatives"] = [_shallow(a) for a in self.alternatives]
        return {**_derived(self), **data}

    @classmethod
    def from_json(cls, data: JSON) -> Location:
        record: Location = _from_json(cls, data)
        return replace(record, alternatives=tuple(Alternative(**a) for a in data.get("alternatives", ())))


TransferKind = Literal["download", "upload"]
TransferState = Literal["resolving", "running", "done", "failed", "cancelled"]
ACTIVE_STATES: tuple[TransferState, ...] = ("resolving", "running")
Count = Annotated[int, Wire(minimum=0)]


@dataclass(frozen=True)
class TransferRecord:
    """A transfer job, as it was when asked: a download of a DID into the cache, or an upload of files
    into a dataset (``did``), one record shape for both directions.

    ``bytes_done`` counts what is in place (a file found in the cache, or already in the lake,
    counts at once); ``bytes_moved`` only what went over the network, and ``rate`` is of those.
    """

    id: str
    kind: TransferKind
    instance: str
    did: Annotated[str, Wire("the DID downloaded, or the dataset uploaded into")]
    state: TransferState
    files_total: Count
    files_done: Count
    bytes_total: Count
    bytes_done: Count
    bytes_moved: Count
    rate: Annotated[float, Wire("bytes moved per second since the start")]
    errors: tuple[str, ...]
    created: float
    finished: float | None
    error: Annotated[str | None, Wire("the code of the error that ended it, as the REST API's errors carry")] = None
    rse: Annotated[str | None, Wire("where an upload writes")] = None
    current: Annotated[str | None, Wire("the file in flight (uploads)")] = None
    transfers: Annotated[int, Wire("files this download moved itself", minimum=0)] = 0
    paths: Annotated[tuple[str, ...], Wire("a download's cached files so far")] = ()
    uploaded: Annotated[
        tuple[Annotated[dict[str, Any], Wire(shape=UploadedFile)], ...], Wire("an upload's files in the dataset")
    ] = ()

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def to_json(self) -> JSON:
        data = _shallow(self)
        data["errors"], data["paths"], data["uploaded"] = list(self.errors), list(self.paths), list(self.uploaded)
        return data

    @classmethod
    def from_json(cls, data: JSON) -> TransferRecord:
        record: TransferRecord = _from_json(cls, data)
        return replace(
            record,
            errors=tuple(data.get("errors", ())),
            paths=tuple(data.get("paths", ())),
            uploaded=tuple(data.get("uploaded", ())),
        )


@dataclass(frozen=True)
class CacheCheck:
    """The cached copies of a DID's files, re-checked in full against their checksums (adler32)."""

    did: str
    files: Annotated[Count, Wire("the files of the DID")]
    verified: Annotated[Count, Wire("cached copies whose bytes match their checksum")]
    removed: Annotated[tuple[str, ...], Wire("copies that no longer matched, removed: the next attach fetches them")]

    @property
    def not_cached(self) -> int:
        return self.files - self.verified - len(self.removed)

    def summary(self) -> str:
        """What the check found, in one sentence."""
        said = f"{self.verified} of {self.files} files of {self.did} verified in the cache"
        if self.not_cached:
            said += f", {self.not_cached} not cached"
        if self.removed:
            names = ", ".join(d.split(":", 1)[1] for d in self.removed[:5]) + (", …" if len(self.removed) > 5 else "")
            one = len(self.removed) == 1
            said += f"; {len(self.removed)} no longer matched {'its' if one else 'their'} checksum and "
            said += (
                f"{'was' if one else 'were'} removed ({names}): the next attach fetches {'it' if one else 'them'} again"
            )
        return said + "."

    def to_json(self) -> JSON:
        return {**_shallow(self), "removed": list(self.removed)}

    @classmethod
    def from_json(cls, data: JSON) -> CacheCheck:
        check: CacheCheck = _from_json(cls, data)
        return replace(check, removed=tuple(data.get("removed", ())))


# a rule's state, in words a user acts on
RULE_STATES = {
    "OK": "every copy is there",
    "REPLICATING": "waiting for the lake's transfer service to copy the files",
    "STUCK": "a copy failed and Rucio retries it; ask the lake's administrators if it stays so",
    "SUSPENDED": "suspended by the lake's administrators",
    "WAITING_APPROVAL": "waiting for the lake's administrators to approve it",
    "INJECT": "being created",
}


@dataclass(frozen=True)
class Rule:
    """A replication rule of the user's account: copies of ``did`` kept on ``rse_expression``."""

    DERIVED: ClassVar[tuple[str, ...]] = ("explained",)

    id: str
    did: str
    rse_expression: str
    state: Annotated[str, Wire("Rucio's: OK, REPLICATING, STUCK, SUSPENDED, WAITING_APPROVAL, INJECT")]
    locks_ok: int
    locks_total: int
    expires_at: str | None
    account: str

    @property
    def explained(self) -> str:
        """the state in words a user acts on"""
        return RULE_STATES.get(self.state, self.state.lower())

    def to_json(self) -> JSON:
        return {**_shallow(self), **_derived(self)}

    @classmethod
    def from_json(cls, data: JSON) -> Rule:
        return _from_json(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Resolved:
    """One file of an attach, resolved: where it is read (``kind``: mounted, stream or download, with the
    ``location`` a path or URL), or why it cannot be (``reason``, ``kind`` null)."""

    scope: str
    name: str
    bytes: int | None
    adler32: str | None
    kind: LocationKind | None
    location: Annotated[str | None, Wire("a local path or a streamable URL")]
    rse: str | None
    reason: str | None = None

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.name}"

    @classmethod
    def of(cls, location: Location) -> Resolved:
        return cls(
            location.scope,
            location.name,
            location.bytes,
            location.adler32,
            location.kind,
            location.location,
            location.rse,
            location.reason,
        )

    def to_json(self) -> JSON:
        return _shallow(self)

    @classmethod
    def from_json(cls, data: JSON) -> Resolved:
        return _from_json(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class SignedIn:
    """Whose sign-in an instance uses (``odlake login``) and until when its storage token lives (it is renewed
    before then); never a token."""

    subject: Annotated[str, Wire("who signed in, as the provider names them")]
    signed_in_at: Annotated[float, Wire("when they signed in (Unix time)")]
    expires_at: Annotated[float, Wire("when the current storage token ends (Unix time); renewed before then")]
    ended: Annotated[str | None, Wire("why the sign-in can no longer be renewed; null while it can")]

    def to_json(self) -> JSON:
        return _shallow(self)

    @classmethod
    def from_json(cls, data: JSON) -> SignedIn:
        return _from_json(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ReadAccess:
    """What a reader outside the server (the kernel, a dask worker) needs of storages that authenticate: the
    file holding the read token (never the token itself), readable by its user only, and the CA the storages'
    certificates chain to, as a PEM bundle and as a hashed directory (``X509_CERT_DIR``, for XRootD)."""

    token_file: Annotated[str | None, Wire("the file holding the storage token (WLCG BEARER_TOKEN_FILE)")]
    ca_file: Annotated[str | None, Wire("a PEM bundle of the storages' CA")]
    ca_dir: Annotated[str | None, Wire("a hashed directory of the storages' CA (X509_CERT_DIR)")]

    def to_json(self) -> JSON:
        return _shallow(self)

    @classmethod
    def from_json(cls, data: JSON) -> ReadAccess:
        return _from_json(cls, data)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Attachment:
    """The answer to an attach, decided where the lake is: each file resolved from one listing of the
    DID, and the download that brings the files to be copied into the cache."""

    did: str
    instance: str
    mode: Mode
    files: tuple[Resolved, ...]
    download: Annotated[
        TransferRecord | None,
        Wire("the download that copies the files of kind download into the cache, when some are not there yet"),
    ] = None
    access: Annotated[
        ReadAccess | None, Wire("what reading the streamed files needs beyond their URLs: a token file, the CA")
    ] = None

    def to_json(self) -> JSON:
        return {
            "did": self.did,
            "instance": self.instance,
            "mode": self.mode,
            "files": [f.to_json() for f in self.files],
            "download": self.download.to_json() if self.download else None,
            "access": self.access.to_json() if self.access else None,
        }

    @classmethod
    def from_json(cls, data: JSON) -> Attachment:
        download, access = data.get("download"), data.get("access")
        return cls(
            data["did"],
            data["instance"],
            data["mode"],
            tuple(Resolved.from_json(f) for f in data["files"]),
            TransferRecord.from_json(download) if download else None,
            ReadAccess.from_json(access) if access else None,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next`` is the cursor of the following page, null at the end."""

    items: list[T]
    total: Annotated[
        int | None, Wire("null while Rucio's listing has not been read to its end (items come in its order)", 0)
    ]
    next: str | None

    def to_json(self) -> JSON:
        return {"items": [item.to_json() for item in self.items], "total": self.total, "next": self.next}  # type: ignore[attr-defined]

    @classmethod
    def from_json(cls, data: JSON, item: Callable[[JSON], T]) -> Page[T]:
        return cls([item(i) for i in data["items"]], data["total"], data.get("next"))
