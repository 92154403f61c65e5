"""Faults in a lake's parts, on a lake of their own: Rucio, PostgreSQL or the storage killed or stopped, a corrupted
replica.

The shared lake of the other tests is never harmed, so their results never depend on
the order the tests run in.
"""

import os
import signal

import pytest
from conftest import instance_config
from support import odlake, root_client, wait_download

from jupyterlab_odlake.lake.manager import up as lake_up
from jupyterlab_odlake.lake.services import stop_process


@pytest.fixture
def jp_server_config(fault_lake, tmp_path):
    home, state = fault_lake
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    return {
        "ServerApp": {"jpserver_extensions": {"jupyterlab_odlake": True}, "allow_unauthenticated_access": False},
        "Odlake": {
            "instances": [instance_config(home, state, secrets)],
            "cache_dir": str(tmp_path / "cache"),
            "state_dir": str(tmp_path / "state"),
        },
    }


def dids_of(client):
    return sorted(client.list_dids("opendata", {"name": "*"}, did_type="all"))


def test_up_after_kill_9_brings_rucio_back_with_the_same_dids(fault_lake):
    home, _ = fault_lake
    state = home.load_state()
    before = dids_of(root_client(home))
    for server in ("rucio", "postgres"):
        os.kill(state[server]["pid"], signal.SIGKILL)
    result = odlake("lake", "up", "--home", home.root)
    assert result.returncode == 0, result.stderr
    assert "starting the lake's rucio" in result.stdout
    restarted = home.load_state()
    assert restarted["rucio"]["pid"] != state["rucio"]["pid"]
    assert restarted["rucio"]["port"] == state["rucio"]["port"]
    assert dids_of(root_client(home)) == before


WHOLE = "faults.copies"  # catalogue-only files on ODLAKE_HTTP, ODLAKE_XROOTD and ODLAKE_TOKENS: every copy whole
PUBLIC = ("ODLAKE_HTTP", "ODLAKE_XROOTD")  # the public XRootD's https and root://: one process


def register_whole(home):
    from rucio.common.exception import DataIdentifierAlreadyExists

    client = root_client(home)
    try:
        client.add_dataset("opendata", WHOLE)
    except DataIdentifierAlreadyExists:
        return
    files = [
        {"scope": "opendata", "name": f"{WHOLE}.{i}.root", "bytes": 10 + i, "adler32": "0000beef"} for i in range(3)
    ]
    for rse in (*PUBLIC, "ODLAKE_TOKENS"):
        client.add_replicas(rse, files)
    client.attach_dids("opendata", WHOLE, [{"scope": "opendata", "name": f["name"]} for f in files])
    client.close("opendata", WHOLE)


def token_reader(fault_lake, tmp_path):
    """odlake over the fault lake for a user who holds a storage token: the token storage's copies are its too."""
    from oidc_flow import Provider

    from jupyterlab_odlake.core import LakeService
    from jupyterlab_odlake.core.config import InstanceConfig

    home, state = fault_lake
    folder = tmp_path / "reader"
    folder.mkdir()
    token_file = folder / "storage-token"
    token_file.write_text(Provider(home.load_state()).client_token("storage", "storage.read:/", home=home))
    token_file.chmod(0o600)
    config = {**instance_config(home, state, folder), "storage_token_file": str(token_file)}
    return LakeService([InstanceConfig.from_dict(config)], cache_dir=folder / "cache", state_dir=folder / "state")


async def attach_says_the_same(api, name, **params):
    """An attach (where the copies are whole, each file read as the first of its batch) answers what the
    file-by-file locations do: kind, URL, RSE and reason."""
    status, located = await api("dids", "opendata", name, "replicas", **params)
    assert status == 200, located
    status, attached = await api("dids", "opendata", name, "attach", method="POST", body=params)
    assert status == 200, attached
    keys = ("name", "kind", "location", "rse", "reason")
    assert [[f[k] for k in keys] for f in attached["files"]] == [[f[k] for k in keys] for f in located["files"]]
    return attached


