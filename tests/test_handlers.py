"""The REST handlers over a stand-in service: every route's answer and its errors, in seconds, no lake.

The handlers only parse, call one method of the service and answer; the stand-in records what
they asked, so each test shows a route and the service call it becomes. Every answer is held to
the REST API's description (server/spec.py) by the ``api`` fixture. The same routes against the
demo lake are in test_search.py, test_files.py, test_reading.py, test_transfers.py, test_auth.py
and test_bad_input.py.
"""

from __future__ import annotations

import pytest

from jupyterlab_odlake.core import errors as E
from jupyterlab_odlake.core.did import DID
from jupyterlab_odlake.core.records import (
    Alternative,
    Attachment,
    CacheCheck,
    DIDInfo,
    FileEntry,
    Location,
    Page,
    Resolved,
    Rule,
    TransferRecord,
)
from jupyterlab_odlake.core.rucio.catalog import Catalog, CatalogContainer
from jupyterlab_odlake.server.routes import ROUTES

DATASET = DIDInfo("opendata", "GamGam.MC", "dataset", 100, 1, {"channel": "GamGam"}, None)
FILE = FileEntry("opendata", "mc_1.root", 100, "0000beef", ["ODLAKE_HTTP"], True)
ALTERNATIVE = Alternative("stream", "http://127.0.0.1:1/opendata/mc_1.root", "ODLAKE_HTTP", "http", True, 1)
LOCATION = Location(
    "opendata",
    "mc_1.root",
    100,
    "0000beef",
    "stream",
    "stream",
    ALTERNATIVE.location,
    "ODLAKE_HTTP",
    None,
    (ALTERNATIVE,),
)
RULE = Rule("3f2a", "opendata:GamGam.MC", "ODLAKE_LOCAL", "REPLICATING", 0, 1, None, "root")


def transfer(kind: str, transfer_id: str = "t1") -> TransferRecord:
    upload = kind == "upload"
    return TransferRecord(
        transfer_id,
        kind,  # type: ignore[arg-type]
        "demo",
        "user.root:out" if upload else "opendata:GamGam.MC",
        "running",
        1,
        0,
        100,
        0,
        0,
        0.0,
        (),
        1.0,
        None,
        rse="ODLAKE_USERDISK" if upload else None,
    )


class StandInService:
    """A ``LakeService`` as the handlers see it: each call is noted; some DIDs fail as told."""

    via = "core"
    default = "demo"
    names = ("demo",)

    def __init__(self):
        self.asked: list[tuple] = []

    def _note(self, *call):
        self.asked.append(call)
        for value in call:
            if isinstance(value, DID) and value.name.startswith("missing"):
                raise E.NotFound(f"There is no DID {value} in instance 'demo'.")
            if isinstance(value, DID) and value.name.startswith("down"):
                raise E.Unreachable("Rucio instance 'demo' cannot be reached; retry.")

    def instance_name(self, instance=None):
        if instance not in (None, "demo"):
            raise E.NotFound(f"There is no Rucio instance '{instance}' here; known: demo.")
        return "demo"

    def instances(self):
        self._note("instances")
        return [
            {
                "name": "demo",
                "display_name": "Demo lake",
                "rucio_host": "http://127.0.0.1:1",
                "auth_type": "userpass",
                "account": "root",
                "vo": None,
                "default_mode": "auto",
                "upload_rse": "ODLAKE_USERDISK",
                "schemes": ["root", "https", "davs", "http"],
                "reachable": True,
                "authenticated": True,
                "status": "ok",
                "default": True,
            }
        ]

    def search(self, query="*", did_type="collection", filters="", limit=100, cursor=None, instance=None):
        self._note("search", query, did_type, filters, limit, cursor, instance)
        return Page([DATASET], None, "next-page")

    def did(self, did, instance=None):
        self._note("did", did, instance)
        return DATASET

    def files(self, did, limit=100, cursor=None, offset=0, availability=True, mode=None, schemes=(), instance=None):
        self._note("files", did, limit, cursor, offset, availability, mode, schemes, instance)
        return Page([FILE], 1, None)

    def locations(self, did, mode=None, schemes=(), rse=None, instance=None):
        self._note("locations", did, mode, schemes, rse, instance)
        return [LOCATION]

    def attach(self, did, mode=None, schemes=(), rse=None, instance=None):
        self._note("attach", did, mode, schemes, rse, instance)
        resolved = Resolved.of(LOCATION)
        return Attachment(str(did), "demo", mode or "auto", (resolved,), transfer("download") if mode else None)

    def verify_cached(self, did, instance=None):
        self._note("verify_cached", did, instance)
        return CacheCheck(str(did), 5, 4, ("opendata:a.root",))

    def catalog(self, instance=None):
        self._note("catalog", instance)
        return Catalog("demo", {"GamGam": [CatalogContainer(DATASET, [DATASET])]})

    def start_download(self, did, instance=None):
        self._note("start_download", did, instance)
        return transfer("download")

    def start_upload(self, paths, dataset, rse=None, metadata=None, instance=None):
        self._note("start_upload", len(paths), dataset, rse, metadata, instance)
        return transfer("upload")

    def transfer(self, kind, transfer_id):
        self._note("transfer", kind, transfer_id)
        if transfer_id != "t1":
            raise E.NotFound(f"There is no {kind} '{transfer_id}' on this server.")
        return transfer(kind)

    def cancel_transfer(self, kind, transfer_id):
        self._note("cancel_transfer", kind, transfer_id)
        if transfer_id != "t1":
            raise E.NotFound(f"There is no {kind} '{transfer_id}' on this server.")
        return transfer(kind)

    def transfers(self, kind=None):
        self._note("transfers", kind)
        return [transfer(kind or "download")]

    def replicate(self, did, rse_expression, lifetime_days=None, instance=None):
        self._note("replicate", did, rse_expression, lifetime_days, instance)
        return RULE

    def rules(self, instance=None):
        self._note("rules", instance)
        return [RULE]

    def delete_rule(self, rule_id, instance=None):
        self._note("delete_rule", rule_id, instance)
        if rule_id == "0000":
            raise E.AccessDenied("Rucio's policy does not let account 'root' delete rule 0000.")


