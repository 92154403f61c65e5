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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .connection import Connection
from .did import DID
from .errors import AccessDenied, InvalidRequest, OdlakeError, StorageError, quoted


@dataclass(frozen=True)
class Uploaded:
    dataset: str
    rse: str
    files: list[dict[str, Any]]  # did, bytes, adler32

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "rse": self.rse, "files": self.files}


def upload(
    connection: Connection, paths: Sequence[Path], dataset: DID, rse: str, metadata: dict[str, Any] | None = None
) -> Uploaded:
    """Upload ``paths`` (checked already to be where the caller may read) into ``dataset`` on ``rse``."""
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
    from rucio.client.uploadclient import UploadClient
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

    errors: list[str] = []

    class Log:
        """UploadClient's logger (it calls both ``logger.log(...)`` and ``logger(...)``): error lines are kept."""

        def log(self, level: int, message: str, *args: Any, **_: Any) -> None:
            if level >= logging.ERROR:
                errors.append(str(message) % args if args else str(message))

        __call__ = log

    items = [
        {
            "path": str(p),
            "rse": rse,
            "did_scope": dataset.scope,
            "did_name": p.name,
            "dataset_scope": dataset.scope,
            "dataset_name": dataset.name,
            "register_after_upload": True,
        }
        for p in paths
    ]

    def run(client: Any) -> None:
        # UploadClient asks for the RSE's settings with a client of its own, made from a rucio.cfg that a
        # server configured by odlake need not have: Rucio's cache of RSE settings gets ours first
        from rucio.rse import rsemanager

        vo = getattr(client, "vo", None) or "def"
        rsemanager.RSE_REGION.set(f"rse_info_{rse}:{vo}", client.get_rse(rse))
        UploadClient(_client=client, logger=Log(), tracing=False).upload(items)

    try:
        connection.call(run, f"uploading to {dataset} on {rse}", raw=True)
    except (rx.NoFilesUploaded, rx.NotAllFilesUploaded) as e:
        raise _refusal(errors, dataset, rse) from e
    except rx.RSEWriteBlocked:
        raise StorageError(f"{rse} does not accept writes now; choose another RSE.") from None
    except rx.RucioException as e:  # Rucio's own refusals, in the user's words; a bug goes on as it is
        raise _refusal([f"{type(e).__name__}: {e}", *errors], dataset, rse, error=e) from e
    if metadata:
        connection.call(lambda c: c.set_metadata_bulk(dataset.scope, dataset.name, metadata), f"describing {dataset}")
    files = connection.call(lambda c: list(c.list_files(dataset.scope, dataset.name)), f"listing {dataset}")
    uploaded = {p.name for p in paths}
    return Uploaded(
        str(dataset),
        rse,
        [
            {"did": f"{f['scope']}:{f['name']}", "bytes": f.get("bytes"), "adler32": f.get("adler32")}
            for f in files
            if f["name"] in uploaded
        ],
    )


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
