"""The Python API a notebook calls: ``attach``, ``search``, ``ls``, ``downloads``.

Errors are raised as ``jupyterlab_odlake.OdlakeError`` subclasses (plain ``Exception``
subclasses), each with a one-sentence message that says what to do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..core.did import DID
from ..core.errors import InvalidRequest, NotFound, StorageError, quoted
from ..core.lake import Lake
from ..core.locations import check_schemes
from ..core.records import MODES, DIDInfo, DownloadRecord, FileEntry, Mode, UploadRecord
from . import backends
from .attached import AttachedDID, AttachedFile

Progress = Callable[[DownloadRecord], None]


def attach(
    did: str | DID,
    mode: Mode | None = None,
    instance: str | None = None,
    progress: bool = True,
    scheme: str | Sequence[str] | None = None,
    rse: str | None = None,
    request: bool = False,
    **options: Any,
) -> AttachedDID:
    """Attach the Rucio DID ``scope:name``: every file's local path or streamable URL, ready for uproot.

    ``mode``: ``stream`` (read over the network, nothing copied), ``download`` (verified copies
    in the shared cache), ``mounted`` (read in place from storage mounted here) or ``auto``
    (mounted, else stream, else download; the default). ``scheme``: the stream schemes to read
    with, preferred first ("root", "http,root"; default: the server's, root first). ``rse``: an RSE
    expression (``ODLAKE_XROOTD``, ``type=DISK``): read only replicas on the RSEs it names, in
    place or streamed (not in download mode); with ``request``, the files not there yet are asked for
    there with a replication rule of your account (the error names it). ``options`` go to every
    uproot call.
    """
    did = did if isinstance(did, DID) else DID.parse(did)  # a malformed DID stops here, before Rucio is asked
    mode = mode or "auto"
    if mode not in MODES:
        raise InvalidRequest(f"mode '{quoted(mode)}' is not one of {', '.join(MODES)}.")
    schemes = check_schemes(scheme)  # a scheme odlake cannot read stops here too
    lake = backends.current()
    name = lake.instance_name(instance)
    files = lake.locations(did, mode, name, schemes, rse)
    if not files:
        raise NotFound(f"{did} holds no files.")
    missing = [f for f in files if f.kind is None]
    if (mode == "download" and not all(f.cached for f in files)) or (mode == "auto" and missing and not rse):
        record = wait_for_download(lake, lake.start_download(did, name), _progress_bar(str(did)) if progress else None)
        if record.state != "done":
            raise StorageError(f"The download of {did} {record.state}: " + "; ".join(record.errors[:3]))
        if missing:  # auto mode: what had no replica to read is now in the cache; ask where
            copies = {f.did: f for f in lake.locations(did, "download", name)}
            files = [copies.get(f.did, f) if f.kind is None else f for f in files]
    elif missing:
        if rse and request:  # what is not there yet: ask Rucio for a copy on that RSE
            rule = lake.replicate(did, rse, None, name)
            raise StorageError(
                f"{len(missing)} of {len(files)} files of {did} are not on {rse} yet; asked for a copy there: "
                f"rule {rule['id']}, {rule['state']} ({rule['explained']}). Attach again once it is OK "
                "(%odlake rules)."
            )
        hint = (
            f"leave rse out, or ask for a copy there: request=True (%odlake attach ... --request), "
            f"or %odlake replicate {did} --rse {rse}"
            if rse
            else "try mode='{}'".format({"stream": "download", "mounted": "stream"}.get(mode, "download"))
        )
        raise StorageError(
            f"{len(missing)} of {len(files)} files of {did} have no replica to read in {mode} mode "
            f"(first: {missing[0].name}: {missing[0].reason}); {hint}."
        )
    attached = [
        AttachedFile(f.scope, f.name, f.bytes, f.adler32, f.location or "", f.kind or "download", f.rse) for f in files
    ]
    return AttachedDID(str(did), mode, attached, instance=name, via=lake.via, options=options)


def wait_for_download(
    lake: Lake, record: DownloadRecord, progress: Progress | None = None, interval: float = 0.1
) -> DownloadRecord:
    """Follow a download until it ends, showing each state to ``progress``."""
    while record.active:
        if progress:
            progress(record)
        time.sleep(interval)  # the REST API has no push: poll as the panel does
        record = lake.download(record.id)
    if progress:
        progress(record)
    return record


def _progress_bar(label: str) -> Progress:
    from tqdm.auto import tqdm

    bar = None

    def update(record: DownloadRecord) -> None:
        nonlocal bar
        if bar is None and record.bytes_total:
            bar = tqdm(total=record.bytes_total, unit="B", unit_scale=True, desc=f"odlake {label}", leave=True)
        if bar is not None:
            bar.n = min(record.bytes_done, bar.total)
            bar.set_postfix_str(f"{record.files_done}/{record.files_total} files", refresh=True)
            if not record.active:
                bar.close()

    return update


def search(
    pattern: str = "*",
    filters: dict[str, Any] | str | None = None,
    type: str = "collection",
    limit: int = 100,
    instance: str | None = None,
) -> list[DIDInfo]:
    """DIDs matching ``scope:pattern`` (Rucio wildcards) and metadata filters, e.g. ``{"channel": "GamGam"}``."""
    if isinstance(filters, dict):
        filters = ",".join(f"{k}={v}" for k, v in filters.items())
    return backends.current().search(pattern, type, filters or "", limit, instance).items


def upload(
    paths: str | Sequence[str],
    dataset: str | DID,
    rse: str | None = None,
    meta: dict[str, Any] | None = None,
    instance: str | None = None,
) -> UploadRecord:
    """Upload files into ``dataset`` (``user.<account>:name``, created when new), with metadata ``meta``,
    through Rucio's own upload (checksums verified); ``rse`` defaults to the instance's upload RSE.
    ``.uploaded`` lists the files in the dataset (did, bytes, adler32)."""
    dataset = dataset if isinstance(dataset, DID) else DID.parse(dataset)
    files = [paths] if isinstance(paths, str) else list(paths)
    absolute = [str(Path(p).expanduser().absolute()) for p in files]
    return backends.current().upload(absolute, dataset, rse, dict(meta or {}), instance)


def replicate(
    did: str | DID, rse: str, lifetime_days: float | None = None, instance: str | None = None
) -> dict[str, Any]:
    """Make ``did`` available on the RSEs of the expression ``rse``: a replication rule of your account."""
    did = did if isinstance(did, DID) else DID.parse(did)
    return backends.current().replicate(did, rse, lifetime_days, instance)


def rules(instance: str | None = None) -> list[dict[str, Any]]:
    """Your replication rules, newest first: state (in words too), copies done of all, expiry."""
    return backends.current().rules(instance)


def ls(did: str | DID, limit: int = 100, instance: str | None = None) -> list[FileEntry]:
    """The files of a DID: name, size, adler32, availability (the first ``limit``)."""
    did = did if isinstance(did, DID) else DID.parse(did)
    return backends.current().files(did, limit, instance).items


def downloads() -> list[DownloadRecord]:
    """The downloads of this session's lake connection (the server's, in JupyterLab)."""
    return backends.current().downloads()
