"""Giving back to the lake: files uploaded into a dataset of the user's scope, with metadata.

Through rucio-clients' own ``UploadClient``: it checks what exists, copies each file to the
RSE, verifies and registers it (adler32 and md5), adds it to the dataset and keeps it with a
replication rule, as ``rucio upload`` does. What the caller gives is checked first, so that
a refusal costs nothing: the files exist, are regular files, and are not empty in number.
``UploadClient`` logs a file's failure and says only "no files uploaded"; the log's error
lines are kept and become the message.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .connection import Connection
from .did import DID
from .errors import AccessDenied, InvalidRequest, NotFound, OdlakeError, StorageError, quoted
from .records import UploadRecord, UploadState

if TYPE_CHECKING:
    from .instance import Instance

_log = logging.getLogger(__name__)
KEEP_FINISHED = 100  # finished uploads remembered for their records


@dataclass
class Upload:
    """An upload as it runs (mutable, server-side); ``record()`` is what is shown of it."""

    id: str
    instance: str
    dataset: str
    rse: str
    files_total: int = 0
    bytes_total: int = 0
    state: UploadState = "running"
    files_done: int = 0
    bytes_done: int = 0
    current: str | None = None
    errors: list[str] = field(default_factory=list)
    uploaded: list[dict[str, Any]] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancelled: threading.Event = field(default_factory=threading.Event, repr=False)

    def record(self) -> UploadRecord:
        elapsed = (self.finished or time.time()) - self.created
        return UploadRecord(
            id=self.id,
            instance=self.instance,
            dataset=self.dataset,
            rse=self.rse,
            state=self.state,
            files_total=self.files_total,
            files_done=self.files_done,
            bytes_total=self.bytes_total,
            bytes_done=self.bytes_done,
            rate=self.bytes_done / elapsed if elapsed > 0 else 0.0,
            current=self.current,
            errors=tuple(self.errors),
            created=self.created,
            finished=self.finished,
            uploaded=tuple(self.uploaded),
        )

    @classmethod
    def of(cls, instance: str, paths: Sequence[Path], dataset: DID, rse: str, upload_id: str = "") -> Upload:
        """A new upload of ``paths``, its totals counted once, before the first file goes."""
        return cls(
            id=upload_id,
            instance=instance,
            dataset=str(dataset),
            rse=rse,
            files_total=len(paths),
            bytes_total=sum(p.stat().st_size for p in paths),
        )


def upload(
    connection: Connection,
    paths: Sequence[Path],
    dataset: DID,
    rse: str,
    metadata: dict[str, Any] | None = None,
) -> Upload:
    """Upload ``paths`` (checked already to be where the caller may read) into ``dataset`` on ``rse``."""
    check(connection, paths, dataset, rse)
    return send(connection, paths, dataset, metadata, Upload.of(connection.config.name, paths, dataset, rse))


def send(
    connection: Connection, paths: Sequence[Path], dataset: DID, metadata: dict[str, Any] | None, job: Upload
) -> Upload:
    """The files of a checked upload, one after another, so that ``job`` shows progress and a cancel stops
    before the next file: what is in the dataset then is whole, verified and registered."""
    try:
        for p in paths:
            if job.cancelled.is_set():
                break
            job.current = p.name
            _upload_file(connection, p, dataset, job.rse)
            job.files_done += 1
            job.bytes_done += p.stat().st_size
    finally:
        job.current = None
        if job.files_done and metadata:  # a dataset with files is found by its metadata, also when cut short
            connection.call(
                lambda c: c.set_metadata_bulk(dataset.scope, dataset.name, metadata), f"describing {dataset}"
            )
        if job.files_done:
            names = {p.name for p in paths}
            files = connection.call(lambda c: list(c.list_files(dataset.scope, dataset.name)), f"listing {dataset}")
            job.uploaded = [
                {"did": f"{f['scope']}:{f['name']}", "bytes": f.get("bytes"), "adler32": f.get("adler32")}
                for f in files
                if f["name"] in names
            ]
    job.state = "cancelled" if job.cancelled.is_set() and job.files_done < job.files_total else "done"
    job.finished = time.time()
    return job


def check(connection: Connection, paths: Sequence[Path], dataset: DID, rse: str) -> None:
    """Refuse, before anything is written, what Rucio's upload would refuse half-way or skip silently."""
    if not paths:
        raise InvalidRequest("Choose at least one file to upload.")
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise InvalidRequest(f"'{quoted(missing[0].name)}' is not a file that can be uploaded.")
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise InvalidRequest("Two of the files have the same name; a dataset holds each name once.")
    if not rse:
        raise InvalidRequest("No RSE is named for uploads; choose one that accepts writes.")
    from rucio.common import exception as rx
    from rucio.common.checksum import adler32

    # the account's room on the RSE: Rucio checks a limit when a rule is made, not when files join a
    # dataset's rule, so an upload into a new dataset would pass it unchecked
    account = connection.config.account
    usage = connection.call(lambda c: list(c.get_local_account_usage(account, rse)), f"reading the quota on {rse}")
    remaining = min((u["bytes_remaining"] for u in usage if u.get("bytes_limit") not in (None, -1)), default=None)
    needed = sum(p.stat().st_size for p in paths)
    if remaining is not None and needed > remaining:
        raise AccessDenied(
            f"Your quota on {rse} is used up: {needed:,} bytes to upload, {max(remaining, 0):,} left. Nothing was "
            "uploaded; free space or ask for a larger quota."
        )
    for p in paths:  # a name taken in the scope: the same content is attached again, other content refused
        try:
            known: dict[str, Any] = connection.call(
                lambda c, n=p.name: c.get_metadata(dataset.scope, n),  # type: ignore[misc]
                raw=True,
            )
        except (rx.DataIdentifierNotFound, rx.ScopeNotFound):
            continue
        if str(known.get("adler32") or "").lstrip("0") != adler32(str(p)).lstrip("0"):
            raise InvalidRequest(
                f"A file named '{quoted(p.name)}' exists in {dataset.scope} already, with other content; rename "
                "yours, or upload it into another scope. Nothing was uploaded."
            )


