"""The download queue: datasets fetched file by file into the cache, in parallel, with progress.

One transfer per file however many downloads want it: a second download of the same
file waits for the first one's transfer instead of starting its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from ..did import DID
from ..errors import Cancelled, OdlakeError
from ..records import Location
from .cache import Cache
from .jobs import Job, Jobs

if TYPE_CHECKING:
    from ..credentials import StorageAccess
    from ..rucio.instance import Instance

_log = logging.getLogger(__name__)


@dataclass
class _Transfer:
    """One file on its way into the cache, shared by every download that wants it."""

    future: Future[tuple[Any, bool]]
    cancelled: threading.Event
    subscribers: set[str] = field(default_factory=set)


class Downloads:
    """Downloads into the cache, as jobs of ``jobs``: files transferred in parallel, each once however
    many downloads want it."""

    def __init__(self, cache: Cache, jobs: Jobs, parallel: int = 4):
        self.cache = cache
        self.jobs = jobs
        self._pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="odlake-transfer")
        self._transfers: dict[tuple[str, str], _Transfer] = {}
        self._lock = threading.Lock()

    def start(self, instance: Instance, did: DID, files: Sequence[Location] | None = None) -> Job:
        """Queue the download of ``did`` from ``instance``; returns at once.

        ``files``: its files' download locations when the caller has listed them already (an attach
        that resolved them); else they are listed here, and queued as Rucio lists them. Asked
        again while it runs, the running download is the answer: one record, one queue entry.
        """
        job = Job("download", instance.name, str(did))

        def work(job: Job) -> None:
            batches = [list(files)] if files is not None else instance.location_batches(did, "download", self.cache)
            self._run(batches, job, instance.storage)

        return self.jobs.start(
            job, work, same=lambda j: (j.instance, j.did) == (job.instance, job.did), on_cancel=self._cancel
        )

    def _cancel(self, job: Job) -> None:
        with self._lock:
            for t in list(self._transfers.values()):
                t.subscribers.discard(job.id)
                if not t.subscribers:
                    t.cancelled.set()
        job.end("cancelled")  # a cancelled download says so at once; its transfers stop on their own

    def _run(self, batches: Iterable[list[Location]], job: Job, access: StorageAccess | None = None) -> None:
        # the files are queued as Rucio lists them: a big dataset's first transfers start at once,
        # and its progress counts the files known so far
        waits = []
        for batch in batches:
            if job.cancelled.is_set():
                return
            job.begin()
            first = job.files_total
            job.plan(len(batch), sum(f.bytes or 0 for f in batch))
            waits += [(first + i, f, self._share(f, job, access)) for i, f in enumerate(batch)]
        for i, f, (transfer, started_here) in waits:
            try:
                path, transferred = transfer.future.result()
            except Cancelled:
                if not job.cancelled.is_set():
                    job.fail(f"{f.did}: the transfer was cancelled by another download")
                continue
            except OdlakeError as e:
                job.fail(e.message)
                continue
            moved_here = transferred and started_here  # its bytes were counted as they came
            job.file_done(0 if moved_here else f.bytes or 0, str(path), i, transferred=moved_here)

    def _share(self, f: Location, job: Job, access: StorageAccess | None) -> tuple[_Transfer, bool]:
        key = (f.scope, f.name)
        with self._lock:
            existing = self._transfers.get(key)
            if existing is not None and not existing.future.done() and not existing.cancelled.is_set():
                existing.subscribers.add(job.id)
                return existing, False
            cancelled = threading.Event()
            sources = [a.location for a in f.alternatives if a.available]
            future = self._pool.submit(
                self.cache.fetch, DID(f.scope, f.name), sources, f.bytes, f.adler32, None, job.moved, cancelled, access
            )
            transfer = _Transfer(future, cancelled, {job.id})
            self._transfers[key] = transfer
        # outside the lock: a future that is already done runs the callback at once, here
        future.add_done_callback(partial(self._forget, key, transfer))
        return transfer, True

    def _forget(self, key: tuple[str, str], transfer: _Transfer, _done: object = None) -> None:
        with self._lock:
            if self._transfers.get(key) is transfer:
                del self._transfers[key]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
