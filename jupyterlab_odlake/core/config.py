"""Rucio instances: how odlake reaches each one, and where it finds them with no configuration.

Order of discovery when nothing is configured: the demo lake (its lake.json), then the
environment's rucio.cfg (``RUCIO_CONFIG``, ``$RUCIO_HOME/etc/rucio.cfg``,
``/opt/rucio/etc/rucio.cfg``).
"""

from __future__ import annotations

import configparser
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import InvalidRequest
from .records import MODES
from .rucio.locations import check_schemes

AUTH_TYPES = ("userpass", "x509", "x509_proxy", "oidc")
TOKEN_SOURCES = (None, "hub")  # where an oidc instance's tokens come from besides a file or odlake login
DEMO_INSTANCE = "demo"
LAKE_HOME_ENV = "ODLAKE_LAKE_HOME"  # where a demo lake keeps its lake.json


def default_lake_home() -> Path:
    """Where the demo lake lives unless told: ``$ODLAKE_LAKE_HOME``, else ``<user data dir>/odlake/lake``."""
    import platformdirs

    env = os.environ.get(LAKE_HOME_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("odlake")) / "lake"


# the fields that may name environment variables ($JUPYTERHUB_USER, $ODLAKE_RUCIO_HOST): a hub's one
# configuration then gives each user's server that user's account and credential files, and an
# image's configuration takes the site's Rucio server from the environment its servers start in
EXPANDED_FIELDS = (
    "rucio_host",
    "auth_host",
    "account",
    "username",
    "password_file",
    "token_file",
    "certificate",
    "key",
    "proxy",
    "ca_cert",
    "ca_certdir",
    "storage_token_file",
)


@dataclass
class InstanceConfig:
    """One Rucio instance. Secrets (password, token) never leave the server: see ``public()``."""

    name: str
    rucio_host: str
    auth_host: str = ""
    display_name: str = ""
    auth_type: str = "userpass"
    account: str | None = None
    vo: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    password_file: str | None = None  # keeps the secret out of the configuration (and its logs)
    password_env: str | None = None
    certificate: str | None = None
    key: str | None = None
    proxy: str | None = None
    token_file: str | None = None
    token_env: str | None = None
    storage_token_file: str | None = None  # the WLCG token storages are read with (default: discovered)
    oidc: dict[str, Any] = field(default_factory=dict)  # where `odlake login` signs in (core.signin.SignInSettings)
    token_source: str | None = None  # "hub": the tokens of the JupyterHub that started this server (core.hubtokens)
    ca_cert: str | None = None  # a PEM bundle (or hashed directory) of the CA of Rucio's server and storages
    ca_certdir: str | None = None  # the same CA as a hashed directory, for XRootD (X509_CERT_DIR)
    scopes: list[str] = field(default_factory=list)
    mounts: dict[str, str] = field(default_factory=dict)  # RSE name -> locally mounted prefix
    default_mode: str = "auto"
    schemes: list[str] = field(default_factory=list)  # stream schemes, preferred first (empty: the server's order)
    upload_rse: str = ""  # where uploads go when the user names no RSE (an RSE users may write to)
    timeout: float = 30.0
    source: str = "configuration"

    def __post_init__(self) -> None:
        self.auth_host = self.auth_host or self.rucio_host
        self.display_name = self.display_name or self.name
        if self.auth_type not in AUTH_TYPES:
            raise InvalidRequest(
                f"Instance '{self.name}': auth type '{self.auth_type}' is not one of {', '.join(AUTH_TYPES)}."
            )
        if self.default_mode not in MODES:
            raise InvalidRequest(
                f"Instance '{self.name}': mode '{self.default_mode}' is not one of {', '.join(MODES)}."
            )
        self.schemes = list(check_schemes(self.schemes))
        if self.token_source not in TOKEN_SOURCES:
            raise InvalidRequest(
                f"Instance '{self.name}': token_source is 'hub' or not set, not '{self.token_source}'."
            )
        if self.token_source and self.auth_type != "oidc":
            raise InvalidRequest(f"Instance '{self.name}': token_source '{self.token_source}' needs auth_type 'oidc'.")
        if self.oidc:
            from .signin import SignInSettings

            SignInSettings.from_config(self.name, self.oidc)  # refused here, with the instance's name
        for key in EXPANDED_FIELDS:  # one configuration for every user of a hub: "$JUPYTERHUB_USER"
            value = getattr(self, key)
            if isinstance(value, str) and "$" in value:
                expanded = os.path.expandvars(value)
                if "$" in expanded:
                    raise InvalidRequest(
                        f"Instance '{self.name}': {key} '{value[:80]}' names an environment variable this "
                        "server does not have."
                    )
                setattr(self, key, expanded)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InstanceConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidRequest(
                f"Unknown keys in the configuration of a Rucio instance: {', '.join(sorted(unknown))}."
            )
        if not data.get("name") or not data.get("rucio_host"):
            raise InvalidRequest("A Rucio instance needs at least 'name' and 'rucio_host'.")
        return cls(**data)

    def credential(self) -> str:
        """Which credential this instance authenticates with, in words (no secret in it)."""
        if self.auth_type == "userpass":
            return f"userpass identity '{self.username}' for account '{self.account}'"
        if self.auth_type == "x509":
            return f"X.509 certificate {self.certificate}"
        if self.auth_type == "x509_proxy":
            return f"X.509 proxy {self.proxy}"
        if self.token_source == "hub":
            return "OIDC tokens from JupyterHub (your hub login)"
        if self.token_file or self.token_env:
            return f"OIDC token from {self.token_file or '$' + str(self.token_env)}"
        return f"OIDC sign-in at {self.oidc.get('issuer', 'no provider')} (odlake login {self.name})"

    def signs_in(self) -> bool:
        """Does odlake keep this instance's tokens itself (``odlake login``), rather than read them from a file
        or the environment someone else keeps fresh?"""
        return bool(self.oidc) and not (self.auth_type == "oidc" and (self.token_file or self.token_env))

    def userpass_password(self) -> str | None:
        """The password, from the file or environment variable named in the configuration, or inline."""
        if self.password_file:
            try:
                return Path(self.password_file).expanduser().read_text().strip()
            except FileNotFoundError as e:
                from .errors import AuthenticationFailed

                raise AuthenticationFailed(
                    f"Instance '{self.name}': there is no password file {self.password_file} for account "
                    f"'{self.account}'. Without one you have no Rucio identity here: ask the administrators of "
                    "this service for one (on the demo lake: odlake lake user add NAME --unix-user NAME)."
                ) from e
            except OSError as e:
                from .errors import AuthenticationFailed

                raise AuthenticationFailed(
                    f"Instance '{self.name}': cannot read the password file {self.password_file} ({e.strerror})."
                ) from e
        if self.password_env:
            return os.environ.get(self.password_env)
        return self.password

    def public(self) -> dict[str, Any]:
        """What the browser may see of this instance."""
        return {
            "name": self.name,
            "display_name": self.display_name,
            "rucio_host": self.rucio_host,
            "auth_type": self.auth_type,
            "account": self.account,
            "vo": self.vo,
            "default_mode": self.default_mode,
            "upload_rse": self.upload_rse,
        }


