"""The attached DID: what ``%odlake attach`` puts in a kernel variable.

One object for a file, a dataset or a container. Its ``paths`` are local paths or
streamable URLs, in order, that uproot reads directly; the methods hand them to uproot,
so the next line of an analysis is uproot or awkward, not odlake.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import urlparse

from ..core.records import ReadAccess


@dataclass(frozen=True)
class AttachedFile:
    """One file of an attached DID and where its bytes are read from."""

    scope: str
    name: str
    bytes: int | None
    adler32: str | None
    location: str  # local path or URL
    kind: str  # "mounted", "stream" or "download" (a verified copy in the cache)
    rse: str | None = None

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.name}"


def size_text(n: float | None) -> str:
    if n is None:
        return "unknown size"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


@dataclass(eq=False)
class AttachedDID:
    """A Rucio DID attached in a kernel: ``.paths`` for uproot, plus shortcuts to read it.

    ``options`` are passed to every uproot call (e.g. HTTP headers a real lake's storage
    needs); they are never shown in ``repr``.
    """

    did: str
    mode: str
    files: list[AttachedFile]
    instance: str = ""
    via: str = ""  # "server" (the Jupyter server's REST API) or "core"
    options: dict[str, Any] = field(default_factory=dict, repr=False)
    access: ReadAccess | None = field(default=None, repr=False)  # a token file and the CA, for authenticating storage

    # -- what a physicist uses --------------------------------------------------------------
    @property
    def paths(self) -> list[str]:
        """Local paths or streamable URLs, one per file, in order: for uproot.open / iterate / concatenate / dask."""
        return [f.location for f in self.files]

    urls = paths

    @property
    def bytes(self) -> int:
        return sum(f.bytes or 0 for f in self.files)

    def __len__(self) -> int:
        return len(self.files)

    # uproot has no type information: its directories and arrays are Any here
    def __iter__(self) -> Iterator[Any]:
        """The files as uproot directories, opened one at a time."""
        for i in range(len(self.files)):
            yield self.open(i)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AttachedDID):
            return NotImplemented
        return (self.did, self.mode, self.files, self.instance) == (other.did, other.mode, other.files, other.instance)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """uproot's network errors -> one StorageError saying which storage did not answer."""
        try:
            yield
        except OSError as e:
            from ..core.errors import StorageError

            hosts = sorted({urlparse(f.location).netloc for f in self.files if f.kind == "stream"})
            if not hosts:
                raise
            if "TLS error" in str(e):  # XRootD's words for a certificate its client does not trust, too
                import os

                raise StorageError(
                    f"The storage at {', '.join(hosts)} failed this kernel's TLS check while streaming {self.did}: "
                    "XRootD's client trusts only the CAs it found at its first TLS connection in this process "
                    f"(X509_CERT_DIR={os.environ.get('X509_CERT_DIR') or 'unset'}). Restart the kernel and attach "
                    "again, or attach with scheme='https'."
                ) from e
            raise StorageError(
                f"The storage at {', '.join(hosts)} cannot be reached while streaming {self.did} ({type(e).__name__}); "
                "retry, or attach with mode='download' once it is back."
            ) from e

    def _sources(self, tree: str) -> dict[str, str]:
        return {p: tree for p in self.paths}

    @property
    def storage_options(self) -> dict[str, Any]:
        """What uproot needs to read these files: ``uproot.open(data.paths[i], **data.storage_options)``.

        For root:// files, a source that works around uproot handing XRootD NumPy offsets (see
        ``kernel.sources``); where the storage authenticates, an HTTP client that sends the storage token
        over https (read from its file at each request, so a refreshed token is used) and trusts the lake's
        CA; XRootD finds the token through ``BEARER_TOKEN_FILE``, set at attach and by the source in each process
        that opens a file (a dask worker's too). No secret is in them."""
        options = dict(self.options)
        streamed = [p for p, f in zip(self.paths, self.files, strict=True) if f.kind == "stream"]
        https = self.access is not None and any(p.startswith("https://") for p in streamed)
        if "handler" not in options and (https or any(p.startswith("root://") for p in streamed)):
            from .sources import XRootDFriendlySource

            options["handler"] = XRootDFriendlySource
            if self.access is not None and self.access.token_file:
                options["bearer_token_file"] = self.access.token_file
        if https and self.access is not None and "get_client" not in options:
            from .sources import token_client

            options["get_client"] = partial(
                token_client, self.access.token_file, self.access.ca_dir or self.access.ca_file
            )
        return options

    def _options(self, kw: dict[str, Any]) -> dict[str, Any]:
        """uproot's options for a call: the attach's (``storage_options``) and the call's."""
        return {**self.storage_options, **kw}

    def open(self, i: int = 0, **options: Any) -> Any:
        """The ``i``-th file as an uproot directory."""
        import uproot

        with self._reading():
            return uproot.open(self.paths[i], **self._options(options))

    def arrays(
        self,
        tree: str,
        expressions: str | Sequence[str] | None = None,
        cut: str | None = None,
        library: str = "ak",
        **kw: Any,
    ) -> Any:
        """All files' ``tree`` in one array (uproot.concatenate)."""
        import uproot

        with self._reading():
            return uproot.concatenate(self._sources(tree), expressions, cut, library=library, **self._options(kw))

    def iterate(
        self,
        tree: str,
        expressions: str | Sequence[str] | None = None,
        cut: str | None = None,
        step_size: int | str = "100 MB",
        library: str = "ak",
        **kw: Any,
    ) -> Iterator[Any]:
        """Chunks of ``tree`` across all files (uproot.iterate)."""
        import uproot

        with self._reading():
            yield from uproot.iterate(
                self._sources(tree), expressions, cut, step_size=step_size, library=library, **self._options(kw)
            )

    def dask(self, tree: str, **kw: Any) -> Any:
        """A lazy dask-awkward array of ``tree`` over all files (uproot.dask): scales out on a dask cluster."""
        import uproot

        with self._reading():
            return uproot.dask(self._sources(tree), **self._options(kw))

    # -- how it shows ---------------------------------------------------------------------------
    def where(self) -> str:
        """Where the bytes are, in words."""
        parts: list[str] = []
        streamed = [f for f in self.files if f.kind == "stream"]
        if streamed:
            rses = sorted({f.rse or urlparse(f.location).netloc for f in streamed})
            hosts = sorted({urlparse(f.location).netloc for f in streamed})
            schemes = sorted({f"{urlparse(f.location).scheme}://" for f in streamed})
            parts.append(
                f"{len(streamed)} streamed over {', '.join(schemes)} from {', '.join(rses)} ({', '.join(hosts)})"
            )
        mounted = [f for f in self.files if f.kind == "mounted"]
        if mounted:
            parts.append(
                f"{len(mounted)} read in place from {', '.join(sorted({f.rse or '?' for f in mounted}))} "
                f"({_common_dir([f.location for f in mounted])})"
            )
        cached = [f for f in self.files if f.kind == "download"]
        if cached:
            parts.append(f"{len(cached)} verified copies cached at {_common_dir([f.location for f in cached])}")
        return "; ".join(parts) or "no files"

    def __repr__(self) -> str:
        return f"<AttachedDID {self.summary()}>"

    def summary(self) -> str:
        """One line: the DID, its files and size, the mode and where the bytes are."""
        return f"{self.did}: {len(self)} files, {size_text(self.bytes)}, mode {self.mode}; {self.where()}"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(f.name)}</td><td style='text-align:right'>{size_text(f.bytes)}</td>"
            f"<td>{html.escape(f.kind)}</td><td><code>{html.escape(f.location)}</code></td></tr>"
            for f in self.files[:20]
        )
        more = f"<tr><td colspan=4>… and {len(self.files) - 20} more files</td></tr>" if len(self.files) > 20 else ""
        return (
            f"<div><b>{html.escape(self.did)}</b> — {len(self)} files, {size_text(self.bytes)}, mode <i>{self.mode}</i><br>"
            f"<small>{html.escape(self.where())}</small>"
            f"<table><tr><th>file</th><th>size</th><th>read as</th><th>location</th></tr>{rows}{more}</table></div>"
        )


def _common_dir(paths: list[str]) -> str:
    import os

    try:
        return os.path.commonpath([os.path.dirname(p) for p in paths])
    except ValueError:
        return "several places"
