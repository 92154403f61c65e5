"""Thin tornado handlers over the Jupyter-free core: parse, call one core method off the loop, answer JSON.

Every error leaves as ``{"error": <code>, "message": <what happened and what to do>}``.
"""

import json

import tornado
from jupyter_server.base.handlers import APIHandler

from . import __version__
from .core import DID, InvalidRequest, OdlakeError


class OdlakeHandler(APIHandler):
    @property
    def lakes(self):
        return self.settings["odlake_lakes"]

    async def call(self, fn, *args):
        """Run a (blocking) core call on the odlake thread pool."""
        loop = tornado.ioloop.IOLoop.current()
        return await loop.run_in_executor(self.settings["odlake_executor"], fn, *args)

    def reply(self, data, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def fail(self, error: OdlakeError) -> None:
        self.reply({"error": error.code, "message": error.message}, error.status)

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, OdlakeError):
            return self.fail(exc)
        reason = self._reason or "error"
        if status_code >= 500:
            message = "odlake hit an unexpected error; the server log has the details."
        else:
            message = getattr(exc, "log_message", None) or reason
        self.reply({"error": reason.lower().replace(" ", "_"), "message": message}, status_code)

    def log_exception(self, typ, value, tb):
        if isinstance(value, OdlakeError):  # expected: one line, the user's message (which holds no secret)
            self.log.warning("odlake %s %s: %s", value.status, value.code, value.message)
            return
        super().log_exception(typ, value, tb)

    def body(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise InvalidRequest("The request body is not JSON.") from None
        if not isinstance(data, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        return data

    def did(self, scope: str, name: str) -> DID:
        return DID.of(scope, name)


class InfoHandler(OdlakeHandler):
    @tornado.web.authenticated
    def get(self):
        self.reply({"version": __version__})


class InstancesHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self):
        self.reply({"instances": await self.call(self.lakes.instance_list)})


class SearchHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self):
        instance = self.lakes.instance(self.get_argument("instance", None))
        filters = ",".join(f for f in self.get_arguments("filter") if f.strip())
        page = await self.call(
            instance.search,
            self.get_argument("q", "*"),
            self.get_argument("type", "collection"),
            filters,
            self.get_argument("limit", "100"),
            self.get_argument("cursor", None),
        )
        self.reply(dict(page.as_dict(), instance=instance.name))


class DIDHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self, scope, name):
        instance = self.lakes.instance(self.get_argument("instance", None))
        self.reply(dict(await self.call(instance.did, self.did(scope, name)), instance=instance.name))


class FilesHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self, scope, name):
        instance = self.lakes.instance(self.get_argument("instance", None))
        did = self.did(scope, name)
        availability = self.get_argument("availability", "true").lower() not in ("0", "false", "no")
        page = await self.call(
            instance.files, did, self.get_argument("limit", "100"), self.get_argument("cursor", None), availability,
            self.get_argument("offset", None),
        )  # fmt: skip
        self.reply(dict(page.as_dict(), did=str(did), instance=instance.name))


class ReplicasHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self, scope, name):
        instance = self.lakes.instance(self.get_argument("instance", None))
        did = self.did(scope, name)
        files = await self.call(instance.locations, did, self.get_argument("mode", None), self.lakes.cache)
        self.reply({"did": str(did), "instance": instance.name, "files": files})


class CatalogHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self):
        instance = self.lakes.instance(self.get_argument("instance", None))
        self.reply(await self.call(instance.catalog))


class DownloadsHandler(OdlakeHandler):
    @tornado.web.authenticated
    def get(self):
        self.reply({"downloads": [d.as_dict() for d in self.lakes.downloads.all()]})

    @tornado.web.authenticated
    def post(self):
        body = self.body()
        download = self.lakes.download(body.get("instance"), body.get("did", ""))
        self.reply(download.as_dict(), 202)


class DownloadHandler(OdlakeHandler):
    @tornado.web.authenticated
    def get(self, download_id):
        self.reply(self.lakes.downloads.get(download_id).as_dict())

    @tornado.web.authenticated
    def delete(self, download_id):
        self.reply(self.lakes.downloads.cancel(download_id).as_dict())
