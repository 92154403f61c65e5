"""The files of closed datasets, kept on disk in Rucio's order, so that any page of them costs only its own rows.

Rucio's ``list_files`` has no offset, so a page read from its stream reads every row before
it: paging through a dataset of N files reads N²/2 rows. A released dataset is closed in
Rucio and does not change, so its files are read once, in full, into an index on disk (one
SQLite file per dataset, in a private directory beside the tokens) and its pages are answered
by row number. Open datasets, containers and first pages go on being read from Rucio's
stream, as ``paging.stream_page`` does; a first page is read from an index only when one is
there already.

Never stale: each page asks Rucio for the dataset's record (one call) and uses the index
only when the dataset is closed and its stamp is the one the index was built under. The stamp
is when the dataset was closed, its length and its bytes: reopening, changing and closing
again gives a new ``closed_at``; a file detached from a closed dataset (Rucio allows it, and
its undertaker does so for expired files) lowers the length and bytes; a file's size set
anew changes the dataset's bytes. The one change Rucio makes without touching the dataset's
record is a file's adler32 set anew by an administrator; an index is rebuilt after
``max_age`` (a day) for that. An index is built only from a stream whose rows match the
stamp (count and bytes), read while the stamp stayed the same (asked before and after).

Built once: a build holds a lock on its dataset (a file lock: other threads and processes
of the same user wait, then find the index built), writes a file of its own and renames it
into place when complete, so an index is whole or absent. The directory holds at most
``max_indexes`` indexes and ``max_bytes`` of them (64 and 256 MB, or ODLAKE_FILE_INDEX_DATASETS
and ODLAKE_FILE_INDEX_MB; 0 MB: no index), the least recently used removed first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from ..did import DID
from ..records import FileEntry, Page
from ..transfers.filelock import locked
from .connection import Connection
from .paging import MAX_PAGE, Cursors, rows_page
from .search import did_type

_log = logging.getLogger(__name__)

FORMAT = 1  # of the index files; another format is not read (and is built again)
MAX_BYTES = 256 * 1024 * 1024  # about 2.5 million files' rows
MAX_INDEXES = 64
MAX_AGE = 24 * 3600.0
BYTES_ENV, INDEXES_ENV = "ODLAKE_FILE_INDEX_MB", "ODLAKE_FILE_INDEX_DATASETS"
BATCH = 1000  # rows read from the stream and written at a time
LEFTOVER_SECONDS = 3600.0  # a build file this old is a killed build's


@dataclass(frozen=True)
class Stamp:
    """What says a closed dataset is as it was: when it was closed, how many files, how many bytes."""

    closed_at: str
    length: int
    bytes: int | None


def stamp_of(record: dict[str, Any]) -> Stamp | None:
    """The stamp of a DID from its record in Rucio's DID table, when it is a closed dataset; else None."""
    if did_type(record.get("did_type")) != "dataset" or record.get("is_open") is not False:
        return None
    if not record.get("closed_at") or record.get("length") is None:
        return None
    size = record.get("bytes")
    return Stamp(str(record["closed_at"]), int(record["length"]), None if size is None else int(size))


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        _log.warning("%s is not a whole number; using %s", name, default)
        return default


