"""The REST API of the server extension, against the demo lake: what the sidebar and the kernel call."""

import asyncio
import json
import logging
import os
import time
from urllib.parse import quote

import pytest
from conftest import instance_config
from support import SlowStorage, follow, odlake_server, transfer_ended, until, wait_download
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from jupyterlab_odlake.core.cache import adler32_hex
from jupyterlab_odlake.lake.home import HTTP_RSE, LOCAL_RSE, XROOTD_RSE
from jupyterlab_odlake.lake.register import register_large_dataset
from jupyterlab_odlake.lake.services import free_port

PAGING_DATASET = "paging.2000"
PAGING_FILES = 2100


@pytest.fixture(scope="module")
def instance_configs(lake, tmp_path_factory):
    home, state = lake
    secrets = tmp_path_factory.mktemp("secrets")
    (secrets / "demo").write_text(home.password())
    (secrets / "wrong").write_text("not-the-password")
    (secrets / "dead").write_text("unused-secret")
    demo = instance_config(home, state, secrets)
    dead = {
        "name": "dead",
        "rucio_host": f"http://127.0.0.1:{free_port()}",
        "account": "root",
        "username": "odlake",
        "password_file": str(secrets / "dead"),
        "timeout": 5,
    }
    wrong = dict(demo, name="wrongpw", password_file=str(secrets / "wrong"))
    return [demo, dead, wrong]


@pytest.fixture
def jp_server_config(instance_configs, tmp_path):
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyterlab_odlake": True},
            "allow_unauthenticated_access": False,
        },
        "Odlake": {
            "instances": instance_configs,
            "default_instance": "demo",
            "cache_dir": str(tmp_path / "cache"),
            "state_dir": str(tmp_path / "state"),
            "parallel_transfers": 2,
        },
    }


@pytest.fixture
def raw_get(jp_http_port, jp_base_url, jp_auth_header):
    """GET a path exactly as written (already URL-encoded)."""

    async def get(path):
        url = f"http://localhost:{jp_http_port}{jp_base_url}odlake/{path}"
        try:
            r = await AsyncHTTPClient().fetch(url, headers=jp_auth_header, raise_error=False)
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"request failed: {e}")
        return r.code, r.body.decode()

    return get


# -- instances ------------------------------------------------------------------------------


async def test_instances_report_status_and_no_secret(api, instance_configs):
    status, body = await api("instances")
    assert status == 200
    by_name = {i["name"]: i for i in body["instances"]}
    assert by_name["demo"]["authenticated"] is True and by_name["demo"]["default"] is True
    assert by_name["dead"]["reachable"] is False and "cannot be reached" in by_name["dead"]["message"]
    assert by_name["wrongpw"]["status"] == "authentication_failed"
    assert "userpass identity 'odlake'" in by_name["wrongpw"]["message"]
    for secret in ("password", "unused-secret", "not-the-password"):
        assert secret not in json.dumps(body)


async def test_info_names_the_default_instance_without_asking_rucio(api):
    # a kernel learns the default here: /instances would wait for every instance's status, a dead one's timeout too
    status, body = await api("info")
    assert status == 200 and body["default_instance"] == "demo" and body["version"]


# -- search ----------------------------------------------------------------------------------


async def search_all(api, limit, between=None, **query):
    """Every DID of a search, page by page; ``between()`` runs after the first page."""
    dids, cursor, totals = [], None, []
    while True:
        status, page = await api("search", limit=str(limit), cursor=cursor, **query)
        assert status == 200, page
        assert len(page["items"]) <= limit
        dids += [i["did"] for i in page["items"]]
        totals.append(page["total"])
        cursor = page["next"]
        if not cursor:
            return dids, totals
        if between and len(totals) == 1:
            between()


async def test_search_pages_through_every_did_with_a_cursor(api):
    dids, totals = await search_all(api, 4, q="opendata:*", type="all")
    assert len(dids) == len(set(dids)) == totals[-1]
    assert set(totals[:-1]) == {None}  # "4+" until Rucio's stream was read to its end
    assert {"opendata:GamGam", "opendata:GamGam.Data", "opendata:data_A.GamGam.root"} <= set(dids)
    again, _ = await search_all(api, 7, q="opendata:*", type="all")
    assert again == dids  # Rucio's order, the same whatever the page size


async def test_a_search_cursor_survives_a_did_added_meanwhile(api, rucio_client):
    before, _ = await search_all(api, 5, q="opendata:*", type="collection")
    added = f"opendata:added.{os.urandom(3).hex()}"
    during, _ = await search_all(
        api, 5, lambda: rucio_client.add_dataset("opendata", added.split(":")[1]), q="opendata:*", type="collection"
    )
    assert len(during) == len(set(during))  # no repeats
    assert set(before) <= set(during)  # no gaps in what existed
    assert set(during) - set(before) <= {added}


