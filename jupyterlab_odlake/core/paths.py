"""Whether a path stays within a directory, and files opened once for what the server reads of them: the
one check for mounts and for uploads."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from .errors import InvalidRequest, quoted


def inside(root: str, path: str) -> bool:
    """Is the normalised ``path`` within ``root``, also with every symlink followed?"""
    root = os.path.normpath(root)
    if os.path.commonpath([root, path]) != root:  # '..' led out: decided without touching the disk
        return False
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root


@dataclass(frozen=True)
class OpenedFile:
    """A regular file opened once, by its descriptor: what is read of it later is what was checked, whatever
    happens to its name meanwhile (replaced by a symlink, moved)."""

    fd: int
    name: str
    size: int

    @property
    def path(self) -> str:
        """A path to the opened file itself (not to whatever its name leads to now)."""
        return f"/proc/self/fd/{self.fd}"

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def open_file(path: str, root: str | None = None) -> OpenedFile:
    """Open ``path`` to read it later; with ``root``, ``path`` is relative to it (or absolute within it), and
    what was opened must be a file the root holds: not outside it through a symlink or '..', and not a hard
    link (its other names may be anywhere). Every refusal is a sentence."""
    if "\0" in path:
        raise InvalidRequest(f"'{quoted(path)}' holds a NUL character, which no file's name can.")
    full = os.path.normpath(os.path.join(root, os.path.expanduser(path)) if root else os.path.abspath(path))
    outside = InvalidRequest(
        f"'{quoted(path)}' is outside the Jupyter root directory; only files under it are uploaded."
    )
    if root is not None and not inside(root, full):
        raise outside
    try:  # non-blocking: a FIFO must not hold up the server; refused below as not a regular file
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise InvalidRequest(f"'{quoted(path)}' is not a file that can be uploaded: there is none.") from None
    except PermissionError:
        raise InvalidRequest(f"'{quoted(path)}' cannot be read.") from None
    except OSError as e:
        raise InvalidRequest(f"'{quoted(path)}' is not a file that can be uploaded ({e.strerror}).") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidRequest(f"'{quoted(path)}' is not a file that can be uploaded.")
        if root is not None:
            opened = os.readlink(f"/proc/self/fd/{fd}")  # where the name led at the moment of opening
            if not inside(os.path.realpath(root), opened):
                raise outside
            if info.st_nlink > 1:
                raise InvalidRequest(
                    f"'{quoted(path)}' is a hard link (it has {info.st_nlink} names, which may be outside the "
                    "Jupyter root directory); upload a copy of it."
                )
        return OpenedFile(fd, os.path.basename(full), info.st_size)
    except BaseException:
        os.close(fd)
        raise