def _upload_file(connection: Connection, path: Path, dataset: DID, rse: str) -> None:
    """One file through ``UploadClient``: copied, verified, registered, attached to ``dataset``."""
    from rucio.client.uploadclient import UploadClient
    from rucio.common import exception as rx

    errors: list[str] = []

    class Log:
        """UploadClient's logger (it calls both ``logger.log(...)`` and ``logger(...)``): error lines are kept."""

        def log(self, level: int, message: str, *args: Any, **_: Any) -> None:
            if level >= logging.ERROR:
                errors.append(str(message) % args if args else str(message))

        __call__ = log

    item = {
        "path": str(path),
        "rse": rse,
        "did_scope": dataset.scope,
        "did_name": path.name,
        "dataset_scope": dataset.scope,
        "dataset_name": dataset.name,
        "register_after_upload": True,
    }

    def run(client: Any) -> None:
        # UploadClient asks for the RSE's settings with a client of its own, made from a rucio.cfg that a
        # server configured by odlake need not have: Rucio's cache of RSE settings gets ours first
        from rucio.rse import rsemanager

        vo = getattr(client, "vo", None) or "def"
        rsemanager.RSE_REGION.set(f"rse_info_{rse}:{vo}", client.get_rse(rse))
        UploadClient(_client=client, logger=Log(), tracing=False).upload([item])

    try:
        connection.call(run, f"uploading {path.name} to {dataset} on {rse}", raw=True)
    except (rx.NoFilesUploaded, rx.NotAllFilesUploaded) as e:
        raise _refusal(errors, dataset, rse) from e
    except rx.RSEWriteBlocked:
        raise StorageError(f"{rse} does not accept writes now; choose another RSE.") from None
    except rx.RucioException as e:  # Rucio's own refusals, in the user's words; a bug goes on as it is
        raise _refusal([f"{type(e).__name__}: {e}", *errors], dataset, rse, error=e) from e