async def test_a_dead_public_storage_is_passed_over_or_named_then_read_again_after_up(api, fault_lake, tmp_path):
    from jupyterlab_odlake.core import DID

    home, _ = fault_lake
    state = home.load_state()
    register_whole(home)
    status, before = await api("dids", "opendata", "GamGam.MC", "replicas", mode="stream")
    assert status == 200 and all(f["rse"] == "ODLAKE_XROOTD" for f in before["files"])
    reader = token_reader(fault_lake, tmp_path)
    os.killpg(os.getpgid(state["xrootd"]["pid"]), signal.SIGKILL)  # its root:// and its https go together
    try:
        # a reader with another copy passes over both: auto and stream read the token storage's ...
        for mode in ("auto", "stream"):
            for name in ("GamGam.MC", WHOLE):
                located = reader.locations(DID("opendata", name), mode)
                attached = reader.attach(DID("opendata", name), mode)
                assert all(f.kind and f.rse not in PUBLIC for f in located), located
                keys = ("name", "kind", "location", "rse", "reason")
                assert [[getattr(f, k) for k in keys] for f in attached.files] == [
                    [getattr(f, k) for k in keys] for f in located
                ]
        # ... and where there is none (no token: the token storage's copies are not for it), the answer names the
        # storage that does not answer, on each of its ports
        for scheme, rse, port in (("root", PUBLIC[1], state["xrootd"]["port"]), ("https", PUBLIC[0], state["xrootd"]["https_port"])):  # fmt: skip
            status, answer = await api("dids", "opendata", "GamGam.MC", "replicas", mode="stream", scheme=scheme)
            assert status == 200 and all(f["kind"] is None for f in answer["files"])
            reason = answer["files"][0]["reason"]
            assert f"{rse} (127.0.0.1:{port}) does not answer" in reason, reason
            for name in ("GamGam.MC", WHOLE):
                attached = await attach_says_the_same(api, name, mode="stream", scheme=scheme)
                assert all("does not answer" in f["reason"] for f in attached["files"]), attached
    finally:
        reader.close()
        lake_up(home, log=lambda *_: None)
    status, after = await api("dids", "opendata", "GamGam.MC", "replicas", mode="stream")
    assert status == 200 and all(f["rse"] == "ODLAKE_XROOTD" for f in after["files"])
    status, after = await api("dids", "opendata", "GamGam.MC", "replicas", mode="stream", scheme="https")
    assert status == 200 and all(f["rse"] == "ODLAKE_HTTP" for f in after["files"])


async def test_a_download_from_the_killed_https_storage_fails_clearly_and_works_after_up(api, fault_lake):
    """kill -9 of the public XRootD takes its https away (the HTTP RSE's storage): a download over it says the
    storage cannot be reached; ``lake up`` starts it again on the same ports, and the same download works."""
    home, _ = fault_lake
    state = home.load_state()
    name = "data_C.GamGam.root"  # on ODLAKE_HTTP, ODLAKE_XROOTD and the token storage (no token here)
    os.kill(state["xrootd"]["pid"], signal.SIGKILL)
    try:
        status, d = await api("downloads", method="POST", body={"did": f"opendata:{name}"})
        assert status == 202
        d = await wait_download(api, d["id"])
        assert d["state"] == "failed", d
        [error] = d["errors"]  # both of its public copies are the dead XRootD's, over https then root://
        assert f"the storage at 127.0.0.1:{state['xrootd']['https_port']} cannot be reached" in error, error
        assert "2 sources failed" in error, error
    finally:
        result = odlake("lake", "up", "--home", home.root)
    assert result.returncode == 0, result.stderr
    assert "starting the lake's xrootd" in result.stdout
    again = home.load_state()
    assert again["xrootd"]["pid"] != state["xrootd"]["pid"]
    assert (again["xrootd"]["port"], again["xrootd"]["https_port"]) == (
        state["xrootd"]["port"],
        state["xrootd"]["https_port"],
    )
    status, d = await api("downloads", method="POST", body={"did": f"opendata:{name}"})
    d = await wait_download(api, d["id"])
    assert d["state"] == "done", d


async def test_rucio_stopped_gives_503_then_recovers_without_restarting_jupyter(api, fault_lake):
    home, _ = fault_lake
    status, _ = await api("search", q="opendata:GamGam")
    assert status == 200
    stop_process(home.load_state()["rucio"]["pid"])
    status, body = await api("dids", "opendata", "GamGam.Data")
    assert status == 503 and "cannot be reached" in body["message"] and "retry" in body["message"]
    lake_up(home, log=lambda *_: None)
    status, body = await api("dids", "opendata", "GamGam.Data")
    assert status == 200 and body["length"] == 4


