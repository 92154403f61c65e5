"""Pages of closed datasets from their index on disk, without a lake: a stand-in Rucio counts what is asked of it."""

import os
import stat
import threading
import time

import pytest

from jupyterlab_odlake.core.config import InstanceConfig
from jupyterlab_odlake.core.did import DID
from jupyterlab_odlake.core.errors import InvalidRequest, Unreachable
from jupyterlab_odlake.core.rucio.file_index import FileIndex
from jupyterlab_odlake.core.rucio.instance import Instance

DATASET = DID("opendata", "big")


class Rucio:
    """What odlake asks of Rucio for a file listing: a dataset's record (DID_COLUMN) and its files, in its order."""

    def __init__(self):
        self.files, self.records = {}, {}
        self.listed, self.full_reads, self.rows_read = 0, 0, 0
        self.fail_after = None  # rows after which a listing breaks off
        self.pause = None  # an event a listing waits for after its first row
        self.closes = 0
        self.asked = []  # rucio-clients' calls, in order

    def add(self, name, count, closed=True):
        self.files[name] = [
            {"scope": "opendata", "name": f"{name}.f{i:05d}.root", "bytes": 1000 + i, "adler32": f"{i:08x}"}
            for i in range(count)
        ]
        self.records[name] = {"did_type": "DATASET", "is_open": True, "closed_at": None}
        if closed:
            self.close(name)

    def close(self, name):
        self.closes += 1
        files = self.files[name]
        self.records[name] = {
            "did_type": "DATASET",
            "is_open": False,
            "closed_at": f"Mon, 01 Dec 2025 10:00:{self.closes:02d} UTC",
            "length": len(files),
            "bytes": sum(f["bytes"] for f in files),
        }

    def reopen(self, name):
        self.records[name] = dict(self.records[name], is_open=True)

    def detach(self, name, index):  # Rucio lets a closed dataset lose files (its undertaker does so)
        gone = self.files[name].pop(index)
        record = self.records[name]
        self.records[name] = dict(record, length=record["length"] - 1, bytes=record["bytes"] - gone["bytes"])

    # -- rucio-clients' calls --
    def get_metadata(self, scope, name, plugin="DID_COLUMN"):
        assert plugin == "DID_COLUMN"
        self.asked.append("get_metadata")
        return dict(self.records[name], scope=scope, name=name)

    def get_did(self, scope, name, dynamic_depth=None):
        self.asked.append("get_did")
        record = self.records[name]
        return {"type": "DATASET", "open": record["is_open"], "length": record.get("length")}

    def list_dataset_replicas(self, scope, name, deep=False):
        self.asked.append("list_dataset_replicas")
        length = len(self.files[name])
        return [{"rse": "DISK", "state": "AVAILABLE", "length": length, "available_length": length}]

    def list_files(self, scope, name):
        self.asked.append("list_files")
        self.listed += 1
        rows = list(self.files[name])
        for i, row in enumerate(rows):
            if self.fail_after is not None and i >= self.fail_after:
                raise Unreachable("Rucio broke off its answer")  # as Connection.stream translates it
            if i == 1 and self.pause is not None:
                self.pause.wait(5)
            self.rows_read += 1
            yield row
        self.full_reads += 1


class Connection:
    """A stand-in for core.connection.Connection: calls go to ``Rucio``, nothing translated."""

    def __init__(self, rucio):
        self.rucio = rucio

    def call(self, operation, what=""):
        return operation(self.rucio)

    def stream(self, operation, what=""):
        yield from operation(self.rucio)


@pytest.fixture
def rucio():
    lake = Rucio()
    lake.add("big", 2345)
    return lake


def instance_on(rucio, tmp_path, **index):
    instance = Instance(InstanceConfig(name="t", rucio_host="https://rucio.example"), tmp_path / "tokens")
    instance.connection = Connection(rucio)
    if index:
        instance.file_index = FileIndex(instance.file_index.directory, instance.file_index.origin, **index)
    return instance


@pytest.fixture
def instance(rucio, tmp_path):
    return instance_on(rucio, tmp_path)


def walk(instance, limit, did=DATASET, cursor=None):
    pages = []
    while True:
        page = instance.files(did, limit, cursor, availability=False)
        pages.append(page)
        cursor = page.next
        if cursor is None:
            return pages


def names(pages):
    return [f.name for p in pages for f in p.items]


def indexes(instance):
    directory = instance.file_index.directory
    return sorted(p.name for p in directory.glob("*.sqlite")) if directory.exists() else []


