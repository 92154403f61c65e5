"""DID search: Rucio wildcards within scopes, metadata filters, pages with their metadata."""

from __future__ import annotations

import ast
import datetime as _dt
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from ..did import DID, check_name
from ..errors import InvalidRequest, quoted
from ..records import DIDInfo, DIDType, Page
from .connection import Connection
from .metadata import Metadata, shown
from .paging import Cursors, Stream, listing_key, stream_page

DID_TYPES = ("container", "dataset", "file", "all", "collection")
_WANTED = {"collection": ("container", "dataset"), "all": ("container", "dataset", "file")}
FILL_ROUNDS = 10  # pages read to fill one whose rows a metadata filter thinned out


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
    cursors: Cursors,
    scopes: Callable[[], list[str]],
    query: str,
    type_: str,
    filters: str,
    limit: int,
    cursor: str | None,
) -> Page[DIDInfo]:
    """DIDs matching ``scope:pattern`` (Rucio wildcards) and metadata filters like ``dsid=343981``.

    Pages come in Rucio's order, scope after scope, each read from the start of Rucio's stream
    up to its end (see paging.py); only the page's rows get their metadata.
    """
    from rucio.common.utils import parse_did_filter_from_string_fe

    type_ = (type_ or "collection").lower()
    if type_ not in DID_TYPES:
        raise InvalidRequest(f"type must be one of {', '.join(DID_TYPES)}.")
    query = (query or "*").strip() or "*"
    wanted_scopes: list[str] | None = None
    pattern = query
    if is_word(query):
        pattern = f"*{query}*"  # a word: names holding it, in every scope the instance lists
    elif ":" in query:
        scope, pattern = query.split(":", 1)
        DID.of(scope, "x")  # validates the scope
        wanted_scopes = [scope]
    check_name(pattern or "*", "search pattern")
    check_pattern(pattern or "*")
    try:
        rucio_filters, rucio_type = parse_did_filter_from_string_fe(filters or "", name=pattern or "*", type=type_)
    except Exception as e:  # noqa: BLE001 - rucio raises several kinds for bad filters
        raise InvalidRequest(
            f"The metadata filter '{quoted(filters)}' is not understood ({quoted(e, 120)}). Write key=value, key>=number, joined by commas."
        ) from None
    check_filters(rucio_filters)

    in_scopes = wanted_scopes or scopes()

    def stream(scope: str) -> Stream[DIDInfo]:
        def rows(wanted: int) -> Iterator[DIDInfo]:
            listed = connection.stream(
                partial(_list_dids, scope=scope, filters=rucio_filters, did_type=rucio_type, limit=wanted),
                f"searching {scope}:{pattern}",
            )
            return (info(d, scope) for d in listed)

        return rows

    key = listing_key("search", query, type_, filters, in_scopes)
    streams = [stream(scope) for scope in in_scopes]
    items: list[DIDInfo] = []
    page = Page[DIDInfo]([], None, cursor)
    thinned = False
    for _ in range(FILL_ROUNDS):
        page = stream_page(key, streams, lambda d: d.did, limit - len(items), page.next, cursors)
        found = page.items
        if any(not d.type for d in found):
            # Rucio's JSON metadata search returns bare names and ignores the type: complete and filter
            found = [d for d in _completed(found, metadata) if d.type in _WANTED.get(type_, (type_,))]
            thinned = True
        items += found
        if len(items) >= limit or page.next is None:
            break
    total = page.total
    if thinned:  # Rucio's count was of rows before the type filter: exact only for a whole listing read here
        total = len(items) if cursor is None and page.next is None else None
    return Page(with_metadata(items, metadata), total, page.next)


# How Rucio's server reads filter values (rucio.core.did_meta_plugins.filter_engine): dates in
# these formats, then anything Python's literal_eval reads (numbers, True/False/None) unless
# the text holds + - * or /; 'true'/'false' are capitalised first, inside words too.
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%fZ",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%a, %d %b %Y %H:%M:%S UTC",
)
_DATE_KEYS = ("created_before", "created_after", "created_at", "updated_at", "accessed_at")
_INTEGER_KEYS = ("length", "bytes")


def _read_by_rucio(text: str) -> str | None:
    """What Rucio's server would take ``text`` for, when not for the text itself (a number, a date, True)."""
    if any(word in text for word in ("true", "TRUE", "false", "FALSE")):
        return "a true/false value"
    for form in _DATE_FORMATS:
        try:
            _dt.datetime.strptime(text, form)
            return "a date"
        except ValueError:
            pass
    if not any(op in text for op in "+-*/"):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
        if isinstance(value, bool) or value is None:
            return f"the value {value}"
        if isinstance(value, (int, float, complex)):
            return "a number"
        if not isinstance(value, str):
            return "a Python value"
    return None


def is_word(query: str) -> bool:
    """A query with no scope and no wildcard (GamGam, ggH125) searches for names holding it."""
    return not any(c in query for c in ":*?%")


def check_pattern(pattern: str) -> None:
    """Refuse a name pattern Rucio's server would read as something else, and so never match."""
    taken_for = _read_by_rucio(pattern)
    if taken_for == "a true/false value":
        raise InvalidRequest(
            f"Rucio's server turns 'true' and 'false' in a pattern into 'True' and 'False', so '{quoted(pattern)}' "
            "cannot be searched as written; search for the rest of the name with wildcards, e.g. 'GamGam*'."
        )
    if taken_for:
        raise InvalidRequest(
            f"Rucio's server reads the pattern '{quoted(pattern)}' as {taken_for}, not as a name, so it matches "
            f"nothing; add a wildcard, e.g. '*{quoted(pattern)}*'."
        )


def check_filters(groups: list[dict[str, Any]]) -> None:
    """Refuse filter values Rucio cannot compare (its server fails on them instead of saying so)."""
    for group in groups:
        for key, value in group.items():
            column = key.split(".", 1)[0]
            if column in _INTEGER_KEYS and not str(value).lstrip("-").isdigit():
                raise InvalidRequest(f"The filter {column} needs a whole number, not '{quoted(value, 40)}'.")
            if column in _DATE_KEYS and _read_by_rucio(str(value)) != "a date":
                raise InvalidRequest(
                    f"The filter {column} needs a date such as 2024-01-31T00:00:00, not '{quoted(value, 40)}'."
                )


def _list_dids(client: Any, scope: str, filters: Any, did_type: str, limit: int) -> Iterator[dict[str, Any]]:
    """rucio-clients' ``list_dids(long=True)`` with the ``limit`` Rucio's REST search takes and the client does not pass.

    The request is the client's own (rucio.client.didclient.DIDClient.list_dids) plus ``limit``,
    so that Rucio's server stops its query there instead of listing every match.
    """
    from random import choice
    from urllib.parse import quote_plus

    from rucio.common.constants import HTTPMethod
    from rucio.common.utils import build_url, date_to_str

    groups = [{k: date_to_str(v) if isinstance(v, _dt.datetime) else v for k, v in g.items()} for g in filters]
    payload = {"type": did_type, "filters": groups, "long": True, "recursive": False, "limit": limit}
    url = build_url(
        choice(client.list_hosts),
        path="/".join([client.DIDS_BASEURL, quote_plus(scope), "dids", "search"]),
        params=payload,
    )
    response = client._send_request(url, method=HTTPMethod.GET)
    if response.status_code != 200:
        error, message = client._get_exception(
            headers=response.headers, status_code=response.status_code, data=response.content
        )
        raise error(message)
    rows: Iterator[dict[str, Any]] = client._load_json_data(response)
    return rows


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
