"""Giving back to the lake: files uploaded into a dataset of the user's scope, with metadata.

Through rucio-clients' own ``UploadClient``: it checks what exists, copies each file to the
RSE, verifies and registers it (adler32 and md5), adds it to the dataset and keeps it with a
replication rule, as ``rucio upload`` does. What the caller gives is checked first, so that
a refusal costs nothing: the files exist, are regular files, and are not empty in number. Each file is
opened once, when it is checked, and Rucio reads it through that descriptor: the bytes that go up are
those of the file that was checked, whatever becomes of its name meanwhile.
``UploadClient`` logs a file's failure and says only "no files uploaded"; the log's error
lines are kept and become the message.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from typing import Any

from ..did import DID
from ..errors import AccessDenied, InvalidRequest, OdlakeError, StorageError, quoted
from ..paths import OpenedFile
from ..transfers.jobs import Job, Jobs
from .connection import Connection

_log = logging.getLogger(__name__)


def start(
    jobs: Jobs,
    connection: Connection,
    files: Sequence[OpenedFile],
    dataset: DID,
    rse: str,
    metadata: dict[str, Any] | None = None,
) -> Job:
    """Check an upload of ``files`` (opened where the caller may read) into ``dataset`` on ``rse`` — a
    refusal comes here, before anything is written — then run it as a job of ``jobs``, which closes them."""
    try:
        check_metadata(metadata or {})
        known = check(connection, files, dataset, rse)
        job = Job("upload", connection.config.name, str(dataset), rse=rse)
        job.plan(len(files), sum(f.size for f in files))
        job.begin()
        return jobs.start(job, lambda job: send(connection, list(files), dataset, metadata, job, known))
    except BaseException:
        for f in files:
            f.close()
        raise


def send(
    connection: Connection,
    files: Sequence[OpenedFile],
    dataset: DID,
    metadata: dict[str, Any] | None,
    job: Job,
    known: dict[str, bool] | None = None,
) -> None:
    """The files of a checked upload, one after another, so that ``job`` shows progress and a cancel stops
    before the next file: what is in the dataset then is whole, verified and registered. ``known``: the
    names the scope holds with the same content already, and whether a copy is available on the RSE (then
    it is attached again, nothing copied; else it goes up again, as an upload cut short leaves it)."""
    known = known or {}
    try:
        for f in files:
            if job.cancelled.is_set():
                break
            job.at(f.name)
            if known.get(f.name):  # Rucio's upload skips a registered file, and then says "no files uploaded"
                _attach_again(connection, f.name, dataset, job.rse or "")
                job.file_done(f.size)
            else:
                if f.name in known:  # registered without a copy here: bytes a cut upload left go first
                    _remove_written(connection, DID(dataset.scope, f.name), job.rse or "")
                _upload_file(connection, f, dataset, job.rse or "")
                job.moved(f.size)
                job.file_done()
    finally:
        job.at(None)
        for f in files:
            f.close()
        if job.files_done and metadata:  # a dataset with files is found by its metadata, also when cut short
            connection.call(
                lambda c: c.set_metadata_bulk(dataset.scope, dataset.name, metadata), f"describing {dataset}"
            )
        if job.files_done:
            names = {f.name for f in files}
            listed = connection.call(lambda c: list(c.list_files(dataset.scope, dataset.name)), f"listing {dataset}")
            job.uploaded = [
                {"did": f"{r['scope']}:{r['name']}", "bytes": r.get("bytes"), "adler32": r.get("adler32")}
                for r in listed
                if r["name"] in names
            ]


# what Rucio keeps of every DID itself: a dataset's metadata may not set these
RESERVED_KEYS = frozenset(
    "scope name account did_type type bytes length adler32 md5 guid is_open monotonic obsolete hidden suppressed "
    "complete availability purge_replicas expired_at created_at updated_at deleted_at closed_at accessed_at "
    "access_cnt is_new".split()
)


def check_metadata(metadata: dict[str, Any]) -> None:
    """Refuse, before anything is sent, metadata Rucio would refuse (or break on) after the files went: keys it
    keeps itself, values that are not a string, a finite number, true/false or null, NUL characters."""
    import math

    for key, value in metadata.items():
        if not isinstance(key, str) or not key.strip() or "\0" in key or len(key) > 255:
            raise InvalidRequest(f"'{quoted(str(key), 40)}' is not a metadata key; nothing was uploaded.")
        if key.lower() in RESERVED_KEYS:
            raise InvalidRequest(
                f"'{quoted(key)}' is kept by Rucio itself and cannot be set as metadata; name it otherwise. "
                "Nothing was uploaded."
            )
        finite = not isinstance(value, float) or math.isfinite(value)
        if (value is not None and not isinstance(value, (str, int, float, bool))) or not finite:
            raise InvalidRequest(
                f"The value of '{quoted(key)}' must be text, a finite number, true/false or null; nothing was uploaded."
            )
        if isinstance(value, str) and "\0" in value:
            raise InvalidRequest(f"The value of '{quoted(key)}' holds a NUL character; nothing was uploaded.")


def check(connection: Connection, files: Sequence[OpenedFile], dataset: DID, rse: str) -> dict[str, bool]:
    """Refuse, before anything is written, what Rucio's upload would refuse half-way or skip silently.

    Returns the names the scope holds with the same content already, each with whether an available copy
    is on ``rse`` (see ``send``)."""
    if not files:
        raise InvalidRequest("Choose at least one file to upload.")
    names = [f.name for f in files]
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
    needed = sum(f.size for f in files)
    if remaining is not None and needed > remaining:
        raise AccessDenied(
            f"Your quota on {rse} is used up: {needed:,} bytes to upload, {max(remaining, 0):,} left. Nothing was "
            "uploaded; free space or ask for a larger quota."
        )
    known: dict[str, bool] = {}
    for f in files:  # a name taken in the scope: the same content is attached again, other content refused
        try:
            registered: dict[str, Any] = connection.call(
                lambda c, n=f.name: c.get_metadata(dataset.scope, n),  # type: ignore[misc]
                raw=True,
            )
        except (rx.DataIdentifierNotFound, rx.ScopeNotFound):
            continue
        if str(registered.get("adler32") or "").lstrip("0") != adler32(f.path).lstrip("0"):
            raise InvalidRequest(
                f"A file named '{quoted(f.name)}' exists in {dataset.scope} already, with other content; rename "
                "yours, or upload it into another scope. Nothing was uploaded."
            )
        known[f.name] = _available_on(connection, DID(dataset.scope, f.name), rse)
    return known


def _available_on(connection: Connection, did: DID, rse: str) -> bool:
    """Whether Rucio holds an available copy of ``did`` on ``rse``."""
    held = connection.call(
        lambda c: list(c.list_replicas([{"scope": did.scope, "name": did.name}], rse_expression=rse, all_states=True)),
        f"listing the copies of {did}",
    )
    return any(r.get("states", {}).get(rse) == "AVAILABLE" for r in held)


def _attach_again(connection: Connection, name: str, dataset: DID, rse: str) -> None:
    """A file the scope holds with the same content already, attached to ``dataset`` (created when new,
    kept on ``rse`` by a rule, as Rucio's upload makes it): nothing is copied."""
    from rucio.common import exception as rx

    def run(client: Any) -> None:
        rule = {"account": connection.config.account, "copies": 1, "rse_expression": rse, "grouping": "DATASET"}
        try:
            client.add_dataset(dataset.scope, dataset.name, rules=[rule])
        except rx.DataIdentifierAlreadyExists:
            pass
        try:
            client.attach_dids(dataset.scope, dataset.name, [{"scope": dataset.scope, "name": name}])
        except (rx.FileAlreadyExists, rx.DuplicateContent):
            pass

    connection.call(run, f"attaching {name} to {dataset}")


def _upload_file(connection: Connection, file: OpenedFile, dataset: DID, rse: str) -> None:
    """One file through ``UploadClient``: copied, verified, registered, attached to ``dataset``; read through
    its descriptor, so that Rucio reads the file that was checked."""
    from rucio.client.uploadclient import UploadClient
    from rucio.common import exception as rx

    errors: list[str] = []

    class Log:
        """UploadClient's logger (it calls both ``logger.log(...)`` and ``logger(...)``): error lines are kept."""

        def log(self, level: int, message: str, *args: Any, **_: Any) -> None:
            if level >= logging.ERROR:  # Rucio names the file by its path, here the descriptor's
                line = str(message) % args if args else str(message)
                errors.append(re.sub(rf"{re.escape(file.path)}|(?<=file ){file.fd}\b", file.name, line))

        __call__ = log

    item = {
        "path": file.path,
        "rse": rse,
        "did_scope": dataset.scope,
        "did_name": file.name,
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
        connection.call(run, f"uploading {file.name} to {dataset} on {rse}", raw=True)
    except (rx.NoFilesUploaded, rx.NotAllFilesUploaded) as e:
        _remove_written(connection, DID(dataset.scope, file.name), rse)
        raise _changed(file) or _refusal(errors, dataset, rse) from e
    except rx.RSEWriteBlocked:
        raise StorageError(f"{rse} does not accept writes now; choose another RSE.") from None
    except rx.RucioException as e:  # Rucio's own refusals, in the user's words; a bug goes on as it is
        _remove_written(connection, DID(dataset.scope, file.name), rse)
        raise _changed(file) or _refusal([f"{type(e).__name__}: {e}", *errors], dataset, rse, error=e) from e


def _changed(file: OpenedFile) -> OdlakeError | None:
    """A file whose size moved since it was checked (still being written): what Rucio copied is not what it
    checksummed, and its upload failed for that."""
    now = os.fstat(file.fd).st_size
    if now == file.size:
        return None
    return InvalidRequest(
        f"'{quoted(file.name)}' changed while it was uploaded ({file.size:,} bytes when it was checked, {now:,} "
        "now); nothing of it was kept. Upload it again once it is complete."
    )


def _remove_written(connection: Connection, did: DID, rse: str) -> None:
    """What a failed upload of ``did`` wrote on ``rse`` (the file, and Rucio's temporary ``.rucio.upload``),
    removed, unless Rucio holds an available replica there (a good copy from before, not this upload's):
    Rucio's upload copies first and registers after, so a refusal at registration left the bytes behind."""
    from rucio.common import exception as rx
    from rucio.rse import rsemanager

    def run(client: Any) -> None:
        vo = getattr(client, "vo", None) or "def"
        settings = rsemanager.get_rse_info(rse, vo=vo)
        pfn = next(iter(rsemanager.lfns2pfns(settings, [{"scope": did.scope, "name": did.name}], "write").values()))
        storage = rsemanager.create_protocol(settings, "delete", auth_token=getattr(client, "auth_token", None))
        storage.connect()
        try:
            for target in (pfn, pfn + ".rucio.upload"):
                try:
                    storage.delete(target)
                except rx.SourceNotFound:
                    pass
        finally:
            storage.close()

    try:
        if _available_on(connection, did, rse):
            return
        connection.call(run, f"removing what the failed upload of {did} wrote on {rse}", raw=True)
    except Exception:  # noqa: BLE001 - the upload's own error is the one to tell; this one goes to the log
        _log.warning("could not remove what the failed upload of %s wrote on %s", did, rse, exc_info=True)


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
    first = next((e for e in errors if e.strip()), None)
    if first is None:  # Rucio's upload logged nothing: say what is known, and what to do
        said = f" ({type(error).__name__})" if error else ""
        return StorageError(
            f"The upload to {dataset} on {rse} failed without a reason from Rucio{said}; retry (what is whole in the "
            "lake is attached, not sent again), or ask the lake's administrators if it persists."
        )
    return StorageError(f"The upload to {dataset} on {rse} failed: {first[:300]}")
