"""Thin tornado handlers over the one service (core ``LakeService``): parse, call one of its methods off the
event loop, answer JSON.

Every error leaves as ``{"error": <code>, "message": <what happened and what to do>}``.
The answers are described in the REST API's description (spec.py; openapi.json beside this file).
"""

import functools
import json
from collections.abc import Callable
from types import TracebackType
from typing import Any, NoReturn, ParamSpec, TypeVar

import tornado
from jupyter_server.base.handlers import APIHandler

from .. import __version__
from ..core import DID, MODES, InvalidRequest, LakeService, NotFound, OdlakeError, json_text
from ..core import errors as E
from ..core.errors import quoted
from ..core.records import Mode, TransferKind
from ..core.rucio.locations import check_schemes
from .spec import body_problem

P = ParamSpec("P")
T = TypeVar("T")

# the HTTP status of each kind of error (a subclass answers as its nearest listed base)
STATUS: dict[type[OdlakeError], int] = {
    E.InvalidRequest: 400,
    E.AuthenticationFailed: 401,
    E.AccessDenied: 403,
    E.NotFound: 404,
    E.Cancelled: 409,
    E.StorageError: 502,
    E.RucioFailed: 502,
    E.Unreachable: 503,
    E.TimedOut: 504,
    E.CacheUnusable: 507,
}


MAX_BODY = 1_000_000  # bytes: the largest body (an upload of many paths) is a few kB
MAX_NESTING = 32  # brackets inside brackets: the deepest body the API describes has 3


def _nests_deeper(raw: bytes, most: int) -> bool:
    """Do the brackets of a JSON text (outside its strings) nest deeper than ``most``?"""
    if raw.count(b"[") + raw.count(b"{") <= most:  # the common case, answered without a scan
        return False
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:  # brackets in a string do not nest; a quote ends it unless a backslash escapes it
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > most:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def status_of(error: OdlakeError) -> int:
    return next((STATUS[kind] for kind in type(error).__mro__ if kind in STATUS), 500)


class OdlakeHandler(APIHandler):
    @property
    def service(self) -> LakeService:
        service: LakeService = self.settings["odlake_service"]
        return service

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a (blocking) core call on the odlake thread pool."""
        loop = tornado.ioloop.IOLoop.current()
        return await loop.run_in_executor(self.settings["odlake_executor"], functools.partial(fn, *args, **kwargs))

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json_text.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, OdlakeError):
            self.reply({"error": exc.code, "message": exc.message}, status_of(exc))
            return
        reason = self._reason or "error"
        if status_code >= 500:
            message = "odlake hit an unexpected error; the server log has the details."
        else:
            message = getattr(exc, "log_message", None) or reason
        self.reply({"error": reason.lower().replace(" ", "_"), "message": message}, status_code)

    def log_exception(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(value, OdlakeError):  # expected: one line, the user's message (which holds no secret)
            cause = value.__cause__
            detail = f" (from {type(cause).__module__}.{type(cause).__name__})" if cause else ""
            self.log.warning("odlake %s %s: %s%s", status_of(value), value.code, value.message, detail)
            return
        super().log_exception(typ, value, tb)

    # -- parsing a request, once, here ------------------------------------------------------
    def body(self) -> dict[str, Any]:
        """The request's JSON body, checked against the route's request body in the description (spec.py)."""
        raw = self.request.body or b"{}"
        if len(raw) > MAX_BODY:
            raise InvalidRequest(f"The request body is larger than {MAX_BODY:,} bytes; no route takes so much.")
        if _nests_deeper(raw, MAX_NESTING):  # refused before the parser recurses into thousands of brackets
            raise InvalidRequest(f"The request body is not JSON odlake reads: it nests deeper than {MAX_NESTING}.")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise InvalidRequest("The request body is not JSON.") from None
        if not isinstance(data, dict):
            raise InvalidRequest("The request body must be a JSON object.")
        route = self.request.path.split("/odlake", 1)[-1]
        problem = body_problem(route, self.request.method or "", data)
        if problem:
            raise InvalidRequest(
                f"The request body does not fit the REST API ({quoted(problem, 200)}); see openapi.json."
            )
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

    def mode(self) -> Mode | None:
        mode = self.get_argument("mode", None) or None
        if mode is not None and mode not in MODES:
            raise InvalidRequest(f"mode must be one of {', '.join(MODES)}.")
        return mode

    def instance(self) -> str:
        """The instance the query names (its name, checked), or the default one."""
        return self.service.instance_name(self.get_argument("instance", None) or None)

    def instance_in(self, body: dict[str, Any]) -> str:
        """The instance a (checked) request body names, or the default one."""
        return self.service.instance_name(body.get("instance") or None)


class NoRouteHandler(OdlakeHandler):
    """Any other path under /odlake/: the JSON error shape, not the server's HTML page."""

    def _none(self, rest: str = "") -> NoReturn:
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
    def get(self) -> None:
        self.reply({"version": __version__, "default_instance": self.service.default})


class InstancesHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply({"instances": await self.call(self.service.instances)})


class SearchHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        instance = self.instance()
        filters = ",".join(f for f in self.get_arguments("filter") if f.strip())
        query, did_type = self.get_argument("q", "*"), self.get_argument("type", "collection")
        limit, cursor = self.integer("limit", 100), self.get_argument("cursor", None)
        page = await self.call(self.service.search, query, did_type, filters, limit, cursor, instance)
        self.reply(dict(page.to_json(), instance=instance))


class DIDHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self, scope: str, name: str) -> None:
        instance, did = self.instance(), DID.of(scope, name)
        self.reply(dict((await self.call(self.service.did, did, instance)).to_json(), instance=instance))


class FilesHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self, scope: str, name: str) -> None:
        instance, did = self.instance(), DID.of(scope, name)
        limit, cursor, offset = self.integer("limit", 100), self.get_argument("cursor", None), self.integer("offset", 0)
        availability, schemes = self.flag("availability", True), check_schemes(self.get_argument("scheme", None))
        page = await self.call(
            self.service.files, did, limit, cursor, offset, availability, self.mode(), schemes, instance
        )
        self.reply(dict(page.to_json(), did=str(did), instance=instance))


class ReplicasHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self, scope: str, name: str) -> None:
        instance, did = self.instance(), DID.of(scope, name)
        schemes = check_schemes(self.get_argument("scheme", None))
        rse = self.get_argument("rse", None) or None
        files = await self.call(self.service.locations, did, self.mode(), schemes, rse, instance)
        self.reply({"did": str(did), "instance": instance, "files": [f.to_json() for f in files]})


class AttachHandler(OdlakeHandler):
    """An attach resolved where the lake is: one listing; the files to copy come with their download."""

    @tornado.web.authenticated
    async def post(self, scope: str, name: str) -> None:
        body, did = self.body(), DID.of(scope, name)
        mode, schemes, rse = body.get("mode") or None, check_schemes(body.get("scheme")), body.get("rse") or None
        instance = self.instance_in(body)
        attachment = await self.call(self.service.attach, did, mode, schemes, rse, instance)
        self.reply(attachment.to_json())


class VerifyHandler(OdlakeHandler):
    """The cached copies of a DID's files re-checked in full; bad ones removed."""

    @tornado.web.authenticated
    async def post(self, scope: str, name: str) -> None:
        body, did = self.body(), DID.of(scope, name)
        checked = await self.call(self.service.verify_cached, did, self.instance_in(body))
        self.reply(checked.to_json())


class CatalogHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply((await self.call(self.service.catalog, self.instance())).to_json())


class TransfersHandler(OdlakeHandler):
    """The transfers of one kind (``kind`` in the route table): GET lists them, POST starts one."""

    kind: TransferKind

    @tornado.web.authenticated
    def get(self) -> None:
        self.reply({f"{self.kind}s": [t.to_json() for t in self.service.transfers(self.kind)]})


class TransferHandler(OdlakeHandler):
    """One transfer: GET follows it, DELETE stops it (an upload after the file in flight, so that the
    dataset keeps only whole, registered files)."""

    kind: TransferKind

    def initialize(self, kind: TransferKind) -> None:
        self.kind = kind

    @tornado.web.authenticated
    def get(self, transfer_id: str) -> None:
        self.reply(self.service.transfer(self.kind, transfer_id).to_json())

    @tornado.web.authenticated
    def delete(self, transfer_id: str) -> None:
        self.reply(self.service.cancel_transfer(self.kind, transfer_id).to_json())


class DownloadsHandler(TransfersHandler):
    kind = "download"

    @tornado.web.authenticated
    def post(self) -> None:
        body = self.body()
        did = DID.parse(body["did"])
        self.reply(self.service.start_download(did, self.instance_in(body)).to_json(), 202)


class UploadsHandler(TransfersHandler):
    """POST checks an upload (refusals answer at once) and starts it."""

    kind = "upload"

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        instance = self.instance_in(body)
        dataset, rse, metadata = DID.parse(body["dataset"]), body.get("rse") or None, body.get("metadata") or {}
        started = await self.call(self.service.start_upload, body["paths"], dataset, rse, metadata, instance)
        self.reply(started.to_json(), 202)


class RulesHandler(OdlakeHandler):
    """The replication rules of the instance's account; POST asks for one."""

    @tornado.web.authenticated
    async def get(self) -> None:
        instance = self.instance()
        rules = await self.call(self.service.rules, instance)
        self.reply({"instance": instance, "rules": [r.to_json() for r in rules]})

    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        instance = self.instance_in(body)
        did, rse, lifetime = DID.parse(body["did"]), body["rse_expression"], body.get("lifetime_days")
        rule = await self.call(self.service.replicate, did, rse, lifetime, instance)
        self.reply(dict(rule.to_json(), instance=instance), 201)


class RuleHandler(OdlakeHandler):
    @tornado.web.authenticated
    async def delete(self, rule_id: str) -> None:
        await self.call(self.service.delete_rule, rule_id, self.instance())
        self.reply({"id": rule_id, "deleted": True})
