"""The contracts between odlake's parts, checked without a lake: layering, the Lake protocol,
records through JSON, one naming rule, errors that keep their cause, bounded memory."""

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

from jupyterlab_odlake.core import DID, Lake, Lakes
from jupyterlab_odlake.core.config import InstanceConfig
from jupyterlab_odlake.core.connection import Connection
from jupyterlab_odlake.core.downloads import Download, Downloads
from jupyterlab_odlake.core.errors import InvalidRequest, NotFound, OdlakeError, Unreachable
from jupyterlab_odlake.core.metadata import Metadata
from jupyterlab_odlake.core.records import (
    Alternative,
    DIDInfo,
    DownloadRecord,
    FileEntry,
    Location,
    Page,
    UploadRecord,
)
from jupyterlab_odlake.kernel.backends import ServerBackend
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
    for source in core.glob("*.py"):
        text = source.read_text()
        assert "from .." not in text and "import jupyterlab_odlake" not in text, source.name


def test_the_lakes_services_module_names_every_server_it_runs():
    from jupyterlab_odlake.lake import services

    classes = [c for c in vars(services).values() if isinstance(c, type) and issubclass(c, services.Service)]
    assert len(classes) > 5
    for cls in classes:
        if cls is not services.Service:
            assert f"``{cls.__name__}``" in services.__doc__, cls.__name__


# -- one protocol, two implementations ----------------------------------------------------------
@pytest.mark.parametrize("implementation", [Lakes, ServerBackend])
def test_both_lakes_implement_the_protocol_with_its_signatures(implementation):
    for name, method in inspect.getmembers(Lake, inspect.isfunction):
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
    DownloadRecord("abc", "demo", "opendata:x", "done", 1, 1, 10, 10, 5.0, 1, (), 1.0, 2.0, ("/c/x",)),
    UploadRecord(
        "def",
        "demo",
        "user.u:d",
        "USERDISK",
        "cancelled",
        2,
        1,
        20,
        10,
        5.0,
        None,
        ("x",),
        1.0,
        2.0,
        ({"did": "user.u:a", "bytes": 10, "adler32": "0000beef"},),
    ),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_records_come_back_equal_through_json(record):
    data = json.loads(json.dumps(record.to_json()))
    assert type(record).from_json(data) == record
    if hasattr(record, "scope"):  # a record of one DID names it whole, as the panel reads it
        assert data["did"] == f"{record.scope}:{record.name}"


def test_a_page_round_trips_with_its_items():
    page = Page([RECORDS[0]], 3, "cursor")
    assert Page.from_json(json.loads(json.dumps(page.to_json())), DIDInfo.from_json) == page


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
    assert sorted(MODES) == sorted(schema["properties"]["defaultMode"]["enum"])


def test_the_panels_stream_schemes_are_the_ones_the_server_reads():
    import re

    from jupyterlab_odlake.core.locations import STREAM_SCHEMES, check_schemes

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

    from jupyterlab_odlake.core.cache import Cache
    from jupyterlab_odlake.core.errors import StorageError

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
from jupyterlab_odlake.core.connection import ensure_rucio_config
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
        "from jupyterlab_odlake.core.connection import ensure_rucio_config\n"
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


# -- lifecycle --------------------------------------------------------------------------------------
def test_finished_downloads_are_remembered_up_to_a_bound(tmp_path):
    from jupyterlab_odlake.core.cache import Cache

    queue = Downloads(Cache(tmp_path), keep_finished=3)
    for i in range(6):
        queue._downloads[f"d{i}"] = Download(f"d{i}", "demo", "opendata:x", state="done", created=i)
    queue._downloads["running"] = Download("running", "demo", "opendata:y", state="running", created=-1)
    with queue._lock:
        queue._forget_old()
    assert sorted(queue._downloads) == ["d3", "d4", "d5", "running"]
    queue.shutdown()
    assert queue._downloads["running"].state == "cancelled"


def test_a_download_queues_files_as_rucio_lists_them(tmp_path):
    """The first batch transfers while Rucio still lists the rest; progress counts the files known so far."""
    from jupyterlab_odlake.core.cache import Cache, adler32_hex

    source = tmp_path / "storage"
    source.mkdir()
    data = b"photons"

    def location(i):
        (source / f"f{i}").write_bytes(data)
        alternative = Alternative("mounted", str(source / f"f{i}"), "LOCAL", "file", True)
        return Location(
            "opendata", f"f{i}", len(data), adler32_hex(data), "download", "download", None, None, False, (alternative,)
        )

    more = threading.Event()

    class ListingSlowly:
        name = "demo"

        def location_batches(self, did, mode, cache):
            yield [location(0), location(1)]
            assert more.wait(10)
            yield [location(2)]

    queue = Downloads(Cache(tmp_path / "cache"))
    d = queue.start(ListingSlowly(), DID("opendata", "ds"))
    for _ in range(200):
        if d.bytes_done == 2 * len(data):
            break
        threading.Event().wait(0.02)
    # the first two moved while Rucio was still listing; the count is of the files known so far
    assert (d.state, d.files_total, d.bytes_done) == ("running", 2, 2 * len(data))
    more.set()
    for _ in range(200):
        if d.state == "done":
            break
        threading.Event().wait(0.02)
    assert (d.state, d.files_total, d.files_done, d.transfers) == ("done", 3, 3, 3)
    queue.shutdown()


