"""The shared download cache: verified transfers, resumable, one at a time per file.

A file reaches its cache path only after its size and checksum (adler32, else md5)
match the catalogue. Bytes arrive in ``<path>.part``; an interrupted transfer resumes
from there with an HTTP Range request. A lock file per DID, held across processes,
makes two servers or kernels that want the same file do one transfer.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import quote, unquote, urlparse

from ..did import DID
from ..errors import CacheUnusable, Cancelled, ChecksumMismatch, InvalidRequest, StorageError
from .filelock import locked

if TYPE_CHECKING:
    from ..credentials import StorageAccess

CHUNK = 1 << 20
Progress = Callable[[int], None]  # called with each number of bytes written (negative: started over)


def adler32_hex(data: bytes, value: int = 1) -> str:
    """adler32 as Rucio writes it: eight lower-case hex digits."""
    return _hex(zlib.adler32(data, value))


def _hex(value: int) -> str:
    return f"{value & 0xFFFFFFFF:08x}"


CACHE_ENV = "ODLAKE_CACHE_DIR"  # the download cache, for servers and kernels alike
NAME_BYTES = 200  # a cache file's name at most (filesystems allow 255, and .part and .lock are added)


def file_name(name: str) -> str:
    """A DID name as one file name: escaped, and bounded for long names by a hash of the whole name.

    A bounded name holds '%%', which escaping never writes, so it cannot meet an escaped one.
    """
    escaped = quote(name, safe="")
    if len(escaped) <= NAME_BYTES:
        return escaped
    head = re.sub(r"%[0-9A-F]?$", "", escaped[:120])  # no escape cut in half
    return f"{head}%%{hashlib.sha256(name.encode()).hexdigest()[:40]}"


def _normal(adler32: str | None) -> str | None:
    """adler32 as Rucio writes it (eight lower-case hex digits), or None."""
    return adler32.lower().zfill(8) if adler32 else None


class Checksum:
    """adler32 when the catalogue has it, else md5, fed as bytes arrive."""

    def __init__(self, adler32: str | None, md5: str | None):
        self.expected_adler32 = _normal(adler32)
        self.expected_md5 = (md5 or "").lower() or None
        self.reset()

    def reset(self) -> None:
        """Start over, for a transfer that starts again from its first byte."""
        self._adler = 1
        self._md5 = hashlib.md5() if (self.expected_md5 and not self.expected_adler32) else None

    def update(self, block: bytes) -> None:
        self._adler = zlib.adler32(block, self._adler)
        if self._md5 is not None:
            self._md5.update(block)

    def check(self, what: str) -> str:
        """Raise ChecksumMismatch unless the bytes match the catalogue; the adler32 of what came."""
        adler = _hex(self._adler)
        if self.expected_adler32:
            got = adler
            if got != self.expected_adler32:
                raise ChecksumMismatch(
                    f"{what}: adler32 is {got}, the catalogue says {self.expected_adler32}; the copy was discarded."
                )
        elif self._md5 is not None:
            got = self._md5.hexdigest()
            if got != self.expected_md5:
                raise ChecksumMismatch(
                    f"{what}: md5 is {got}, the catalogue says {self.expected_md5}; the copy was discarded."
                )
        return adler


def _record_path(path: Path) -> Path:
    """Where the record of a verified copy lives: ``<cache>/.verified/<scope>/<name>.json``, so that
    a scope's folder holds nothing but its files."""
    return path.parent.parent / ".verified" / path.parent.name / f"{path.name}.json"