async def test_a_cursor_changed_by_hand_or_from_another_listing_is_refused(api):
    import base64

    status, page = await api("search", q="opendata:*", type="all", limit="3")
    assert status == 200 and page["next"]
    signature, body = base64.urlsafe_b64decode(page["next"]).decode().split(".", 1)
    data = json.loads(body)
    data["offset"] = 0  # moved back by hand: the signature no longer matches
    moved = base64.urlsafe_b64encode(f"{signature}.{json.dumps(data)}".encode())
    status, answer = await api("search", q="opendata:*", type="all", limit="3", cursor=moved.decode())
    assert status == 400 and "not one this server gave out" in answer["message"]
    status, answer = await api("search", q="opendata:GamGam*", type="all", limit="3", cursor=page["next"])
    assert status == 400 and "another listing" in answer["message"]


async def test_search_with_wildcards_type_and_metadata_filters(api):
    status, page = await api("search", q="GamGam*", type="dataset")
    assert status == 200
    assert sorted(i["did"] for i in page["items"]) == ["opendata:GamGam.Data", "opendata:GamGam.MC"]
    status, page = await api("search", q="opendata:*", type="file", filter="dsid=343981")
    [item] = page["items"]
    assert item["name"] == "mc_343981.ggH125_gamgam.GamGam.root" and item["type"] == "file"
    assert item["metadata"]["physics_short"] == "ggH125_gamgam" and item["metadata"]["xsec_pb"] == pytest.approx(0.1102)
    status, page = await api("search", q="*", type="dataset", filter="channel=GamGam")
    assert sorted(i["name"] for i in page["items"]) == ["GamGam.Data", "GamGam.MC"] and page["total"] == 2
    status, page = await api("search", q="*", type="file", filter="xsec_pb>=1,channel=1lep")
    assert sorted(i["name"] for i in page["items"]) == [
        "mc_361100.Wplusenu.1lep.root",
        "mc_410000.ttbar_lep.1lep.root",
    ]


async def test_a_word_finds_the_names_holding_it_in_every_scope(api):
    status, page = await api("search", q="GamGam", type="dataset")
    assert status == 200 and sorted(i["did"] for i in page["items"]) == ["opendata:GamGam.Data", "opendata:GamGam.MC"]
    status, page = await api("search", q="ggH125", type="file")
    assert sorted(i["did"] for i in page["items"]) == [
        "opendata:mc_343981.ggH125_gamgam.GamGam.root",
        "opendata:mc_345060.ggH125_ZZ4lep.4lep.root",
    ]
    # with a scope, Rucio's wildcards keep their exact meaning: no wildcard, no partial match
    status, page = await api("search", q="opendata:GamGam", type="dataset")
    assert status == 200 and page["items"] == []


# -- one DID, its files, its replicas ---------------------------------------------------------


async def test_did_tells_type_size_files_and_metadata(api):
    status, d = await api("dids", "opendata", "GamGam.Data")
    assert status == 200
    assert d["type"] == "dataset" and d["length"] == 4 and d["bytes"] > 0
    assert d["metadata"]["lumi_fb"] == pytest.approx(10.0) and d["metadata"]["channel"] == "GamGam"
    status, f = await api("dids", "opendata", "data_A.GamGam.root")
    assert f["type"] == "file" and f["adler32"]


@pytest.fixture(scope="module")
def paging_dataset(lake, rucio_client):
    """A dataset of 2,100 files (registered, with HTTP replicas) to page through."""
    register_large_dataset(rucio_client, PAGING_DATASET, PAGING_FILES, prefix="paging")
    return PAGING_DATASET


@pytest.mark.parametrize("dataset", ["GamGam.Data", "4lep.MC"])  # a copy on one RSE only; whole copies only
@pytest.mark.parametrize(("mode", "scheme"), [("stream", None), ("stream", "http"), ("auto", None), ("download", None)])
async def test_a_file_page_says_how_each_file_would_be_read_as_attach_would(api, dataset, mode, scheme):
    status, page = await api("dids", "opendata", dataset, "files", mode=mode, scheme=scheme)
    assert status == 200 and page["items"]
    status, where = await api("dids", "opendata", dataset, "replicas", mode=mode, scheme=scheme)
    chosen = {f["name"]: f for f in where["files"]}
    for f in page["items"]:
        located = chosen[f["name"]]
        assert (f["read"]["kind"], f["read"]["rse"]) == (located["kind"], located["rse"]), f
        if located["kind"] in ("stream", "mounted"):
            assert located["location"].startswith(f["read"]["scheme"] + ":") or f["read"]["scheme"] == "file"
    kinds = {(f["read"]["kind"], f["read"]["scheme"]) for f in page["items"]}
    if mode == "stream":
        assert kinds == {("stream", scheme or "root")}
    if mode == "download":
        assert kinds == {("download", None)}
    status, plain = await api("dids", "opendata", dataset, "files")
    assert all("read" not in f for f in plain["items"])


