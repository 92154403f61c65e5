"""Uploads into the lake, against the real demo lake: a user's own account and scope, Rucio's
own upload (UploadClient), the lake's user disk; and every refusal a user meets, each one
sentence with nothing half-registered."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from jupyterlab_odlake.core import DID
from jupyterlab_odlake.core.config import InstanceConfig
from jupyterlab_odlake.core.errors import AccessDenied, InvalidRequest, OdlakeError
from jupyterlab_odlake.core.service import LakeService
from jupyterlab_odlake.kernel import api, backends
from jupyterlab_odlake.lake.home import USERDISK_RSE
from jupyterlab_odlake.lake.users import add_user

SAMPLE = "data_A.GamGam.root"


def user_instance(lake, tmp_path: Path, name: str) -> LakeService:
    """odlake as a lake user ``name`` signs in: their own account, password file and scope."""
    home, state = lake
    secret = tmp_path / f"{name}.password"
    if not secret.exists():
        add_user(home, name, credential_file=str(secret))
    config = InstanceConfig(
        name=name,
        rucio_host=state["rucio"]["url"],
        account=name,
        username=name,
        password_file=str(secret),
        mounts={USERDISK_RSE: str(home.user_storage)},
        upload_rse=USERDISK_RSE,
    )
    return LakeService([config], cache_dir=tmp_path / f"cache-{name}", state_dir=tmp_path / f"state-{name}")


def upload(service: LakeService, paths, dataset: DID, rse=None, metadata=None):
    """The kernel's upload in a process without a Jupyter server: checked, started as a job, followed."""
    backends._backend = service
    try:
        return api.upload([str(p) for p in paths], dataset, rse, metadata, progress=False)
    finally:
        backends.reset()


@pytest.fixture(scope="module")
def results(lake, tmp_path_factory):
    """Two result files a user made: a copy of a sample (a ROOT file) and a histogram text file."""
    home, _ = lake
    folder = tmp_path_factory.mktemp("results")
    shutil.copyfile(home.http_storage / "opendata" / SAMPLE, folder / "skim.root")
    (folder / "mass.txt").write_text("125.0 2.5\n")
    return folder


def test_two_files_go_up_into_a_new_dataset_with_metadata_and_come_back_identical(lake, tmp_path, results):
    ulla = user_instance(lake, tmp_path, "ulla")
    dataset = DID("user.ulla", "hyy.skim")
    done = upload(ulla, [results / "skim.root", results / "mass.txt"], dataset, metadata={"channel": "GamGam"})
    assert {f["did"] for f in done.uploaded} == {"user.ulla:skim.root", "user.ulla:mass.txt"}
    assert done.rse == USERDISK_RSE and done.state == "done" and done.files_done == 2
    assert done.bytes_done == done.bytes_total == done.bytes_moved == sum(f.stat().st_size for f in results.iterdir())
    assert [t.id for t in ulla.transfers("upload")] == [done.id]  # an upload in a kernel is a job like any other
    # found by a search with a metadata filter, in the user's scope
    found = ulla.search("user.ulla:*", did_type="dataset", filters="channel=GamGam")
    assert [d.did for d in found.items] == ["user.ulla:hyy.skim"]
    # read back in place, byte for byte, and by uproot as the sample it came from
    where = {f.name: f for f in ulla.locations(dataset, "mounted")}
    assert Path(where["mass.txt"].location).read_text() == "125.0 2.5\n"
    assert Path(where["skim.root"].location).read_bytes() == (results / "skim.root").read_bytes()
    import uproot

    back = uproot.open(where["skim.root"].location)["mini"]["photon_pt"].array()
    original = uproot.open(results / "skim.root")["mini"]["photon_pt"].array()
    assert back.tolist() == original.tolist()