@pytest.mark.parametrize("limit", [1000, 100, 33])
def test_pages_from_the_index_are_the_pages_from_the_stream(rucio, tmp_path, limit):
    rucio.add("open", 2345, closed=False)  # the same files, read from the stream at every page
    closed, streamed = (
        walk(instance_on(rucio, tmp_path), limit),
        walk(instance_on(rucio, tmp_path), limit, DID("opendata", "open")),
    )
    assert [[f.name.split(".", 1)[1] for f in p.items] for p in closed] == [
        [f.name.split(".", 1)[1] for f in p.items] for p in streamed
    ]
    assert [f.bytes for p in closed for f in p.items] == [f["bytes"] for f in rucio.files["big"]]
    assert [f.adler32 for p in closed for f in p.items] == [f["adler32"] for f in rucio.files["big"]]
    assert closed[-1].total == streamed[-1].total == 2345
    assert [p.total for p in closed[1:]] == [2345] * (len(closed) - 1)  # the index knows the count


def test_a_walk_reads_the_stream_once_in_full_and_each_page_by_its_rows(rucio, instance):
    pages = walk(instance, 100)
    assert names(pages) == [f["name"] for f in rucio.files["big"]]
    # the first page as before any index (101 rows), then one read of all into the index; no other
    assert rucio.listed == 2 and rucio.full_reads == 1 and rucio.rows_read == 101 + 2345
    assert len(indexes(instance)) == 1
    # a second walk, and any page by its offset, reads nothing of the stream
    assert names(walk(instance, 1000)) == names(pages)
    for offset in (0, 1, 999, 2344, 2345, 9999, 10**20):
        page = instance.files(DATASET, 10, offset=offset, availability=False)
        assert [f.name for f in page.items] == names(pages)[offset : offset + 10] and page.total == 2345
        assert (page.next is None) == (offset + 10 >= 2345)
    assert rucio.listed == 2


def test_a_first_look_builds_nothing(rucio, instance):
    page = instance.files(DATASET, 100, availability=False)
    assert len(page.items) == 100 and page.total is None and page.next
    assert rucio.rows_read == 101 and indexes(instance) == []
    small = instance.files(DATASET, 1000, offset=2000, availability=False)  # a later page does
    assert len(small.items) == 345 and small.total == 2345 and len(indexes(instance)) == 1


def test_cursors_go_on_from_the_stream_to_the_index_and_back(rucio, instance):
    every = [f["name"] for f in rucio.files["big"]]
    first = instance.files(DATASET, 500, availability=False)  # from the stream
    second = instance.files(DATASET, 500, first.next, availability=False)  # from the index
    assert [f.name for f in first.items + second.items] == every[:1000]
    rucio.reopen("big")  # from here the stream again
    third = instance.files(DATASET, 500, second.next, availability=False)
    assert [f.name for f in third.items] == every[1000:1500] and third.total is None
    assert indexes(instance) == []  # the index of a dataset seen open is removed


def test_a_reopened_and_changed_dataset_is_not_served_from_its_index(rucio, instance):
    before = names(walk(instance, 1000))
    rucio.reopen("big")
    assert names(walk(instance, 1000)) == before and indexes(instance) == []  # the stream's answer
    rucio.files["big"][1500] = dict(rucio.files["big"][1500], name="big.replaced.root")  # same length and bytes
    rucio.close("big")
    assert names(walk(instance, 1000))[1500] == "big.replaced.root"  # closed again: a new index


def test_a_changed_record_is_seen_even_without_the_dataset_seen_open(rucio, instance):
    walk(instance, 1000)
    rucio.files["big"][10] = dict(rucio.files["big"][10], name="big.other.root")
    rucio.close("big")  # reopened, changed and closed again between two pages: closed_at differs
    assert names([instance.files(DATASET, 20, offset=1, availability=False)])[9] == "big.other.root"
    rucio.detach("big", 0)  # a file detached from the closed dataset: length and bytes differ
    page = instance.files(DATASET, 20, offset=1, availability=False)
    assert page.total == 2344 and page.items[8].name == "big.other.root"


def test_an_index_older_than_its_age_is_built_again(rucio, tmp_path):
    instance = instance_on(rucio, tmp_path, max_age=0.5)
    walk(instance, 1000)
    assert rucio.full_reads == 1
    time.sleep(0.6)
    instance.files(DATASET, 1000, offset=1000, availability=False)
    assert rucio.full_reads == 2


