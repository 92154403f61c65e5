"""Signing in to an instance's OpenID Connect provider, and keeping the tokens fresh for a whole session.

A person signs in once at a terminal (``odlake login``: the device authorization grant, RFC 8628): the
provider's page takes their password, and odlake gets a refresh token and, for each resource it reads,
an access token of its own — one for Rucio (its audience) and a read-only one for storage (the WLCG
audience, ``storage.read:/``), never one token with more scope than each reader needs. What is kept, in
the instance's owner-only token folder (0700), each file 0600:

    signin.json           who signed in, the refresh token, each access token's lifetime
    signin_rucio_token    the access token Rucio's client sends
    signin_storage_token  the access token storage reads carry (the kernel's BEARER_TOKEN_FILE)

Access tokens live minutes; each is renewed by the refresh token before it ends (a third of its lifetime
before, at least 15 s), by whichever process needs it first or by the server's refresher, under a lock
held across processes: the provider rotates refresh tokens and takes a spent one used again for a stolen
copy, ending the sign-in. The token files are replaced whole (never half-written), so a reader that opens
one again (XRootD at each connection, the kernel's https client at each request) reads the new token.

When renewal is refused (the sign-in expired, was revoked, or the provider forgot it), the sign-in is
marked ended and every use says so in one sentence, with how to sign in again.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import AuthenticationFailed, InvalidRequest, OdlakeError, TimedOut, Unreachable
from .records import SignedIn
from .transfers.filelock import locked

RESOURCES = ("rucio", "storage")  # the access tokens a sign-in keeps, each in a file of its own
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
MIN_MARGIN = 15.0  # seconds: a token is renewed at least this long before it ends
IDLE_CHECK = 30.0  # seconds: how often the refresher looks for a sign-in that appeared or changed


@dataclass(frozen=True)
class SignInSettings:
    """Where and as which client odlake signs in, and what each token is for.

    ``audience_parameter`` is how the provider is told which audience a token is for: ``resource`` (RFC
    8707 resource indicators: oidc-provider, Keycloak ≥ 26 with its feature) or ``audience`` (INDIGO IAM).
    An empty audience asks for none (a Keycloak client whose mappers set it)."""

    issuer: str
    client_id: str
    scope: str = "openid profile offline_access storage.read:/"
    rucio_audience: str = "rucio"
    storage_audience: str = "https://wlcg.cern.ch/jwt/v1/any"
    storage_scope: str = "storage.read:/"
    audience_parameter: str = "resource"

    @classmethod
    def from_config(cls, name: str, data: dict[str, Any]) -> SignInSettings:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise InvalidRequest(f"Instance '{name}': unknown keys in 'oidc': {', '.join(sorted(unknown))}.")
        if not data.get("issuer") or not data.get("client_id"):
            raise InvalidRequest(f"Instance '{name}': 'oidc' needs the provider's 'issuer' and a 'client_id'.")
        if data.get("audience_parameter", "resource") not in ("resource", "audience"):
            raise InvalidRequest(f"Instance '{name}': oidc 'audience_parameter' is 'resource' or 'audience'.")
        return cls(**data)

    def audience(self, resource: str) -> dict[str, str]:
        value = self.rucio_audience if resource == "rucio" else self.storage_audience
        return {self.audience_parameter: value} if value else {}


@dataclass(frozen=True)
class DeviceCode:
    """What a person does to sign a terminal in: open ``verification_uri`` and enter ``user_code``."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_at: float
    interval: float


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT as the provider sent it (not verified: only read for who and until when)."""
    try:
        payload = token.split(".")[1]
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return data
    except (IndexError, ValueError):
        return {}


class SignIn:
    """One instance's sign-in at its provider, kept in ``folder`` (the instance's owner-only token folder)."""

    def __init__(
        self, instance: str, settings: SignInSettings, folder: Path, ca: str | None = None, timeout: float = 30.0
    ):
        self.instance = instance
        self.settings = settings
        self.folder = folder
        self.verify: str | bool = ca or True
        self.timeout = timeout
        self._discovery: dict[str, Any] | None = None

    # -- files --------------------------------------------------------------------------------

    @property
    def session_file(self) -> Path:
        return self.folder / "signin.json"

    def token_file(self, resource: str) -> Path:
        return self.folder / f"signin_{resource}_token"

    def _load(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.session_file.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise AuthenticationFailed(
                f"Instance '{self.instance}': the sign-in in {self.session_file} cannot be read ({e}); "
                f"sign in again: odlake login {self.instance}"
            ) from e
        return data

    def _save(self, session: dict[str, Any]) -> None:
        from .credentials import write_owner_only

        write_owner_only(self.session_file, json.dumps(session, indent=1) + "\n")

    def _lock(self) -> AbstractContextManager[None]:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return locked(self.folder / ".signin.lock")

    # -- the provider -------------------------------------------------------------------------

    def _post(self, endpoint: str, data: dict[str, Any]) -> Any:
        import requests

        try:
            return requests.post(
                self.discovery()[endpoint],
                data={"client_id": self.settings.client_id, **data},
                verify=self.verify,
                timeout=self.timeout,
            )
        except requests.Timeout as e:
            raise TimedOut(f"The sign-in provider {self.settings.issuer} did not answer in time.") from e
        except requests.RequestException as e:
            raise Unreachable(f"Cannot reach the sign-in provider {self.settings.issuer} ({type(e).__name__}).") from e

    def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            import requests

            url = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                answer = requests.get(url, verify=self.verify, timeout=self.timeout)
                answer.raise_for_status()
                self._discovery = answer.json()
            except (requests.RequestException, ValueError) as e:
                raise Unreachable(
                    f"Cannot read the sign-in provider's configuration at {url} ({type(e).__name__})."
                ) from e
        return self._discovery

    # -- signing in ---------------------------------------------------------------------------

    def start_device(self) -> DeviceCode:
        """Ask the provider for a device code: the person then signs in on its page."""
        s = self.settings
        resources = [s.audience(r) for r in RESOURCES]
        key = s.audience_parameter
        data: dict[str, Any] = {"scope": s.scope, key: [r[key] for r in resources if r]}
        answer = self._post("device_authorization_endpoint", data)
        if answer.status_code != 200:
            raise AuthenticationFailed(f"The sign-in provider refused to start a sign-in: {_why(answer)}.")
        d = answer.json()
        return DeviceCode(
            device_code=d["device_code"],
            user_code=d["user_code"],
            verification_uri=d["verification_uri"],
            verification_uri_complete=d.get("verification_uri_complete") or d["verification_uri"],
            expires_at=time.time() + float(d.get("expires_in", 600)),
            interval=float(d.get("interval", 5)),
        )

    def finish_device(self, device: DeviceCode, sleep: Callable[[float], None] = time.sleep) -> SignedIn:
        """Wait until the person has signed in (or refused, or let the code expire); then keep the tokens."""
        interval = device.interval
        while True:
            answer = self._post(
                "token_endpoint",
                {"grant_type": DEVICE_GRANT, "device_code": device.device_code, **self.settings.audience("rucio")},
            )
            if answer.status_code == 200:
                break
            error = _error(answer)
            if error == "slow_down":
                interval += 5
            elif error != "authorization_pending":
                raise AuthenticationFailed(
                    {
                        "expired_token": "The sign-in code expired before it was used; run odlake login again.",
                        "access_denied": "The sign-in was refused on the provider's page.",
                    }.get(error, f"The sign-in provider refused the sign-in: {_why(answer)}.")
                )
            if time.time() + interval > device.expires_at:
                raise AuthenticationFailed("The sign-in code expired before it was used; run odlake login again.")
            sleep(interval)
        tokens = answer.json()
        if not tokens.get("refresh_token"):
            raise AuthenticationFailed(
                "The sign-in provider gave no refresh token (scope offline_access): odlake could not keep "
                "you signed in past the first token's life. Ask its administrators to allow it for this client."
            )
        with self._lock():
            session = {
                "issuer": self.settings.issuer,
                "client_id": self.settings.client_id,
                "subject": str(claims(tokens["access_token"]).get("sub", "")),
                "signed_in_at": time.time(),
                "refresh_token": tokens["refresh_token"],
                "tokens": {},
                "ended": None,
            }
            self._keep(session, "rucio", tokens)
            self._renew(session, "storage")
        return self.status()  # type: ignore[return-value]

    # -- keeping signed in --------------------------------------------------------------------

    def _keep(self, session: dict[str, Any], resource: str, tokens: dict[str, Any]) -> None:
        """An access token from the provider into its file and the session (with the rotated refresh token)."""
        from .credentials import write_owner_only

        token = tokens["access_token"]
        c = claims(token)
        now = time.time()
        expires_at = float(c.get("exp") or now + float(tokens.get("expires_in", 300)))
        issued_at = float(c.get("iat") or now)
        write_owner_only(self.token_file(resource), token)
        session["tokens"][resource] = {"expires_at": expires_at, "lifetime": max(1.0, expires_at - issued_at)}
        if tokens.get("refresh_token"):
            session["refresh_token"] = tokens["refresh_token"]
        self._save(session)

    def _renew(self, session: dict[str, Any], resource: str) -> None:
        """A new access token for ``resource`` by the refresh token; the lock is held."""
        data = {"grant_type": "refresh_token", "refresh_token": session["refresh_token"]}
        if resource == "storage":
            data["scope"] = self.settings.storage_scope
        answer = self._post("token_endpoint", {**data, **self.settings.audience(resource)})
        if answer.status_code == 200:
            self._keep(session, resource, answer.json())
            return
        if answer.status_code >= 500:
            raise Unreachable(
                f"The sign-in provider failed to renew your token (HTTP {answer.status_code}); try again."
            )
        session["ended"] = _why(answer)
        self._save(session)
        raise self._ended(session)

    def _ended(self, session: dict[str, Any]) -> AuthenticationFailed:
        return AuthenticationFailed(
            f"Your sign-in to '{self.instance}' has ended ({session['ended']}): sign in again with "
            f"odlake login {self.instance}"
        )

    @staticmethod
    def _due(session: dict[str, Any], resource: str, now: float) -> bool:
        held = session["tokens"].get(resource)
        if not held:
            return True
        return bool(held["expires_at"] - now < max(MIN_MARGIN, held["lifetime"] / 3))

    def signed_in(self) -> bool:
        return self.session_file.exists()

    def access_token_file(self, resource: str) -> Path:
        """The file of a live access token for ``resource`` (renewed first when it ends soon)."""
        session = self._load()
        if session is None:
            raise AuthenticationFailed(
                f"You are not signed in to '{self.instance}': run odlake login {self.instance} in a terminal."
            )
        if session.get("ended"):
            raise self._ended(session)
        if self._due(session, resource, time.time()):
            with self._lock():
                session = self._load() or session  # another process may have renewed it meanwhile
                if session.get("ended"):
                    raise self._ended(session)
                if self._due(session, resource, time.time()):
                    self._renew(session, resource)
        return self.token_file(resource)

    def keep_fresh(self) -> float:
        """Renew what ends soon; the seconds until the next token is due (IDLE_CHECK when none is)."""
        session = self._load()
        if session is None or session.get("ended"):
            return IDLE_CHECK
        for resource in RESOURCES:
            self.access_token_file(resource)
        session = self._load() or session
        now = time.time()
        due = [
            float(held["expires_at"]) - max(MIN_MARGIN, held["lifetime"] / 3) - now
            for held in session["tokens"].values()
        ]
        return float(max(1.0, min([IDLE_CHECK, *due])))

    def status(self) -> SignedIn | None:
        session = self._load()
        if session is None:
            return None
        storage = session["tokens"].get("storage") or session["tokens"].get("rucio") or {}
        return SignedIn(
            subject=session.get("subject", ""),
            signed_in_at=float(session.get("signed_in_at", 0)),
            expires_at=float(storage.get("expires_at", 0)),
            ended=session.get("ended"),
        )

    def sign_out(self) -> bool:
        """Forget the sign-in (and ask the provider to revoke its refresh token); was there one?"""
        with self._lock():
            session = self._load()
            if session is None:
                return False
            if not session.get("ended") and "revocation_endpoint" in self.discovery():
                try:
                    self._post("revocation_endpoint", {"token": session["refresh_token"]})
                except (Unreachable, TimedOut):
                    pass  # forgotten here all the same; the provider ends it when it expires
            for path in (self.session_file, *(self.token_file(r) for r in RESOURCES)):
                path.unlink(missing_ok=True)
        return True


class Refresher:
    """A daemon thread that keeps sign-ins fresh while nobody asks for a token (a long streamed analysis
    reads the storage token file the whole time)."""

    def __init__(self, sign_ins: Iterable[SignIn], on_error: Callable[[SignIn, Exception], None] | None = None):
        self.sign_ins = list(sign_ins)
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.sign_ins and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="odlake-signin-refresher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = IDLE_CHECK
            for sign_in in self.sign_ins:
                try:
                    wait = min(wait, sign_in.keep_fresh())
                except (OdlakeError, OSError) as e:  # an ended sign-in or an unreachable provider: tried again later
                    if self.on_error:
                        self.on_error(sign_in, e)
            self._stop.wait(wait)

    def stop(self) -> None:
        self._stop.set()


def _error(answer: Any) -> str:
    try:
        return str(answer.json().get("error", ""))
    except ValueError:
        return ""


def _why(answer: Any) -> str:
    try:
        body = answer.json()
        return str(body.get("error_description") or body.get("error") or f"HTTP {answer.status_code}")
    except ValueError:
        return f"HTTP {answer.status_code}"
