"""The download queue: datasets fetched file by file into the cache, in parallel, with progress.

One transfer per file however many downloads want it: a second download of the same
file waits for the first one's transfer instead of starting its own.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from .cache import Cache
from .did import DID
from .errors import Cancelled, InvalidRequest, NotFound, OdlakeError, quoted
from .records import ACTIVE_STATES, DownloadRecord, DownloadState, Location

if TYPE_CHECKING:
    from .instance import Instance

_log = logging.getLogger(__name__)
KEEP_FINISHED = 200  # finished downloads remembered for their records; older ones are forgotten
MAX_ACTIVE = 100  # downloads queued or running at once; more are refused with a clear message


@dataclass
class _Transfer:
    """One file on its way into the cache, shared by every download that wants it."""

    future: Future[tuple[Any, bool]]
    cancelled: threading.Event
    subscribers: set[str] = field(default_factory=set)


@dataclass
class Download:
    """A download as it runs (mutable, server-side); ``record()`` is what is shown of it."""

    id: str
    instance: str
    did: str
    state: DownloadState = "resolving"
    files_total: int = 0
    files_done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    transfers: int = 0  # files this download actually transferred (not found in the cache, not shared)
    errors: list[str] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    finished: float | None = None
    paths: list[str | None] = field(default_factory=list)  # per file, once it is in the cache
    cancelled: threading.Event = field(default_factory=threading.Event, repr=False)

    def record(self) -> DownloadRecord:
        elapsed = (self.finished or time.time()) - self.created
        return DownloadRecord(
            id=self.id,
            instance=self.instance,
            did=self.did,
            state=self.state,
            files_total=self.files_total,
            files_done=self.files_done,
            bytes_total=self.bytes_total,
            bytes_done=self.bytes_done,
            rate=self.bytes_done / elapsed if elapsed > 0 else 0.0,
            transfers=self.transfers,
            errors=tuple(self.errors),
            created=self.created,
            finished=self.finished,
            paths=tuple(p for p in self.paths if p),
        )


class Downloads:
    """The download queue of one server (or kernel): shared transfers, records of recent downloads."""

    def __init__(self, cache: Cache, parallel: int = 4, keep_finished: int = KEEP_FINISHED):
        self.cache = cache
        self._pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="odlake-transfer")
        self._runner = ThreadPoolExecutor(max_workers=4, thread_name_prefix="odlake-download")
        self._downloads: dict[str, Download] = {}
        self._transfers: dict[tuple[str, str], _Transfer] = {}
        self._lock = threading.Lock()
        self.keep_finished = keep_finished
        self.max_active = MAX_ACTIVE

    def start(self, instance: Instance, did: DID) -> Download:
        """Queue the download of ``did`` from ``instance``; returns at once.

        Asked again while it runs, the running download is the answer: one record, one queue entry.
        """
        with self._lock:
            for running in self._downloads.values():
                if running.state in ACTIVE_STATES and (running.instance, running.did) == (instance.name, str(did)):
                    return running
            if sum(d.state in ACTIVE_STATES for d in self._downloads.values()) >= self.max_active:
                raise InvalidRequest(
                    f"{self.max_active} downloads are running on this server already; wait for one to end, "
                    "or cancel one."
                )
            d = Download(id=uuid.uuid4().hex[:12], instance=instance.name, did=str(did))
            self._forget_old()
            self._downloads[d.id] = d
        self._runner.submit(self._run, instance, did, d)
        return d

    def get(self, download_id: str) -> Download:
        try:
            return self._downloads[download_id]
        except KeyError:
            raise NotFound(f"There is no download '{quoted(download_id)}' on this server.") from None

    def all(self) -> list[Download]:
        return sorted(self._downloads.values(), key=lambda d: d.created)

    def _forget_old(self) -> None:
        """Keep the records of at most ``keep_finished`` finished downloads (the newest); active ones stay."""
        finished = sorted(
            (d for d in self._downloads.values() if d.state not in ACTIVE_STATES), key=lambda d: d.created
        )
        for d in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._downloads[d.id]

    def cancel(self, download_id: str) -> Download:
        d = self.get(download_id)
        if d.state in ACTIVE_STATES:
            d.cancelled.set()
            with self._lock:
                for t in list(self._transfers.values()):
                    t.subscribers.discard(d.id)
                    if not t.subscribers:
                        t.cancelled.set()
            d.state = "cancelled"
            d.finished = time.time()
        return d

    def _run(self, instance: Instance, did: DID, d: Download) -> None:
        try:
            # the files are queued as Rucio lists them: a big dataset's first transfers start at once,
            # and its progress counts the files known so far
            waits = []
            for batch in instance.location_batches(did, "download", self.cache):
                if d.cancelled.is_set():
                    return
                d.state = "running"
                d.paths += [None] * len(batch)
                waits += [(d.files_total + i, f, self._share(f, d)) for i, f in enumerate(batch)]
                d.files_total += len(batch)
                d.bytes_total += sum(f.bytes or 0 for f in batch)
            for i, f, (transfer, started_here) in waits:
                try:
                    path, transferred = transfer.future.result()
                    d.paths[i] = str(path)
                    d.files_done += 1
                    if transferred and started_here:
                        d.transfers += 1
                    if not (transferred and started_here):
                        d.bytes_done += f.bytes or 0
                except Cancelled:
                    if not d.cancelled.is_set():
                        d.errors.append(f"{f.did}: the transfer was cancelled by another download")
                except OdlakeError as e:
                    d.errors.append(e.message)
            if d.cancelled.is_set():
                return
            d.state = "failed" if d.errors else "done"
        except OdlakeError as e:
            d.errors.append(e.message)
            d.state = "failed"
        except Exception as e:  # noqa: BLE001 - a download must end in a state; the log gets the traceback
            _log.exception("download %s of %s failed", d.id, d.did)
            d.errors.append(f"unexpected {type(e).__name__}: {e}")
            d.state = "failed"
        finally:
            if d.cancelled.is_set():
                d.state = "cancelled"
            d.finished = d.finished or time.time()

    def _share(self, f: Location, d: Download) -> tuple[_Transfer, bool]:
        key = (f.scope, f.name)
        with self._lock:
            existing = self._transfers.get(key)
            if existing is not None and not existing.future.done() and not existing.cancelled.is_set():
                existing.subscribers.add(d.id)
                return existing, False
            cancelled = threading.Event()
            sources = [a.location for a in f.alternatives if a.available]

            def progress(n: int, d: Download = d) -> None:
                d.bytes_done += n

            future = self._pool.submit(
                self.cache.fetch, DID(f.scope, f.name), sources, f.bytes, f.adler32, None, progress, cancelled
            )
            transfer = _Transfer(future, cancelled, {d.id})
            self._transfers[key] = transfer
        # outside the lock: a future that is already done runs the callback at once, here
        future.add_done_callback(partial(self._forget, key, transfer))
        return transfer, True

    def _forget(self, key: tuple[str, str], transfer: _Transfer, _done: object = None) -> None:
        with self._lock:
            if self._transfers.get(key) is transfer:
                del self._transfers[key]

    def shutdown(self) -> None:
        for d in self.all():
            if d.state in ACTIVE_STATES:
                self.cancel(d.id)
        self._runner.shutdown(wait=False, cancel_futures=True)
        self._pool.shutdown(wait=False, cancel_futures=True)
