"""Which storages answer now: one TCP connection per endpoint, all at once, bounded in time.

A replica Rucio lists as available may sit on a storage that is down; streaming from it
would fail only when the notebook reads. Probing each distinct endpoint (a few) once for each
1,000 files attached lets ``auto`` and ``stream`` choose another replica instead.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from urllib.parse import urlparse

DEFAULT_PORTS = {"root": 1094, "http": 80, "https": 443, "davs": 443}
PROBE_SECONDS = 2.0


def endpoint(url: str) -> str:
    """``host:port`` of a URL, with the scheme's default port."""
    start = url.find("://")
    end = url.find("/", start + 3) if start >= 0 else -1
    # an attach asks this of every replica (100,000 for a big dataset), of a few storages: parse each origin once
    return _endpoint_of_origin(url[:end] if end >= 0 else url)


@lru_cache(maxsize=1024)
def _endpoint_of_origin(origin: str) -> str:
    parsed = urlparse(origin)
    return f"{parsed.hostname}:{parsed.port or DEFAULT_PORTS.get(parsed.scheme, 0)}"


def _answers(where: str, timeout: float) -> bool:
    host, _, port = where.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def silent(urls: Iterable[str], timeout: float = PROBE_SECONDS) -> set[str]:
    """The endpoints (``host:port``) among ``urls``' that do not accept a connection now."""
    endpoints = sorted({endpoint(u) for u in urls})
    if not endpoints:
        return set()
    if len(endpoints) == 1:  # as for every 1,000 files of a dataset on one storage: no threads to start
        return set() if _answers(endpoints[0], timeout) else set(endpoints)
    with ThreadPoolExecutor(max_workers=min(16, len(endpoints))) as pool:
        answered = list(pool.map(lambda e: _answers(e, timeout), endpoints))
    return {e for e, ok in zip(endpoints, answered, strict=True) if not ok}
