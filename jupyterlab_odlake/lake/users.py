"""Users of the demo lake: one Rucio account per person, as a hub for many users needs.

``odlake lake user add NAME`` gives NAME what a Rucio deployment gives a new member: an
account of type USER, a userpass identity, and the scope ``user.NAME`` they may write to;
and, where the lake runs its OpenID Connect provider, a login there with the same password
(kept as a salted hash) and the Rucio ``OIDC`` identity ``SUB=NAME, ISS=<issuer>`` that maps
the provider's tokens for NAME to the account. The password is written to a file only that
person can read (owned by their Unix user, 0600), where their own Jupyter server finds it; it
is never printed.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .home import USERDISK_RSE, LakeError, LakeHome
from .provider import ProviderFiles, oidc_identity

QUOTA_BYTES = 10 * 1000**3  # each user's share of the lake's user disk (a Rucio account limit)
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,24}$")  # Rucio's account names, and a Unix user's
# where a user's own Jupyter server looks for the password (the hub recipe's instance config says so)
CREDENTIAL_FILE = ".config/odlake/rucio-password"


@dataclass(frozen=True)
class LakeUser:
    account: str
    scope: str
    credential_file: Path
    owner: str | None  # the Unix user owning the credential file, when there is one
    created: bool = True  # False: the account and its identity were there already, nothing changed
    oidc_identity: str | None = None  # its identity for the lake provider's tokens, when the lake has one


def add_user(home: LakeHome, name: str, unix_user: str | None = None, credential_file: str | None = None) -> LakeUser:
    """Create Rucio account ``name`` in the lake, with a userpass identity and scope ``user.<name>``.

    The password goes to ``credential_file`` (default: ``~<unix_user>/.config/odlake/rucio-password``
    when ``unix_user`` is given, else ``<lake home>/users/<name>.password``), owned by ``unix_user``,
    mode 0600, written whole or not at all. Asked again, it changes nothing when that file is there.
    """
    if not NAME.match(name):
        raise LakeError(
            f"'{name[:40]}' cannot be a Rucio account: use 1-25 lower-case letters, digits, '-' or '_', "
            "starting with a letter."
        )
    owner = None
    if unix_user:
        try:
            owner = pwd.getpwnam(unix_user)
        except KeyError:
            raise LakeError(f"there is no Unix user '{unix_user[:40]}' on this machine") from None
    if credential_file:
        target = Path(credential_file).expanduser().absolute()
    elif owner:
        target = Path(owner.pw_dir) / CREDENTIAL_FILE
    else:
        target = home.root / "users" / f"{name}.password"

    os.environ["RUCIO_CONFIG"] = str(home.rucio_cfg)
    from rucio.client import Client
    from rucio.common.exception import AccountNotFound, Duplicate

    client = Client()
    password = secrets.token_urlsafe(24)
    try:
        client.get_account(name)
    except AccountNotFound:
        client.add_account(name, "USER", f"{name}@odlake.invalid")
    scope = f"user.{name}"
    try:
        client.add_scope(name, scope)
    except Duplicate:
        pass
    client.set_local_account_limit(name, USERDISK_RSE, QUOTA_BYTES)
    identities = client.list_identities(name)
    if any(i.get("type") == "USERPASS" and i.get("identity") == name for i in identities):
        # Rucio keeps an identity's password for good (its API re-associates, never re-hashes)
        if target.exists():
            made = _add_oidc_login(home, client, name, target.read_text().strip(), identities)
            return LakeUser(name, scope, target, owner.pw_name if owner else None, created=False, oidc_identity=made)
        raise LakeError(
            f"Rucio account '{name}' has a userpass identity already, and its password is not in {target}; "
            "Rucio cannot change it. Give its file with --credential-file, or add the user under another name."
        )
    client.add_identity(name, name, "USERPASS", f"{name}@odlake.invalid", default=True, password=password)
    _write_secret(target, password, owner)
    made = _add_oidc_login(home, client, name, password, identities, new_password=True)
    return LakeUser(name, scope, target, owner.pw_name if owner else None, oidc_identity=made)


def _add_oidc_login(
    home: LakeHome, client: Any, name: str, password: str, identities: list[dict[str, Any]], new_password: bool = False
) -> str | None:
    """NAME's login at the lake's OpenID Connect provider and the Rucio identity of its tokens (where the
    lake has a provider); its identity string."""
    state = home.load_state() or {}
    if "oidc" not in state:
        return None
    files = ProviderFiles(home)
    if new_password or not files.has_login(name):
        files.set_password(name, password)
    identity = oidc_identity(name, state["oidc"]["issuer"])
    if not any(i.get("type") == "OIDC" and i.get("identity") == identity for i in identities):
        client.add_identity(name, identity, "OIDC", f"{name}@odlake.invalid", default=False)
    return identity


def _write_secret(target: Path, secret: str, owner: pwd.struct_passwd | None) -> None:
    """``secret`` into ``target``, readable by its owner only, from the first byte on; replaced whole."""
    uid, gid = (owner.pw_uid, owner.pw_gid) if owner else (os.getuid(), os.getgid())
    made = []
    folder = target.parent
    while not folder.exists():
        made.append(folder)
        folder = folder.parent
    for path in reversed(made):
        path.mkdir(mode=0o700)
        os.chown(path, uid, gid)
    partial = target.with_name(target.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.fchown(fd, uid, gid)
        os.write(fd, (secret + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    partial.replace(target)