@pytest.fixture
def service(jp_serverapp):
    stand_in = StandInService()
    jp_serverapp.web_app.settings["odlake_service"] = stand_in
    return stand_in


MC = DID("opendata", "GamGam.MC")

# (route parts, method, body, query) -> (status, the service call it becomes)
CALLS = [
    (("instances",), "GET", None, {}, 200, ("instances",)),
    (("search",), "GET", None, {"q": "opendata:*", "filter": "channel=GamGam"}, 200, None),
    (("dids", "opendata", "GamGam.MC"), "GET", None, {}, 200, ("did", MC, "demo")),
    (
        ("dids", "opendata", "GamGam.MC", "files"),
        "GET",
        None,
        {"limit": "10", "mode": "stream", "scheme": "http,root"},
        200,
        ("files", MC, 10, None, 0, True, "stream", ("http", "root"), "demo"),
    ),
    (
        ("dids", "opendata", "GamGam.MC", "replicas"),
        "GET",
        None,
        {"mode": "auto", "rse": "ODLAKE_HTTP"},
        200,
        ("locations", MC, "auto", (), "ODLAKE_HTTP", "demo"),
    ),
    (
        ("dids", "opendata", "GamGam.MC", "attach"),
        "POST",
        {"mode": "download", "scheme": "root"},
        {},
        200,
        ("attach", MC, "download", ("root",), None, "demo"),
    ),
    (("dids", "opendata", "GamGam.MC", "attach"), "POST", {}, {}, 200, ("attach", MC, None, (), None, "demo")),
    (("dids", "opendata", "GamGam.MC", "verify"), "POST", {}, {}, 200, ("verify_cached", MC, "demo")),
    (("catalog",), "GET", None, {}, 200, ("catalog", "demo")),
    (("downloads",), "GET", None, {}, 200, ("transfers", "download")),
    (("downloads",), "POST", {"did": "opendata:GamGam.MC"}, {}, 202, ("start_download", MC, "demo")),
    (("downloads", "t1"), "GET", None, {}, 200, ("transfer", "download", "t1")),
    (("downloads", "t1"), "DELETE", None, {}, 200, ("cancel_transfer", "download", "t1")),
    (("uploads",), "GET", None, {}, 200, ("transfers", "upload")),
    (
        ("uploads",),
        "POST",
        {"paths": ["a.txt"], "dataset": "user.root:out", "metadata": {"channel": "GamGam"}},
        {},
        202,
        ("start_upload", 1, DID("user.root", "out"), None, {"channel": "GamGam"}, "demo"),
    ),
    (("uploads", "t1"), "GET", None, {}, 200, ("transfer", "upload", "t1")),
    (("uploads", "t1"), "DELETE", None, {}, 200, ("cancel_transfer", "upload", "t1")),
    (("rules",), "GET", None, {}, 200, ("rules", "demo")),
    (
        ("rules",),
        "POST",
        {"did": "opendata:GamGam.MC", "rse_expression": "ODLAKE_LOCAL", "lifetime_days": 2},
        {},
        201,
        ("replicate", MC, "ODLAKE_LOCAL", 2, "demo"),
    ),
    (("rules", "3f2a"), "DELETE", None, {}, 200, ("delete_rule", "3f2a", "demo")),
]


