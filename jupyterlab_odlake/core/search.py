"""DID search: Rucio wildcards within scopes, metadata filters, pages with their metadata."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .connection import Connection
from .did import DID, check_name
from .errors import InvalidRequest
from .metadata import Metadata, shown
from .paging import Snapshots, listing_key
from .records import DIDInfo, DIDType, Page

DID_TYPES = ("container", "dataset", "file", "all", "collection")
_WANTED = {"collection": ("container", "dataset"), "all": ("container", "dataset", "file")}


_TYPES: dict[str, DIDType] = {
    "c": "container",
    "container": "container",
    "d": "dataset",
    "dataset": "dataset",
    "f": "file",
    "file": "file",
}


def did_type(value: Any) -> DIDType:
    """Rucio's DID type (an enum, its name or a one-letter code) as odlake's word; "" when not known."""
    text = str(getattr(value, "name", value) or "").lower().replace("didtype.", "")
    return _TYPES.get(text, "")


def info(d: dict[str, Any], scope: str | None = None, metadata: dict[str, Any] | None = None) -> DIDInfo:
    """A DIDInfo from one entry of Rucio's listings."""
    return DIDInfo(
        scope=str(d.get("scope") or scope),
        name=d["name"],
        type=did_type(d.get("did_type") or d.get("type")),
        bytes=d.get("bytes"),
        length=d.get("length"),
        metadata=metadata or {},
    )


def with_metadata(items: list[DIDInfo], metadata: Metadata) -> list[DIDInfo]:
    """The items with the metadata a listing shows, read in one call."""
    from dataclasses import replace

    found = metadata.bulk([DID(i.scope, i.name) for i in items])
    return [replace(i, metadata=shown(found.get(DID(i.scope, i.name), {}))) for i in items]


def search(
    connection: Connection,
    metadata: Metadata,
    snapshots: Snapshots,
    scopes: Callable[[], list[str]],
    query: str,
    type_: str,
    filters: str,
    limit: int,
    cursor: str | None,
) -> Page[DIDInfo]:
    """DIDs matching ``scope:pattern`` (Rucio wildcards) and metadata filters like ``dsid=343981``."""
    from rucio.common.utils import parse_did_filter_from_string_fe

    type_ = (type_ or "collection").lower()
    if type_ not in DID_TYPES:
        raise InvalidRequest(f"type must be one of {', '.join(DID_TYPES)}.")
    query = (query or "*").strip() or "*"
    wanted_scopes: list[str] | None = None
    pattern = query
    if ":" in query:
        scope, pattern = query.split(":", 1)
        DID.of(scope, "x")  # validates the scope
        wanted_scopes = [scope]
    check_name(pattern or "*", "search pattern")
    try:
        rucio_filters, rucio_type = parse_did_filter_from_string_fe(filters or "", name=pattern or "*", type=type_)
    except Exception as e:  # noqa: BLE001 - rucio raises several kinds for bad filters
        raise InvalidRequest(
            f"The metadata filter '{filters}' is not understood ({e}). Write key=value, key>=number, joined by commas."
        ) from None

    def produce() -> list[DIDInfo]:
        found: list[DIDInfo] = []
        for scope in wanted_scopes or scopes():
            listed: list[dict[str, Any]] = connection.call(
                partial(_list_dids, scope=scope, filters=rucio_filters, did_type=rucio_type),
                f"searching {scope}:{pattern}",
            )
            found.extend(info(d, scope) for d in listed)
        if any(not d.type for d in found):
            # Rucio's JSON metadata search returns bare names and ignores the type: complete and filter
            found = _completed(found, metadata)
            found = [d for d in found if d.type in _WANTED.get(type_, (type_,))]
        return sorted(found, key=lambda d: (d.scope, d.name))

    key = listing_key("search", query, type_, filters, wanted_scopes)
    page = snapshots.page(key, produce, limit, cursor)
    return Page(with_metadata(page.items, metadata), page.total, page.next)


def _list_dids(client: Any, scope: str, filters: Any, did_type: str) -> list[dict[str, Any]]:
    return list(client.list_dids(scope, filters, did_type=did_type, long=True))


def _completed(items: list[DIDInfo], metadata: Metadata, chunk: int = 500) -> list[DIDInfo]:
    """Type and size from the DID columns, for items a metadata search gave as bare names."""
    from dataclasses import replace

    out = []
    for start in range(0, len(items), chunk):
        part = items[start : start + chunk]
        metas = metadata.bulk([DID(i.scope, i.name) for i in part])
        for i in part:
            meta = metas.get(DID(i.scope, i.name), {})
            out.append(
                replace(
                    i,
                    type=i.type or did_type(meta.get("did_type")),
                    bytes=i.bytes if i.bytes is not None else meta.get("bytes"),
                    length=i.length if i.length is not None else meta.get("length"),
                )
            )
    return out
