"""What a read of an instance's storage carries: a WLCG bearer token and the CA its storages' certificates
chain to.

The storage token is read from a file, never kept in a configuration: the instance's ``storage_token_file``;
else the storage token of the user's sign-in (``odlake login``, core.signin), renewed before it ends; else, for an instance that signs in to Rucio with a token file (``auth_type: oidc``), that same file (one
token for Rucio and storage, as a WLCG token with both audiences is); else where the WLCG Bearer Token
Discovery says (``BEARER_TOKEN_FILE``, ``$XDG_RUNTIME_DIR/bt_u$UID``, ``/tmp/bt_u$UID``). A token only in
``$BEARER_TOKEN`` is written to an owner-only file of this user's, since XRootD's clients and the kernel
read tokens from a file. The file is read again at each use: whoever refreshes the token (a hub, ``odlake
login``, oidc-agent) rewrites it, and the next read carries the new one.

A token goes only over TLS (https, davs, root:// with ztn, which refuses plain connections): never to a
plain-http storage, where anyone on the path could read it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from .config import InstanceConfig
from .errors import AuthenticationFailed
from .records import ReadAccess
from .signin import SignIn

TLS_SCHEMES = ("https", "davs", "root", "roots")


def discovered_token_file(environ: Mapping[str, str] | None = None, uid: int | None = None) -> Path | None:
    """The token file the WLCG Bearer Token Discovery finds (``$BEARER_TOKEN`` aside), when it exists."""
    env = os.environ if environ is None else environ
    uid = os.getuid() if uid is None else uid
    candidates = []
    if env.get("BEARER_TOKEN_FILE"):
        candidates.append(Path(env["BEARER_TOKEN_FILE"]))
    if env.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(env["XDG_RUNTIME_DIR"]) / f"bt_u{uid}")
    candidates.append(Path(f"/tmp/bt_u{uid}"))
    return next((p for p in candidates if p.is_file()), None)


def write_owner_only(path: Path, text: str) -> None:
    """``text`` into ``path``, readable by its owner only, never readable by others on the way (a token)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(fd, 0o600)
        out.write(text)
    os.replace(tmp, path)


class StorageAccess:
    """An instance's credential for its storages."""

    def __init__(self, config: InstanceConfig, private_dir: Path, sign_in: SignIn | None = None):
        self.config = config
        self.private_dir = private_dir  # owner-only: where a token from the environment is put in a file
        self.sign_in = sign_in

    def token_file(self) -> Path | None:
        """Where the storage token is, or None when this user has none."""
        c = self.config
        if c.storage_token_file:
            return Path(c.storage_token_file).expanduser()
        if self.sign_in is not None and self.sign_in.signed_in():
            return self.sign_in.access_token_file("storage")  # renewed first when it ends soon
        if c.auth_type == "oidc" and c.token_file:
            return Path(c.token_file).expanduser()
        from_env = os.environ.get(c.token_env or "") if c.auth_type == "oidc" else None
        from_env = from_env or os.environ.get("BEARER_TOKEN")
        if from_env:
            target = self.private_dir / "storage_token"
            if not target.exists() or target.read_text() != from_env.strip():
                write_owner_only(target, from_env.strip())
            return target
        return discovered_token_file()

    def token(self) -> str | None:
        """The storage token as it is now in its file; None when there is none."""
        path = self.token_file()
        if path is None:
            return None
        try:
            token = path.read_text().strip()
        except FileNotFoundError:
            if self.config.storage_token_file:
                raise AuthenticationFailed(
                    f"Instance '{self.config.name}': there is no storage token file {path}; sign in again "
                    "(odlake login) or ask your hub's administrators."
                ) from None
            return None
        except OSError as e:
            raise AuthenticationFailed(
                f"Instance '{self.config.name}': cannot read the storage token file {path} ({e.strerror})."
            ) from e
        return token or None

    def has_token(self) -> bool:
        return self.token() is not None

    def headers(self, url: str) -> dict[str, str]:
        """The headers a request to ``url`` carries: the bearer token, over TLS only."""
        if urlparse(url).scheme.lower() not in TLS_SCHEMES:
            return {}
        token = self.token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    @property
    def verify(self) -> str | bool:
        """What ``requests`` checks the storages' certificates with: the instance's CA, else the system's."""
        return self.config.ca_cert or True

    def for_readers(self) -> ReadAccess | None:
        """What the kernel's readers need, or None when there is nothing to add to the bare URLs."""
        token = self.token_file() if self.has_token() else None
        if token is None and not self.config.ca_cert and not self.config.ca_certdir:
            return None
        return ReadAccess(
            str(token) if token else None,
            self.config.ca_cert,
            self.config.ca_certdir,
        )