async def test_files_of_a_2000_file_dataset_come_in_pages(api, paging_dataset):
    async def all_pages(limit):
        names, cursor, totals = [], None, []
        while True:
            status, page = await api("dids", "opendata", paging_dataset, "files", limit=str(limit), cursor=cursor)
            assert status == 200, page
            if not totals:
                assert all(f["available"] and f["rses"] == [HTTP_RSE] for f in page["items"])
            totals.append(page["total"])
            names += [f["name"] for f in page["items"]]
            cursor = page["next"]
            if not cursor:
                return names, totals

    names, totals = await all_pages(500)
    # "500+" on the first page, read from the stream; the others come from the closed dataset's index
    assert totals == [None, PAGING_FILES, PAGING_FILES, PAGING_FILES, PAGING_FILES]
    assert len(set(names)) == len(names) == PAGING_FILES
    assert (await all_pages(700))[0] == names  # Rucio's order, stable from one listing to the next
    # a scrolled list jumps: any page by its offset
    status, page = await api(
        "dids", "opendata", paging_dataset, "files", limit="10", offset="2000", availability="false"
    )
    assert status == 200 and page["items"][0]["name"] == names[2000] and "available" not in page["items"][0]
    status, _body = await api("dids", "opendata", paging_dataset, "files", offset="-1")
    assert status == 400


async def test_every_page_of_a_closed_dataset_in_rucios_order_from_one_read_of_its_stream(
    api, paging_dataset, rucio_client, monkeypatch
):
    from jupyterlab_odlake.core.instance import Instance

    reads = []  # rows read from each list_files stream
    listed = Instance._listed_files

    def counted(self, did):
        reads.append(0)
        for f in listed(self, did):
            reads[-1] += 1
            yield f

    monkeypatch.setattr(Instance, "_listed_files", counted)
    assert rucio_client.get_did("opendata", paging_dataset)["open"] is False
    names, cursor, pages = [], None, 0
    while True:
        status, page = await api("dids", "opendata", paging_dataset, "files", limit="300", cursor=cursor)
        assert status == 200, page
        assert all(f["available"] and f["rses"] == [HTTP_RSE] for f in page["items"])
        names, cursor, pages = names + [f["name"] for f in page["items"]], page["next"], pages + 1
        if not cursor:
            break
    assert pages == 7 and page["total"] == PAGING_FILES
    assert names == [f["name"] for f in rucio_client.list_files("opendata", paging_dataset)]  # each once, in order
    assert reads == [301, PAGING_FILES]  # the first page as before, then one read of all into the index


async def test_availability_comes_from_the_datasets_copies_when_they_are_whole(api, lake, rucio_client, tmp_path):
    from jupyterlab_odlake.core.config import InstanceConfig
    from jupyterlab_odlake.core.did import DID
    from jupyterlab_odlake.core.instance import Instance
    from jupyterlab_odlake.lake.manager import count_collection_replicas
    from jupyterlab_odlake.lake.register import protect

    home, state = lake
    # a dataset with one file on the local RSE only: no copy of it is whole
    dataset, only_local = f"mixed.{os.urandom(3).hex()}", f"local.{os.urandom(3).hex()}.root"
    data = os.urandom(100)
    (home.local_storage / "opendata").mkdir(exist_ok=True)
    (home.local_storage / "opendata" / only_local).write_bytes(data)
    rucio_client.add_replicas(
        LOCAL_RSE, [{"scope": "opendata", "name": only_local, "bytes": 100, "adler32": adler32_hex(data)}]
    )
    rucio_client.add_dataset("opendata", dataset)
    rucio_client.attach_dids("opendata", dataset, [{"scope": "opendata", "name": "data_B.GamGam.root"}])
    rucio_client.attach_dids("opendata", dataset, [{"scope": "opendata", "name": only_local}])
    protect(rucio_client, dataset, HTTP_RSE)  # a rule whose copy stays incomplete
    count_collection_replicas(home)

    instance = Instance(InstanceConfig(**instance_config(home, state, tmp_path)), tmp_path / "tokens")
    # whole copies: every file available there, known without a call per file
    both = [HTTP_RSE, XROOTD_RSE]  # the HTTP and the XRootD storage hold the GamGam datasets whole
    assert instance.complete_copies(DID("opendata", "GamGam.MC")) == both
    assert instance.complete_copies(DID("opendata", "GamGam.Data")) == both  # (one file is also local)
    status, page = await api("dids", "opendata", "GamGam.Data", "files")
    assert status == 200 and all(f["available"] and f["rses"] == both for f in page["items"])
    # a copy that is not whole: asked file by file, for the page, as list_replicas says
    assert instance.complete_copies(DID("opendata", dataset)) is None
    status, page = await api("dids", "opendata", dataset, "files")
    assert status == 200, page
    expected = {
        r["name"]: sorted(r["states"])
        for r in rucio_client.list_replicas([{"scope": "opendata", "name": dataset}], all_states=True)
    }
    assert {f["name"]: f["rses"] for f in page["items"]} == expected
    assert LOCAL_RSE in expected[only_local] and all(f["available"] for f in page["items"])


