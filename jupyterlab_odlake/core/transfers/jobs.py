"""Transfer jobs, both directions: one registry, one record shape, one way to follow them.

A ``Job`` is a download into the cache or an upload into the lake as it runs; its counters are
changed from the transfer threads under the job's own lock, and ``record()`` is what anyone is
shown of it. ``Jobs`` keeps the jobs of one server (or kernel): it runs each on a thread, ends
each in a state whatever happens, and forgets the oldest finished ones by one rule. ``follow``
waits for a job's end through any service, showing progress on the way.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidRequest, NotFound, OdlakeError, quoted
from ..records import ACTIVE_STATES, TransferKind, TransferRecord, TransferState

_log = logging.getLogger(__name__)
KEEP_FINISHED = 200  # finished jobs remembered for their records; older ones are forgotten
MAX_ACTIVE = 100  # jobs queued or running at once; more are refused with a clear message


@dataclass(eq=False)
class Job:
    """A transfer as it runs (mutable, server-side). Counters change through its methods only."""

    kind: TransferKind
    instance: str
    did: str
    rse: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: TransferState = "resolving"
    files_total: int = 0
    files_done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    bytes_moved: int = 0
    transfers: int = 0
    current: str | None = None
    errors: list[str] = field(default_factory=list)
    error: str | None = None  # the code of the error that ended the job
    paths: dict[int, str] = field(default_factory=dict)  # where each file of the plan is, by its place
    uploaded: list[dict[str, Any]] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancelled: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def plan(self, files: int, nbytes: int) -> None:
        """Files and bytes this job will handle, counted as they become known."""
        with self._lock:
            self.files_total += files
            self.bytes_total += nbytes

    def begin(self) -> None:
        """The job's transfers start (it was resolving what to move)."""
        with self._lock:
            if self.state == "resolving":
                self.state = "running"

    def at(self, name: str | None) -> None:
        """The file in flight (uploads, one after another); None between files."""
        with self._lock:
            self.current = name

    def moved(self, nbytes: int) -> None:
        """Bytes that went over the network (called from transfer threads, many at once)."""
        with self._lock:
            self.bytes_moved += nbytes
            self.bytes_done += nbytes

    def file_done(
        self, nbytes_in_place: int = 0, path: str | None = None, index: int | None = None, transferred: bool = False
    ) -> None:
        """One file is whole where it belongs; ``nbytes_in_place``: its bytes that no transfer counted;
        ``transferred``: this job moved it (not found in place, nor moved for another job)."""
        with self._lock:
            self.files_done += 1
            self.bytes_done += nbytes_in_place
            self.transfers += transferred
            if path is not None and index is not None:
                self.paths[index] = path

    def fail(self, message: str, code: str | None = None) -> None:
        """An error on the way; ``code``: the code of the error that ends the job."""
        with self._lock:
            self.errors.append(message)
            if code is not None:
                self.error = code

    def end(self, state: TransferState) -> None:
        """The job is over, in ``state``; a job ended already (cancelled at once) keeps its end time."""
        with self._lock:
            self.state = state
            self.current = None
            self.finished = self.finished or time.time()

    def record(self) -> TransferRecord:
        with self._lock:
            elapsed = (self.finished or time.time()) - self.created
            return TransferRecord(
                id=self.id,
                kind=self.kind,
                instance=self.instance,
                did=self.did,
                state=self.state,
                files_total=self.files_total,
                files_done=self.files_done,
                bytes_total=self.bytes_total,
                bytes_done=self.bytes_done,
                bytes_moved=self.bytes_moved,
                rate=self.bytes_moved / elapsed if elapsed > 0 else 0.0,
                errors=tuple(self.errors),
                error=self.error,
                created=self.created,
                finished=self.finished,
                rse=self.rse,
                current=self.current,
                transfers=self.transfers,
                paths=tuple(self.paths[i] for i in sorted(self.paths)),
                uploaded=tuple(self.uploaded),
            )


