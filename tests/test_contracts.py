"""The contracts between odlake's parts, checked without a lake: layering, the one service protocol,
records through JSON, one naming rule, errors that keep their cause, bounded memory, transfer jobs."""

import inspect
import json
import os
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path

import pytest
import requests

from jupyterlab_odlake.core import DID, LakeService, Service
from jupyterlab_odlake.core import errors as E
from jupyterlab_odlake.core.config import InstanceConfig
from jupyterlab_odlake.core.errors import InvalidRequest, NotFound, OdlakeError, Unreachable
from jupyterlab_odlake.core.records import (
    Alternative,
    Attachment,
    DIDInfo,
    FileEntry,
    Location,
    Page,
    Resolved,
    Rule,
    TransferRecord,
)
from jupyterlab_odlake.core.rucio.connection import Connection
from jupyterlab_odlake.core.rucio.metadata import Metadata
from jupyterlab_odlake.core.transfers.downloads import Downloads
from jupyterlab_odlake.core.transfers.jobs import Job, Jobs
from jupyterlab_odlake.kernel.backends import ServerService
from jupyterlab_odlake.kernel.magics import check_variable, variable_name

CASES = json.loads((Path(__file__).parent / "cases" / "variable_names.json").read_text())


# -- the layout ---------------------------------------------------------------------------------
def test_core_loads_no_jupyter_and_no_other_part_of_odlake():
    code = (
        "import sys, jupyterlab_odlake.core\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jupyter_server', 'tornado', 'IPython', "
        "'ipykernel', 'traitlets') or m.startswith(('jupyterlab_odlake.lake', 'jupyterlab_odlake.server', "
        "'jupyterlab_odlake.kernel'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_sources_import_nothing_outside_core():
    core = Path(__file__).parent.parent / "jupyterlab_odlake" / "core"
    for source in core.rglob("*.py"):
        text = source.read_text()
        outside = "from " + "." * (len(source.relative_to(core).parts) + 1)  # one dot more than core's depth
        assert outside not in text and "import jupyterlab_odlake" not in text, source.name


def test_the_parts_of_core_import_no_circle():
    """The Rucio adapter may use transfers (an upload is a job), transfers never the adapter."""
    core = Path(__file__).parent.parent / "jupyterlab_odlake" / "core"
    for source in (core / "transfers").glob("*.py"):
        code = source.read_text().split("if TYPE_CHECKING:")[0]  # a type named for the checker is no import
        assert "..rucio" not in code and "..service" not in code, source.name
    for source in [*(core / "rucio").glob("*.py"), *(core / "transfers").glob("*.py")]:
        assert "from ..service" not in source.read_text(), source.name  # the service is above both


def test_the_lakes_services_module_names_every_server_it_runs():
    from jupyterlab_odlake.lake import services

    classes = [c for c in vars(services).values() if isinstance(c, type) and issubclass(c, services.Service)]
    assert len(classes) > 5
    for cls in classes:
        if cls is not services.Service:
            assert f"``{cls.__name__}``" in services.__doc__, cls.__name__


# -- one service, reached in this process or through the server -----------------------------------
@pytest.mark.parametrize("implementation", [LakeService, ServerService])
def test_both_ways_in_implement_the_service_with_its_signatures(implementation):
    for name, method in inspect.getmembers(Service, inspect.isfunction):
        if name.startswith("_"):
            continue
        mine = getattr(implementation, name)
        assert inspect.signature(mine) == inspect.signature(method), f"{implementation.__name__}.{name}"
    assert implementation.via in ("core", "server")


# -- records --------------------------------------------------------------------------------------
RECORDS = [
    DIDInfo("opendata", "GamGam.Data", "dataset", 6_500_000, 4, {"lumi_fb": 10.0}),
    FileEntry("opendata", "data_A.GamGam.root", 1000, "0000beef", ["ODLAKE_HTTP"], True),
    FileEntry("opendata", "data_A.GamGam.root", 1000, None),
    Location(
        "opendata",
        "f.root",
        10,
        "00000001",
        "auto",
        "stream",
        "http://h/f.root",
        "HTTP",
        None,
        (Alternative("stream", "http://h/f.root", "HTTP", "http", True, 0),),
    ),
    TransferRecord(
        "abc", "download", "demo", "opendata:x", "done", 1, 1, 10, 10, 10, 5.0, (), 1.0, 2.0, paths=("/c/x",)
    ),
    TransferRecord(
        "def",
        "upload",
        "demo",
        "user.u:d",
        "cancelled",
        2,
        1,
        20,
        10,
        0,
        0.0,
        ("x",),
        1.0,
        2.0,
        rse="USERDISK",
        uploaded=({"did": "user.u:a", "bytes": 10, "adler32": "0000beef"},),
    ),
    Rule("r1", "opendata:x", "ODLAKE_LOCAL", "REPLICATING", 1, 3, None, "root"),
    Attachment(
        "opendata:x",
        "demo",
        "download",
        (Resolved("opendata", "f.root", 10, "00000001", "download", "/c/f.root", None),),
        TransferRecord("abc", "download", "demo", "opendata:x", "running", 1, 0, 10, 0, 0, 0.0, (), 1.0, None),
    ),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_records_come_back_equal_through_json(record):
    data = json.loads(json.dumps(record.to_json()))
    assert type(record).from_json(data) == record
    if hasattr(record, "scope"):  # a record of one DID names it whole, as the panel shows it
        assert data["did"] == f"{record.scope}:{record.name}"


def as_before(record):
    """A record's JSON as it was made field by field (``_shallow`` before it read its fields once per class)."""
    from dataclasses import fields

    data = {f.name: getattr(record, f.name) for f in fields(record)}
    if isinstance(record, Location):
        data["alternatives"] = [as_before(a) for a in record.alternatives]
        return {"did": record.did, **data}
    if isinstance(record, FileEntry):
        data = {"did": record.did, **data}
        return {k: v for k, v in data.items() if v is not None or k in ("bytes", "adler32")}
    if isinstance(record, TransferRecord):
        data["errors"], data["paths"], data["uploaded"] = list(record.errors), list(record.paths), list(record.uploaded)
    if isinstance(record, Rule):
        data["explained"] = record.explained
    if isinstance(record, Attachment):
        data["files"] = [as_before(f) for f in record.files]
        data["download"] = as_before(record.download) if record.download else None
    return data


@pytest.mark.parametrize("record", [r for r in RECORDS if not isinstance(r, DIDInfo)], ids=lambda r: type(r).__name__)
def test_a_records_json_is_the_same_text_as_field_by_field(record):
    from dataclasses import replace

    for made in (record, replace(record), type(record).from_json(json.loads(json.dumps(record.to_json())))):
        assert json.dumps(made.to_json()) == json.dumps(as_before(record))


def test_a_record_read_from_its_json_is_the_one_its_init_makes():
    """The REST API's records come back without their __init__ (a frozen record sets each field at a cost):
    equal, alike in every way, and as frozen."""
    import dataclasses
    import pickle

    made = Resolved("opendata", "f.root", 10, "00000001", "stream", "root://x//f.root", "X")
    read = Resolved.from_json(json.loads(json.dumps(made.to_json())))
    assert read == made and hash(read) == hash(made) and repr(read) == repr(made)
    assert pickle.loads(pickle.dumps(read)) == made and dataclasses.asdict(read) == dataclasses.asdict(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        read.kind = "download"  # type: ignore[misc]
    # keys in another order, or missing, or more: through __init__, as before
    assert Resolved.from_json(dict(reversed(list(made.to_json().items())))) == made
    assert Resolved.from_json({**made.to_json(), "did": made.did}) == made
    short = {k: v for k, v in made.to_json().items() if k != "reason"}
    assert Resolved.from_json(short) == made


def test_a_page_round_trips_with_its_items():
    page = Page([RECORDS[0]], 3, "cursor")
    assert Page.from_json(json.loads(json.dumps(page.to_json())), DIDInfo.from_json) == page


def _schema_checker(name):
    """A validator of the schema the description has for ``name``, every record in it closed: a record's
    JSON holds exactly the keys its schema names, also where a route's answer adds keys to it."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    from jupyterlab_odlake.core.schema import schemas
    from jupyterlab_odlake.server.spec import RECORDS

    made = {"components": {"schemas": schemas(RECORDS)}}
    registry = Registry().with_resource("urn:records", Resource.from_contents(made, default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:records#/components/schemas/{name}"}, registry=registry)


@pytest.mark.parametrize(
    "record",
    [*RECORDS, FileEntry("s", "f", None, None, read={"kind": None, "scheme": None, "rse": None, "reason": "gone"})],
    ids=lambda r: type(r).__name__,
)
def test_a_records_json_is_what_its_schema_says(record):
    from jupyterlab_odlake.server.spec import RECORDS as NAMED

    name = next(n for n, tp in NAMED.items() if tp is type(record))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _schema_checker(name).iter_errors(record.to_json())]
    assert not errors


def test_a_pages_json_is_what_its_schema_says():
    for page, name in (
        (Page([RECORDS[0]], 3, "cursor"), "PageOfDIDs"),
        (Page([RECORDS[1]], None, None), "PageOfFiles"),
    ):
        assert not list(_schema_checker(name).iter_errors(page.to_json()))


# -- one naming rule (the panel tests the same table) -----------------------------------------------
@pytest.mark.parametrize("case", CASES["names"], ids=lambda c: c["did"][:40])
def test_a_dids_variable_name_follows_the_shared_table(case):
    name = variable_name(DID.parse(case["did"]))
    assert name == case["variable"]
    assert check_variable(name) == name


@pytest.mark.parametrize("case", CASES["checks"], ids=lambda c: c["name"] or "empty")
def test_a_name_after_as_is_accepted_as_the_shared_table_says(case):
    if case["valid"]:
        assert check_variable(case["name"]) == case["name"]
    else:
        with pytest.raises(InvalidRequest):
            check_variable(case["name"])


def test_the_modes_are_the_settings_schema_enum():
    from jupyterlab_odlake.core import MODES

    schema = json.loads((Path(__file__).parent.parent / "schema" / "plugin.json").read_text())
    # and '' for the instance's own default mode, which the kernel takes when an attach names none
    assert sorted(["", *MODES]) == sorted(schema["properties"]["defaultMode"]["enum"])


def test_the_panels_stream_schemes_are_the_ones_the_server_reads():
    import re

    from jupyterlab_odlake.core.rucio.locations import STREAM_SCHEMES, check_schemes

    schema = json.loads((Path(__file__).parent.parent / "schema" / "plugin.json").read_text())
    pattern = schema["properties"]["streamSchemes"]["pattern"]
    assert set(re.findall(r"\(([a-z|]+)\)", pattern)) == {"|".join(STREAM_SCHEMES)}
    for value in ("", "root", "http,root", "https,davs,http,root"):
        assert re.fullmatch(pattern, value) and check_schemes(value) == tuple(filter(None, value.split(",")))
    assert not re.fullmatch(pattern, "gsiftp") and not re.fullmatch(pattern, "root,")


# -- errors keep their cause ------------------------------------------------------------------------
class FakeClient:
    def __init__(self, error):
        self.error = error

    def whoami(self):
        raise self.error


def connection_raising(error, tmp_path):
    connection = Connection(InstanceConfig(name="t", rucio_host="http://127.0.0.1:9"), tmp_path)
    connection._client = FakeClient(error)
    return connection


STREAMED = [
    b'{"scope": "opendata", "name": "a.root", "bytes": 12, "adler32": "0000beef", "guid": null, "events": null}',
    b'{"scope": "opendata", "name": "b.root", "created_at": "Tue, 01 Dec 2026 10:00:00 UTC", "meta": {"x": [1, 2.5]}}',
    b'{"name": "escaped \\u0020UTC date", "when": "Tue, 01 Dec 2026 10:00:00 \\u0055TC", "u": "\\u00e9t\\u00e9"}',
    b'{"name": "not a date UTC", "deep": [{"at": "Wed, 02 Dec 2026 11:12:13 UTC"}], "big": 123456789012345678901234567890}',
    b"",
    b'["a", "list", " UTC"]',
]


class StreamedResponse:
    def __init__(self):
        self.headers = {"content-type": "application/x-json-stream"}

    def iter_lines(self):
        return iter(STREAMED)


def test_streamed_rows_are_read_as_rucio_clients_reads_them():
    """odlake reads Rucio's streamed rows without rucio-clients' date hook where a row cannot hold a date:
    the same rows, dates and all."""
    from rucio.client.baseclient import BaseClient

    from jupyterlab_odlake.core.rucio.connection import _client_class

    ours = list(_client_class()._load_json_data(None, StreamedResponse()))
    theirs = list(BaseClient._load_json_data(None, StreamedResponse()))
    assert ours == theirs and len(ours) == 5
    assert [type(v) for r in ours[:4] for v in r.values()] == [type(v) for r in theirs[:4] for v in r.values()]
    assert type(ours[1]["created_at"]).__name__ == "datetime" and ours[2]["u"] == "\u00e9t\u00e9"


def test_a_bug_in_odlake_reaches_the_log_as_it_is(tmp_path):
    connection = connection_raising(KeyError("oops"), tmp_path)
    with pytest.raises(KeyError):
        connection.call(lambda c: c.whoami())


def test_rucio_and_network_errors_are_translated_and_keep_their_cause(tmp_path):
    import requests

    cause = requests.ConnectionError("refused")
    connection = connection_raising(cause, tmp_path)
    with pytest.raises(Unreachable) as caught:
        connection.call(lambda c: c.whoami())
    assert caught.value.__cause__ is cause
    assert connection._client is None  # made again on the next call


def test_a_streamed_file_the_storage_does_not_have_is_a_storage_error_that_keeps_uproots(tmp_path):
    import http.server

    from jupyterlab_odlake.core.errors import StorageError
    from jupyterlab_odlake.kernel.attached import AttachedDID, AttachedFile

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    storage = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=storage.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{storage.server_address[1]}/opendata/missing.root"
        data = AttachedDID(
            "opendata:missing.root", "stream", [AttachedFile("opendata", "missing.root", 10, None, url, "stream")]
        )
        with pytest.raises(StorageError) as caught:
            data.open(0)
    finally:
        storage.shutdown()
        storage.server_close()
    assert f"127.0.0.1:{storage.server_address[1]}" in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)  # uproot's, for the traceback


def test_a_download_that_fails_keeps_what_the_storage_said(tmp_path):
    import requests

    from jupyterlab_odlake.core.errors import StorageError
    from jupyterlab_odlake.core.transfers.cache import Cache

    cache, did = Cache(tmp_path / "cache"), DID("opendata", "f.root")
    for sources, cause in (
        ([str(tmp_path / "missing.root")], FileNotFoundError),  # a mounted replica that is not there
        ([str(tmp_path)], IsADirectoryError),  # a mounted replica that is not a file
        (["http://127.0.0.1:9/f.root"], requests.ConnectionError),  # a storage that does not answer
    ):
        with pytest.raises(StorageError) as caught:
            cache.fetch(did, sources, 10, None)
        assert isinstance(caught.value.__cause__, cause), sources
    with pytest.raises(StorageError, match="after 2 sources failed") as caught:
        cache.fetch(did, [str(tmp_path / "missing.root"), "http://127.0.0.1:9/f.root"], 10, None)
    assert isinstance(caught.value.__cause__.__cause__, requests.ConnectionError)  # the last source's


def test_a_credential_file_that_cannot_be_read_keeps_why(tmp_path):
    from jupyterlab_odlake.core.errors import AuthenticationFailed

    for path, cause in ((tmp_path / "missing", FileNotFoundError), (tmp_path, IsADirectoryError)):
        config = InstanceConfig(name="t", rucio_host="http://127.0.0.1:9", password_file=str(path))
        with pytest.raises(AuthenticationFailed) as caught:
            config.userpass_password()
        assert isinstance(caught.value.__cause__, cause)
        oidc = InstanceConfig(name="t", rucio_host="http://127.0.0.1:9", auth_type="oidc", token_file=str(path))
        with pytest.raises(AuthenticationFailed) as caught:
            Connection(oidc, tmp_path / "tokens")._install_oidc_token()
        assert isinstance(caught.value.__cause__, cause)


CUT_OFF = {
    "chunked": lambda: requests.exceptions.ChunkedEncodingError("Connection broken: InvalidChunkLength"),
    "empty body": lambda: json.JSONDecodeError("Expecting value", "", 0),
}


@pytest.mark.parametrize("cause", CUT_OFF.values(), ids=CUT_OFF.keys())
def test_an_answer_cut_off_by_a_dying_server_is_unreachable_not_a_bug(cause, tmp_path):
    connection = connection_raising(cause(), tmp_path)
    with pytest.raises(Unreachable) as caught:
        connection.call(lambda c: c.whoami(), "reading metadata")
    assert "broke off its answer (reading metadata)" in str(caught.value) and "Retry" in str(caught.value)


COMPOSE = """
import os, sys
from pathlib import Path
from jupyterlab_odlake.core.rucio.connection import ensure_rucio_config
from rucio.rse import rsemanager

state = Path(sys.argv[1])
ensure_rucio_config(state)
print(os.environ.get("RUCIO_CONFIG"))
protocol = {
    "scheme": "https", "hostname": "h", "port": 443, "prefix": "/data/",
    "impl": "rucio.rse.protocols.webdav.Default", "extended_attributes": None,
    "domains": {"wan": {"read": 1, "write": 0, "delete": 0}, "lan": {"read": 0, "write": 0, "delete": 0}},
}
rse = {"rse": "R", "id": "x", "deterministic": True, "domain": ["wan"], "volatile": False, "rse_type": "DISK",
       "verify_checksum": True, "lfn2pfn_algorithm": "identity", "sign_url": None, "protocols": [protocol]}
print(rsemanager.lfns2pfns(rse, [{"scope": "opendata", "name": "a.root"}], operation="read", domain="wan"))
"""


@pytest.mark.parametrize("own", [False, True], ids=["none found", "the user's own"])
def test_rucio_composes_pfns_in_a_fresh_server_with_or_without_a_rucio_cfg(own, tmp_path):
    """A Jupyter server started with no rucio.cfg anywhere still composes PFNs (Rucio's rsemanager needs one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUCIO")}
    mine = tmp_path / "mine.cfg"
    if own:
        mine.write_text("[common]\nmulti_vo = False\n\n[client]\nrucio_host = http://127.0.0.1:9\n")
        env["RUCIO_CONFIG"] = str(mine)
    out = subprocess.run(
        [sys.executable, "-c", COMPOSE, str(tmp_path / "state")], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    written = tmp_path / "state" / "rucio.cfg"
    assert out[0] == str(mine if own else written)
    assert written.exists() != own and (own or "password" not in written.read_text())
    assert out[1] == str({"opendata:a.root": "https://h:443/data/opendata/a.root"})


def test_the_rucio_cfg_odlake_writes_for_rucio_is_no_instance_to_discover(tmp_path):
    """A second server in the process, or a kernel or terminal started by the first (they inherit
    its RUCIO_CONFIG), finds no instance in the file odlake wrote for Rucio, instead of failing on it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUCIO")}
    env["ODLAKE_LAKE_HOME"] = str(tmp_path / "no-lake")
    code = (
        "import os, sys; from pathlib import Path\n"
        "from jupyterlab_odlake.core.rucio.connection import ensure_rucio_config\n"
        "from jupyterlab_odlake.core.config import discover\n"
        "ensure_rucio_config(Path(sys.argv[1])); print(os.environ['RUCIO_CONFIG']); print(discover())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "state")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [str(tmp_path / "state" / "rucio.cfg"), "[]"]


class FakeMetadataConnection:
    """A connection whose JSON-metadata call fails as told, once."""

    def __init__(self, error):
        self.error, self.calls = error, []

    def call(self, operation, what="", raw=False):
        plugin = "ALL" if raw else "DID_COLUMN"
        self.calls.append(plugin)
        if plugin == "ALL" and self.error is not None:
            error, self.error = self.error, None
            raise error
        return [{"scope": "opendata", "name": "x", "plugin": plugin}]

    def translate(self, error, what=""):
        return Unreachable(str(error))


X = DID("opendata", "x")


def test_an_outage_does_not_switch_json_metadata_off():
    import requests

    metadata = Metadata(FakeMetadataConnection(requests.ConnectionError("down")))
    with pytest.raises(Unreachable):
        metadata.bulk([X])
    assert metadata.bulk([X])[X]["plugin"] == "ALL"


def test_a_server_without_json_metadata_switches_it_off_once():
    from rucio.common.exception import RucioException

    # what Rucio answers on SQLite: a bare 500, while the DID columns answer
    connection = FakeMetadataConnection(RucioException("no error information passed (http status code: 500)"))
    metadata = Metadata(connection)
    assert metadata.bulk([X])[X]["plugin"] == "DID_COLUMN"
    metadata.bulk([X])
    assert connection.calls == ["ALL", "DID_COLUMN", "DID_COLUMN"]


def test_a_server_error_after_json_metadata_worked_is_reported_not_switched_off():
    from rucio.common.exception import RucioException

    connection = FakeMetadataConnection(None)
    metadata = Metadata(connection)
    metadata.bulk([X])
    connection.error = RucioException("http status code: 500")
    with pytest.raises(Unreachable):
        metadata.bulk([X])
    assert metadata.bulk([X])[X]["plugin"] == "ALL"


# -- lifecycle: one registry of transfer jobs -------------------------------------------------------
def wait_until(condition, seconds=10.0):
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        threading.Event().wait(0.02)
    return condition()


def test_finished_transfers_are_remembered_up_to_a_bound_whatever_their_direction():
    jobs = Jobs(keep_finished=3)
    for i in range(6):
        jobs._jobs[f"d{i}"] = Job(
            "download" if i % 2 else "upload", "demo", "opendata:x", id=f"d{i}", state="done", created=i
        )
    jobs._jobs["running"] = Job("upload", "demo", "opendata:y", id="running", state="running", created=-1)
    with jobs._lock:
        jobs._forget_old()
    assert sorted(jobs._jobs) == ["d3", "d4", "d5", "running"]
    assert [j.id for j in jobs.all("upload")] == ["running", "d4"]
    jobs.shutdown()
    assert jobs.get("running").cancelled.is_set()


def test_a_job_ends_in_a_state_whatever_its_work_does():
    jobs = Jobs()
    ok = jobs.start(Job("upload", "demo", "user.u:d"), lambda job: job.file_done())
    refused = jobs.start(Job("upload", "demo", "user.u:d"), lambda job: (_ for _ in ()).throw(InvalidRequest("no.")))
    bug = jobs.start(Job("download", "demo", "opendata:x"), lambda job: {}["missing"])
    assert wait_until(lambda: not (ok.active or refused.active or bug.active))
    assert (ok.state, refused.state, refused.errors, bug.state) == ("done", "failed", ["no."], "failed")
    assert bug.errors[0].startswith("unexpected KeyError") and bug.finished
    with pytest.raises(NotFound, match=f"no upload '{bug.id}'"):
        jobs.get(bug.id, "upload")  # a download is not found as an upload
    jobs.shutdown()


def test_counters_change_only_under_the_jobs_lock():
    """Transfer threads count bytes at once; each change waits for the job's lock, as ``record()`` does,
    so no count is lost and no record is read half-changed — the state and the file in flight too."""
    job = Job("download", "demo", "opendata:x")
    job.plan(2, 10)
    changes = [
        lambda: job.moved(3),
        lambda: job.file_done(7, "/c/x", 1, transferred=True),
        lambda: job.fail("broke off", "storage-unreachable"),
        job.begin,
        lambda: job.at("x.root"),
    ]
    with job._lock:
        threads = [threading.Thread(target=change) for change in changes]
        for t in threads:
            t.start()
        threading.Event().wait(0.2)
        before = (job.bytes_done, job.files_done, job.errors, job.error, job.state, job.current)
        assert before == (0, 0, [], None, "resolving", None)  # every change waits for the lock
    for t in threads:
        t.join(5)
    assert (job.bytes_moved, job.bytes_done, job.files_done, job.transfers, job.state, job.current) == (
        3,
        10,
        1,
        1,
        "running",
        "x.root",
    )
    assert (job.errors, job.error) == (["broke off"], "storage-unreachable")
    job.end("failed")
    record = job.record()
    assert (record.state, record.current, record.paths) == ("failed", None, ("/c/x",))


def test_a_downloads_paths_keep_the_order_of_its_files_whichever_ends_first():
    job = Job("download", "demo", "opendata:x")
    job.plan(3, 3)
    for index in (2, 0, 1):
        job.file_done(1, f"/c/{index}", index)
    assert job.record().paths == ("/c/0", "/c/1", "/c/2")


def test_the_rate_is_of_bytes_moved_not_of_files_found_in_place():
    job = Job("upload", "demo", "user.u:d", created=0.0, finished=10.0)
    job.plan(2, 2_000_000_000)
    job.file_done(1_000_000_000)  # already in the lake: nothing went over the network
    job.moved(1_000)
    job.file_done()
    record = job.record()
    assert (record.bytes_done, record.bytes_moved, record.rate) == (1_000_001_000, 1_000, 100.0)


def test_follow_shows_each_state_and_cancels_when_interrupted():
    from jupyterlab_odlake.core.transfers.jobs import follow

    first = Job("upload", "demo", "user.u:d", id="u1", state="running").record()
    shown, cancelled = [], []

    def look(record):
        if len(shown) == 2:
            raise KeyboardInterrupt
        return record

    with pytest.raises(KeyboardInterrupt):
        follow(look, first, shown.append, interval=0, cancel=cancelled.append)
    assert len(shown) == 2 and cancelled == [first]
    done = TransferRecord(**{**first.__dict__, "state": "done"})
    assert follow(lambda r: done, first, interval=0) == done


def test_a_download_queues_files_as_rucio_lists_them(tmp_path):
    """The first batch transfers while Rucio still lists the rest; progress counts the files known so far."""
    from jupyterlab_odlake.core.transfers.cache import Cache
    from jupyterlab_odlake.core.transfers.cache import adler32_hex as adler32_of

    source = tmp_path / "storage"
    source.mkdir()
    data = b"photons"

    def location(i):
        (source / f"f{i}").write_bytes(data)
        alternative = Alternative("mounted", str(source / f"f{i}"), "LOCAL", "file", True)
        return Location(
            "opendata", f"f{i}", len(data), adler32_of(data), "download", "download", None, None, False, (alternative,)
        )

    more = threading.Event()

    class ListingSlowly:
        name = "demo"
        storage = None  # storage that needs no credential

        def location_batches(self, did, mode, cache):
            yield [location(0), location(1)]
            assert more.wait(10)
            yield [location(2)]

    jobs = Jobs()
    queue = Downloads(Cache(tmp_path / "cache"), jobs)
    d = queue.start(ListingSlowly(), DID("opendata", "ds"))
    # the first two moved while Rucio was still listing; the count is of the files known so far
    assert wait_until(lambda: d.bytes_done == 2 * len(data))
    assert (d.state, d.files_total, d.bytes_done) == ("running", 2, 2 * len(data))
    more.set()
    assert wait_until(lambda: d.state == "done")
    assert (d.state, d.files_total, d.files_done, d.transfers, d.bytes_moved) == ("done", 3, 3, 3, 3 * len(data))
    again = queue.start(ListingSlowly(), DID("opendata", "ds"))  # all in the cache now: nothing moves
    more.set()
    assert wait_until(lambda: again.state == "done")
    assert (again.files_done, again.transfers, again.bytes_done, again.bytes_moved) == (3, 0, 3 * len(data), 0)
    jobs.shutdown()
    queue.shutdown()


def test_a_download_of_files_already_listed_asks_rucio_nothing(tmp_path):
    """An attach that resolved its files hands them to the download: the dataset is not listed again."""
    from jupyterlab_odlake.core.transfers.cache import Cache
    from jupyterlab_odlake.core.transfers.cache import adler32_hex as adler32_of

    (tmp_path / "f").write_bytes(b"x")
    alternative = Alternative("mounted", str(tmp_path / "f"), "LOCAL", "file", True)
    listed = [Location("opendata", "f", 1, adler32_of(b"x"), "download", "download", None, None, False, (alternative,))]

    class NoListing:
        name = "demo"
        storage = None  # storage that needs no credential

        def location_batches(self, did, mode, cache):
            raise AssertionError("listed again")

    jobs = Jobs()
    queue = Downloads(Cache(tmp_path / "cache"), jobs)
    d = queue.start(NoListing(), DID("opendata", "ds"), listed)
    assert wait_until(lambda: not d.active)
    assert (d.state, d.errors, d.files_done) == ("done", [], 1)
    jobs.shutdown()
    queue.shutdown()


def test_an_unknown_transfer_is_not_found(tmp_path):
    service = LakeService([], cache_dir=tmp_path / "cache", state_dir=tmp_path / "state")
    with pytest.raises(NotFound, match="no download 'nope'"):
        service.transfer("download", "nope")
    service.close()


def test_an_unknown_mode_is_refused_in_process_before_rucio_is_asked(tmp_path, monkeypatch):
    from jupyterlab_odlake.kernel import api, backends

    config = InstanceConfig.from_dict(
        {"name": "down", "rucio_host": "http://127.0.0.1:9", "auth_host": "http://127.0.0.1:9"}
    )
    service = LakeService([config], cache_dir=tmp_path / "cache", state_dir=tmp_path / "state")
    monkeypatch.setattr(backends, "current", lambda: service)
    with pytest.raises(InvalidRequest, match="mode must be one of stream, download, mounted, auto"):
        api.attach("opendata:GamGam.Data", mode="fast")  # an unreachable Rucio would say Unreachable
    service.close()


class ListingUntil:
    """A Rucio adapter whose listing of a dataset's files takes until ``release`` is set."""

    name = "demo"
    storage = None  # storage that needs no credential

    def __init__(self, release: threading.Event):
        self.release = release

    def location_batches(self, did, mode, cache):
        self.release.wait(30)
        yield from ()


def test_closing_the_service_cancels_its_transfers_and_stops_their_threads(tmp_path):
    release = threading.Event()
    before = set(threading.enumerate())
    service = LakeService([], cache_dir=tmp_path / "cache", state_dir=tmp_path / "state")
    job = service._downloads.start(ListingUntil(release), DID("opendata", "a"))
    assert wait_until(lambda: any(t.name.startswith("odlake-job") for t in threading.enumerate()))
    service.close()
    assert job.state == "cancelled"
    release.set()
    assert wait_until(lambda: set(threading.enumerate()) - before == set())


@pytest.mark.parametrize(
    "error",
    [c for c in vars(E).values() if isinstance(c, type) and issubclass(c, OdlakeError) and c is not OdlakeError],
)
def test_each_error_the_server_answers_reaches_the_kernel_as_its_own_class(error):
    from jupyterlab_odlake.server.handlers import status_of

    assert status_of(error("x")) != 500  # each kind has its own status, not the unexpected one

    class Answer:
        status_code = status_of(error("x"))

        def json(self):
            return {"error": error.code, "message": "what happened."}

    service = ServerService("http://127.0.0.1:9", "")
    service.session.request = lambda *a, **k: Answer()
    with pytest.raises(OdlakeError) as caught:
        service.did(DID("opendata", "x"))
    assert type(caught.value) is error and caught.value.message == "what happened."


def test_the_transfer_queue_is_bounded_and_a_repeat_is_the_running_download(tmp_path):
    from jupyterlab_odlake.core.transfers.cache import Cache

    release = threading.Event()
    SlowInstance = lambda: ListingUntil(release)  # noqa: E731
    jobs = Jobs(max_active=2)
    queue = Downloads(Cache(tmp_path), jobs)
    try:
        first = queue.start(SlowInstance(), DID("opendata", "a"))
        assert queue.start(SlowInstance(), DID("opendata", "a")) is first
        queue.start(SlowInstance(), DID("opendata", "b"))
        with pytest.raises(InvalidRequest, match="2 transfers are running"):
            queue.start(SlowInstance(), DID("opendata", "c"))
    finally:
        release.set()
        jobs.shutdown()
        queue.shutdown()


def test_an_error_message_never_carries_control_or_direction_characters():
    error = InvalidRequest("'opendata:a\u202egpj.exe\x00' is not valid.\nSee %odlake help.")
    assert error.message == "'opendata:a?gpj.exe?' is not valid.\nSee %odlake help." == str(error)


def test_the_browser_is_not_told_where_the_server_keeps_its_configuration(tmp_path):
    from jupyterlab_odlake.core.config import InstanceConfig

    config = InstanceConfig(name="x", rucio_host="http://127.0.0.1:9", source=str(tmp_path / "secret" / "rucio.cfg"))
    assert str(tmp_path) not in json.dumps(config.public())


# -- the REST API's JSON text -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        {"files": [{"name": "a.root", "bytes": 12, "location": "root://h//a.root", "reason": None}], "n": 1.5},
        {"text": 'é ✓ \u0000 "quoted" \\ /', "nested": [[], {}, [1, [2, [3]]]], "flag": True},
        {"big": 2**70, "small": -(2**63)},  # beyond orjson's 64 bits: Python's json writes it
        {1: "a key that is not a string"},
        list(RECORDS[0].to_json().items()),
    ],
)
def test_answers_are_written_as_pythons_json_writes_them(value):
    from jupyterlab_odlake.core import json_text

    assert json.loads(json_text.dumps(value)) == json.loads(json.dumps(value))


def test_an_object_pythons_json_refuses_is_refused():
    import datetime

    from jupyterlab_odlake.core import json_text

    for refused in (RECORDS[0], object(), {1, 2}, datetime.datetime(2026, 1, 1)):
        with pytest.raises(TypeError):
            json_text.dumps({"x": refused})


def test_odlake_is_rucios_client_even_where_rucio_cfg_describes_a_server(tmp_path):
    """A rucio.cfg with a [database] section (a lake's, which the demo's processes are pointed at) makes
    Rucio's library act as the server: its storage protocols looked RSEs up in that database, and an
    upload to another lake failed with 'RSE with ID … cannot be found'. The lake's own Rucio processes
    are not given odlake's client mode."""
    from jupyterlab_odlake.lake.home import LakeHome
    from jupyterlab_odlake.lake.services import rucio_environment

    server_cfg = tmp_path / "rucio.cfg"
    server_cfg.write_text("[common]\nmulti_vo = False\n\n[database]\ndefault = sqlite:////nowhere.db\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUCIO")}
    env["RUCIO_CONFIG"] = str(server_cfg)
    code = (
        "import sys; from pathlib import Path\n"
        "from rucio.common.config import is_client\n"
        "from jupyterlab_odlake.core.rucio.connection import ensure_rucio_config\n"
        "before = is_client(); ensure_rucio_config(Path(sys.argv[1])); print(before, is_client())\n"
        "from jupyterlab_odlake.lake.home import LakeHome\n"
        "from jupyterlab_odlake.lake.services import rucio_environment\n"
        "print('RUCIO_CLIENT_MODE' in rucio_environment(LakeHome(Path(sys.argv[1]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "state")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True", "False"]
    assert rucio_environment(LakeHome(tmp_path))["RUCIO_CONFIG"] == str(tmp_path / "rucio.cfg")