def test_attach_composes_the_same_pfns_as_list_replicas_gives(lake, rucio_client, paging_dataset, tmp_path):
    """Where every copy of a dataset is whole, attach composes PFNs instead of asking per file: the same choice."""
    from jupyterlab_odlake.core.config import InstanceConfig
    from jupyterlab_odlake.core.did import DID
    from jupyterlab_odlake.core.instance import Instance
    from jupyterlab_odlake.core.locations import alternatives, choose
    from jupyterlab_odlake.core.records import FileEntry
    from jupyterlab_odlake.lake.manager import count_collection_replicas

    home, state = lake
    count_collection_replicas(home)
    instance = Instance(InstanceConfig(**instance_config(home, state, tmp_path)), tmp_path / "tokens")
    composed_any = []
    for name in [*(d.split(":")[1] for d in state["datasets"]), paging_dataset]:
        did = DID("opendata", name)
        files = [
            FileEntry(f["scope"], f["name"], f["bytes"], f["adler32"])
            for f in rucio_client.list_files(did.scope, did.name)
        ]
        copies = instance._whole_copies(did)
        composed = instance._compose(copies, files) if copies else None
        composed_any.append(composed is not None)
        if composed is None:
            continue
        asked = instance._replicas(files)
        for mode in ("stream", "auto", "mounted"):
            for f in files:
                ours = choose(f, alternatives(composed[(f.scope, f.name)], instance._mounted_path), mode, None, None)
                theirs = choose(f, alternatives(asked[(f.scope, f.name)], instance._mounted_path), mode, None, None)
                assert (ours.kind, ours.location, ours.rse) == (theirs.kind, theirs.location, theirs.rse), f
    assert composed_any[-1]  # the 2,100-file dataset, every file compared
    assert not all(composed_any)  # GamGam.Data has one file on the local RSE too: asked per file


async def test_an_rse_rucio_marks_unavailable_for_reading_is_passed_over(api, rucio_client, monkeypatch):
    from jupyterlab_odlake.core import instance

    monkeypatch.setattr(instance, "RSE_SETTINGS_SECONDS", 0.0)  # the settings read earlier are not kept
    rucio_client.update_rse("ODLAKE_XROOTD", {"availability_read": False})  # a storage down for maintenance
    try:
        status, body = await api("dids", "opendata", "4lep.MC", "replicas", mode="stream")
        assert status == 200 and {f["rse"] for f in body["files"]} == {"ODLAKE_HTTP"}  # root:// preferred, not there
        status, body = await api("dids", "opendata", "4lep.MC", "replicas", mode="stream", scheme="root")
        assert all(f["kind"] is None for f in body["files"])
        assert "Rucio marks ODLAKE_XROOTD unavailable for reading" in body["files"][0]["reason"]
    finally:
        rucio_client.update_rse("ODLAKE_XROOTD", {"availability_read": True})
    status, body = await api("dids", "opendata", "4lep.MC", "replicas", mode="stream")
    assert {f["rse"] for f in body["files"]} == {"ODLAKE_XROOTD"}


async def test_replicas_are_read_only_from_the_rses_asked_for(api, lake):
    # GamGam.Data: every file on ODLAKE_HTTP and ODLAKE_XROOTD, one also on ODLAKE_LOCAL
    status, body = await api("dids", "opendata", "GamGam.Data", "replicas", mode="stream", rse="ODLAKE_HTTP")
    assert status == 200 and body["files"]
    for f in body["files"]:
        assert f["rse"] == "ODLAKE_HTTP" and f["location"].startswith("http://")
        assert {a["rse"] for a in f["alternatives"]} == {"ODLAKE_HTTP"}
    # an expression in Rucio's syntax: the default scheme order then picks root:// among the two
    status, body = await api(
        "dids", "opendata", "GamGam.Data", "replicas", mode="stream", rse="ODLAKE_HTTP|ODLAKE_XROOTD"
    )
    assert status == 200 and {f["rse"] for f in body["files"]} == {"ODLAKE_XROOTD"}
    # in place from an RSE that holds one file: the others say where they are instead
    status, body = await api("dids", "opendata", "GamGam.Data", "replicas", mode="mounted", rse="ODLAKE_LOCAL")
    by_name = {f["name"]: f for f in body["files"]}
    assert by_name["data_A.GamGam.root"]["kind"] == "mounted"
    reason = by_name["data_B.GamGam.root"]["reason"]
    assert "no replica on ODLAKE_LOCAL" in reason and "ODLAKE_HTTP" in reason and "ODLAKE_XROOTD" in reason
    # an RSE Rucio does not know, and a download (which copies from any replica) are refused
    status, body = await api("dids", "opendata", "GamGam.Data", "replicas", mode="stream", rse="NO_SUCH_RSE")
    assert status == 400 and "NO_SUCH_RSE" in body["message"], body
    status, body = await api("dids", "opendata", "GamGam.Data", "replicas", mode="download", rse="ODLAKE_HTTP")
    assert status == 400 and "download mode" in body["message"]