def _read_record(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_record(path: Path, adler32: str, did: DID) -> None:
    """Record that ``path`` was verified, as it is now: size, mtime, ctime (which no one can set back) and
    adler32."""
    stat = path.stat()
    record = _record_path(path)
    tmp = record.with_name(record.name + ".tmp")
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(
            json.dumps(
                {
                    "did": str(did),
                    "size": stat.st_size,
                    "mtime_ns": stat.st_mtime_ns,
                    "ctime_ns": stat.st_ctime_ns,
                    "adler32": adler32,
                }
            )
        )
        os.replace(tmp, record)
    except OSError:  # no room for the record: the copy stays good, and is checked in full when next asked for
        tmp.unlink(missing_ok=True)


def default_root() -> str:
    """The cache a server or kernel uses when none is configured: ODLAKE_CACHE_DIR, else the user's cache folder."""
    import platformdirs

    return os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("odlake")


class Cache:
    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).expanduser().absolute()

    def path_for(self, did: DID) -> Path:
        """Where ``did`` lives in the cache: one directory per scope, the name escaped to one path segment."""
        name = file_name(did.name)
        if name in ("", ".", "..") or did.scope in (".", ".."):
            raise InvalidRequest(f"'{did}' cannot be stored in the cache.")
        path = self.root / did.scope / name
        if self.root not in path.parents:
            raise InvalidRequest(f"'{did}' would be stored outside the cache.")
        return path

    def has(self, did: DID, size: int | None = None, adler32: str | None = None) -> bool:
        """Is a verified copy of ``did`` in the cache, of this size and checksum?

        A copy is trusted by the record written when it was verified (its size, mtime, ctime and
        adler32); a copy changed since — a write changes the ctime, also when the mtime is set
        back — or without a record, is checked again in full, and one that no longer matches is
        not taken (the next fetch replaces it). ``verify`` re-checks copies in full on demand.
        """
        path = self.path_for(did)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        if size is not None and stat.st_size != size:
            return False
        record = _read_record(_record_path(path)) or {}
        expected = _normal(adler32) or _normal(str(record.get("adler32") or ""))
        seen = (record.get("size"), record.get("mtime_ns"), record.get("ctime_ns"))
        if record and seen == (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns):
            return expected is None or record.get("adler32") == expected
        if expected is None:
            return True  # no checksum known anywhere: the size is all there is to go by
        checksum = Checksum(expected, None)
        self._read_into(path, checksum)
        try:
            checksum.check(str(did))
        except ChecksumMismatch:
            return False  # changed since it was verified: fetched again (under the lock) over it
        _write_record(path, expected, did)
        return True

    def copies(self) -> Iterator[DID]:
        """The DIDs with a verified copy recorded in the cache."""
        verified = self.root / ".verified"
        for record in sorted(verified.glob("*/*.json")):
            scope, name = record.parent.name, record.name[: -len(".json")]
            if not (self.root / scope / name).exists():
                continue
            named = str((_read_record(record) or {}).get("did") or "")
            if named.startswith(f"{scope}:"):
                yield DID(scope, named[len(scope) + 1 :])
            elif "%%" not in name:  # a record from before DIDs were kept in it; a bounded name is not read back
                yield DID(scope, unquote(name))

    def verify(self, did: DID) -> bool:
        """Re-check the copy of ``did`` in full against the checksum recorded when it was verified; a copy that
        no longer matches is removed (the next attach fetches it again). False when it was bad or is gone."""
        with self.lock(did):
            path = self.path_for(did)
            record = _read_record(_record_path(path)) or {}
            expected = _normal(str(record.get("adler32") or ""))
            if not path.exists() or expected is None:
                return False
            checksum = Checksum(expected, None)
            self._read_into(path, checksum)
            try:
                checksum.check(str(did))
            except ChecksumMismatch:
                path.unlink(missing_ok=True)
                _record_path(path).unlink(missing_ok=True)
                return False
            _write_record(path, expected, did)
            return True

    def lock(self, did: DID) -> AbstractContextManager[None]:
        """One transfer of ``did`` at a time, across processes."""
        path = self.root / ".locks" / did.scope / (file_name(did.name) + ".lock")
        try:
            self._make_root()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(exist_ok=True)
        except OSError as e:
            raise self._unusable(e) from e
        return locked(path)

    def _unusable(self, error: OSError) -> CacheUnusable:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return CacheUnusable(
                f"The download cache's disk is full ({self.root}); free space there, or set c.Odlake.cache_dir "
                "(or $ODLAKE_CACHE_DIR) to a larger one. Nothing partial was kept."
            )
        return CacheUnusable(
            f"The download cache {self.root} cannot be written ({error.strerror}); set c.Odlake.cache_dir "
            "(or $ODLAKE_CACHE_DIR) to a directory you can write."
        )

    def _make_root(self) -> None:
        """A cache this process creates is its user's alone (0700); one a sysadmin made to share keeps its mode."""
        if not self.root.exists():
            self.root.mkdir(parents=True, mode=0o700, exist_ok=True)
            os.chmod(self.root, 0o700)

    def fetch(
        self,
        did: DID,
        sources: list[str],
        size: int | None,
        adler32: str | None,
        md5: str | None = None,
        progress: Progress | None = None,
        cancelled: threading.Event | None = None,
        access: StorageAccess | None = None,
    ) -> tuple[Path, bool]:
        """Bring ``did`` into the cache from the first source that works; return (path, transferred).
        ``access``: the credential and CA the instance's storages are read with."""
        target = self.path_for(did)
        with self.lock(did):
            if self.has(did, size, adler32):
                return target, False
            if not sources:
                raise StorageError(f"{did} has no replica that can be downloaded.")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise self._unusable(e) from e
            errors: list[StorageError] = []
            for source in sources:
                try:
                    self._transfer(did, source, target, size, adler32, md5, progress, cancelled, access)
                    return target, True
                except _CacheWriteFailed as e:  # no other source helps: the cache is the problem
                    target.with_name(target.name + ".part").unlink(missing_ok=True)
                    raise self._unusable(e.error) from e.error
                except Cancelled:
                    raise
                except StorageError as e:
                    errors.append(e)
                except OSError as e:
                    error = StorageError(str(e))
                    error.__cause__ = e
                    errors.append(error)
            raise _last_error(errors)

    def _transfer(
        self,
        did: DID,
        source: str,
        target: Path,
        size: int | None,
        adler32: str | None,
        md5: str | None,
        progress: Progress | None,
        cancelled: threading.Event | None,
        access: StorageAccess | None = None,
    ) -> None:
        part = target.with_name(target.name + ".part")
        checksum = Checksum(adler32, md5)
        scheme = urlparse(source).scheme
        if scheme in ("http", "https"):
            self._http(did, source, part, checksum, size, progress, cancelled, access)
        elif scheme in ("", "file"):
            self._copy(did, unquote(urlparse(source).path) if scheme else source, part, checksum, progress, cancelled)
        else:
            raise StorageError(f"{did}: cannot download over {scheme}://")
        got = part.stat().st_size
        if size is not None and got < size:
            # an interrupted transfer, not a bad one: what came is kept, and the next try resumes from it
            raise StorageError(
                f"{did}: the transfer from {_host(source)} broke off after {got} of {size} bytes; retry to resume."
            )
        if size is not None and got > size:  # the transfer stopped at the first byte too many
            part.unlink(missing_ok=True)
            raise StorageError(
                f"{did}: the storage at {_host(source)} sent more than the catalogue's {size:,} bytes; the copy was "
                "discarded. The storage misbehaves: tell the lake's administrators."
            )
        try:
            verified = checksum.check(f"{did} from {_host(source)}")
        except ChecksumMismatch:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, target)
        _write_record(target, verified, did)

    @staticmethod
    def _resume_from(part: Path, checksum: Checksum) -> int:
        if not part.exists():
            return 0
        Cache._read_into(part, checksum)
        return part.stat().st_size

    @staticmethod
    def _read_into(path: Path, checksum: Checksum) -> None:
        """Feed every byte of ``path`` to ``checksum``."""
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                checksum.update(block)

    def _http(
        self,
        did: DID,
        url: str,
        part: Path,
        checksum: Checksum,
        size: int | None,
        progress: Progress | None,
        cancelled: threading.Event | None,
        access: StorageAccess | None = None,
    ) -> None:
        import requests

        offset = self._resume_from(part, checksum)
        if size is not None and offset > size:
            part.unlink(missing_ok=True)
            checksum.reset()
            offset = 0
        if progress and offset:
            progress(offset)
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        headers |= access.headers(url) if access else {}
        verify = access.verify if access else True
        try:
            with requests.get(url, headers=headers, stream=True, timeout=(10, 60), verify=verify) as r:
                if r.status_code == 416 and offset == size:
                    return
                if r.status_code == 404:
                    raise StorageError(f"{did}: the storage at {_host(url)} has no such file (404).")
                if r.status_code in (401, 403):
                    raise StorageError(_refused(did, url, r.status_code, "Authorization" in headers))
                if r.status_code not in (200, 206):
                    raise StorageError(f"{did}: the storage at {_host(url)} answered {r.status_code} {r.reason}.")
                mode = "ab" if (offset and r.status_code == 206) else "wb"
                if mode == "wb" and offset:
                    checksum.reset()
                    if progress:
                        progress(-offset)
                room = None if size is None else size - (offset if mode == "ab" else 0) + 1
                with open(part, mode) as out:
                    _write(did, r.iter_content(CHUNK), out, checksum, progress, cancelled, room)
        except requests.RequestException as e:
            raise StorageError(
                f"{did}: the storage at {_host(url)} cannot be reached or broke off ({type(e).__name__}); retry to resume."
            ) from e

    def _copy(
        self,
        did: DID,
        path: str,
        part: Path,
        checksum: Checksum,
        progress: Progress | None,
        cancelled: threading.Event | None,
    ) -> None:
        try:
            with open(path, "rb") as src, open(part, "wb") as out:
                _write(did, iter(lambda: src.read(CHUNK), b""), out, checksum, progress, cancelled)
        except FileNotFoundError as e:
            raise StorageError(f"{did}: the mounted replica {path} is missing.") from e

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _refused(did: DID, url: str, status: int, with_token: bool) -> str:
    """A storage's 401/403 in words: whether a token went, and what to do."""
    if not with_token:
        return (
            f"{did}: the storage at {_host(url)} reads only for signed-in users ({status}) and you have no storage "
            "token here: sign in (odlake login), or set BEARER_TOKEN_FILE."
        )
    return (
        f"{did}: the storage at {_host(url)} refused your token ({status}): it has expired, or is not for this "
        "storage or for reading; sign in again (odlake login)."
    )


