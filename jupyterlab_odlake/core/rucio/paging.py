"""Pages of a listing read from the start of Rucio's streams, by cursor or by offset.

Rucio streams its listings (``list_dids``, ``list_files``) in its own order, with no offset.
A page reads the rows before it and the page itself, and stops: its cost is that of the
rows up to the page's end, never that of the whole listing, and nothing of it is kept on
the server. The cursor says where the next page starts (which stream, how many rows in,
and the last row's key, found again should rows have been added or removed before it);
it is signed, so only cursors this server gave out are read, and it expires.

A listing held whole and addressed by row (``rows_page``: a closed dataset's files, see
``file_index``) gives the same cursors: a page from it costs only its own rows, and either
way takes the other's cursor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from ..errors import InvalidRequest
from ..records import Page

MAX_PAGE = 1000
CURSOR_SECONDS = 3600
T = TypeVar("T")

# One stream of a listing (e.g. one scope's matches): called with how many rows are needed
# at most (Rucio may be told so), it gives them in Rucio's order.
Stream = Callable[[int], Iterable[T]]


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}.")
    return limit


def listing_key(*parts: Any) -> str:
    """A short key naming one listing (what was asked, with which parameters)."""
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Position:
    """Where a page starts: in stream ``part``, after ``offset`` of its rows, ``before`` rows into the listing."""

    part: int = 0
    offset: int = 0
    before: int = 0
    anchor: str | None = None  # the key of the row just before the page


class Cursors:
    """Cursors signed by this server: where the next page starts, and nothing else."""

    def __init__(self, seconds: float = CURSOR_SECONDS, secret: bytes | None = None):
        self.seconds = seconds
        self._secret = secret or os.urandom(32)

    def _sign(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()[:24]

    def encode(self, listing: str, at: Position, now: float | None = None) -> str:
        body = json.dumps({"k": listing, "t": int(time.time() if now is None else now), **asdict(at)})
        return base64.urlsafe_b64encode(f"{self._sign(body)}.{body}".encode()).decode()

    def decode(self, cursor: str, listing: str) -> Position:
        """The position a cursor of ``listing`` points at, or InvalidRequest."""
        try:
            signature, body = base64.urlsafe_b64decode(cursor.encode()).decode().split(".", 1)
            if not hmac.compare_digest(signature, self._sign(body)):
                raise ValueError("not signed here")
            data = json.loads(body)
            at = Position(int(data["part"]), int(data["offset"]), int(data["before"]), data["anchor"])
            issued, cursor_listing = float(data["t"]), data["k"]
        except (ValueError, KeyError, TypeError, OverflowError, UnicodeDecodeError):
            raise InvalidRequest("The paging cursor is not one this server gave out; start again without it.") from None
        if cursor_listing != listing:
            raise InvalidRequest("The paging cursor belongs to another listing; start again without it.")
        if time.time() - issued > self.seconds:
            raise InvalidRequest("The paging cursor has expired; start the listing again.")
        return at


def stream_page(
    listing: str,
    streams: Sequence[Stream[T]],
    key: Callable[[T], str],
    limit: int,
    cursor: str | None,
    cursors: Cursors,
    offset: int = 0,
) -> Page[T]:
    """The page of ``limit`` rows at ``cursor`` (or ``offset``) of the streams read one after the other.

    ``total`` is given when the listing's end was reached (exact for a listing read from its
    start), else None: more rows follow, how many is not known without reading them.
    """
    check_limit(limit)
    if offset < 0:
        raise InvalidRequest("offset must not be negative.")
    at = cursors.decode(cursor, listing) if cursor else Position(0, offset, offset)
    items: list[T] = []
    part, skip, anchor = at.part, at.offset, at.anchor
    ended_rows = 0  # rows of the streams read to their end
    while part < len(streams) and len(items) < limit:
        need = limit - len(items)
        # rows moved since the cursor was given: look for its anchor up to ``slack`` rows either side
        slack = limit if anchor else 0
        first = max(0, skip - slack)
        wanted = skip + slack + need + 1  # one more than the page: does anything follow?
        window: list[T] = []
        read = 0
        rows = iter(streams[part](wanted))
        try:
            for row in rows:
                if read >= first:
                    window.append(row)
                read += 1
                if read >= wanted:
                    break
        finally:
            getattr(rows, "close", lambda: None)()  # the rest of Rucio's answer is not read
        start = skip
        if anchor:
            keys = [key(r) for r in window]
            start = first + keys.index(anchor) + 1 if anchor in keys else skip
        taken = window[start - first : start - first + need]
        items += taken
        if read > start + len(taken):  # this stream goes on after the page
            end = Position(part, start + len(taken), at.before + len(items), key(taken[-1]) if taken else anchor)
            return Page(items, None, cursors.encode(listing, end))
        ended_rows += read
        part, skip, anchor = part + 1, max(0, start - read), None
    if part < len(streams):  # the page is full at a stream's end; the next streams may hold more
        return Page(items, None, cursors.encode(listing, Position(part, 0, at.before + len(items))))
    from_start = at.part == 0 and not at.anchor  # every stream was read from its first row: an exact count
    return Page(items, ended_rows if from_start else at.before + len(items), None)


# A listing held whole: called with where to start and how many rows, it gives them in its order.
Rows = Callable[[int, int], Sequence[T]]


def rows_page(
    listing: str,
    rows: Rows[T],
    length: int,
    key: Callable[[T], str],
    limit: int,
    cursor: str | None,
    cursors: Cursors,
    offset: int = 0,
) -> Page[T]:
    """The page of ``limit`` rows at ``cursor`` (or ``offset``) of a listing of ``length`` rows read by position.

    A page reads its own rows (after a cursor, also up to ``limit`` rows either side, where its
    anchor is looked for, as ``stream_page`` does), never the rows before it; ``total`` is known
    on every page. The cursors are ``stream_page``'s: a listing paged one way goes on the other.
    """
    check_limit(limit)
    if offset < 0:
        raise InvalidRequest("offset must not be negative.")
    at = cursors.decode(cursor, listing) if cursor else Position(0, offset, offset)
    if at.part:  # a listing held whole is one stream; stream_page gives no later part for one
        raise InvalidRequest("The paging cursor belongs to another listing; start again without it.")
    start, items = at.offset, None
    if at.anchor and start > 0:  # the anchor where it was (the listing unchanged): the page follows it
        after = list(rows(start - 1, limit + 1))
        if after and key(after[0]) == at.anchor:
            items = after[1:]
    if at.anchor and items is None:
        first = max(0, start - limit)
        window = list(rows(first, start + 2 * limit - first))
        keys = [key(r) for r in window]
        if at.anchor in keys:
            start = first + keys.index(at.anchor) + 1
        if start + limit <= first + len(window) or first + len(window) >= length:
            items = window[start - first : start - first + limit]
    if items is None:
        items = list(rows(start, limit))
    end = start + len(items)
    more = end < length
    anchor = key(items[-1]) if items else at.anchor
    return Page(items, length, cursors.encode(listing, Position(0, end, end, anchor)) if more else None)
