"""The lake's OpenID Connect provider: its files in the lake home, its users' logins, and what Rucio needs of it.

The provider itself is npm's ``oidc-provider`` run by Node (``oidc/provider.mjs`` beside this file
configures it; ``services.OidcProvider`` runs it). Here: what it reads, made by the lake's owner::

    oidc/                 owner-only (0700)
      app/                package.json, package-lock.json, provider.mjs and node_modules (npm ci)
      provider.json       its settings: issuer, port, TLS files, clients, resources, lifetimes (0600)
      jwks.json           its signing keys, RS256 and ES256, made once (0600)
      secrets.json        client secrets and cookie keys, made once (0600)
      hub_client_secret   the hub client's secret alone, for a JupyterHub's configuration (0600)
      users.json          each user's salted scrypt hash of their password (0600)
      tls.pem, tls.key    its host certificate and key (copies of the CA's), as root only

That is the lake home's ``oidc/`` when the lake does not run as root. When it does, the provider runs as
the lake's service user, and all but ``secrets.json`` and ``hub_client_secret`` (read by the lake and a
hub alone, they stay in the home's ``oidc/``) are in the service folder's ``oidc/`` (``runtime``): root's,
group odlake-lake, folders 0750 and files 0640, so that the provider reads them and cannot change them.

Tokens are WLCG-profile JWTs for a resource: Rucio (``aud: rucio``, scopes ``openid profile``, which
the lake's Rucio expects) or storage (the WLCG "any" audience, ``storage.*`` scopes).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..core.transfers.filelock import locked
from .home import LakeError, LakeHome, State, write_private
from .services import service_file, service_folder

SOURCE = Path(__file__).parent / "oidc"
APP_FILES = ("package.json", "package-lock.json", "provider.mjs")
NODE_MAJOR = 20  # oidc-provider 9 runs on Node 20 (it recommends 22)

RUCIO_RESOURCE = "urn:odlake:rucio"
RUCIO_AUDIENCE = "rucio"
RUCIO_SCOPE = "openid profile"  # Rucio's expected_scope: what its default asks of a token
STORAGE_RESOURCE = "https://wlcg.cern.ch/jwt/v1/any"
STORAGE_SCOPE = "storage.read:/"
CLI_CLIENT = "odlake-cli"  # public: device code (a person at a terminal), refresh token
TEST_CLIENT = "odlake-tests"  # confidential: client credentials
RUCIO_CLIENT = "rucio"  # Rucio's own client of the provider (idpsecrets.json)
RUCIO_ADMIN_CLIENT = "rucio-admin"  # its "SCIM" (admin) client: client credentials
HUB_CLIENT = "odlake-hub"  # confidential: a JupyterHub's logins (authorization code), refresh token
ISSUER_KEY = "odlake"  # the provider's name in Rucio's idpsecrets.json and admin_issuer

ACCESS_TOKEN_LIFETIME = 20 * 60
REFRESH_TOKEN_LIFETIME = 24 * 3600
SCRYPT = {"N": 2**14, "r": 8, "p": 1}


class ProviderFiles:
    def __init__(self, home: LakeHome):
        self.home = home
        self.folder = home.root / "oidc"
        self.runtime = home.service_dir / "oidc"  # what the provider reads (the same folder, but as root)

    @property
    def app(self) -> Path:
        return self.runtime / "app"

    @property
    def script(self) -> Path:
        return self.app / "provider.mjs"

    @property
    def settings(self) -> Path:
        return self.runtime / "provider.json"

    @property
    def jwks(self) -> Path:
        return self.runtime / "jwks.json"

    @property
    def secrets(self) -> Path:
        return self.folder / "secrets.json"

    @property
    def hub_secret(self) -> Path:
        """The hub client's secret alone, for a JupyterHub's configuration to read (0600, the lake's own)."""
        return self.folder / "hub_client_secret"

    @property
    def users(self) -> Path:
        return self.runtime / "users.json"

    @property
    def idpsecrets(self) -> Path:
        """Rucio's description of the provider and its clients there."""
        return self.home.root / "etc" / "idpsecrets.json"

    def prepare_folder(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        if self.runtime != self.folder:
            service_folder(self.runtime, writable=False)

    def tls_for_provider(self, cert: Path, key: Path) -> tuple[Path, Path]:
        """The host certificate and key where the provider reads them: as root, copies in ``runtime``."""
        if self.runtime == self.folder:
            return cert, key
        self.prepare_folder()
        copies = self.runtime / "tls.pem", self.runtime / "tls.key"
        for source, target in zip((cert, key), copies, strict=True):
            service_file(target, source.read_text())
        return copies

    # --- made once -------------------------------------------------------------------------------

    def ensure_keys(self) -> None:
        """The provider's signing keys (an RSA and an EC P-256 key, as a JWKS), made once and kept."""
        self.prepare_folder()
        if self.jwks.exists():
            return
        keys = [_rsa_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048))]
        keys.append(_ec_jwk(ec.generate_private_key(ec.SECP256R1())))
        service_file(self.jwks, json.dumps({"keys": keys}, indent=1) + "\n")

    def public_jwks(self) -> dict[str, Any]:
        """The public halves of the signing keys, as the provider's ``/jwks`` serves them."""
        private = {"d", "p", "q", "dp", "dq", "qi"}
        keys = json.loads(self.jwks.read_text())["keys"]
        return {"keys": [{k: v for k, v in key.items() if k not in private} for key in keys]}

    def client_secrets(self) -> dict[str, Any]:
        """Secrets of the confidential clients and the cookie keys, made once and kept."""
        self.prepare_folder()
        try:
            known: dict[str, Any] = json.loads(self.secrets.read_text())
        except FileNotFoundError:
            known = {}
        wanted = {TEST_CLIENT, RUCIO_CLIENT, RUCIO_ADMIN_CLIENT, HUB_CLIENT}
        if wanted <= set(known.get("clients", {})) and known.get("cookie_keys"):
            return known
        clients = known.get("clients", {})
        for client in wanted - set(clients):
            clients[client] = secrets.token_urlsafe(32)
        known = {"clients": clients, "cookie_keys": known.get("cookie_keys") or [secrets.token_urlsafe(32)]}
        write_private(self.secrets, json.dumps(known, indent=1) + "\n")
        return known

    def install_app(self, log_file: Path) -> None:
        """The provider's program in the lake's folder, its npm packages from the lockfile (``npm ci``)."""
        self.prepare_folder()
        self.app.mkdir(exist_ok=True)
        for name in APP_FILES:
            source = (SOURCE / name).read_bytes()
            target = self.app / name
            if not target.exists() or target.read_bytes() != source:
                target.write_bytes(source)
        lock = hashlib.sha256((SOURCE / "package-lock.json").read_bytes()).hexdigest()
        stamp = self.app / "node_modules" / ".odlake-lock-sha256"
        if stamp.exists() and stamp.read_text().strip() == lock:
            return
        npm = shutil.which("npm")
        if npm is None:
            raise LakeError("the lake's OpenID Connect provider needs npm (apt-get install npm)")
        with open(log_file, "ab") as log:
            rc = subprocess.call(
                [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"],
                cwd=self.app,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        if rc != 0:
            raise LakeError(f"installing the OpenID Connect provider's npm packages failed (code {rc}); see {log_file}")
        stamp.write_text(lock + "\n")

    # --- written at each start -------------------------------------------------------------------

    def write_settings(self, state: State, tls_cert: Path, tls_key: Path) -> None:
        oidc = state["oidc"]
        known = self.client_secrets()
        client_secret = known["clients"]
        rucio_url = state["rucio"]["url"]
        clients = [
            {
                "client_id": CLI_CLIENT,
                "client_name": "odlake",
                "application_type": "native",
                "token_endpoint_auth_method": "none",
                "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token", "authorization_code"],
                "response_types": ["code"],
                "redirect_uris": ["http://127.0.0.1/callback"],
            },
            {
                "client_id": TEST_CLIENT,
                "client_name": "odlake tests",
                "client_secret": client_secret[TEST_CLIENT],
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
            },
            {
                "client_id": RUCIO_CLIENT,
                "client_name": "Rucio",
                "client_secret": client_secret[RUCIO_CLIENT],
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "response_types": ["code"],
                "redirect_uris": [f"{rucio_url}/auth/oidc_token", f"{rucio_url}/auth/oidc_code"],
            },
            {
                "client_id": RUCIO_ADMIN_CLIENT,
                "client_name": "Rucio (admin)",
                "client_secret": client_secret[RUCIO_ADMIN_CLIENT],
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
            },
        ]
        hub_redirects = list(oidc.get("hub_redirect_uris") or [])
        if hub_redirects:  # a hub's logins: its tokens for Rucio and (by its refresh token) storage
            clients.append(
                {
                    "client_id": HUB_CLIENT,
                    "client_name": "JupyterHub",
                    "client_secret": client_secret[HUB_CLIENT],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "redirect_uris": hub_redirects,
                }
            )
        write_private(self.hub_secret, client_secret[HUB_CLIENT] + "\n")
        settings = {
            "issuer": oidc["issuer"],
            "port": oidc["port"],
            "tls": {"cert": str(tls_cert), "key": str(tls_key)},
            "jwks": str(self.jwks),
            "users": str(self.users),
            "cookieKeys": known["cookie_keys"],
            "accessTokenLifetime": oidc["access_token_lifetime"],
            "refreshTokenLifetime": oidc["refresh_token_lifetime"],
            "clients": clients,
            "defaultResource": RUCIO_RESOURCE,
            "clientResources": {HUB_CLIENT: [RUCIO_RESOURCE, STORAGE_RESOURCE]},
            "resources": {
                RUCIO_RESOURCE: {"audience": RUCIO_AUDIENCE, "scope": RUCIO_SCOPE},
                STORAGE_RESOURCE: {"audience": STORAGE_RESOURCE, "scope": STORAGE_SCOPE},
            },
        }
        service_file(self.settings, json.dumps(settings, indent=1) + "\n")
        if not self.users.exists():
            service_file(self.users, "{}\n")

    def write_idpsecrets(self, state: State) -> None:
        """Rucio's idpsecrets.json: the provider (its issuer) and Rucio's clients there; every issuer
        needs its "SCIM" (admin) client or Rucio loads none."""
        client_secret = self.client_secrets()["clients"]
        rucio_url = state["rucio"]["url"]
        idp = {
            ISSUER_KEY: {
                "issuer": state["oidc"]["issuer"],
                "client_id": RUCIO_CLIENT,
                "client_secret": client_secret[RUCIO_CLIENT],
                "redirect_uris": [f"{rucio_url}/auth/oidc_token", f"{rucio_url}/auth/oidc_code"],
                "SCIM": {
                    "client_id": RUCIO_ADMIN_CLIENT,
                    "client_secret": client_secret[RUCIO_ADMIN_CLIENT],
                    "grant_types": ["client_credentials"],
                },
            }
        }
        write_private(self.idpsecrets, json.dumps(idp, indent=1) + "\n")

    # --- users -----------------------------------------------------------------------------------

    def has_login(self, name: str) -> bool:
        try:
            return name in json.loads(self.users.read_text())
        except FileNotFoundError:
            return False

    def set_password(self, name: str, password: str) -> None:
        """``name``'s login at the provider: a salted scrypt hash of ``password``, never the password."""
        salt = secrets.token_bytes(16)
        digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT["N"], r=SCRYPT["r"], p=SCRYPT["p"], dklen=32)
        self.prepare_folder()
        with locked(self.folder / ".users.lock"):
            try:
                users = json.loads(self.users.read_text())
            except FileNotFoundError:
                users = {}
            users[name] = {"salt": _b64(salt), "hash": _b64(digest), **SCRYPT}
            service_file(self.users, json.dumps(users, indent=1, sort_keys=True) + "\n")