class Jobs:
    """The transfer jobs of one server (or kernel), by id; each runs on a thread of the runner."""

    def __init__(self, runners: int = 4, keep_finished: int = KEEP_FINISHED, max_active: int = MAX_ACTIVE):
        self._runner = ThreadPoolExecutor(max_workers=max(1, runners), thread_name_prefix="odlake-job")
        self._jobs: dict[str, Job] = {}
        self._on_cancel: dict[str, Callable[[Job], None]] = {}
        self._lock = threading.Lock()
        self.keep_finished = keep_finished
        self.max_active = max_active

    def start(
        self,
        job: Job,
        work: Callable[[Job], None],
        same: Callable[[Job], bool] | None = None,
        on_cancel: Callable[[Job], None] | None = None,
    ) -> Job:
        """Register ``job`` and run ``work(job)`` on a thread; returns at once.

        ``same``: a running job this one would repeat (the same download asked twice) is the answer
        instead. ``on_cancel`` runs when the job is cancelled, e.g. to stop transfers it alone wants.
        """
        with self._lock:
            if same is not None:
                for running in self._jobs.values():
                    if running.active and running.kind == job.kind and same(running):
                        return running
            if sum(j.active for j in self._jobs.values()) >= self.max_active:
                raise InvalidRequest(
                    f"{self.max_active} transfers are running on this server already; wait for one to end, "
                    "or cancel one."
                )
            self._forget_old()
            self._jobs[job.id] = job
            if on_cancel is not None:
                self._on_cancel[job.id] = on_cancel
        self._runner.submit(self._run, job, work)
        return job

    def get(self, job_id: str, kind: TransferKind | None = None) -> Job:
        job = self._jobs.get(job_id)
        if job is None or (kind is not None and job.kind != kind):
            raise NotFound(f"There is no {kind or 'transfer'} '{quoted(job_id)}' on this server.")
        return job

    def all(self, kind: TransferKind | None = None) -> list[Job]:
        with self._lock:
            jobs = [j for j in self._jobs.values() if kind is None or j.kind == kind]
        return sorted(jobs, key=lambda j: j.created)

    def cancel(self, job_id: str, kind: TransferKind | None = None) -> Job:
        """Stop a job: a download stops its transfers, an upload after the file in flight."""
        job = self.get(job_id, kind)
        if job.active:
            job.cancelled.set()
            hook = self._on_cancel.get(job.id)
            if hook is not None:
                hook(job)
        return job

    def _forget_old(self) -> None:
        """Keep the records of at most ``keep_finished`` finished jobs (the newest); active ones stay."""
        finished = sorted((j for j in self._jobs.values() if not j.active), key=lambda j: j.created)
        for j in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[j.id]
            self._on_cancel.pop(j.id, None)

    def _run(self, job: Job, work: Callable[[Job], None]) -> None:
        """``work(job)``, ended in a state whatever happens: done, failed (with its errors) or cancelled."""
        try:
            work(job)
            final: TransferState = "failed" if job.errors else "done"
        except OdlakeError as e:
            job.fail(e.message, e.code)
            final = "failed"
        except Exception as e:  # noqa: BLE001 - a job must end in a state; the log gets the traceback
            _log.exception("%s %s of %s failed", job.kind, job.id, job.did)
            job.fail(f"unexpected {type(e).__name__}: {e}")
            final = "failed"
        if job.cancelled.is_set() and (job.kind == "download" or job.files_done < job.files_total):
            final = "cancelled"
        job.end(final)

    def shutdown(self) -> None:
        """Cancel what runs and stop the threads (the server is stopping)."""
        for job in self.all():
            if job.active:
                self.cancel(job.id)
        self._runner.shutdown(wait=False, cancel_futures=True)


Progress = Callable[[TransferRecord], None]


def follow(
    look: Callable[[TransferRecord], TransferRecord],
    record: TransferRecord,
    progress: Progress | None = None,
    interval: float = 0.1,
    cancel: Callable[[TransferRecord], object] | None = None,
) -> TransferRecord:
    """Wait for a job to end, showing each state to ``progress``; ``look`` asks for it again.

    Interrupted (Ctrl-C, a stopped cell), the job is cancelled with ``cancel`` before the
    interruption goes on.
    """
    try:
        while record.active:
            if progress:
                progress(record)
            time.sleep(interval)  # the REST API has no push: poll as the panel does
            record = look(record)
    except KeyboardInterrupt:
        if cancel is not None:
            cancel(record)
        raise
    if progress:
        progress(record)
    return record