async def test_replicas_choose_a_location_per_mode(api, lake, tmp_path):
    home, state = lake
    status, auto = await api("dids", "opendata", "GamGam.Data", "replicas", mode="auto")
    assert status == 200
    # the server's cache is its own business until a client asks to read from it
    assert str(tmp_path / "cache") not in json.dumps(auto) and all(f["cached"] is None for f in auto["files"])
    kinds = {f["name"]: (f["kind"], f["location"]) for f in auto["files"]}
    assert kinds["data_A.GamGam.root"] == ("mounted", str(home.local_storage / "opendata" / "data_A.GamGam.root"))
    # XRootD first, as a grid site reads
    assert kinds["data_B.GamGam.root"] == ("stream", f"{state['xrootd']['url']}//opendata/data_B.GamGam.root")
    status, stream = await api("dids", "opendata", "GamGam.Data", "replicas", mode="stream")
    assert all(f["kind"] == "stream" and f["location"].startswith("root://") for f in stream["files"])
    status, over_http = await api("dids", "opendata", "GamGam.Data", "replicas", mode="stream", scheme="http,root")
    assert status == 200 and all(f["location"].startswith("http://") for f in over_http["files"])
    status, body = await api("dids", "opendata", "GamGam.Data", "replicas", mode="stream", scheme="gsiftp")
    assert status == 400 and "root, https, davs, http" in body["message"]
    status, mounted = await api("dids", "opendata", "GamGam.Data", "replicas", mode="mounted")
    by_name = {f["name"]: f for f in mounted["files"]}
    assert by_name["data_A.GamGam.root"]["kind"] == "mounted"
    assert by_name["data_B.GamGam.root"]["location"] is None and "mounted" in by_name["data_B.GamGam.root"]["reason"]
    status, download = await api("dids", "opendata", "GamGam.Data", "replicas", mode="download")
    assert all(
        f["kind"] == "download" and f["cached"] is False and "/cache/opendata/" in f["location"]
        for f in download["files"]
    )
    assert all(len(f["alternatives"]) >= 1 for f in download["files"])


async def test_a_name_with_dotdot_never_leads_out_of_a_mounted_rse(api, rucio_client, tmp_path):
    """A file Rucio lists inside a dataset is not checked like a DID asked for: its path must be."""
    dataset = f"escape.{os.urandom(4).hex()}"
    hostile = "/" + "../" * 12 + "etc/hostname"
    data = open("/etc/hostname", "rb").read()
    rucio_client.add_dataset("opendata", dataset)
    rucio_client.add_replicas(
        LOCAL_RSE, [{"scope": "opendata", "name": hostile, "bytes": len(data), "adler32": adler32_hex(data)}]
    )
    rucio_client.attach_dids("opendata", dataset, [{"scope": "opendata", "name": hostile}])
    for mode in ("auto", "mounted", "download"):
        status, answer = await api("dids", "opendata", dataset, "replicas", mode=mode)
        assert status == 200, answer
        (f,) = answer["files"]
        assert f["kind"] != "mounted" and not any(a["kind"] == "mounted" for a in f["alternatives"]), f
        assert not any(os.path.normpath(a["location"]).startswith("/etc") for a in f["alternatives"]), f
    status, d = await api("downloads", method="POST", body={"did": f"opendata:{dataset}"})
    d = await wait_download(api, d["id"])
    assert d["state"] == "failed" and d["files_done"] == 0, d
    # nothing of /etc/hostname reached the cache under any name
    assert not any(p.is_file() and p.read_bytes() == data for p in (tmp_path / "cache").rglob("*"))


async def test_catalog_groups_datasets_by_analysis(api):
    status, catalog = await api("catalog")
    assert status == 200
    analyses = {a["name"]: a for a in catalog["analyses"]}
    assert {"GamGam", "1lep", "4lep"} <= set(analyses)
    [gamgam] = analyses["GamGam"]["containers"]
    assert gamgam["did"] == "opendata:GamGam" and gamgam["length"] == 9
    datasets = {d["name"]: d for d in gamgam["datasets"]}
    assert datasets["GamGam.Data"]["metadata"]["lumi_fb"] == pytest.approx(10.0)
    assert datasets["GamGam.MC"]["length"] == 5


# -- errors ----------------------------------------------------------------------------------