class FileIndex:
    """The indexes of closed datasets of one Rucio instance (``origin``: its host and VO), in ``directory``."""

    def __init__(
        self,
        directory: Path,
        origin: Sequence[str],
        max_bytes: int | None = None,
        max_indexes: int | None = None,
        max_age: float = MAX_AGE,
    ):
        self.directory = Path(directory)
        self.origin = list(origin)
        self.max_bytes = _env_int(BYTES_ENV, MAX_BYTES // 2**20) * 2**20 if max_bytes is None else max_bytes
        self.max_indexes = _env_int(INDEXES_ENV, MAX_INDEXES) if max_indexes is None else max_indexes
        self.max_age = max_age

    @classmethod
    def beside(cls, token_dir: Path, origin: Sequence[str]) -> FileIndex:
        """The index of an instance whose tokens live in ``token_dir``: in the same state directory."""
        return cls(Path(token_dir).parent / "file-index", origin)

    def path(self, did: DID) -> Path:
        name = json.dumps([*self.origin, did.scope, did.name])
        return self.directory / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.sqlite"

    # -- a page -------------------------------------------------------------------------------
    def page(
        self,
        connection: Connection,
        did: DID,
        listing: str,
        limit: int,
        cursor: str | None,
        cursors: Cursors,
        offset: int,
        stream: Callable[[], Iterable[FileEntry]],
    ) -> Page[FileEntry] | None:
        """The page from the index of ``did``, built when missing; None when it is to be read from the stream.

        The first page (no cursor, no offset) builds no index: a look at a dataset costs what it
        did before (it is read from an index only when one is there already). ``stream`` gives
        the dataset's files in Rucio's order, for a build.
        """
        if self.max_bytes <= 0 or not 1 <= limit <= MAX_PAGE or offset < 0:
            return None  # the stream's way says what is wrong with the request
        path = self.path(did)
        first = cursor is None and offset == 0
        if first and not path.exists():
            return None
        if cursor:
            cursors.decode(cursor, listing)  # a cursor refused before any build, as the stream's way refuses it
        record = connection.call(lambda c: c.get_metadata(did.scope, did.name, plugin="DID_COLUMN"), f"reading {did}")
        stamp = stamp_of(record)
        if stamp is None:  # open (perhaps reopened), or not a dataset: its index is not to be read again
            if path.exists():
                self._drop(path)
            return None
        if stamp.length <= limit:  # any page is the whole stream's worth: nothing to gain
            return None
        reader = self._open(path, stamp)
        if reader is None and not first:
            reader = self._build(connection, did, path, stamp, stream)
        if reader is None:
            return None
        try:
            return rows_page(listing, reader.rows, reader.length, lambda f: f.did, limit, cursor, cursors, offset)
        except sqlite3.Error as e:  # a file damaged on disk: the stream serves, and the next page builds anew
            _log.warning("odlake: the file index of %s cannot be read (%s); reading Rucio's stream", did, e)
            self._drop(path)
            return None
        finally:
            reader.close()

    # -- reading ------------------------------------------------------------------------------
    def _open(self, path: Path, stamp: Stamp) -> _Reader | None:
        """The index at ``path`` when it is whole, of this format and stamp and not too old; else None."""
        try:
            db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        except sqlite3.Error:  # not there
            return None
        try:
            meta = db.execute("SELECT format, stamp, rows, built FROM meta").fetchone()
        except sqlite3.Error:  # not an index (a file cut short, another program's): built again over it
            db.close()
            return None
        if (
            meta is None
            or meta[0] != FORMAT
            or json.loads(meta[1]) != asdict(stamp)
            or meta[2] != stamp.length
            or time.time() - meta[3] > self.max_age
        ):
            db.close()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: the last to be removed
        return _Reader(db, stamp.length)

    # -- building -----------------------------------------------------------------------------
    def _private_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)  # made by an older version, or under another umask

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        self._private_directory()
        lock = path.with_suffix(".lock")
        with contextlib.suppress(FileExistsError):
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        with locked(lock):
            yield

    def _drop(self, path: Path) -> None:
        with contextlib.suppress(OSError), self._locked(path):
            path.unlink(missing_ok=True)

    def _build(
        self, connection: Connection, did: DID, path: Path, stamp: Stamp, stream: Callable[[], Iterable[FileEntry]]
    ) -> _Reader | None:
        """Read ``did``'s stream once into a new index at ``path``, unless another built it meanwhile."""
        if stamp.length * 40 > self.max_bytes:  # 40 bytes a row at the least: it could not be kept
            return None
        try:
            with self._locked(path):
                reader = self._open(path, stamp)
                if reader is not None:  # built by another thread or process while this one waited
                    return reader
                stem = path.name.split(".")[0]
                for leftover in self.directory.glob(f"{stem}.*.building"):  # a killed build's: none runs now
                    leftover.unlink(missing_ok=True)
                part = self.directory / f"{stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.building"
                try:
                    if not self._write(connection, did, part, stamp, stream):
                        return None
                    os.replace(part, path)
                finally:
                    part.unlink(missing_ok=True)
                self._evict(keep=path)
                return self._open(path, stamp)
        except (sqlite3.Error, OSError) as e:  # a full or read-only disk: the stream serves, as without an index
            _log.warning("odlake: no file index for %s (%s); its pages are read from Rucio's stream", did, e)
            return None

    def _write(
        self, connection: Connection, did: DID, part: Path, stamp: Stamp, stream: Callable[[], Iterable[FileEntry]]
    ) -> bool:
        """Write the index into ``part``: True when it is whole and matches ``stamp``, before and after the read."""
        os.close(os.open(part, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        db = sqlite3.connect(part)
        try:
            db.execute("PRAGMA journal_mode=OFF")  # a build that fails is thrown away whole
            db.execute("PRAGMA synchronous=OFF")  # the file is synced once, before it is renamed into place
            db.execute(
                "CREATE TABLE files (row INTEGER PRIMARY KEY, scope TEXT NOT NULL, name TEXT NOT NULL, "
                "bytes INTEGER, adler32 TEXT)"
            )
            db.execute(
                "CREATE TABLE meta (format INTEGER, origin TEXT, did TEXT, stamp TEXT, rows INTEGER, "
                "bytes INTEGER, digest TEXT, built REAL)"
            )
            digest, count, size = hashlib.sha256(), 0, 0
            rows = iter(stream())
            try:
                while batch := list(islice(rows, BATCH)):
                    db.executemany(
                        "INSERT INTO files VALUES (?, ?, ?, ?, ?)",
                        [(count + i, f.scope, f.name, f.bytes, f.adler32) for i, f in enumerate(batch)],
                    )
                    for f in batch:
                        digest.update(f"{f.scope}\0{f.name}\0{f.bytes}\0{f.adler32}\n".encode())
                        size += f.bytes or 0
                    count += len(batch)
            finally:
                getattr(rows, "close", lambda: None)()
            if count != stamp.length or (stamp.bytes is not None and size != stamp.bytes):
                _log.warning(
                    "odlake: %s listed %d files of %d bytes, its record says %d of %s; no index kept",
                    did,
                    count,
                    size,
                    stamp.length,
                    stamp.bytes,
                )
                return False
            after = connection.call(
                lambda c: c.get_metadata(did.scope, did.name, plugin="DID_COLUMN"), f"reading {did}"
            )
            if stamp_of(after) != stamp:  # reopened or changed while it was read
                return False
            db.execute(
                "INSERT INTO meta VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    FORMAT,
                    json.dumps(self.origin),
                    str(did),
                    json.dumps(asdict(stamp)),
                    count,
                    size,
                    digest.hexdigest(),
                    time.time(),
                ),
            )
            db.commit()
        finally:
            db.close()
        if part.stat().st_size > self.max_bytes:
            return False
        fd = os.open(part, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

    def _evict(self, keep: Path) -> None:
        """Remove the least recently used indexes beyond the caps (never ``keep``), and killed builds' files."""
        found = []
        for path in self.directory.iterdir():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if path.suffix == ".building" and time.time() - st.st_mtime > LEFTOVER_SECONDS:
                path.unlink(missing_ok=True)
            elif path.suffix == ".sqlite":
                found.append((path != keep, -st.st_mtime, st.st_size, path))
        count, size = 0, 0
        for _, _, bytes_, path in sorted(found):
            if path != keep and (count + 1 > self.max_indexes or size + bytes_ > self.max_bytes):
                path.unlink(missing_ok=True)
                continue
            count, size = count + 1, size + bytes_


class _Reader:
    """An index opened for reading: rows by position."""

    def __init__(self, db: sqlite3.Connection, length: int):
        self.db, self.length = db, length

    def rows(self, start: int, count: int) -> list[FileEntry]:
        if start >= self.length or count <= 0:  # also an offset beyond what SQLite's integers hold
            return []
        found = self.db.execute(
            "SELECT scope, name, bytes, adler32 FROM files WHERE row >= ? AND row < ? ORDER BY row",
            (start, min(start + count, self.length)),
        )
        return [FileEntry(*row) for row in found]

    def close(self) -> None:
        self.db.close()
