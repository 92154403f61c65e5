"""A dataset's files over REST, against the demo lake: pages of files, how each would be read,
paging through 2,100 files, where each file is available."""

import os

import lake_server
import pytest
from conftest import instance_config
from lake_server import PAGING_FILES

from jupyterlab_odlake.core.transfers.cache import adler32_hex
from jupyterlab_odlake.lake.home import HTTP_RSE, LOCAL_RSE, TOKEN_RSE, XROOTD_RSE

# a Jupyter server over the lake's instances, for this module's tests (conftest's plain one serves the others)
jp_server_config = lake_server.jp_server_config
instance_configs = lake_server.instance_configs
paging_dataset = lake_server.paging_dataset


@pytest.mark.parametrize("dataset", ["GamGam.Data", "4lep.MC"])  # a copy on one RSE only; whole copies only
@pytest.mark.parametrize(
    ("mode", "scheme"), [("stream", None), ("stream", "https"), ("auto", None), ("download", None)]
)
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
    from jupyterlab_odlake.core.rucio.instance import Instance

    reads = []  # rows read from each list_files stream
    listed = Instance.files_of

    def counted(self, did):
        reads.append(0)
        for f in listed(self, did):
            reads[-1] += 1
            yield f

    monkeypatch.setattr(Instance, "files_of", counted)
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
    from jupyterlab_odlake.core.rucio.instance import Instance
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
    # the HTTP, the XRootD and the token storage hold the GamGam datasets whole
    whole = [HTTP_RSE, TOKEN_RSE, XROOTD_RSE]
    assert instance.complete_copies(DID("opendata", "GamGam.MC")) == whole
    assert instance.complete_copies(DID("opendata", "GamGam.Data")) == whole  # (one file is also local)
    status, page = await api("dids", "opendata", "GamGam.Data", "files")
    assert status == 200 and all(f["available"] and f["rses"] == whole for f in page["items"])
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