async def test_bad_input_gets_400_or_404_never_500(api, raw_get, lake):
    home, _ = lake
    status, body = await api("dids", "opendata", "no-such-dataset")
    assert status == 404 and body["error"] == "not_found" and "no such DID" in body["message"]
    status, body = await api("dids", "bad scope!", "x")
    assert status == 400 and "scope" in body["message"]
    for name in [
        "../../etc/passwd",
        "..",
        'quo"te',
        "it's",
        "with space",
        "ünïcødé-ñame",
        "x" * 1000,
        "new\nline",
        "back\\slash",
    ]:
        status, body = await raw_get(f"dids/opendata/{quote(name, safe='')}")
        assert status in (400, 404), (name, status, body)
        assert json.loads(body)["message"]
        status, body = await raw_get(f"dids/opendata/{quote(name, safe='')}/replicas?mode=download")
        assert status in (400, 404), (name, status, body)
    assert not any((home.root.parent).glob("**/passwd"))
    for params in (
        {"type": "nonsense"},
        {"limit": "0"},
        {"limit": "lots"},
        {"cursor": "garbage"},
        {"q": 'opendata:"x'},
    ):
        status, body = await api("search", **params)
        assert status == 400 and body["error"] == "invalid_request", params
    status, body = await api("dids", "opendata", "GamGam.Data", "replicas", mode="teleport")
    assert status == 400
    status, body = await api("search", instance="nowhere")
    assert status == 404 and "nowhere" in body["message"]


async def test_input_that_once_gave_500_gets_a_clear_400_or_404(api, raw_get):
    import base64

    forged = base64.urlsafe_b64encode(b'{"k": "x", "o": Infinity}').decode()
    status, body = await api("search", q="opendata:*", cursor=forged)
    assert status == 400 and "cursor" in body["message"]
    for instance in (["demo"], {"name": "demo"}, 5):
        status, body = await api("downloads", method="POST", body={"did": "opendata:GamGam.MC", "instance": instance})
        assert status == 400 and "instance" in body["message"], instance
    status, body = await api("downloads", method="POST", body=b"[" * 5000)
    assert status == 400 and "not JSON" in body["message"]
    for scope in (".", ".."):
        status, body = await api("dids", scope, "x")
        assert status == 400 and "scope" in body["message"], scope
    # Rucio's server reads these as a number, a date or True, or fails on them: a 400 that says what to write
    for params, said in (
        ({"q": "opendata:343981"}, "*343981*"),
        ({"q": "opendata:untrue"}, "'true'"),
        ({"q": "opendata:*", "filter": "length>x"}, "whole number"),
        ({"q": "opendata:*", "filter": "created_before=notadate"}, "needs a date"),
    ):
        status, body = await api("search", type="all", **params)
        assert status == 400 and said in body["message"], (params, body)
    status, body = await api("search", q="opendata:*343981*", type="all")
    assert status == 200 and [i["did"] for i in body["items"]] == ["opendata:mc_343981.ggH125_gamgam.GamGam.root"]


async def test_every_path_under_odlake_answers_json(api, raw_get):
    for path in ("nowhere", "dids", "dids//x", "downloads/not-an-id!", "downloads/%E2%80%AE", "info/extra"):
        status, body = await raw_get(path)
        assert status in (400, 404), (path, status)
        answer = json.loads(body)
        assert set(answer) == {"error", "message"} and answer["message"], (path, answer)
    status, body = await api("nowhere", "at", "all", method="POST", body={})
    assert status == 404 and body["error"] == "not_found"


async def test_a_dead_instance_fails_clearly_while_the_other_works(api):
    status, body = await api("search", instance="dead", q="*")
    assert status == 503 and body["error"] == "unreachable"
    assert "'dead'" in body["message"] and "cannot be reached" in body["message"]
    status, body = await api("search", instance="demo", q="opendata:GamGam")
    assert status == 200 and body["items"]


async def test_wrong_password_is_401_naming_instance_and_credential(api):
    status, body = await api("search", instance="wrongpw", q="*")
    assert status == 401 and body["error"] == "authentication_failed"
    assert "'wrongpw'" in body["message"] and "userpass identity 'odlake'" in body["message"]
    assert "not-the-password" not in json.dumps(body)


async def test_requests_without_token_are_rejected(jp_fetch):
    for method, body in (("GET", None), ("POST", json.dumps({"did": "opendata:GamGam.MC"}))):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch("odlake", "downloads", method=method, body=body, headers={"Authorization": ""})
        assert err.value.code == 403


async def test_browser_session_needs_the_xsrf_token_to_post(jp_fetch, jp_serverapp, jp_http_port, jp_base_url):
    """A browser logged in with a cookie can POST only with the XSRF token, as JupyterLab sends it."""
    from http.cookies import SimpleCookie

    client, base = AsyncHTTPClient(), f"http://localhost:{jp_http_port}{jp_base_url}"
    cookies = SimpleCookie()

    def keep(response):
        for header in response.headers.get_list("Set-Cookie"):
            cookies.load(header)

    keep(await client.fetch(base + "login", raise_error=False))
    xsrf = cookies["_xsrf"].value
    header = lambda: "; ".join(f"{k}={v.value}" for k, v in cookies.items())  # noqa: E731
    login = await client.fetch(
        base + "login",
        method="POST",
        body=f"password={jp_serverapp.identity_provider.token}&_xsrf={xsrf}",
        headers={"Cookie": header()},
        follow_redirects=False,
        raise_error=False,
    )
    keep(login)
    assert login.code == 302
    url = base + "odlake/downloads"
    body = json.dumps({"did": "opendata:GamGam.MC"})
    without = await client.fetch(url, method="POST", body=body, headers={"Cookie": header()}, raise_error=False)
    assert without.code == 403
    listed = await client.fetch(url, headers={"Cookie": header()}, raise_error=False)
    assert listed.code == 200  # the cookie alone is a valid session for reading
    with_token = await client.fetch(
        url, method="POST", body=body, headers={"Cookie": header(), "X-XSRFToken": xsrf}, raise_error=False
    )
    assert with_token.code == 202


