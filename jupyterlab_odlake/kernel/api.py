"""The Python API a notebook calls: ``attach``, ``search``, ``ls``, ``downloads``, ``upload``, ``replicate``,
``rules``. Each is a call of the one service (``core.service.Service``): the Jupyter server's through its
REST API in JupyterLab, else one in this process (``backends.current()``).

Errors are raised as ``jupyterlab_odlake.OdlakeError`` subclasses (plain ``Exception``
subclasses), each with a one-sentence message that says what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.did import DID
from ..core.errors import StorageError, error_of
from ..core.records import CacheCheck, DIDInfo, FileEntry, Mode, ReadAccess, Rule, TransferRecord
from ..core.rucio.locations import check_schemes
from ..core.service import Service
from ..core.transfers.jobs import Progress, follow
from . import backends
from .attached import AttachedDID, AttachedFile, size_text


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
    (mounted, else stream, else a verified copy in the cache); the default is the instance's
    configured mode (``auto`` unless set). ``scheme``: the stream schemes to read with, preferred
    first ("root", "http,root"; default: the server's, root first). ``rse``: an RSE expression
    (``ODLAKE_XROOTD``, ``type=DISK``): read only replicas on the RSEs it names, in place or
    streamed (not in download mode); with ``request``, the files not there yet are asked for there
    with a replication rule of your account (the error names it). ``options`` go to every uproot call.
    """
    did = did if isinstance(did, DID) else DID.parse(did)  # a malformed DID stops here, before Rucio is asked
    schemes = check_schemes(scheme)  # a scheme odlake cannot read stops here too
    service = backends.current()
    attachment = service.attach(did, mode, schemes, rse, instance)
    files, mode = attachment.files, attachment.mode
    if attachment.download is not None:  # the files to copy first: follow the download that copies them
        record = follow_transfer(service, attachment.download, progress)
        if record.state != "done":
            raise StorageError(f"The download of {did} {record.state}: " + "; ".join(record.errors[:3]))
    missing = [f for f in files if f.kind is None]
    if missing:
        if rse and request:  # what is not there yet: ask Rucio for a copy on that RSE
            rule = service.replicate(did, rse, None, attachment.instance)
            raise StorageError(
                f"{len(missing)} of {len(files)} files of {did} are not on {rse} yet; asked for a copy there: "
                f"rule {rule.id}, {rule.state} ({rule.explained}). Attach again once it is OK (%odlake rules)."
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
    if attachment.access is not None:
        use_for_xrootd(attachment.access)
    return AttachedDID(
        str(did),
        mode,
        attached,
        instance=attachment.instance,
        via=service.via,
        options=options,
        access=attachment.access,
    )


def use_for_xrootd(access: ReadAccess) -> None:
    """Point this kernel's XRootD client (and the dask workers it starts) at the storage token's file and the
    lake's CA, where XRootD looks for them (``BEARER_TOKEN_FILE``, ``X509_CERT_DIR``): a path, no secret."""
    import os
    import sys
    import warnings

    if access.token_file:
        os.environ["BEARER_TOKEN_FILE"] = access.token_file
    if access.ca_dir and os.environ.get("X509_CERT_DIR") != access.ca_dir:
        if "XRootD.client" in sys.modules:  # XRootD's client reads X509_CERT_DIR once, at its first connection
            warnings.warn(
                "This kernel read over root:// before odlake knew the storages' CA, and XRootD takes no CA set "
                "later: root:// reads that need TLS (a storage token) fail here. Restart the kernel, or attach "
                "with scheme='https'.",
                stacklevel=3,
            )
        os.environ["X509_CERT_DIR"] = access.ca_dir


def follow_transfer(service: Service, record: TransferRecord, progress: bool = True) -> TransferRecord:
    """Follow a download or upload to its end, with a progress bar; an interrupted cell cancels it."""
    return follow(
        lambda r: service.transfer(r.kind, r.id),
        record,
        _progress_bar(record) if progress else None,
        cancel=lambda r: service.cancel_transfer(r.kind, r.id),
    )


def _progress_bar(first: TransferRecord) -> Progress:
    from tqdm.auto import tqdm

    bar = None
    total = 0  # the bar's, from the first record that knows it

    def update(record: TransferRecord) -> None:
        nonlocal bar, total
        if bar is None and record.bytes_total:
            total = record.bytes_total
            bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"odlake {first.did}", leave=True)
        if bar is not None:
            # the rate is the job's: of the bytes moved, not of files found in place (tqdm's own would count those)
            bar.n = min(record.bytes_done, total)
            rate = f", {size_text(record.rate)}/s" if record.bytes_moved else ""
            bar.set_postfix_str(f"{record.files_done}/{record.files_total} files{rate}", refresh=True)
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
    return backends.current().search(pattern, type, filters or "", limit, None, instance).items


def upload(
    paths: str | Sequence[str],
    dataset: str | DID,
    rse: str | None = None,
    meta: dict[str, Any] | None = None,
    instance: str | None = None,
    progress: bool = True,
) -> TransferRecord:
    """Upload files into ``dataset`` (``user.<account>:name``, created when new), with metadata ``meta``,
    through Rucio's own upload (checksums verified); ``rse`` defaults to the instance's upload RSE.
    Returns when done; ``.uploaded`` lists the files in the dataset (did, bytes, adler32). An
    interrupted cell stops it after the file in flight."""
    dataset = dataset if isinstance(dataset, DID) else DID.parse(dataset)
    files = [paths] if isinstance(paths, str) else list(paths)
    absolute = [str(Path(p).expanduser().absolute()) for p in files]
    service = backends.current()
    record = follow_transfer(
        service, service.start_upload(absolute, dataset, rse, dict(meta or {}), instance), progress
    )
    if record.state == "failed":
        raise error_of(record.error, record.errors[0] if record.errors else f"The upload into {dataset} failed.")
    return record


def replicate(did: str | DID, rse: str, lifetime_days: float | None = None, instance: str | None = None) -> Rule:
    """Make ``did`` available on the RSEs of the expression ``rse``: a replication rule of your account."""
    did = did if isinstance(did, DID) else DID.parse(did)
    return backends.current().replicate(did, rse, lifetime_days, instance)


def rules(instance: str | None = None) -> list[Rule]:
    """Your replication rules, newest first: state (in words too), copies done of all, expiry."""
    return backends.current().rules(instance)


def ls(did: str | DID, limit: int = 100, instance: str | None = None) -> list[FileEntry]:
    """The files of a DID: name, size, adler32, availability (the first ``limit``)."""
    did = did if isinstance(did, DID) else DID.parse(did)
    return backends.current().files(did, limit, instance=instance).items


def verify(did: str | DID, instance: str | None = None) -> CacheCheck:
    """Re-check in full (adler32) the cached copies of ``did``'s files; bad ones are removed, and the next
    attach fetches them again."""
    did = did if isinstance(did, DID) else DID.parse(did)
    return backends.current().verify_cached(did, instance)


def downloads() -> list[TransferRecord]:
    """The downloads of this session's lake connection (the server's, in JupyterLab)."""
    return backends.current().transfers("download")