@pytest.mark.parametrize(("parts", "method", "body", "query", "status", "call"), CALLS, ids=lambda v: str(v)[:40])
async def test_each_route_is_one_call_of_the_service(api, service, parts, method, body, query, status, call):
    (answered, answer) = await api(*parts, method=method, body=body, **query)
    assert answered == status, answer
    if call is not None:
        assert service.asked == [call]
    else:
        assert len(service.asked) == 1 and service.asked[0][0] == parts[0]


def test_every_route_of_the_table_is_tried_here():
    import re

    tried = {(m, "/".join(p)) for p, m, *_ in CALLS} | {("GET", "info")}
    for pattern, handler, *_ in ROUTES:
        for method in ("GET", "POST", "DELETE"):
            if hasattr(handler, method.lower()) and method in handler.SUPPORTED_METHODS:
                if getattr(handler, method.lower()) is getattr(handler.__mro__[-2], method.lower(), None):
                    continue
                regex = re.compile(pattern + "$")
                assert any(m == method and regex.fullmatch(path) for m, path in tried), (method, pattern)


ERRORS = [
    (("dids", "opendata", "missing.ds"), "GET", None, {}, 404, "no DID opendata:missing.ds"),
    (("dids", "opendata", "down.ds", "files"), "GET", None, {}, 503, "cannot be reached"),
    (("dids", "opendata", "GamGam.MC", "files"), "GET", None, {"limit": "many"}, 400, "limit must be a whole number"),
    (("dids", "opendata", "GamGam.MC", "replicas"), "GET", None, {"mode": "fast"}, 400, "mode must be one of"),
    (("dids", "opendata", "GamGam.MC", "replicas"), "GET", None, {"scheme": "gsiftp"}, 400, "'gsiftp' is not one"),
    (("dids", "opendata", "GamGam.MC", "attach"), "POST", {"mode": "fast"}, {}, 400, "mode: 'fast' is not valid"),
    (("dids", "opendata", "GamGam.MC", "attach"), "POST", b"[1,", {}, 400, "not JSON"),
    (("downloads",), "POST", b"[" * 5000, {}, 400, "nests deeper than 32"),
    (("downloads",), "POST", b'{"did": "' + b"x" * 1_000_001 + b'"}', {}, 400, "larger than 1,000,000 bytes"),
    (("dids", "opendata", "missing.ds", "attach"), "POST", {}, {}, 404, "no DID"),
    (("search",), "GET", None, {"instance": "elsewhere"}, 404, "no Rucio instance 'elsewhere'"),
    (("downloads",), "POST", {"did": "no-scope"}, {}, 400, "scope:name"),
    (("downloads",), "POST", {"did": "opendata:x", "instance": 7}, {}, 400, "instance: 7 is not of type"),
    (("downloads",), "POST", {}, {}, 400, "'did' is a required property"),
    (("dids", "opendata", "GamGam.MC", "attach"), "POST", {"scheme": ["root"]}, {}, 400, "scheme: ['root'] is not"),
    (("downloads", "zzz"), "GET", None, {}, 404, "no download 'zzz'"),
    (("uploads", "zzz"), "DELETE", None, {}, 404, "no upload 'zzz'"),
    (
        ("uploads",),
        "POST",
        {"paths": "a.txt", "dataset": "user.root:out"},
        {},
        400,
        "paths: 'a.txt' is not of type 'array'",
    ),
    (("uploads",), "POST", {"paths": [], "dataset": "user.root:out", "metadata": [1]}, {}, 400, "metadata: [1] is not"),
    (("rules",), "POST", {"did": "opendata:x", "rse_expression": 3}, {}, 400, "rse_expression: 3 is not of type"),
    (("rules", "0000"), "DELETE", None, {}, 403, "does not let account"),
    (("nowhere",), "GET", None, {}, 404, "no odlake route GET /odlake/nowhere"),
]


@pytest.mark.parametrize(("parts", "method", "body", "query", "status", "text"), ERRORS, ids=lambda v: str(v)[:40])
async def test_bad_input_and_failures_are_said_in_the_error_shape(
    api, service, parts, method, body, query, status, text
):
    answered, answer = await api(*parts, method=method, body=body, **query)
    assert answered == status and text in answer["message"], answer


@pytest.mark.parametrize(
    ("body", "deeper"),
    [
        (b"[" * 5000, True),
        (b'{"a": [[[1]]], "b": {"c": {}}}', False),
        (b'{"paths": ["' + b"[" * 40 + b'", "x\\"' + b"{" * 40 + b'"]}', False),  # brackets in strings
        (b'{"a": "\\\\"' + b"[" * 40 + b"}", True),  # an escaped backslash does not hide the quote after it
        (b"[[[]]]" * 100, False),
    ],
)
def test_a_body_nested_deeper_than_any_route_takes_is_told_before_it_is_parsed(body, deeper):
    from jupyterlab_odlake.server.handlers import MAX_NESTING, _nests_deeper

    assert _nests_deeper(body, MAX_NESTING) is deeper
