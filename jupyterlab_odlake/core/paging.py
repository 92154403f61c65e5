"""Pages of a listing, from a short-lived server-side snapshot, by cursor or by offset.

A 10,000-file dataset shows its first page without sending the whole list each time,
and the pages of one listing stay consistent while a user scrolls.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .errors import InvalidRequest
from .records import Page

MAX_PAGE = 1000
SNAPSHOT_SECONDS = 120
T = TypeVar("T")


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}.")
    return limit


def listing_key(*parts: Any) -> str:
    """A short key naming one listing (what was asked, with which parameters)."""
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode_cursor(key: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": key, "o": offset}).encode()).decode()


def decode_cursor(cursor: str, key: str) -> int:
    """The offset a cursor of listing ``key`` points at, or InvalidRequest."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
        offset, cursor_key = int(decoded["o"]), decoded["k"]
    except (ValueError, KeyError, TypeError, OverflowError):  # OverflowError: {"o": Infinity}
        raise InvalidRequest("The paging cursor is not one this server gave out; start again without it.") from None
    if cursor_key != key or offset < 0:
        raise InvalidRequest("The paging cursor belongs to another listing; start again without it.")
    return offset


class Snapshots:
    """Full result lists kept a short while, so that pages of one listing are consistent and cheap."""

    def __init__(self, seconds: float = SNAPSHOT_SECONDS):
        self.seconds = seconds
        self._data: dict[str, tuple[float, list[Any]]] = {}
        self._lock = threading.Lock()

    def page(
        self, key: str, produce: Callable[[], Iterable[T]], limit: int, cursor: str | None = None, offset: int = 0
    ) -> Page[T]:
        """A page from a cursor this server gave out, or from an offset (for views that jump, like a scrolled list)."""
        check_limit(limit)
        if offset < 0:
            raise InvalidRequest("offset must not be negative.")
        if cursor:
            offset = decode_cursor(cursor, key)
        now = time.monotonic()
        with self._lock:
            self._data = {k: v for k, v in self._data.items() if now - v[0] < self.seconds}
            entry = self._data.get(key) if offset else None
        if entry is None:
            items = list(produce())
            with self._lock:
                self._data[key] = (now, items)
        else:
            items = entry[1]
        end = offset + limit
        return Page(items[offset:end], len(items), encode_cursor(key, end) if end < len(items) else None)