class _CacheWriteFailed(Exception):
    """Writing into the cache failed (a full disk, a read-only one): not the source's fault."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


def _write(
    did: DID,
    blocks: Iterable[bytes],
    out: IO[bytes],
    checksum: Checksum,
    progress: Progress | None,
    cancelled: threading.Event | None,
    room: int | None = None,
) -> None:
    """Copy ``blocks`` to ``out``, feeding the checksum and the progress, stopping when cancelled, and after
    ``room`` bytes (the catalogued size and one more: a storage that sends more fills no disk)."""
    for block in blocks:
        if cancelled is not None and cancelled.is_set():
            raise Cancelled(f"The download of {did} was cancelled; it resumes where it stopped.")
        if room is not None:
            block = block[:room]
            room -= len(block)
        try:
            out.write(block)
        except OSError as e:
            raise _CacheWriteFailed(e) from e
        checksum.update(block)
        if progress:
            progress(len(block))
        if room == 0:
            return


def _host(url: str) -> str:
    parsed = urlparse(url)
    return parsed.netloc or "local storage"


def _last_error(errors: list[StorageError]) -> StorageError:
    """The last source's error, of its own kind, saying how many sources failed before it (its cause)."""
    last = errors[-1]
    if len(errors) == 1:
        return last
    error = type(last)(f"{last.message} (after {len(errors)} sources failed)")
    error.__cause__ = last
    return error