def new_state(port: int, lifetime: int | None) -> State:
    issuer = f"https://127.0.0.1:{port}"
    return {
        "port": port,
        "issuer": issuer,
        "url": issuer,
        "discovery": f"{issuer}/.well-known/openid-configuration",
        "access_token_lifetime": lifetime or ACCESS_TOKEN_LIFETIME,
        "refresh_token_lifetime": REFRESH_TOKEN_LIFETIME,
        "clients": {"device_code": CLI_CLIENT, "client_credentials": TEST_CLIENT, "hub": HUB_CLIENT},
        "resources": {
            "rucio": {"resource": RUCIO_RESOURCE, "audience": RUCIO_AUDIENCE, "scope": RUCIO_SCOPE},
            "storage": {"resource": STORAGE_RESOURCE, "audience": STORAGE_RESOURCE, "scope": STORAGE_SCOPE},
        },
    }


def oidc_identity(sub: str, issuer: str) -> str:
    """Rucio's name of an OIDC identity (``rucio.core.oidc.oidc_identity_string``)."""
    return f"SUB={sub}, ISS={issuer}"


def node_binary() -> str | None:
    """Node, when it is one that runs the provider."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
        major = int(version.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return node if major >= NODE_MAJOR else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: int, length: int | None = None) -> str:
    size = length or max(1, (value.bit_length() + 7) // 8)
    return _b64(value.to_bytes(size, "big"))


def _thumbprint(members: dict[str, str]) -> str:
    """RFC 7638: the key's id from its required public members."""
    return _b64(hashlib.sha256(json.dumps(members, sort_keys=True, separators=(",", ":")).encode()).digest())