def test_two_threads_asking_at_once_build_once(rucio, instance):
    rucio.pause = threading.Event()
    pages, errors = [], []

    def ask(offset):
        try:
            pages.append(instance.files(DATASET, 100, offset=offset, availability=False))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=ask, args=(o,)) for o in (1000, 2000)]
    for t in threads:
        t.start()
    time.sleep(0.3)  # both are in: one reads the stream, one waits for its index
    rucio.pause.set()
    for t in threads:
        t.join(10)
    assert not errors and len(pages) == 2
    assert rucio.listed == 1 and rucio.full_reads == 1
    every = [f["name"] for f in rucio.files["big"]]
    assert sorted(p.items[0].name for p in pages) == [every[1000], every[2000]]


def test_an_index_cut_off_mid_build_is_never_used(rucio, instance):
    rucio.fail_after = 1500
    with pytest.raises(Unreachable):
        instance.files(DATASET, 100, offset=1000, availability=False)
    directory = instance.file_index.directory
    assert indexes(instance) == [] and list(directory.glob("*.building")) == []
    # a process killed mid-build leaves its file; a file cut short in the index's place is not one
    path = instance.file_index.path(DATASET)
    (directory / f"{path.stem}.999.dead.building").write_bytes(b"half")
    path.write_bytes(b"SQLite format 3\0" + b"\0" * 100)
    rucio.fail_after = None
    page = instance.files(DATASET, 100, offset=1000, availability=False)
    assert [f.name for f in page.items] == [f["name"] for f in rucio.files["big"][1000:1100]]
    assert rucio.full_reads == 1 and list(directory.glob("*.building")) == []


def test_a_listing_that_disagrees_with_its_record_gives_no_index(rucio, instance):
    rucio.files["big"].pop()  # the record says one file more than the listing gives
    page = instance.files(DATASET, 100, offset=1000, availability=False)
    assert len(page.items) == 100 and indexes(instance) == []  # read from the stream


def test_the_index_is_private_to_its_user(rucio, instance):
    directory = instance.file_index.directory
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)  # made under another umask
    old = os.umask(0o022)
    try:
        walk(instance, 1000)
    finally:
        os.umask(old)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = list(directory.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_the_least_recently_used_indexes_go_beyond_the_cap(rucio, tmp_path):
    for name in ("a", "b", "c"):
        rucio.add(name, 1500)
    instance = instance_on(rucio, tmp_path, max_indexes=2)
    for name in ("a", "b"):
        instance.files(DID("opendata", name), 1000, offset=1000, availability=False)
    time.sleep(0.01)
    instance.files(DID("opendata", "a"), 1000, offset=1000, availability=False)  # used again: b is the oldest
    instance.files(DID("opendata", "c"), 1000, offset=1000, availability=False)
    kept = {instance.file_index.path(DID("opendata", n)).name for n in ("a", "c")}
    assert set(indexes(instance)) == kept


def test_a_dataset_too_large_for_the_cap_is_read_from_the_stream(rucio, tmp_path):
    instance = instance_on(rucio, tmp_path, max_bytes=50_000)
    assert names(walk(instance, 1000)) == [f["name"] for f in rucio.files["big"]]
    assert indexes(instance) == []


def test_bad_cursors_are_refused_before_any_build(rucio, instance):
    with pytest.raises(InvalidRequest, match="not one this server gave out"):
        instance.files(DATASET, 100, "garbage", availability=False)
    assert rucio.listed == 0 and indexes(instance) == []


def test_an_index_damaged_on_disk_is_passed_over_and_built_again(rucio, instance):
    walk(instance, 1000)
    path = instance.file_index.path(DATASET)
    data = bytearray(path.read_bytes())
    data[-8192:] = b"\xff" * 8192  # the last pages of its rows
    path.write_bytes(bytes(data))
    every = [f["name"] for f in rucio.files["big"]]
    assert [f.name for f in instance.files(DATASET, 100, offset=2245, availability=False).items] == every[2245:]
    assert rucio.listed == 3 and indexes(instance) == []  # read from the stream; the damaged index is gone
    assert [f.name for f in instance.files(DATASET, 100, offset=1000, availability=False).items] == every[1000:1100]
    assert rucio.listed == 4 and len(indexes(instance)) == 1  # and built anew


def test_a_page_from_the_index_asks_rucio_for_the_record_and_the_copies_only(rucio, instance):
    first = instance.files(DATASET, 1000)
    second = instance.files(DATASET, 1000, first.next)  # builds the index
    rucio.asked.clear()
    third = instance.files(DATASET, 1000, second.next)
    assert rucio.asked == ["get_metadata", "list_dataset_replicas"]  # the record read once serves both
    assert len(third.items) == 345 and all(f.available and f.rses == ["DISK"] for f in third.items)
