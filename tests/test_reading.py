"""Where files are read from, over REST against the demo lake: the replica each mode chooses, reads
restricted to some RSEs, RSEs Rucio marks unavailable, names that must stay inside a mounted RSE,
PFNs composed without asking Rucio per file, the locations of a dataset of 2,100 files."""

import json
import os

import lake_server
import pytest
from conftest import instance_config
from lake_server import PAGING_FILES
from support import wait_download

from jupyterlab_odlake.core.transfers.cache import adler32_hex
from jupyterlab_odlake.lake.home import HTTP_RSE, LOCAL_RSE, XROOTD_RSE

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
    status, over_http = await api("dids", "opendata", "GamGam.Data", "replicas", mode="stream", scheme="https,root")
    assert status == 200 and all(f["location"].startswith("https://") for f in over_http["files"])
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
    _, state = lake
    # GamGam.Data: every file on ODLAKE_HTTP and ODLAKE_XROOTD, one also on ODLAKE_LOCAL
    status, body = await api("dids", "opendata", "GamGam.Data", "replicas", mode="stream", rse="ODLAKE_HTTP")
    assert status == 200 and body["files"]
    for f in body["files"]:
        assert f["rse"] == "ODLAKE_HTTP" and f["location"].startswith(f"{state['xrootd']['https_url']}/")
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


TWO_COPIES, PART_COPY = "compose.two_copies", "compose.part_copy"  # 1,100 files on HTTP and XROOTD; some on XROOTD


@pytest.fixture(scope="module")
def copied_datasets(lake):
    """Two datasets of catalogue-only files: one whole on ODLAKE_HTTP and ODLAKE_XROOTD (two batches of
    Rucio's 1,000), one whole on ODLAKE_HTTP with a third of its files on ODLAKE_XROOTD too."""
    from rucio.client import Client
    from rucio.common.exception import DataIdentifierAlreadyExists

    client = Client()
    for name, on_xrootd in ((TWO_COPIES, lambda i: True), (PART_COPY, lambda i: i % 3 == 0)):
        try:
            client.add_dataset("opendata", name)
        except DataIdentifierAlreadyExists:
            continue
        files = [
            {"scope": "opendata", "name": f"{name}.file_{i:04d}.root", "bytes": 100 + i, "adler32": "0000beef"}
            for i in range(1100)
        ]
        for start in range(0, len(files), 500):  # Rucio takes at most 1,000 a call
            part = files[start : start + 500]
            client.add_replicas(HTTP_RSE, part)
            client.add_replicas(XROOTD_RSE, [f for i, f in enumerate(part, start) if on_xrootd(i)])
            client.attach_dids("opendata", name, [{"scope": "opendata", "name": f["name"]} for f in part])
        client.close("opendata", name)
    return TWO_COPIES, PART_COPY


@pytest.fixture
def demo_instance(lake, tmp_path):
    from jupyterlab_odlake.core.config import InstanceConfig
    from jupyterlab_odlake.core.rucio.instance import Instance

    home, state = lake
    return Instance(InstanceConfig(**instance_config(home, state, tmp_path)), tmp_path / "tokens")


def asked_per_file(instance, monkeypatch):
    """The instance with no template: each file asked of Rucio's list_replicas, as without composing."""
    monkeypatch.setattr(instance, "_template", lambda copies, first: None)


def test_composed_replicas_are_what_list_replicas_gives(demo_instance, paging_dataset, copied_datasets, lake):
    """Where every copy of a dataset is whole, each file's replicas are made from the first file's answer:
    for every file, the same PFNs, in the same order, with the same priorities and states as Rucio's."""
    from jupyterlab_odlake.core.did import DID
    from jupyterlab_odlake.core.rucio.instance import entry

    _, state = lake
    made = {}
    for name in [*(d.split(":")[1] for d in state["datasets"]), paging_dataset, *copied_datasets]:
        did = DID("opendata", name)
        files = [entry(f) for f in demo_instance._listed_rows(did)]
        copies = demo_instance._whole_copies(did)
        template = demo_instance._template(copies, files[0]) if copies else None
        made[name] = template is not None
        if template is None:
            continue
        composed, odd = template.replicas(files)
        assert not odd
        asked = demo_instance._replicas(files)
        for f in files:
            ours, theirs = composed[(f.scope, f.name)], asked[(f.scope, f.name)]
            assert list(ours["pfns"].items()) == list(theirs["pfns"].items()), f
            assert ours["states"] == theirs["states"], f
    assert made[paging_dataset] and made[TWO_COPIES]  # 2,100 files on one RSE; 1,100 on two
    assert not made[PART_COPY]  # a copy that is not whole: every file asked
    assert not all(made.values())  # GamGam.Data has one file on the local RSE too


