"""Uploads cut short by a part of the lake failing, on the fault lake: Rucio's server or its database
killed while an upload runs. The upload ends with its reason; the same upload posted again once the
lake is back finishes the job (what is registered is attached, the rest uploaded), and nothing of the
cut attempt stays behind on the storage."""

from __future__ import annotations

import os
import signal
import time
import uuid
import zlib
from pathlib import Path

import pytest
from conftest import instance_config
from support import root_client

from jupyterlab_odlake.core import DID
from jupyterlab_odlake.core.config import InstanceConfig
from jupyterlab_odlake.core.records import TransferRecord
from jupyterlab_odlake.core.service import LakeService
from jupyterlab_odlake.lake.home import USERDISK_RSE
from jupyterlab_odlake.lake.manager import up as lake_up

SCOPE = "user.root"  # the demo account's own scope


@pytest.fixture
def service(fault_lake, tmp_path):
    home, state = fault_lake
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    config = InstanceConfig.from_dict(instance_config(home, state, secrets))
    service = LakeService([config], cache_dir=tmp_path / "cache", state_dir=tmp_path / "state")
    yield service
    service.close()


def adler32(path: Path) -> str:
    value = 1
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            value = zlib.adler32(chunk, value)
    return f"{value:08x}"


def results(folder: Path) -> list[Path]:
    """A small result and a big one (240 MB), so that Rucio's upload is still busy with the second when it
    is cut: its checksums alone take a while."""
    tag = uuid.uuid4().hex[:8]  # names a scope holds once: each test its own
    small, big = folder / f"summary.{tag}.txt", folder / f"skim.{tag}.bin"
    small.write_text(f"{uuid.uuid4()}\n")
    block = os.urandom(1 << 20)
    with big.open("wb") as f:
        for i in range(240):
            f.write(block[i:] + block[:i])
    return [small, big]


def follow(service: LakeService, record: TransferRecord, until=lambda r: not r.active, timeout=300) -> TransferRecord:
    deadline = time.monotonic() + timeout
    while not until(record := service.transfer("upload", record.id)):
        assert record.active and time.monotonic() < deadline, (record.state, record.errors)
        time.sleep(0.01)
    return record


def leftovers(home) -> list[Path]:
    return sorted(home.user_storage.rglob("*.rucio.upload"))


def written_at(client, did: str) -> Path:
    """Where an upload of ``did`` to the user disk writes it."""
    [pfn] = client.lfns2pfns(USERDISK_RSE, [did], operation="write").values()
    return Path(pfn.removeprefix("file://"))


def in_the_lake(home, dataset: DID) -> dict[str, str]:
    """The dataset's files as Rucio lists them, name → adler32, each with an available copy on the user disk."""
    client = root_client(home)
    files = {f["name"]: f["adler32"] for f in client.list_files(dataset.scope, dataset.name)}
    for replica in client.list_replicas([{"scope": dataset.scope, "name": n} for n in files], all_states=True):
        assert replica["states"].get(USERDISK_RSE) == "AVAILABLE", replica
    return files


@pytest.mark.parametrize("killed", ["rucio", "postgres"])
def test_an_upload_cut_by_a_dead_part_of_the_lake_says_why_and_posting_it_again_finishes_it(
    fault_lake, service, tmp_path, killed
):
    home, _ = fault_lake
    paths = results(tmp_path)
    dataset = DID(SCOPE, f"cut.{killed}.{uuid.uuid4().hex[:8]}")
    record = service.start_upload([str(p) for p in paths], dataset)
    # the first file is in the lake, the second on its way: the part is killed with all it forked
    follow(service, record, until=lambda r: r.files_done == 1 and r.current == paths[1].name)
    os.killpg(os.getpgid(home.load_state()[killed]["pid"]), signal.SIGKILL)
    try:
        cut = follow(service, record)
        assert cut.state == "failed" and cut.files_done == 1, cut
        [reason] = cut.errors
        assert paths[1].name in reason or "Rucio" in reason, reason
        assert "no reason" not in reason, reason
    finally:
        lake_up(home, log=lambda *_: None)
    again = follow(service, service.start_upload([str(p) for p in paths], dataset))
    assert again.state == "done" and again.files_done == 2 and not again.errors, again
    assert in_the_lake(home, dataset) == {p.name: adler32(p) for p in paths}
    assert not leftovers(home), leftovers(home)


def test_bytes_a_cut_upload_left_on_the_storage_without_a_did_are_replaced_by_the_retry(fault_lake, service, tmp_path):
    # what Rucio's upload leaves when it is cut after the copy and before the registration
    home, _ = fault_lake
    [_, big] = results(tmp_path)
    dataset = DID(SCOPE, f"left.{uuid.uuid4().hex[:8]}")
    client = root_client(home)
    where = written_at(client, f"{SCOPE}:{big.name}")
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_bytes(b"the first 60 MB of an upload cut short")
    Path(f"{where}.rucio.upload").write_bytes(b"a temporary copy")
    done = follow(service, service.start_upload([str(big)], dataset))
    assert done.state == "done", done
    assert in_the_lake(home, dataset) == {big.name: adler32(big)}
    assert adler32(where) == adler32(big)
    assert not leftovers(home), leftovers(home)


def test_a_file_registered_without_a_copy_on_the_rse_goes_up_again_rather_than_being_only_attached(
    fault_lake, service, tmp_path
):
    # the scope holds the name with the same content, but no copy of it is on the user disk (its only one is
    # elsewhere, or the upload was cut before the copy was added): attached alone, the dataset would hold a
    # file its rule can never bring there
    home, _ = fault_lake
    [small, big] = results(tmp_path)
    client = root_client(home)
    client.add_replicas(
        "ODLAKE_LOCAL", [{"scope": SCOPE, "name": big.name, "bytes": big.stat().st_size, "adler32": adler32(big)}]
    )
    where = written_at(client, f"{SCOPE}:{big.name}")
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_bytes(b"bytes of an earlier cut upload")
    dataset = DID(SCOPE, f"elsewhere.{uuid.uuid4().hex[:8]}")
    done = follow(service, service.start_upload([str(small), str(big)], dataset))
    assert done.state == "done" and done.files_done == 2, done
    assert in_the_lake(home, dataset) == {small.name: adler32(small), big.name: adler32(big)}
    assert adler32(where) == adler32(big)


def test_a_file_that_grows_while_it_goes_up_is_refused_and_nothing_of_it_stays(fault_lake, service, tmp_path):
    # a result still being written: what Rucio copies is not what it checksummed, nor what odlake checked
    import threading

    home, _ = fault_lake
    [_, big] = results(tmp_path)
    stop = threading.Event()

    def write_on():
        with big.open("ab") as f:
            while not stop.is_set():
                f.write(os.urandom(1 << 16))
                f.flush()
                time.sleep(0.001)

    dataset = DID(SCOPE, f"growing.{uuid.uuid4().hex[:8]}")
    record = service.start_upload([str(big)], dataset)
    writer = threading.Thread(target=write_on)
    writer.start()
    try:
        ended = follow(service, record)
    finally:
        stop.set()
        writer.join()
    assert ended.state == "failed", ended
    [reason] = ended.errors
    assert big.name in reason and "changed while it was uploaded" in reason, reason
    client = root_client(home)
    assert not list(client.list_dids(SCOPE, {"name": big.name}))
    where = written_at(client, f"{SCOPE}:{big.name}")
    assert not where.exists() and not leftovers(home), leftovers(home)
