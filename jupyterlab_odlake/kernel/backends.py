"""How a kernel reaches the lake: through the Jupyter server that started it, or directly.

Inside a kernel started by a Jupyter server that runs odlake, requests go to that
server's REST API (one cache, one download queue, one set of credentials), found with
no configuration: the kernel's ``JPY_PARENT_PID`` names the server, whose runtime file
holds its URL and token. Anywhere else (plain IPython, nbclient, a script) the core's
``Lakes`` is used in this process, configured the way the server is when it has no
configuration. Both implement ``core.lake.Lake``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from ..core import errors as E
from ..core.did import DID
from ..core.errors import OdlakeError
from ..core.lake import Lake
from ..core.records import DIDInfo, DownloadRecord, FileEntry, Location, Mode, Page, UploadRecord

_ERRORS = {
    cls.code: cls
    for cls in (
        E.InvalidRequest,
        E.AuthenticationFailed,
        E.AccessDenied,
        E.NotFound,
        E.StorageError,
        E.ChecksumMismatch,
        E.CacheUnusable,
        E.RucioFailed,
        E.Unreachable,
        E.TimedOut,
        E.Cancelled,
    )
}


class ServerBackend:
    """The lake reached through the REST API of the Jupyter server running this kernel."""

    via = "server"

    def __init__(self, url: str, token: str):
        import requests

        self.url = url.rstrip("/") + "/odlake/"
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"token {token}"

    def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        import requests

        try:
            r = self.session.request(method, self.url + path, timeout=600, **kw)
        except requests.RequestException as e:
            raise E.Unreachable("The Jupyter server that runs this kernel does not answer; is it still running?") from e
        try:
            body = r.json()
        except ValueError:
            body = {"error": "error", "message": r.text[:200]}
        if r.status_code >= 400:
            cls = _ERRORS.get(body.get("error"), OdlakeError)
            raise cls(body.get("message") or f"The server answered {r.status_code}.")
        return body  # type: ignore[no-any-return]

    def info(self) -> dict[str, Any] | None:
        """The server's odlake version and default instance; None when it does not run odlake."""
        try:
            return self._call("GET", "info")
        except OdlakeError:
            return None

    @staticmethod
    def _did_route(did: DID, route: str) -> str:
        return f"dids/{quote(did.scope, safe='')}/{quote(did.name, safe='')}/{route}"

    # -- core.lake.Lake ---------------------------------------------------------------------
    def instance_name(self, instance: str | None) -> str:
        if instance:
            return instance
        default = (self.info() or {}).get("default_instance")
        if not default:
            raise E.NotFound("The Jupyter server knows no Rucio instance.")
        return str(default)

    def search(self, query: str, did_type: str, filters: str, limit: int, instance: str | None) -> Page[DIDInfo]:
        params = {"q": query, "type": did_type, "filter": filters or None, "limit": limit, "instance": instance}
        return Page.from_json(self._call("GET", "search", params=params), DIDInfo.from_json)

    def files(self, did: DID, limit: int, instance: str | None) -> Page[FileEntry]:
        body = self._call("GET", self._did_route(did, "files"), params={"limit": limit, "instance": instance})
        return Page.from_json(body, FileEntry.from_json)

    def locations(
        self, did: DID, mode: Mode, instance: str | None, schemes: Sequence[str] = (), rse: str | None = None
    ) -> list[Location]:
        params = {"mode": mode, "instance": instance, "scheme": ",".join(schemes) or None, "rse": rse or None}
        body = self._call("GET", self._did_route(did, "replicas"), params=params)
        return [Location.from_json(f) for f in body["files"]]

    def start_download(self, did: DID, instance: str | None) -> DownloadRecord:
        return DownloadRecord.from_json(self._call("POST", "downloads", json={"did": str(did), "instance": instance}))

    def download(self, download_id: str) -> DownloadRecord:
        return DownloadRecord.from_json(self._call("GET", f"downloads/{quote(download_id, safe='')}"))

    def downloads(self) -> list[DownloadRecord]:
        return [DownloadRecord.from_json(d) for d in self._call("GET", "downloads")["downloads"]]

    def upload(
        self, paths: Sequence[str], dataset: DID, rse: str | None, metadata: dict[str, Any], instance: str | None
    ) -> UploadRecord:
        body = {"paths": list(paths), "dataset": str(dataset), "rse": rse, "metadata": metadata, "instance": instance}
        record = UploadRecord.from_json(self._call("POST", "uploads", json=body))
        route = f"uploads/{quote(record.id, safe='')}"
        try:
            while record.active:
                time.sleep(0.2)
                record = UploadRecord.from_json(self._call("GET", route))
        except KeyboardInterrupt:  # an interrupted cell stops the upload after the file in flight
            self._call("DELETE", route)
            raise
        if record.state == "failed":
            raise OdlakeError(record.errors[0] if record.errors else f"The upload into {dataset} failed.")
        return record

    def replicate(
        self, did: DID, rse_expression: str, lifetime_days: float | None, instance: str | None
    ) -> dict[str, Any]:
        body = {"did": str(did), "rse_expression": rse_expression, "lifetime_days": lifetime_days, "instance": instance}
        return self._call("POST", "rules", json=body)

    def rules(self, instance: str | None) -> list[dict[str, Any]]:
        return list(self._call("GET", "rules", params={"instance": instance})["rules"])


def parent_server() -> ServerBackend | None:
    """The Jupyter server that started this kernel, if it runs odlake."""
    parent = os.environ.get("JPY_PARENT_PID")
    if not parent:
        return None
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return None
    for info in list_running_servers():
        if str(info.get("pid")) == parent:
            token = info.get("token") or os.environ.get("JUPYTERHUB_API_TOKEN", "")
            backend = ServerBackend(info.get("url", "").rstrip("/"), token)
            return backend if backend.info() is not None else None
    return None


_backend: Lake | None = None


def current() -> Lake:
    """The lake of this process, found once."""
    global _backend
    if _backend is None:
        from ..core import Lakes

        _backend = parent_server() or Lakes()
    return _backend


def reset() -> None:
    global _backend
    _backend = None
