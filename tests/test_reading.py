"""Where files are read from, over REST against the demo lake: the replica each mode chooses, reads
restricted to some RSEs, RSEs Rucio marks unavailable, names that must stay inside a mounted RSE,
PFNs composed without asking Rucio per file, the locations of a dataset of 2,100 files."""

import json
import os

import lake_server
from conftest import instance_config
from lake_server import PAGING_FILES
from support import wait_download

from jupyterlab_odlake.core.transfers.cache import adler32_hex
from jupyterlab_odlake.lake.home import LOCAL_RSE

# a Jupyter server over the lake's instances, for this module's tests (conftest's plain one serves the others)
jp_server_config = lake_server.jp_server_config
instance_configs = lake_server.instance_configs
paging_dataset = lake_server.paging_dataset


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


async def test_an_rse_rucio_marks_unavailable_for_reading_is_passed_over(api, rucio_client, monkeypatch):
    from jupyterlab_odlake.core.rucio import instance

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


def test_attach_composes_the_same_pfns_as_list_replicas_gives(lake, rucio_client, paging_dataset, tmp_path):
    """Where every copy of a dataset is whole, attach composes PFNs instead of asking per file: the same choice."""
    from jupyterlab_odlake.core.config import InstanceConfig
    from jupyterlab_odlake.core.did import DID
    from jupyterlab_odlake.core.records import FileEntry
    from jupyterlab_odlake.core.rucio.instance import Instance
    from jupyterlab_odlake.core.rucio.locations import alternatives, choose
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


async def test_locations_of_a_dataset_larger_than_one_rucio_request(api, paging_dataset):
    # Rucio takes at most 1,000 DIDs a request: the 2,100 files are asked for in three
    status, body = await api("dids", "opendata", paging_dataset, "replicas", mode="stream")
    assert status == 200, body
    files = body["files"]
    assert len(files) == PAGING_FILES and len({f["name"] for f in files}) == PAGING_FILES
    assert all(f["kind"] == "stream" and f["location"].startswith("http://") for f in files)
