"""Downloads over REST, against the demo lake: verified into the cache, shared between downloads,
watched, cancelled and resumed, through a storage that dies and a server that is killed, and
a download that does not exist."""

import asyncio
import os
import time

import lake_server
import pytest
from support import SlowStorage, follow, odlake_server, transfer_ended, until, wait_download

from jupyterlab_odlake.core.transfers.cache import adler32_hex

# a Jupyter server over the lake's instances, for this module's tests (conftest's plain one serves the others)
jp_server_config = lake_server.jp_server_config
instance_configs = lake_server.instance_configs


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


async def test_unknown_download_and_bad_body(api):
    status, body = await api("downloads", "doesnotexist")
    assert status == 404
    status, body = await api("downloads", method="POST", body={"did": "not a did"})
    assert status == 400 and "scope:name" in body["message"]
    status, body = await api("downloads", method="POST", body={"did": "opendata:nothing-here"})
    assert status == 202
    failed = await wait_download(api, body["id"])
    assert failed["state"] == "failed" and "no such DID" in failed["errors"][0]


async def test_verify_rechecks_the_cached_copies_and_removes_one_that_no_longer_matches(api, tmp_path):
    status, d = await api("downloads", method="POST", body={"did": "opendata:GamGam.MC"})
    assert (await wait_download(api, d["id"]))["state"] == "done"
    status, checked = await api("dids", "opendata", "GamGam.MC", "verify", method="POST", body={})
    assert status == 200 and checked == {"did": "opendata:GamGam.MC", "files": 5, "verified": 5, "removed": []}
    # a bit flipped on disk, size and mtime as they were: what the fast path cannot see
    [bad] = [p for p in (tmp_path / "cache" / "opendata").iterdir() if p.name.startswith("mc_343981")]
    before = bad.stat()
    flipped = bytearray(bad.read_bytes())
    flipped[len(flipped) // 2] ^= 0x01
    bad.write_bytes(bytes(flipped))
    os.utime(bad, ns=(before.st_atime_ns, before.st_mtime_ns))
    status, checked = await api("dids", "opendata", "GamGam.MC", "verify", method="POST", body={})
    assert status == 200 and checked["verified"] == 4 and checked["removed"] == [f"opendata:{bad.name}"]
    assert not bad.exists()
    status, again = await api("dids", "opendata", "GamGam.MC", "verify", method="POST", body={})
    assert (again["verified"], again["removed"]) == (4, [])
    status, unknown = await api("dids", "opendata", "GamGam.Nope", "verify", method="POST", body={})
    assert status == 404 and unknown["error"] == "not_found"
