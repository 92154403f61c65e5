"""The Python API a notebook calls: ``attach``, ``search``, ``ls``, ``downloads``.

Errors are raised as ``jupyterlab_odlake.OdlakeError`` subclasses (plain ``Exception``
subclasses), each with a one-sentence message that says what to do.
"""

from __future__ import annotations

from . import backends
from .attached import AttachedDID, AttachedFile
from .core.config import MODES
from .core.did import DID
from .core.downloads import ACTIVE
from .core.errors import InvalidRequest, NotFound, StorageError


def attach(did: str, mode: str | None = None, instance: str | None = None, progress: bool = True, **options) -> AttachedDID:
    """Attach the Rucio DID ``scope:name``: every file's local path or streamable URL, ready for uproot.

    ``mode``: ``stream`` (read over the network, nothing copied), ``download`` (verified copies
    in the shared cache), ``mounted`` (read in place from storage mounted here) or ``auto``
    (mounted, else stream, else download; the default). ``options`` go to every uproot call.
    """
    did_ = DID.parse(did)  # a malformed DID stops here, before anything is asked of Rucio
    mode = mode or "auto"
    if mode not in MODES:
        raise InvalidRequest(f"mode '{mode}' is not one of {', '.join(MODES)}.")
    backend = backends.current()
    name = backend.instance_name(instance)
    files = backend.locations(str(did_), mode, name)
    if not files:
        raise NotFound(f"{did_} holds no files.")
    missing = [f for f in files if f["kind"] is None]
    if (mode == "download" and not all(f["cached"] for f in files)) or (mode == "auto" and missing):
        record = backend.download(str(did_), name, _progress_bar(str(did_)) if progress else None)
        if record["state"] != "done":
            raise StorageError(f"The download of {did_} {record['state']}: " + "; ".join(record["errors"][:3]))
        files = [dict(f, kind="download", location=f["cache_path"]) if (mode == "download" or f["kind"] is None) else f
                 for f in files]  # fmt: skip
    elif missing:
        hint = {"stream": "download", "mounted": "stream"}.get(mode, "download")
        raise StorageError(f"{len(missing)} of {len(files)} files of {did_} have no replica to read in {mode} mode "
                           f"(first: {missing[0]['name']}); try mode='{hint}'.")  # fmt: skip
    attached = [AttachedFile(f["scope"], f["name"], f["bytes"], f["adler32"], f["location"], f["kind"], f.get("rse"))
                for f in files]  # fmt: skip
    return AttachedDID(str(did_), mode, attached, instance=name, via=backend.via, options=options)


def _progress_bar(label: str):
    from tqdm.auto import tqdm

    bar = None

    def update(record):
        nonlocal bar
        if bar is None and record.get("bytes_total"):
            bar = tqdm(total=record["bytes_total"], unit="B", unit_scale=True, desc=f"odlake {label}", leave=True)
        if bar is not None:
            bar.n = min(record.get("bytes_done", 0), bar.total)
            bar.set_postfix_str(f"{record.get('files_done', 0)}/{record.get('files_total', 0)} files", refresh=True)
            if record.get("state") not in ACTIVE:
                bar.close()

    return update


def search(pattern: str = "*", filters: dict | str | None = None, type: str = "collection", limit: int = 100,
           instance: str | None = None) -> list[dict]:  # fmt: skip
    """DIDs matching ``scope:pattern`` (Rucio wildcards) and metadata filters, e.g. ``{"channel": "GamGam"}``."""
    if isinstance(filters, dict):
        filters = ",".join(f"{k}={v}" for k, v in filters.items())
    return backends.current().search(pattern, type, filters or "", limit, instance)["items"]


def ls(did: str, limit: int = 100, instance: str | None = None) -> list[dict]:
    """The files of a DID: name, size, adler32, availability (the first ``limit``)."""
    return backends.current().files(str(DID.parse(did)), limit, instance)["items"]


def downloads() -> list[dict]:
    """The downloads of this session's lake connection (the server's, in JupyterLab)."""
    return backends.current().downloads()
