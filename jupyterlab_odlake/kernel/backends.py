"""How a kernel reaches the lake: through the Jupyter server that started it, or directly.

Inside a kernel started by a Jupyter server that runs odlake, requests go to that
server's REST API (one cache, one download queue, one set of credentials), found with
no configuration: the kernel's ``JPY_PARENT_PID`` names the server, whose runtime file
holds its URL and token. Anywhere else (plain IPython, nbclient, a script) the core's
``LakeService`` is used in this process, configured the way the server is when it has no
configuration. Both implement ``core.service.Service``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from ..core import errors as E
from ..core.did import DID
from ..core.errors import OdlakeError
from ..core.records import (
    Attachment,
    CacheCheck,
    DIDInfo,
    FileEntry,
    Location,
    Mode,
    Page,
    Rule,
    TransferKind,
    TransferRecord,
)
from ..core.service import Service


class ServerService:
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
            raise E.error_of(body.get("error"), body.get("message") or f"The server answered {r.status_code}.")
        return body  # type: ignore[no-any-return]

    def info(self) -> dict[str, Any] | None:
        """The server's odlake version and default instance; None when it does not run odlake."""
        try:
            return self._call("GET", "info")
        except OdlakeError:
            return None

    @staticmethod
    def _did_route(did: DID, route: str = "") -> str:
        path = f"dids/{quote(did.scope, safe='')}/{quote(did.name, safe='')}"
        return f"{path}/{route}" if route else path

    # -- core.service.Service ------------------------------------------------------------------
    def instance_name(self, instance: str | None = None) -> str:
        if instance:
            return instance
        default = (self.info() or {}).get("default_instance")
        if not default:
            raise E.NotFound("The Jupyter server knows no Rucio instance.")
        return str(default)

    def search(
        self,
        query: str = "*",
        did_type: str = "collection",
        filters: str = "",
        limit: int = 100,
        cursor: str | None = None,
        instance: str | None = None,
    ) -> Page[DIDInfo]:
        params = {"q": query, "type": did_type, "filter": filters or None, "limit": limit, "cursor": cursor}
        return Page.from_json(self._call("GET", "search", params=dict(params, instance=instance)), DIDInfo.from_json)

    def did(self, did: DID, instance: str | None = None) -> DIDInfo:
        return DIDInfo.from_json(self._call("GET", self._did_route(did), params={"instance": instance}))

    def files(
        self,
        did: DID,
        limit: int = 100,
        cursor: str | None = None,
        offset: int = 0,
        availability: bool = True,
        mode: Mode | None = None,
        schemes: Sequence[str] = (),
        instance: str | None = None,
    ) -> Page[FileEntry]:
        params = {
            "limit": limit,
            "cursor": cursor,
            "offset": offset or None,
            "availability": "true" if availability else "false",
            "mode": mode,
            "scheme": ",".join(schemes) or None,
            "instance": instance,
        }
        return Page.from_json(self._call("GET", self._did_route(did, "files"), params=params), FileEntry.from_json)

    def locations(
        self,
        did: DID,
        mode: Mode | None = None,
        schemes: Sequence[str] = (),
        rse: str | None = None,
        instance: str | None = None,
    ) -> list[Location]:
        params = {"mode": mode, "instance": instance, "scheme": ",".join(schemes) or None, "rse": rse or None}
        body = self._call("GET", self._did_route(did, "replicas"), params=params)
        return [Location.from_json(f) for f in body["files"]]

    def attach(
        self,
        did: DID,
        mode: Mode | None = None,
        schemes: Sequence[str] = (),
        rse: str | None = None,
        instance: str | None = None,
    ) -> Attachment:
        body = {"mode": mode, "scheme": ",".join(schemes) or None, "rse": rse, "instance": instance}
        return Attachment.from_json(self._call("POST", self._did_route(did, "attach"), json=body))

    def verify_cached(self, did: DID, instance: str | None = None) -> CacheCheck:
        return CacheCheck.from_json(self._call("POST", self._did_route(did, "verify"), json={"instance": instance}))

    def start_download(self, did: DID, instance: str | None = None) -> TransferRecord:
        return TransferRecord.from_json(self._call("POST", "downloads", json={"did": str(did), "instance": instance}))

    def start_upload(
        self,
        paths: Sequence[str],
        dataset: DID,
        rse: str | None = None,
        metadata: dict[str, Any] | None = None,
        instance: str | None = None,
    ) -> TransferRecord:
        body = {"paths": list(paths), "dataset": str(dataset), "rse": rse, "metadata": metadata, "instance": instance}
        return TransferRecord.from_json(self._call("POST", "uploads", json=body))

    def transfer(self, kind: TransferKind, transfer_id: str) -> TransferRecord:
        return TransferRecord.from_json(self._call("GET", f"{kind}s/{quote(transfer_id, safe='')}"))

    def cancel_transfer(self, kind: TransferKind, transfer_id: str) -> TransferRecord:
        return TransferRecord.from_json(self._call("DELETE", f"{kind}s/{quote(transfer_id, safe='')}"))

    def transfers(self, kind: TransferKind | None = None) -> list[TransferRecord]:
        kinds: tuple[TransferKind, ...] = (kind,) if kind else ("download", "upload")
        found = [TransferRecord.from_json(t) for k in kinds for t in self._call("GET", f"{k}s")[f"{k}s"]]
        return sorted(found, key=lambda t: t.created)

    def replicate(
        self, did: DID, rse_expression: str, lifetime_days: float | None = None, instance: str | None = None
    ) -> Rule:
        body = {"did": str(did), "rse_expression": rse_expression, "lifetime_days": lifetime_days, "instance": instance}
        return Rule.from_json(self._call("POST", "rules", json=body))

    def rules(self, instance: str | None = None) -> list[Rule]:
        return [Rule.from_json(r) for r in self._call("GET", "rules", params={"instance": instance})["rules"]]

    def delete_rule(self, rule_id: str, instance: str | None = None) -> None:
        self._call("DELETE", f"rules/{quote(rule_id, safe='')}", params={"instance": instance})


def parent_server() -> ServerService | None:
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
            backend = ServerService(info.get("url", "").rstrip("/"), token)
            return backend if backend.info() is not None else None
    return None


_backend: Service | None = None


def current() -> Service:
    """The service of this process, found once: the Jupyter server's, else one in this process."""
    global _backend
    if _backend is None:
        from ..core import LakeService

        _backend = parent_server() or LakeService()
    return _backend


def reset() -> None:
    global _backend
    _backend = None