def test_a_file_of_that_name_with_other_content_is_refused_and_the_first_stays(lake, tmp_path, results):
    ulla = user_instance(lake, tmp_path, "uma")
    dataset = DID("user.uma", "notes")
    upload(ulla, [results / "mass.txt"], dataset)
    again = upload(ulla, [results / "mass.txt"], DID("user.uma", "notes.again"))  # the same file, attached again
    assert (again.state, again.bytes_done, again.bytes_moved) == ("done", (results / "mass.txt").stat().st_size, 0)
    other = tmp_path / "other"
    other.mkdir()
    (other / "mass.txt").write_text("126.0 2.0\n")
    with pytest.raises(InvalidRequest, match=r"exists in user\.uma already, with other content"):
        upload(ulla, [other / "mass.txt"], DID("user.uma", "notes2"))
    where = ulla.locations(dataset, "mounted")
    assert Path(where[0].location).read_text() == "125.0 2.5\n"


def test_another_users_scope_is_refused_and_nothing_is_registered(lake, tmp_path, results, rucio_client):
    ulla = user_instance(lake, tmp_path, "ulf")
    with pytest.raises(AccessDenied, match="may not write to the scope opendata"):
        upload(ulla, [results / "mass.txt"], DID("opendata", "ulfs.results"))
    assert not list(rucio_client.list_dids("opendata", {"name": "ulfs.results"}))
    assert not list(rucio_client.list_dids("opendata", {"name": "mass.txt"}, did_type="file"))
    assert not on_storage(lake, "opendata", "mass.txt")  # nor any byte on the RSE


def test_an_upload_rucio_ends_without_a_word_still_says_what_to_do():
    from jupyterlab_odlake.core.rucio.upload import _refusal

    said = _refusal([], DID("user.u", "d"), USERDISK_RSE).message
    assert "failed without a reason from Rucio" in said and "retry" in said


def on_storage(lake, scope: str, name: str) -> list[Path]:
    """What the user disk holds of ``scope:name``, its temporary upload files too."""
    home, _ = lake
    return [p for p in home.user_storage.rglob(f"{name}*") if scope.replace(".", "/") in str(p) or scope in str(p)]


def test_a_used_up_quota_is_said_and_nothing_is_kept(lake, tmp_path, results, rucio_client):
    ulla = user_instance(lake, tmp_path, "una")
    rucio_client.set_local_account_limit("una", USERDISK_RSE, 10)  # ten bytes
    with pytest.raises(AccessDenied, match="quota on ODLAKE_USERDISK is used up"):
        upload(ulla, [results / "skim.root"], DID("user.una", "big"))
    assert not list(rucio_client.list_replicas([{"scope": "user.una", "name": "skim.root"}]))
    assert not on_storage(lake, "user.una", "skim.root")


def test_an_rse_that_takes_no_writes_and_an_empty_selection_are_refused(lake, tmp_path, results):
    ulla = user_instance(lake, tmp_path, "uwe")
    with pytest.raises(OdlakeError) as refused:
        upload(ulla, [results / "mass.txt"], DID("user.uwe", "x"), rse="ODLAKE_HTTP")
    assert "ODLAKE_HTTP" in refused.value.message
    with pytest.raises(InvalidRequest, match="at least one file"):
        upload(ulla, [], DID("user.uwe", "x"))


async def test_the_server_uploads_only_files_under_its_root(api, jp_root_dir, tmp_path, lake):
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    os.symlink(outside, jp_root_dir / "link.txt")
    (jp_root_dir / "mine.txt").write_text("a result\n")
    for path in ("../secret.txt", str(outside), "link.txt"):
        status, body = await api("uploads", method="POST", body={"paths": [path], "dataset": "user.root:x"})
        assert status == 400 and "outside the Jupyter root directory" in body["message"], (path, body)
    os.link(jp_root_dir / "mine.txt", jp_root_dir / "also-mine.txt")  # its other name could be anywhere
    status, body = await api("uploads", method="POST", body={"paths": ["also-mine.txt"], "dataset": "user.root:x"})
    assert status == 400 and "is a hard link" in body["message"], body
    status, body = await api("uploads", method="POST", body={"paths": ["a\u0000b"], "dataset": "user.root:x"})
    assert status == 400 and "NUL character" in body["message"], body
    status, body = await api("uploads", method="POST", body={"paths": [], "dataset": "user.root:x"})
    assert status == 400 and "at least one file" in body["message"]