class Uploads:
    """The uploads of one server (or kernel): each runs on a thread of its own, its record kept a while."""

    def __init__(self, parallel: int = 2, keep_finished: int = KEEP_FINISHED):
        self._runner = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="odlake-upload")
        self._uploads: dict[str, Upload] = {}
        self._lock = threading.Lock()
        self.keep_finished = keep_finished

    def start(
        self, instance: Instance, paths: Sequence[Path], dataset: DID, rse: str | None, metadata: dict[str, Any]
    ) -> Upload:
        """Check the upload (refusals come before anything is written), then queue it; returns its record."""
        rse = rse or instance.config.upload_rse
        check(instance.connection, paths, dataset, rse)
        job = Upload.of(instance.name, paths, dataset, rse, uuid.uuid4().hex[:12])
        with self._lock:
            finished = sorted((u for u in self._uploads.values() if u.state != "running"), key=lambda u: u.created)
            for old in finished[: max(0, len(finished) - self.keep_finished)]:
                del self._uploads[old.id]
            self._uploads[job.id] = job
        self._runner.submit(self._run, instance, list(paths), dataset, metadata, job)
        return job

    def get(self, upload_id: str) -> Upload:
        try:
            return self._uploads[upload_id]
        except KeyError:
            raise NotFound(f"There is no upload '{quoted(upload_id)}' on this server.") from None

    def all(self) -> list[Upload]:
        return sorted(self._uploads.values(), key=lambda u: u.created)

    def cancel(self, upload_id: str) -> Upload:
        """Stop before the next file; the file in flight is finished, so that the dataset holds only whole files."""
        job = self.get(upload_id)
        job.cancelled.set()
        return job

    def _run(self, instance: Instance, paths: list[Path], dataset: DID, metadata: dict[str, Any], job: Upload) -> None:
        try:
            send(instance.connection, paths, dataset, metadata, job)
        except OdlakeError as e:
            job.errors.append(e.message)
            job.state = "failed"
        except Exception as e:  # noqa: BLE001 - an upload must end in a state; the log gets the traceback
            _log.exception("upload %s into %s failed", job.id, job.dataset)
            job.errors.append(f"unexpected {type(e).__name__}: {e}")
            job.state = "failed"
        finally:
            job.finished = job.finished or time.time()

    def shutdown(self) -> None:
        for job in self._uploads.values():
            job.cancelled.set()
        self._runner.shutdown(wait=False, cancel_futures=True)


def _refusal(errors: list[str], dataset: DID, rse: str, error: Exception | None = None) -> OdlakeError:
    """What Rucio's upload logged, as one sentence a user acts on."""
    text = " ".join(errors)
    lowered = text.lower()
    if "does not match remote checksum" in lowered or "DataIdentifierAlreadyExists" in text:
        return InvalidRequest(
            f"A file of that name exists in {dataset.scope} already, with other content; rename yours, "
            "or upload it into another scope."
        )
    if "quota" in lowered or "insufficientaccountlimit" in lowered or ("limit" in lowered and "account" in lowered):
        return AccessDenied(
            f"Your quota on {rse} is used up; nothing was uploaded. Free space or ask for a larger quota."
        )
    if "not allowed" in lowered or "accessdenied" in lowered or "permission" in lowered:
        return AccessDenied(
            f"Your account may not write to the scope {dataset.scope} or to {rse}; nothing was uploaded. "
            "Upload into your own scope (user.<account>)."
        )
    first = next((e for e in errors if e.strip()), type(error).__name__ if error else "no reason given")
    return StorageError(f"The upload to {dataset} on {rse} failed: {first[:300]}")
