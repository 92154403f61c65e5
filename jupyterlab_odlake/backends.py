"""How a kernel reaches the lake: through the Jupyter server that started it, or directly.

Inside a kernel started by a Jupyter server that runs odlake, requests go to that
server's REST API (one cache, one download queue, one set of credentials), found with
no configuration: the kernel's ``JPY_PARENT_PID`` names the server, whose runtime file
holds its URL and token. Anywhere else (plain IPython, nbclient, a script) the core is
used directly, configured the same way the server is when it has no configuration.
"""

from __future__ import annotations

import os
import time

from .core import errors as E
from .core.downloads import ACTIVE
from .core.errors import OdlakeError

_ERRORS = {cls.code: cls for cls in (E.InvalidRequest, E.AuthenticationFailed, E.AccessDenied, E.NotFound,
                                     E.StorageError, E.ChecksumMismatch, E.Unreachable, E.TimedOut, E.Cancelled)}  # fmt: skip


def _follow(record: dict, refresh, progress) -> dict:
    """Poll a download record until it ends, showing each state to ``progress``."""
    while record["state"] in ACTIVE:
        if progress:
            progress(record)
        time.sleep(0.1)
        record = refresh(record)
    if progress:
        progress(record)
    return record


class CoreBackend:
    """The lake reached from this process with odlake's core."""

    via = "core"

    def __init__(self, lakes=None):
        from .core import Lakes

        self.lakes = lakes or Lakes()

    def instance_name(self, instance: str | None) -> str:
        return self.lakes.instance(instance).name

    def locations(self, did: str, mode: str, instance: str | None) -> list[dict]:
        from .core import DID

        return self.lakes.instance(instance).locations(DID.parse(did), mode, self.lakes.cache)

    def download(self, did: str, instance: str | None, progress=None) -> dict:
        d = self.lakes.download(instance, did)
        return _follow(d.as_dict(), lambda _: d.as_dict(), progress)

    def search(self, query: str, did_type: str, filters: str, limit: int, instance: str | None) -> dict:
        page = self.lakes.instance(instance).search(query, did_type, filters, limit)
        return page.as_dict()

    def files(self, did: str, limit: int, instance: str | None) -> dict:
        from .core import DID

        return self.lakes.instance(instance).files(DID.parse(did), limit).as_dict()

    def downloads(self) -> list[dict]:
        return [d.as_dict() for d in self.lakes.downloads.all()]


class ServerBackend:
    """The lake reached through the REST API of the Jupyter server running this kernel."""

    via = "server"

    def __init__(self, url: str, token: str):
        import requests

        self.url = url.rstrip("/") + "/odlake/"
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"token {token}"

    def _call(self, method: str, path: str, **kw):
        import requests

        try:
            r = self.session.request(method, self.url + path, timeout=600, **kw)
        except requests.RequestException:
            raise E.Unreachable("The Jupyter server that runs this kernel does not answer; is it still running?") from None
        try:
            body = r.json()
        except ValueError:
            body = {"error": "error", "message": r.text[:200]}
        if r.status_code >= 400:
            cls = _ERRORS.get(body.get("error"), OdlakeError)
            raise cls(body.get("message") or f"The server answered {r.status_code}.")
        return body

    def ping(self) -> bool:
        try:
            self._call("GET", "info")
            return True
        except OdlakeError:
            return False

    def instance_name(self, instance: str | None) -> str:
        if instance:
            return instance
        found = self._call("GET", "instances")["instances"]
        default = [i["name"] for i in found if i.get("default")]
        if not default:
            raise E.NotFound("The Jupyter server knows no Rucio instance.")
        return default[0]

    @staticmethod
    def _did_route(did: str, route: str) -> str:
        from urllib.parse import quote

        from .core import DID

        d = DID.parse(did)
        return f"dids/{quote(d.scope, safe='')}/{quote(d.name, safe='')}/{route}"

    def locations(self, did: str, mode: str, instance: str | None) -> list[dict]:
        return self._call("GET", self._did_route(did, "replicas"), params={"mode": mode, "instance": instance})["files"]

    def download(self, did: str, instance: str | None, progress=None) -> dict:
        record = self._call("POST", "downloads", json={"did": did, "instance": instance})
        return _follow(record, lambda r: self._call("GET", f"downloads/{r['id']}"), progress)

    def search(self, query: str, did_type: str, filters: str, limit: int, instance: str | None) -> dict:
        return self._call("GET", "search", params={"q": query, "type": did_type, "filter": filters or None,
                                                   "limit": limit, "instance": instance})  # fmt: skip

    def files(self, did: str, limit: int, instance: str | None) -> dict:
        return self._call("GET", self._did_route(did, "files"), params={"limit": limit, "instance": instance})

    def downloads(self) -> list[dict]:
        return self._call("GET", "downloads")["downloads"]


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
            url = info.get("url", "").rstrip("/")
            backend = ServerBackend(url, token)
            return backend if backend.ping() else None
    return None


_backend = None


def current() -> CoreBackend | ServerBackend:
    """The backend of this process, found once."""
    global _backend
    if _backend is None:
        _backend = parent_server() or CoreBackend()
    return _backend


def reset() -> None:
    global _backend
    _backend = None