def test_an_unknown_download_is_not_found(tmp_path):
    lakes = Lakes([], cache_dir=tmp_path / "cache", state_dir=tmp_path / "state")
    with pytest.raises(NotFound):
        lakes.download("nope")
    lakes.close()


def test_closing_the_lakes_stops_their_threads(tmp_path):
    from jupyterlab_odlake.core.cache import adler32_hex

    source, data = tmp_path / "f.root", b"photons"
    source.write_bytes(data)
    listed, rest = threading.Event(), threading.Event()

    class StillListing:  # has a file moved (a transfer thread), then keeps listing (a download thread)
        name = "demo"

        def location_batches(self, did, mode, cache):
            alternative = Alternative("mounted", str(source), "LOCAL", "file", True)
            yield [
                Location(
                    "opendata",
                    "f.root",
                    len(data),
                    adler32_hex(data),
                    "download",
                    "download",
                    None,
                    None,
                    False,
                    (alternative,),
                )
            ]
            listed.set()
            rest.wait(10)
            yield from ()

    def ours():  # the threads of these lakes, not of others this process may run
        return [t for t in threading.enumerate() if t.name.startswith("odlake-") and t.is_alive() and t not in before]

    before = set(threading.enumerate())
    lakes = Lakes([], cache_dir=tmp_path / "cache", state_dir=tmp_path / "state")
    download = lakes.queue.start(StillListing(), DID("opendata", "ds"))
    assert listed.wait(10)
    assert {t.name.rsplit("_", 1)[0] for t in ours()} == {"odlake-download", "odlake-transfer"}
    lakes.close()
    rest.set()  # Rucio's listing ends: the download sees it was cancelled
    for _ in range(250):
        if not ours():
            break
        threading.Event().wait(0.02)
    assert ours() == []
    assert download.state == "cancelled"


def test_every_error_the_server_answers_is_raised_in_the_kernel_as_its_own_class():
    from jupyterlab_odlake.core import errors

    class Answer:
        def __init__(self, error: type[OdlakeError]):
            self.status_code, self.body = error.status, {"error": error.code, "message": "What went wrong."}

        def json(self):
            return self.body

    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, OdlakeError)]
    assert len(classes) > 10
    backend = ServerBackend("http://server", "")
    for cls in classes:
        backend.session.request = lambda *args, answer=Answer(cls), **kw: answer
        with pytest.raises(OdlakeError) as raised:
            backend._call("GET", "anything")
        assert type(raised.value) is cls and str(raised.value) == "What went wrong."


def test_the_download_queue_is_bounded_and_a_repeat_is_the_running_download(tmp_path):
    from jupyterlab_odlake.core.cache import Cache

    release = threading.Event()

    class SlowInstance:
        name = "demo"

        def location_batches(self, did, mode, cache):
            release.wait(30)
            yield from ()

    queue = Downloads(Cache(tmp_path))
    queue.max_active = 2
    try:
        first = queue.start(SlowInstance(), DID("opendata", "a"))
        assert queue.start(SlowInstance(), DID("opendata", "a")) is first
        queue.start(SlowInstance(), DID("opendata", "b"))
        with pytest.raises(InvalidRequest, match="2 downloads are running"):
            queue.start(SlowInstance(), DID("opendata", "c"))
    finally:
        release.set()
        queue.shutdown()


def test_an_error_message_never_carries_control_or_direction_characters():
    error = InvalidRequest("'opendata:a\u202egpj.exe\x00' is not valid.\nSee %odlake help.")
    assert error.message == "'opendata:a?gpj.exe?' is not valid.\nSee %odlake help." == str(error)


def test_the_browser_is_not_told_where_the_server_keeps_its_configuration(tmp_path):
    from jupyterlab_odlake.core.config import InstanceConfig

    config = InstanceConfig(name="x", rucio_host="http://127.0.0.1:9", source=str(tmp_path / "secret" / "rucio.cfg"))
    assert str(tmp_path) not in json.dumps(config.public())