READS = [
    ("stream", (), None),
    ("stream", ("https", "root"), None),
    ("stream", ("https",), None),
    ("stream", (), "ODLAKE_HTTP"),
    ("stream", ("root",), "ODLAKE_HTTP"),  # nothing to read: each file says why
    ("auto", (), None),
    ("mounted", (), None),
]


@pytest.mark.parametrize("mode, schemes, rse", READS)
def test_an_attach_composed_chooses_as_one_asked_file_by_file(
    demo_instance, copied_datasets, paging_dataset, monkeypatch, mode, schemes, rse
):
    """An attach of a dataset with whole copies answers, for every file, what it answers with each file's
    replicas asked of Rucio: the same kind, URL, RSE and reason; and asks Rucio's list_replicas once."""
    from rucio.client.replicaclient import ReplicaClient

    from jupyterlab_odlake.core.did import DID

    asked = []
    list_replicas = ReplicaClient.list_replicas

    def counted(client, dids, *args, **kwargs):
        asked.append(len(dids))
        return list_replicas(client, dids, *args, **kwargs)

    monkeypatch.setattr(ReplicaClient, "list_replicas", counted)
    for name in (TWO_COPIES, PART_COPY, paging_dataset):
        did = DID("opendata", name)
        asked.clear()
        composed = demo_instance.resolve(did, mode, schemes, rse)
        composed_asked = list(asked)
        with monkeypatch.context() as m:
            asked_per_file(demo_instance, m)
            theirs = demo_instance.resolve(did, mode, schemes, rse)
        assert composed == theirs, name
        assert len({(f.scope, f.name) for f in composed}) == len(composed) and composed == sorted(
            composed, key=lambda f: (f.scope, f.name)
        )
        # the whole copies: the first file's replicas only; the part copy: every file, 1,000 at a time
        assert composed_asked == ([1] if name != PART_COPY else [1000, 100]), (name, composed_asked)
    if (mode, schemes, rse) == ("stream", (), None):  # root:// first, as a grid site reads; HTTP alone for the rest
        assert {f.rse for f in demo_instance.resolve(DID("opendata", TWO_COPIES), mode)} == {XROOTD_RSE}


def test_a_copy_on_a_non_deterministic_rse_is_asked_file_by_file(demo_instance, copied_datasets, monkeypatch):
    """PFNs follow from names only on a deterministic RSE: on any other, Rucio is asked for each file."""
    from jupyterlab_odlake.core.did import DID

    settings = demo_instance._rse_info

    def non_deterministic(rse):
        info = settings(rse)
        return dict(info, deterministic=False) if rse == XROOTD_RSE else info

    did = DID("opendata", TWO_COPIES)
    composed = demo_instance.resolve(did, "stream")
    monkeypatch.setattr(demo_instance, "_rse_info", non_deterministic)
    assert demo_instance._whole_copies(did) is None
    assert demo_instance.resolve(did, "stream") == composed  # the same choice, asked


async def test_an_attach_through_rest_is_the_composed_choice(api, demo_instance, copied_datasets):
    from jupyterlab_odlake.core.did import DID

    status, body = await api("dids", "opendata", TWO_COPIES, "attach", method="POST", body={"mode": "stream"})
    assert status == 200, body
    expected = demo_instance.resolve(DID("opendata", TWO_COPIES), "stream")
    assert body["files"] == [f.to_json() for f in expected]
    assert all(f["location"].startswith("root://") for f in body["files"])


async def test_locations_of_a_dataset_larger_than_one_rucio_request(api, paging_dataset):
    # Rucio takes at most 1,000 DIDs a request: the 2,100 files are asked for in three
    status, body = await api("dids", "opendata", paging_dataset, "replicas", mode="stream")
    assert status == 200, body
    files = body["files"]
    assert len(files) == PAGING_FILES and len({f["name"] for f in files}) == PAGING_FILES
    assert all(f["kind"] == "stream" and f["location"].startswith("https://") for f in files)
