"""Thin tornado handlers over the Jupyter-free core: parse, call one core method off the loop, answer JSON.

Every error leaves as ``{"error": <code>, "message": <what happened and what to do>}``.
The answers are described in ``openapi.yaml`` beside this file.
"""

import json
import os
from pathlib import Path
from typing import Any

import tornado
from jupyter_server.base.handlers import APIHandler

from .. import __version__
from ..core import DID, MODES, InvalidRequest, Lakes, NotFound, OdlakeError
from ..core.errors import quoted
from ..core.locations import check_schemes
from ..core.paths import inside


class OdlakeHandler(APIHandler):
    @property
    def lakes(self) -> Lakes:
        return self.settings["odlake_lakes"]

    async def call(self, fn, *args):
        """Run a (blocking) core call on the odlake thread pool."""
        loop = tornado.ioloop.IOLoop.current()
        return await loop.run_in_executor(self.settings["odlake_executor"], fn, *args)

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, OdlakeError):
            return self.reply({"error": exc.code, "message": exc.message}, exc.status)
        reason = self._reason or "error"
        if status_code >= 500:
            message = "odlake hit an unexpected error; the server log has the details."
        else:
            message = getattr(exc, "log_message", None) or reason
        self.reply({"error": reason.lower().replace(" ", "_"), "message": message}, status_code)

    def log_exception(self, typ, value, tb):
        if isinstance(value, OdlakeError):  # expected: one line, the user's message (which holds no secret)
            cause = value.__cause__
            detail = f" (from {type(cause).__module__}.{type(cause).__name__})" if cause else ""
            self.log.warning("odlake %s %s: %s%s", value.status, value.code, value.message, detail)
            return
        super().log_exception(typ, value, tb)

    # -- parsing a request, once, here ------------------------------------------------------
    def body(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except (ValueError, RecursionError):  # RecursionError: thousands of nested brackets
            raise InvalidRequest("The request body is not JSON.") from None
        if not isinstance(data, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        return data

    def integer(self, name: str, default: int) -> int:
        text = self.get_argument(name, None)
        if text is None or text == "":
            return default
        try:
            return int(text)
        except ValueError:
            raise InvalidRequest(f"{name} must be a whole number.") from None

    def flag(self, name: str, default: bool) -> bool:
        text = self.get_argument(name, None)
        return default if text is None else text.lower() not in ("0", "false", "no")

    def mode(self) -> str | None:
        mode = self.get_argument("mode", None) or None
        if mode is not None and mode not in MODES:
            raise InvalidRequest(f"mode must be one of {', '.join(MODES)}.")
        return mode

    def instance(self):
        return self.lakes.instance(self.get_argument("instance", None) or None)

    @staticmethod
    def instance_in(body: dict) -> str | None:
        """The instance a request's body names, or None for the default."""
        named = body.get("instance") or None
        if named is not None and not isinstance(named, str):
            raise InvalidRequest("instance must be a name.")
        return named


class NoRouteHandler(OdlakeHandler):
    """Any other path under /odlake/: the JSON error shape, not the server's HTML page."""

    def _none(self, rest: str = ""):
        raise NotFound(
            f"There is no odlake route {self.request.method} /odlake/{quoted(rest)}; see the REST API in the README."
        )

    get = tornado.web.authenticated(_none)
    post = tornado.web.authenticated(_none)
    put = tornado.web.authenticated(_none)
    patch = tornado.web.authenticated(_none)
    delete = tornado.web.authenticated(_none)


class InfoHandler(OdlakeHandler):
    @tornado.web.authenticated
    def get(self):
        self.reply({"version": __version__, "default_instance": self.lakes.default})


class InstancesHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self):
        self.reply({"instances": await self.call(self.lakes.instance_list)})


class SearchHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self):
        instance = self.instance()
        filters = ",".join(f for f in self.get_arguments("filter") if f.strip())
        query, did_type = self.get_argument("q", "*"), self.get_argument("type", "collection")
        limit, cursor = self.integer("limit", 100), self.get_argument("cursor", None)
        page = await self.call(instance.search, query, did_type, filters, limit, cursor)
        self.reply(dict(page.to_json(), instance=instance.name))


class DIDHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self, scope, name):
        instance, did = self.instance(), DID.of(scope, name)
        self.reply(dict((await self.call(instance.did, did)).to_json(), instance=instance.name))


class FilesHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self, scope, name):
        instance, did = self.instance(), DID.of(scope, name)
        limit, cursor, offset = self.integer("limit", 100), self.get_argument("cursor", None), self.integer("offset", 0)
        availability, schemes = self.flag("availability", True), check_schemes(self.get_argument("scheme", None))
        page = await self.call(instance.files, did, limit, cursor, availability, offset, self.mode(), schemes)
        self.reply(dict(page.to_json(), did=str(did), instance=instance.name))


class ReplicasHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self, scope, name):
        instance, did = self.instance(), DID.of(scope, name)
        schemes = check_schemes(self.get_argument("scheme", None))
        rse = self.get_argument("rse", None) or None
        files = await self.call(instance.locations, did, self.mode(), self.lakes.cache, schemes, rse)
        self.reply({"did": str(did), "instance": instance.name, "files": [f.to_json() for f in files]})


class CatalogHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self):
        instance = self.instance()
        self.reply((await self.call(instance.catalog)).to_json())


class DownloadsHandler(OdlakeHandler):
    @tornado.web.authenticated
    def get(self):
        self.reply({"downloads": [d.to_json() for d in self.lakes.downloads()]})

    @tornado.web.authenticated
    def post(self):
        body = self.body()
        did = DID.parse(body.get("did", ""))
        self.reply(self.lakes.start_download(did, self.instance_in(body)).to_json(), 202)


class DownloadHandler(OdlakeHandler):
    @tornado.web.authenticated
    def get(self, download_id):
        self.reply(self.lakes.download(download_id).to_json())

    @tornado.web.authenticated
    def delete(self, download_id):
        self.reply(self.lakes.cancel_download(download_id).to_json())


class UploadsHandler(OdlakeHandler):
    """Uploads of this server; POST checks one (refusals answer at once) and starts it."""

    @tornado.web.authenticated
    def get(self):
        self.reply({"uploads": [u.record().to_json() for u in self.lakes.uploads.all()]})

    @tornado.web.authenticated
    async def post(self):
        body = self.body()
        instance = self.lakes.instance(self.instance_in(body))
        dataset = DID.parse(body.get("dataset", ""))
        rse = body.get("rse") or None
        metadata = body.get("metadata") or {}
        if (rse is not None and not isinstance(rse, str)) or not isinstance(metadata, dict):
            raise InvalidRequest("rse must be a name and metadata an object of keys and values.")
        paths = body.get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise InvalidRequest("paths must be a list of file paths under the server's root directory.")
        files = [self.under_root(p) for p in paths]
        started = await self.call(self.lakes.start_upload, files, dataset, rse, metadata, instance.name)
        self.reply(started.to_json(), 202)

    def under_root(self, path: str) -> Path:
        """``path`` (relative to the server's root directory, or absolute inside it) resolved; refused when it
        leads outside, also through a symlink: the server uploads only what its users see in JupyterLab."""
        root = os.path.realpath(
            os.path.expanduser(self.settings.get("server_root_dir") or self.contents_manager.root_dir)
        )
        candidate = os.path.normpath(os.path.join(root, path))
        if not inside(root, candidate):
            raise InvalidRequest(
                f"'{quoted(path)}' is outside the Jupyter root directory; only files under it are uploaded."
            )
        return Path(os.path.realpath(candidate))


class UploadHandler(OdlakeHandler):
    @tornado.web.authenticated
    def get(self, upload_id):
        self.reply(self.lakes.uploads.get(upload_id).record().to_json())

    @tornado.web.authenticated
    def delete(self, upload_id):
        """Stop after the file in flight: the dataset keeps only whole, registered files."""
        self.reply(self.lakes.uploads.cancel(upload_id).record().to_json())


class RulesHandler(OdlakeHandler):
    """The replication rules of the instance's account; POST asks for one."""

    @tornado.web.authenticated
    async def get(self):
        instance = self.instance()
        self.reply({"instance": instance.name, "rules": [r.to_json() for r in await self.call(instance.rules)]})

    @tornado.web.authenticated
    async def post(self):
        body = self.body()
        instance = self.lakes.instance(self.instance_in(body))
        did = DID.parse(body.get("did", ""))
        rse = body.get("rse_expression")
        lifetime = body.get("lifetime_days")
        if not isinstance(rse, str) or (lifetime is not None and not isinstance(lifetime, (int, float))):
            raise InvalidRequest("rse_expression must be an RSE expression, lifetime_days a number of days.")
        rule = await self.call(instance.replicate, did, rse, lifetime)
        self.reply(dict(rule.to_json(), instance=instance.name), 201)


class RuleHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def delete(self, rule_id):
        instance = self.instance()
        await self.call(instance.delete_rule, rule_id)
        self.reply({"id": rule_id, "deleted": True})