# -- downloads ----------------------------------------------------------------------------------


def adler32_of(path):
    return adler32_hex(path.read_bytes())


async def test_download_a_dataset_verified_into_the_cache(api, tmp_path):
    status, d = await api("downloads", method="POST", body={"did": "opendata:GamGam.MC"})
    assert status == 202 and d["id"]
    done = await wait_download(api, d["id"])
    assert done["state"] == "done", done
    assert done["files_done"] == done["files_total"] == 5 and done["bytes_done"] == done["bytes_total"]
    cache = tmp_path / "cache" / "opendata"
    assert sorted(p.name for p in cache.iterdir()) == sorted(p.rsplit("/", 1)[1] for p in done["paths"])
    status, listing = await api("downloads")
    assert d["id"] in [x["id"] for x in listing["downloads"]]
    # a second download is served from the cache
    status, again = await api("downloads", method="POST", body={"did": "opendata:GamGam.MC"})
    again = await wait_download(api, again["id"])
    assert again["state"] == "done" and again["transfers"] == 0


async def test_concurrent_downloads_share_transfers_and_a_repeat_is_the_same_download(api):
    status_a, a = await api("downloads", method="POST", body={"did": "opendata:GamGam.Data"})
    status_again, again = await api("downloads", method="POST", body={"did": "opendata:GamGam.Data"})
    status_f, f = await api("downloads", method="POST", body={"did": "opendata:data_A.GamGam.root"})
    assert status_a == status_again == status_f == 202
    assert again["id"] == a["id"]  # asked again while it runs: the same download, not a second one
    a, f = await wait_download(api, a["id"]), await wait_download(api, f["id"])
    assert a["state"] == f["state"] == "done"
    assert a["transfers"] + f["transfers"] == 4  # the file both want moved once
    assert f["paths"][0] in a["paths"]


@pytest.fixture(scope="module")
def slow_file(lake, rucio_client, tmp_path_factory):
    """A 3 MB file whose only replica is on a slow storage, so a download can be watched and cancelled.

    One storage for the module: Rucio's server keeps an RSE's protocols in its cache (memcached),
    so a storage on a new port would not be seen until that entry expires.
    """
    import os

    from rucio.common.exception import Duplicate

    root = tmp_path_factory.mktemp("slow")
    name = f"slow.{os.urandom(4).hex()}.root"
    data = os.urandom(3_000_000)
    (root / "opendata").mkdir()
    (root / "opendata" / name).write_bytes(data)
    storage = SlowStorage(root, rate=1_000_000)
    rse = "ODLAKE_SLOW"
    try:
        rucio_client.add_rse(rse, deterministic=True)
    except Duplicate:  # made by an earlier test: point it at this storage
        for p in rucio_client.get_protocols(rse):
            rucio_client.delete_protocols(rse, p["scheme"], p["hostname"], p["port"])
    rucio_client.add_protocol(
        rse,
        {
            "scheme": "http",
            "hostname": "127.0.0.1",
            "port": storage.port,
            "prefix": "/",
            "impl": "jupyterlab_odlake.lake.protocol.HTTP",
            "domains": {"lan": {"read": 1, "write": 0, "delete": 0}, "wan": {"read": 1, "write": 0, "delete": 0}},
        },
    )
    adler = adler32_hex(data)
    rucio_client.add_replicas(rse, [{"scope": "opendata", "name": name, "bytes": len(data), "adler32": adler}])
    yield name, storage
    storage.close()


async def test_download_progress_then_cancel_then_resume(api, slow_file, tmp_path):
    name, storage = slow_file
    status, d = await api("downloads", method="POST", body={"did": f"opendata:{name}"})
    running = await wait_download(api, d["id"], until=("running",))
    for _ in range(200):
        status, running = await api("downloads", d["id"])
        if running["bytes_done"] > 0:
            break
        await asyncio.sleep(0.05)
    assert 0 < running["bytes_done"] < running["bytes_total"] == 3_000_000
    status, cancelled = await api("downloads", d["id"], method="DELETE")
    assert status == 200 and cancelled["state"] == "cancelled"
    cache = tmp_path / "cache" / "opendata"
    await until(lambda: transfer_ended(tmp_path / "cache", "opendata", name))
    assert not (cache / name).exists()
    part = cache / (name + ".part")
    assert part.exists() and 0 < part.stat().st_size < 3_000_000
    # the next download resumes where the first stopped, with a Range request
    status, again = await api("downloads", method="POST", body={"did": f"opendata:{name}"})
    again = await wait_download(api, again["id"], timeout=30)
    assert again["state"] == "done", again
    assert (cache / name).stat().st_size == 3_000_000 and not part.exists()
    assert storage.requests[-1][1] and storage.requests[-1][1].startswith("bytes=")


