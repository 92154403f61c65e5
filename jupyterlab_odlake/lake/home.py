"""The lake's home directory: where each file of a demo lake lives, and its lake.json."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.config import LAKE_HOME_ENV, default_lake_home

SCOPE = "opendata"
ACCOUNT = "root"
IDENTITY = "odlake"
HTTP_RSE = "ODLAKE_HTTP"  # the public storage's https (XrdHttp)
LOCAL_RSE = "ODLAKE_LOCAL"
XROOTD_RSE = "ODLAKE_XROOTD"  # the public storage's root://, copies of some datasets
TOKEN_RSE = "ODLAKE_TOKENS"  # the token storage: root:// and https, each read with a WLCG token
# where users write (uploads): Rucio lets an account that is not an admin add replicas only on an
# RSE named like a grid site's user or scratch disk (its generic permission policy)
USERDISK_RSE = "ODLAKE_USERDISK"
HOME_ENV = LAKE_HOME_ENV

State = dict[str, Any]  # what lake.json holds: the lake's servers, ports, RSEs and samples
# where a lake run by root keeps what its services (run as the lake's own user) read and write: a
# folder per lake home below this one, outside the home, whose parents may be private to root
SERVICE_BASE = Path("/var/lib/odlake-lake")


class LakeError(Exception):
    """A lake operation failed for a reason the user can act on; the message says how."""


@dataclass(frozen=True)
class LakeHome:
    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> LakeHome:
        return cls(Path(home).expanduser().absolute() if home else default_lake_home().absolute())

    # files the user and the clients read
    @property
    def lake_json(self) -> Path:
        return self.root / "lake.json"

    @property
    def rucio_cfg(self) -> Path:
        return self.root / "rucio.cfg"

    # internals
    @property
    def alembic_ini(self) -> Path:
        return self.root / "etc" / "alembic.ini"

    @property
    def secret_file(self) -> Path:
        return self.root / "etc" / "password"

    def secret(self, name: str) -> str:
        """A secret of the lake made once and kept owner-only in ``etc/<name>`` (e.g. a database password)."""
        path = self.root / "etc" / name
        if path.exists():
            return path.read_text().strip()
        value = secrets.token_urlsafe(24)
        write_private(path, value + "\n")
        return value

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def service_dir(self) -> Path:
        """Where the lake's services keep their data, sockets and the files they read: the lake home itself
        when the lake does not run as root; when it does, a folder of this home's own in SERVICE_BASE,
        which the lake's service user reaches whatever the modes of the home's parents."""
        if os.geteuid() != 0:
            return self.root
        return SERVICE_BASE / hashlib.sha256(str(self.root).encode()).hexdigest()[:16]

    @property
    def pgdata(self) -> Path:
        return self.service_dir / "postgres"

    @property
    def sqlite_db(self) -> Path:
        return self.root / "rucio.db"

    @property
    def xrootd_storage(self) -> Path:
        """The public storage's files (the lake's XRootD serves them over root:// and https)."""
        return self.service_dir / "storage" / "xrootd"

    @property
    def http_storage(self) -> Path:
        """The HTTP RSE's files: the public storage's, which its XRootD also serves over https."""
        return self.xrootd_storage

    @property
    def token_storage(self) -> Path:
        return self.service_dir / "storage" / "tokens"

    @property
    def local_storage(self) -> Path:
        return self.root / "storage" / "local"

    @property
    def user_storage(self) -> Path:
        return self.root / "storage" / "userdisk"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    def prepare(self) -> None:
        """Create the directory tree, or say in one line why it cannot be."""
        try:
            for d in (
                self.root,
                self.logs,
                self.alembic_ini.parent,
                self.local_storage,
                self.user_storage,
            ):
                d.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".write-test"
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            reason = e.strerror or str(e)
            raise LakeError(
                f"cannot use {self.root} as the lake home ({reason}); "
                f"choose a writable directory with --home or ${HOME_ENV}"
            ) from None

    def password(self) -> str:
        """The lake's userpass secret: made once, kept owner-only on disk."""
        if self.secret_file.exists():
            return self.secret_file.read_text().strip()
        value = secrets.token_urlsafe(18)
        write_private(self.secret_file, value + "\n")
        return value

    def load_state(self) -> State | None:
        try:
            state: State = json.loads(self.lake_json.read_text())
            return state
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise LakeError(f"cannot read {self.lake_json} ({e}); remove it and run 'odlake lake up' again") from None

    def save_state(self, state: State) -> None:
        tmp = self.lake_json.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.lake_json)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it may hold a secret)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