def _rsa_jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    numbers = key.private_numbers()
    public = {"e": _int(numbers.public_numbers.e), "kty": "RSA", "n": _int(numbers.public_numbers.n)}
    private = {
        "d": _int(numbers.d),
        "p": _int(numbers.p),
        "q": _int(numbers.q),
        "dp": _int(numbers.dmp1),
        "dq": _int(numbers.dmq1),
        "qi": _int(numbers.iqmp),
    }
    return {**public, **private, "kid": _thumbprint(public), "alg": "RS256", "use": "sig"}


def _ec_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.private_numbers()
    public = {
        "crv": "P-256",
        "kty": "EC",
        "x": _int(numbers.public_numbers.x, 32),
        "y": _int(numbers.public_numbers.y, 32),
    }
    return {**public, "d": _int(numbers.private_value, 32), "kid": _thumbprint(public), "alg": "ES256", "use": "sig"}


def add_rucio_identity(account: str, sub: str, issuer: str) -> None:
    """Map the provider's ``sub`` to Rucio ``account`` (an OIDC identity), once. Run with RUCIO_CONFIG set."""
    from rucio.client import Client
    from rucio.common.exception import Duplicate

    client = Client()
    identity = oidc_identity(sub, issuer)
    if any(i.get("type") == "OIDC" and i.get("identity") == identity for i in client.list_identities(account)):
        return
    try:
        client.add_identity(account, identity, "OIDC", f"{sub}@odlake.invalid", default=False)
    except Duplicate:
        pass


if __name__ == "__main__":  # python -m jupyterlab_odlake.lake.provider identity ACCOUNT SUB ISSUER
    if len(sys.argv) != 5 or sys.argv[1] != "identity":
        sys.exit("usage: python -m jupyterlab_odlake.lake.provider identity ACCOUNT SUB ISSUER")
    add_rucio_identity(*sys.argv[2:5])