async def test_corrupted_replica_gives_checksum_error_and_nothing_in_the_cache(api, fault_lake, tmp_path):
    home, _ = fault_lake
    replica = home.http_storage / "opendata" / "data_B.GamGam.root"  # its only replica
    corrupted = bytearray(replica.read_bytes())
    corrupted[len(corrupted) // 2] ^= 0xFF
    replica.write_bytes(bytes(corrupted))
    status, d = await api("downloads", method="POST", body={"did": "opendata:data_B.GamGam.root"})
    assert status == 202
    d = await wait_download(api, d["id"])
    assert d["state"] == "failed"
    assert any("adler32" in e and "discarded" in e for e in d["errors"]), d["errors"]
    cached = tmp_path / "cache" / "opendata"
    assert not (cached / "data_B.GamGam.root").exists()
    assert not list(cached.glob("*.part")) if cached.exists() else True


async def test_a_server_failure_while_signing_in_is_not_called_a_wrong_password(api, fault_lake):
    # PostgreSQL gone: Rucio's /auth/userpass answers 500, its client raises what it raises for a 401
    home, _ = fault_lake
    os.kill(home.load_state()["postgres"]["pid"], signal.SIGKILL)
    try:
        status, body = await api("instances")
        [demo] = body["instances"]
        assert demo["status"] == "rucio_failed" and demo["reachable"] is True, demo
        status, body = await api("search", q="opendata:GamGam")
        assert status == 502 and body["error"] == "rucio_failed"
        message = body["message"]
        assert "HTTP 500" in message and "not your credential" in message and "administrators" in message
        assert "rejected" not in message
    finally:
        lake_up(home, log=lambda *_: None)
    # every worker of Rucio's server answers again, none from a connection that died with PostgreSQL
    for _ in range(3 * (os.cpu_count() or 1)):
        status, body = await api("search", q="opendata:GamGam")
        assert status == 200 and body["items"], body


async def test_rucio_answers_at_once_after_its_database_was_killed_and_the_lake_brought_up(api, fault_lake):
    # nothing asks Rucio while PostgreSQL is gone: its workers still hold the connections that died with it
    home, _ = fault_lake
    status, _ = await api("search", q="opendata:GamGam")
    assert status == 200
    os.kill(home.load_state()["postgres"]["pid"], signal.SIGKILL)
    lake_up(home, log=lambda *_: None)
    for _ in range(3 * (os.cpu_count() or 1)):
        status, body = await api("dids", "opendata", "GamGam.Data")
        assert status == 200 and body["length"] == 4, body


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs with room for one GamGam data file (3.7 MB at --size small), not two (mounted with size=5m)."""
    import shutil
    import subprocess

    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()

    def mount(options):
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(disk)], check=True)

    yield disk, mount
    subprocess.run(["umount", str(disk)], check=False)


def lakes_on(fault_lake, cache_dir, tmp_path):
    from jupyterlab_odlake.core import LakeService
    from jupyterlab_odlake.core.config import InstanceConfig

    home, state = fault_lake
    secrets = tmp_path / "secrets-disk"
    secrets.mkdir(exist_ok=True)
    config = InstanceConfig.from_dict(instance_config(home, state, secrets))
    # one file at a time, so that the first fits whole and the next meets the full disk
    return LakeService([config], cache_dir=cache_dir, state_dir=tmp_path / "state-disk", parallel_transfers=1)


def finish(lakes, did):
    import time

    from jupyterlab_odlake.core import DID

    record = lakes.start_download(DID.parse(did))
    deadline = time.monotonic() + 60
    while (record := lakes.transfer("download", record.id)).active and time.monotonic() < deadline:
        time.sleep(0.05)
    return record


def test_a_full_cache_disk_is_said_and_leaves_only_whole_files(fault_lake, small_disk, tmp_path):
    from jupyterlab_odlake.core import DID

    disk, mount = small_disk
    mount("size=5m")
    lakes = lakes_on(fault_lake, disk / "cache", tmp_path)
    try:
        record = finish(lakes, "opendata:GamGam.Data")
        assert record.state == "failed", record
        assert any("disk is full" in e and "Nothing partial was kept" in e for e in record.errors), record.errors
        assert not list(disk.rglob("*.part"))
        names = [f"data_{p}.GamGam.root" for p in "ABCD"]
        kept = [n for n in names if (disk / "cache" / "opendata" / n).exists()]
        assert len(kept) == len(record.paths) >= 1
        assert all(lakes.cache.has(DID("opendata", n), None, None) for n in kept)  # what is there is whole
    finally:
        lakes.close()


def test_a_read_only_cache_is_said_at_first_use(fault_lake, small_disk, tmp_path):
    disk, mount = small_disk
    mount("size=1m,ro")
    lakes = lakes_on(fault_lake, disk / "cache", tmp_path)
    try:
        record = finish(lakes, "opendata:data_A.GamGam.root")
        assert record.state == "failed"
        assert any("cannot be written (Read-only file system)" in e for e in record.errors), record.errors
    finally:
        lakes.close()