async def finished(api, record: dict) -> dict:
    """The upload's record once it has ended, polled as the panel does."""
    import asyncio

    for _ in range(600):
        if record["state"] != "running":
            return record
        await asyncio.sleep(0.1)
        status, record = await api("uploads", record["id"])
        assert status == 200, record
    raise AssertionError(f"the upload {record['id']} did not end")


@pytest.fixture
def root_scope(rucio_client):
    from rucio.common.exception import Duplicate

    try:
        rucio_client.add_scope("root", "user.root")
    except Duplicate:
        pass
    return "user.root"


async def test_a_file_under_the_root_goes_up_through_the_server(api, jp_root_dir, rucio_client, lake, root_scope):
    (jp_root_dir / "results").mkdir()
    (jp_root_dir / "results" / "fit.txt").write_text("mass 125.1\n")
    request = {
        "paths": ["results/fit.txt"],
        "dataset": "user.root:fits",
        "rse": USERDISK_RSE,
        "metadata": {"channel": "GamGam"},
    }
    status, started = await api("uploads", method="POST", body=request)
    assert status == 202 and started["files_total"] == 1 and started["bytes_total"] == 11, started
    done = await finished(api, started)
    assert done["state"] == "done" and done["bytes_done"] == 11 and done["files_done"] == 1, done
    assert done["rse"] == USERDISK_RSE and [f["did"] for f in done["uploaded"]] == ["user.root:fit.txt"]
    assert rucio_client.get_metadata("user.root", "fits", plugin="JSON").get("channel") == "GamGam"
    status, listed = await api("uploads")
    assert done["id"] in [u["id"] for u in listed["uploads"]]
    # a refusal found before anything is written is the answer to the POST: nothing is queued
    (jp_root_dir / "other").mkdir()
    (jp_root_dir / "other" / "fit.txt").write_text("mass 126.0\n")
    body = {"paths": ["other/fit.txt"], "dataset": "user.root:fits2", "rse": USERDISK_RSE}
    status, refused = await api("uploads", method="POST", body=body)
    assert status == 400 and "exists in user.root already, with other content" in refused["message"], refused
    status, after = await api("uploads")
    assert len(after["uploads"]) == len(listed["uploads"])


async def test_the_bytes_that_go_up_are_those_of_the_file_that_was_checked(
    api, jp_root_dir, tmp_path, rucio_client, lake, root_scope
):
    """The names are swapped for a symlink to a secret while the first, big file goes: Rucio still reads
    the files that were checked (each opened once, when the upload was asked for)."""
    from rucio.common.checksum import adler32

    secret = tmp_path / "shadow"
    secret.write_text("root:$6$not-for-the-lake\n")
    (jp_root_dir / "swap").mkdir()
    (jp_root_dir / "swap" / "big.bin").write_bytes(os.urandom(48 * 2**20))
    small = jp_root_dir / "swap" / "small.txt"
    small.write_text("mass 125.09\n")
    expected = adler32(str(small))
    body = {"paths": ["swap/big.bin", "swap/small.txt"], "dataset": "user.root:swapped", "rse": USERDISK_RSE}
    status, started = await api("uploads", method="POST", body=body)
    assert status == 202, started
    small.unlink()
    small.symlink_to(secret)
    done = await finished(api, started)
    assert done["state"] == "done" and done["files_done"] == 2, done
    stored = rucio_client.get_metadata("user.root", "small.txt")
    assert stored["adler32"].lstrip("0") == expected.lstrip("0") and stored["bytes"] == 12, stored