async def test_a_storage_that_dies_mid_transfer_fails_clearly_and_the_retry_resumes(api, slow_file, tmp_path):
    name, storage = slow_file
    status, d = await api("downloads", method="POST", body={"did": f"opendata:{name}"})
    assert status == 202
    for _ in range(400):  # until bytes arrive
        status, d = await api("downloads", d["id"])
        if d["bytes_done"] > 0:
            break
        await asyncio.sleep(0.02)
    storage.crash()
    try:
        d = await wait_download(api, d["id"])
        assert d["state"] == "failed", d
        assert any(name in e and "retry to resume" in e for e in d["errors"]), d["errors"]
        cache = tmp_path / "cache" / "opendata"
        part = cache / (name + ".part")
        assert not (cache / name).exists() and 0 < part.stat().st_size < 3_000_000
    finally:
        storage.restart()
    status, again = await api("downloads", method="POST", body={"did": f"opendata:{name}"})
    again = await wait_download(api, again["id"], timeout=30)
    assert again["state"] == "done", again
    assert (cache / name).stat().st_size == 3_000_000 and not part.exists()
    assert storage.requests[-1][1] and storage.requests[-1][1].startswith("bytes=")  # resumed, not read again


async def test_unknown_download_and_bad_body(api):
    status, body = await api("downloads", "doesnotexist")
    assert status == 404
    status, body = await api("downloads", method="POST", body={"did": "not a did"})
    assert status == 400 and "scope:name" in body["message"]
    status, body = await api("downloads", method="POST", body={"did": "opendata:nothing-here"})
    assert status == 202
    failed = await wait_download(api, body["id"])
    assert failed["state"] == "failed" and "no such DID" in failed["errors"][0]


async def test_no_secret_in_any_response_or_log(api, lake, caplog, instance_configs, tmp_path):
    caplog.set_level(logging.DEBUG)
    for args, params in [
        (("instances",), {}),
        (("search",), {"instance": "wrongpw"}),
        (("search",), {"instance": "dead"}),
        (("dids", "opendata", "GamGam.Data"), {}),
        (("catalog",), {}),
    ]:
        await api(*args, **params)
    home, _ = lake
    secrets = [open(c["password_file"]).read().strip() for c in instance_configs]
    tokens = [p.read_text().strip() for p in (tmp_path / "state" / "tokens").rglob("auth_token_for_*")]
    assert tokens and all(len(s) >= 8 for s in secrets + tokens)
    lake_logs = "\n".join(p.read_text(errors="replace") for p in home.logs.glob("*.log"))
    everything = "\n".join(api.seen) + caplog.text + lake_logs
    for secret in secrets + tokens:
        assert secret not in everything


async def test_locations_of_a_dataset_larger_than_one_rucio_request(api, paging_dataset):
    # Rucio takes at most 1,000 DIDs a request: the 2,100 files are asked for in three
    status, body = await api("dids", "opendata", paging_dataset, "replicas", mode="stream")
    assert status == 200, body
    files = body["files"]
    assert len(files) == PAGING_FILES and len({f["name"] for f in files}) == PAGING_FILES
    assert all(f["kind"] == "stream" and f["location"].startswith("http://") for f in files)


def test_a_server_killed_during_a_download_leaves_no_file_taken_for_good(lake, slow_file, tmp_path):
    import signal

    home, _ = lake
    name, storage = slow_file
    cache = tmp_path / "cache"
    part = cache / "opendata" / (name + ".part")
    first, s = odlake_server(home, tmp_path / "first", cache)
    try:
        record = s.post(first.url + "odlake/downloads", json={"did": f"opendata:{name}"}, timeout=60).json()
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:  # bytes arriving
            time.sleep(0.02)
            record = s.get(first.url + f"odlake/downloads/{record['id']}", timeout=60).json()
            assert record["state"] in ("resolving", "running"), record["errors"]
        assert 0 < part.stat().st_size < 3_000_000, record
        os.killpg(first.process.pid, signal.SIGKILL)  # the server dies mid-transfer
        first.process.wait()
    finally:
        first.stop()
    assert not (cache / "opendata" / name).exists()  # no file under its final name, only the part
    second, s = odlake_server(home, tmp_path / "second", cache)
    try:
        record = s.post(second.url + "odlake/downloads", json={"did": f"opendata:{name}"}, timeout=60).json()
        record = follow(second, s, record)
        assert record["state"] == "done", record
        assert (cache / "opendata" / name).stat().st_size == 3_000_000 and not part.exists()
        assert storage.requests[-1][1] and storage.requests[-1][1].startswith("bytes=")  # it resumed
    finally:
        second.stop()
