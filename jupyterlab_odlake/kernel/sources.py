"""The uproot source odlake hands root:// files to, and the HTTP client that carries a storage token.

uproot (5.7.7) reads a basket's key at the offset it finds in the file's index, a NumPy
integer (``TBranch.basket_key``, on the path of ``step_size`` given in bytes, e.g.
``uproot.dask(..., step_size="50 MB")``); fsspec-xrootd passes it on to the XRootD bindings,
which accept only Python integers ("integer argument expected for offset"). This source is
uproot's own fsspec source with the offsets made plain integers. It lives at module level
so that dask can send it to its workers.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any, SupportsInt

from uproot.source.chunk import Chunk
from uproot.source.fsspec import FSSpecSource


class XRootDFriendlySource(FSSpecSource):  # type: ignore[misc]  # uproot has no type information
    """Its option ``bearer_token_file`` (a path, no secret) is where XRootD's client finds the storage token:
    set as ``BEARER_TOKEN_FILE`` in the process that opens the file, also a dask worker spawned before the
    attach, whose environment never had it."""

    def __init__(self, file_path: str, bearer_token_file: str | None = None, **options: Any):
        self._bearer_token_file = bearer_token_file
        super().__init__(file_path, **options)

    def _open(self) -> None:  # also where a source sent to a dask worker opens its file again
        token_file = self._bearer_token_file
        if token_file and os.environ.get("BEARER_TOKEN_FILE") != token_file:
            os.environ["BEARER_TOKEN_FILE"] = token_file
        super()._open()

    def chunk(self, start: SupportsInt, stop: SupportsInt) -> Chunk:
        return super().chunk(int(start), int(stop))


def tls_context(ca: str | None) -> ssl.SSLContext:
    """A TLS context trusting ``ca`` (a PEM bundle or a hashed directory), else the system's CAs."""
    if ca and os.path.isdir(ca):
        return ssl.create_default_context(capath=ca)
    return ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()


class _BearerFromFile:
    """An aiohttp client middleware: each request carries the token as it is in ``token_file`` now (whoever
    refreshes it rewrites the file), over TLS only; read again only when the file changed."""

    def __init__(self, token_file: str):
        self.token_file = Path(token_file)
        self._read: tuple[tuple[int, int], str] | None = None

    def _token(self) -> str:
        stat = self.token_file.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._read is None or self._read[0] != stamp:
            self._read = (stamp, self.token_file.read_text().strip())
        return self._read[1]

    async def __call__(self, request: Any, handler: Any) -> Any:
        if request.url.scheme == "https":
            request.headers["Authorization"] = f"Bearer {self._token()}"
        return await handler(request)


async def token_client(token_file: str | None, ca: str | None, **kwargs: Any) -> Any:
    """fsspec's HTTP client (its ``get_client``) for storages that authenticate: the lake's CA, and the storage
    token from its file on every https request. Given as ``functools.partial(token_client, file, ca)``,
    which holds two paths and no secret, and travels to dask workers as it is."""
    import aiohttp

    middlewares = (_BearerFromFile(token_file),) if token_file else ()
    connector = aiohttp.TCPConnector(ssl=tls_context(ca))
    return aiohttp.ClientSession(connector=connector, middlewares=middlewares, **kwargs)