@pytest.mark.parametrize(
    "metadata, refusal",
    [
        ({"bytes": 1}, "kept by Rucio itself"),
        ({"Name": "x"}, "kept by Rucio itself"),
        ({"is_open": False}, "kept by Rucio itself"),
        ({"expired_at": "2030-01-01"}, "kept by Rucio itself"),
        ({"xsec": float("nan")}, "finite number"),
        ({"xsec": float("inf")}, "finite number"),
        ({"channel": ["a"]}, "must be text"),
        ({"channel": "a\0b"}, "NUL character"),
        ({"": 1}, "is not a metadata key"),
    ],
)
def test_metadata_rucio_would_refuse_after_the_files_went_is_refused_before(metadata, refusal):
    from jupyterlab_odlake.core.rucio.upload import check_metadata

    with pytest.raises(InvalidRequest, match=refusal):
        check_metadata(metadata)
    check_metadata({"channel": "GamGam", "xsec": 1.5, "dsid": 343981, "data": False, "note": None})


async def test_an_upload_with_metadata_rucio_keeps_itself_sends_nothing(
    api, jp_root_dir, rucio_client, lake, root_scope
):
    (jp_root_dir / "kept.txt").write_text("a result\n")
    body = {"paths": ["kept.txt"], "dataset": "user.root:kept", "rse": USERDISK_RSE, "metadata": {"length": 3}}
    status, refused = await api("uploads", method="POST", body=body)
    assert status == 400 and "kept by Rucio itself" in refused["message"], refused
    assert not list(rucio_client.list_dids("user.root", {"name": "kept*"}))


async def test_a_cancelled_upload_stops_after_the_file_in_flight_and_keeps_only_whole_files(
    api, jp_root_dir, rucio_client, lake, root_scope, monkeypatch
):
    """The first file is held in Rucio's upload until the cancel has been asked: it ends whole and
    registered, the second is never sent, and the record says cancelled."""
    import asyncio
    import threading

    from jupyterlab_odlake.core.rucio import upload as core_upload

    in_rucio, cancelled = threading.Event(), threading.Event()
    send_one = core_upload._upload_file

    def held(*args, **kwargs):
        in_rucio.set()
        if not cancelled.wait(30):
            raise AssertionError("the cancel never came")
        return send_one(*args, **kwargs)

    monkeypatch.setattr(core_upload, "_upload_file", held)
    for name in ("first.txt", "second.txt"):
        (jp_root_dir / name).write_text(f"{name}\n")
    body = {"paths": ["first.txt", "second.txt"], "dataset": "user.root:cut.short", "rse": USERDISK_RSE}
    status, started = await api("uploads", method="POST", body=body)
    assert status == 202, started
    for _ in range(300):
        if in_rucio.is_set():
            break
        await asyncio.sleep(0.05)
    status, record = await api("uploads", started["id"], method="DELETE")
    assert status == 200 and record["current"] == "first.txt", record
    cancelled.set()
    done = await finished(api, record)
    assert done["state"] == "cancelled" and done["files_done"] == 1, done
    names = sorted(f["name"] for f in rucio_client.list_files("user.root", "cut.short"))
    assert names == ["first.txt"]
    assert not list(rucio_client.list_replicas([{"scope": "user.root", "name": "second.txt"}]))
    status, missing = await api("uploads", "nope")
    assert status == 404 and "no upload 'nope'" in missing["message"]


async def test_a_kernel_uploads_through_its_server_and_waits_for_the_end(
    jp_fetch, jp_serverapp, jp_http_port, jp_base_url, jp_root_dir, root_scope, lake
):
    """The kernel's way (its server's REST API): the POST starts the upload, the kernel polls it to its end."""
    import asyncio

    # the server that jp_fetch reaches (the test's loop serves it while the kernel's call runs on a thread)
    server = backends.ServerService(
        f"http://127.0.0.1:{jp_http_port}{jp_base_url}", jp_serverapp.identity_provider.token
    )
    (jp_root_dir / "kernel.txt").write_text("from a kernel\n")
    backends._backend = server
    try:
        record = await asyncio.to_thread(
            api.upload, [str(jp_root_dir / "kernel.txt")], "user.root:kernel.out", USERDISK_RSE, progress=False
        )
    finally:
        backends.reset()
    assert record.state == "done" and [f["did"] for f in record.uploaded] == ["user.root:kernel.txt"], record