def from_rucio_cfg(path: str | os.PathLike[str], name: str = "rucio", **overrides: Any) -> InstanceConfig:
    """An instance from the ``[client]`` section of a rucio.cfg."""
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(path):
        raise InvalidRequest(f"Cannot read the Rucio configuration {path}.")
    if not parser.has_section("client"):
        raise InvalidRequest(f"{path} has no [client] section.")
    c = parser["client"]
    values: dict[str, Any] = {
        "name": name,
        "rucio_host": c.get("rucio_host", ""),
        "auth_host": c.get("auth_host", ""),
        "auth_type": c.get("auth_type", "userpass"),
        "account": c.get("account"),
        "vo": c.get("vo"),
        "username": c.get("username"),
        "password": c.get("password"),
        "certificate": c.get("client_cert"),
        "key": c.get("client_key"),
        "proxy": c.get("client_x509_proxy"),
        "ca_cert": c.get("ca_cert"),
        "source": str(path),
    }
    values.update(overrides)
    if not values["rucio_host"]:
        raise InvalidRequest(f"{path} sets no rucio_host in [client].")
    return InstanceConfig(**values)


def from_lake(home: str | os.PathLike[str] | None = None) -> InstanceConfig | None:
    """The demo lake as an instance, when its lake.json is there."""
    home = Path(home) if home else default_lake_home()
    try:
        state = json.loads((home / "lake.json").read_text())
    except (OSError, ValueError):
        return None
    return from_rucio_cfg(
        state["rucio_cfg"],
        name=DEMO_INSTANCE,
        display_name="Open Data demo lake",
        scopes=[state["scope"]],
        # the local RSE is a directory on this machine: its files can be read in place
        mounts={rse["name"]: rse["directory"] for key, rse in state["rses"].items() if key in ("local", "userdisk")},
        upload_rse=(state["rses"].get("userdisk") or {}).get("name", ""),
        ca_cert=(state.get("ca") or {}).get("bundle"),
        ca_certdir=(state.get("ca") or {}).get("certdir"),
        oidc=_lake_sign_in(state),
        source=str(home / "lake.json"),
    )


def _lake_sign_in(state: dict[str, Any]) -> dict[str, Any]:
    """Where the demo lake's users sign in: its provider, as its command-line client."""
    oidc = state.get("oidc")
    if not oidc:
        return {}
    resources = oidc["resources"]
    return {
        "issuer": oidc["issuer"],
        "client_id": oidc["clients"]["device_code"],
        "rucio_audience": resources["rucio"]["resource"],
        "storage_audience": resources["storage"]["resource"],
        "storage_scope": resources["storage"]["scope"],
    }


# The first line of the rucio.cfg odlake writes for Rucio's client library when it finds none
# (core.rucio.connection.ensure_rucio_config) and points RUCIO_CONFIG at, for this process and those
# it starts: that file names no server, so it is no instance to discover.
OWN_RUCIO_CFG = "# Written by odlake for Rucio's client library"


def environment_rucio_cfg() -> Path | None:
    candidates = []
    if os.environ.get("RUCIO_CONFIG"):
        candidates.append(Path(os.environ["RUCIO_CONFIG"]))
    if os.environ.get("RUCIO_HOME"):
        candidates.append(Path(os.environ["RUCIO_HOME"]) / "etc" / "rucio.cfg")
    candidates.append(Path("/opt/rucio/etc/rucio.cfg"))
    return next((p for p in candidates if p.is_file() and not _odlakes_own(p)), None)


def _odlakes_own(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.readline().startswith(OWN_RUCIO_CFG)
    except OSError:  # from_rucio_cfg says why it cannot be read
        return False


def discover() -> list[InstanceConfig]:
    """Instances to use when none are configured."""
    lake = from_lake()
    if lake:
        return [lake]
    cfg = environment_rucio_cfg()
    if cfg:
        return [from_rucio_cfg(cfg)]
    return []
