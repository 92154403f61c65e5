"""A user's tokens from their JupyterHub: the hub logged them in at the OpenID Connect provider and keeps
the tokens (and their refresh) in the user's auth state; their single-user server reads them from the hub.

An instance with ``"auth_type": "oidc", "token_source": "hub"`` takes its tokens here: the server asks the
hub's API for its user's model with auth state (``GET $JUPYTERHUB_API_URL/users/$JUPYTERHUB_USER`` with
the server's own ``$JUPYTERHUB_API_TOKEN``, which the hub grants ``read:users:name!user`` and
``admin:auth_state!user``; ``/user`` leaves the auth state out) and writes the access token for
Rucio and the one for storage (deploy/jupyterhub's hub adds it, as ``odlake_storage_token``; without it the
access token serves both) as 0600 files in the instance's owner-only token folder — the files Rucio's
client and the storage reads use, as a sign-in's (core.signin). When a token is within a third of its life
of its end (at least 15 s), the server asks again; the hub renews the tokens by their refresh token when
asked (``auth_refresh_age``). The refresh token stays in the hub: nothing here writes, logs or returns it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .errors import AuthenticationFailed, TimedOut, Unreachable
from .records import SignedIn
from .signin import IDLE_CHECK, MIN_MARGIN, RESOURCES, SignIn, SignInSettings, claims

STORAGE_TOKEN = "odlake_storage_token"  # jupyterlab_odlake.hub's key in the auth state
RETRY = 5.0  # seconds: how soon to ask the hub again when it had no newer token yet


class HubTokens(SignIn):
    """The tokens of this server's hub user, kept fresh from the hub's auth state, in ``folder``."""

    def __init__(self, instance: str, folder: Path, timeout: float = 30.0, environ: dict[str, str] | None = None):
        env = os.environ if environ is None else environ
        super().__init__(instance, SignInSettings(issuer="", client_id=""), folder, timeout=timeout)
        self.api_url = env.get("JUPYTERHUB_API_URL", "").rstrip("/")
        self.api_token = env.get("JUPYTERHUB_API_TOKEN", "")
        self.user = env.get("JUPYTERHUB_USER", "")
        self._asked = 0.0

    def token_file(self, resource: str) -> Path:
        return self.folder / f"hub_{resource}_token"

    def _held(self, resource: str) -> dict[str, Any]:
        try:
            return claims(self.token_file(resource).read_text().strip())
        except OSError:
            return {}

    def _due_file(self, resource: str, now: float) -> bool:
        c = self._held(resource)
        if not c.get("exp"):
            return True
        lifetime = max(1.0, float(c["exp"]) - float(c.get("iat") or c["exp"]))
        return bool(float(c["exp"]) - now < max(MIN_MARGIN, lifetime / 3))

    def _auth_state(self) -> dict[str, Any]:
        import requests

        if not self.api_url or not self.api_token or not self.user:
            raise AuthenticationFailed(
                f"Instance '{self.instance}' takes its tokens from JupyterHub, and this server was not started "
                "by a hub (no JUPYTERHUB_API_URL, JUPYTERHUB_API_TOKEN and JUPYTERHUB_USER)."
            )
        try:
            answer = requests.get(
                f"{self.api_url}/users/{quote(self.user, safe='')}",
                headers={"Authorization": f"token {self.api_token}"},
                timeout=self.timeout,
            )
        except requests.Timeout as e:
            raise TimedOut("The hub did not answer in time when asked for your tokens.") from e
        except requests.RequestException as e:
            raise Unreachable(f"Cannot reach the hub for your tokens ({type(e).__name__}).") from e
        if answer.status_code != 200:
            raise AuthenticationFailed(
                f"The hub refused this server your tokens (HTTP {answer.status_code}): log in to the hub again."
            )
        try:
            state = answer.json().get("auth_state")
        except ValueError:
            state = None
        if not isinstance(state, dict) or not state.get("access_token"):
            raise AuthenticationFailed(
                "The hub keeps no tokens of yours (its administrators: enable_auth_state, and the server "
                "token's scope admin:auth_state!user): log in to the hub again."
            )
        return state

    def _fetch(self) -> None:
        """The hub's tokens into their files; the lock is held."""
        from .credentials import write_owner_only

        state = self._auth_state()
        self._asked = time.time()
        tokens = {"rucio": state["access_token"], "storage": state.get(STORAGE_TOKEN) or state["access_token"]}
        for resource in RESOURCES:
            if self.token_file(resource).exists() and self.token_file(resource).read_text() == tokens[resource]:
                continue
            write_owner_only(self.token_file(resource), tokens[resource])
        session = {"source": "hub", "user": self.user, "read_at": self._asked}
        write_owner_only(self.session_file, json.dumps(session) + "\n")

    def signed_in(self) -> bool:
        return bool(self.api_url and self.api_token and self.user)

    def access_token_file(self, resource: str) -> Path:
        """The file of ``resource``'s token, asked of the hub first when it ends soon."""
        now = time.time()
        if self._due_file(resource, now) and now - self._asked >= RETRY:
            with self._lock():
                if self._due_file(resource, time.time()):
                    self._fetch()
        if not self.token_file(resource).exists():
            raise AuthenticationFailed(f"The hub gave this server no token for '{self.instance}'.")
        return self.token_file(resource)

    def keep_fresh(self) -> float:
        if not self.signed_in():
            return IDLE_CHECK
        for resource in RESOURCES:
            self.access_token_file(resource)
        now = time.time()
        waits = [IDLE_CHECK]
        for resource in RESOURCES:
            c = self._held(resource)
            if c.get("exp"):
                lifetime = max(1.0, float(c["exp"]) - float(c.get("iat") or c["exp"]))
                waits.append(float(c["exp"]) - max(MIN_MARGIN, lifetime / 3) - now)
        return float(max(RETRY, min(waits)))

    def status(self) -> SignedIn | None:
        if not self.signed_in() or not self.token_file("rucio").exists():
            return None
        rucio, storage = self._held("rucio"), self._held("storage") or self._held("rucio")
        return SignedIn(
            subject=str(rucio.get("sub", "")),
            signed_in_at=float(rucio.get("iat") or 0),
            expires_at=float(storage.get("exp") or 0),
            ended=None,
        )

    def start_device(self) -> Any:
        raise AuthenticationFailed(
            f"Instance '{self.instance}' takes its tokens from JupyterHub: log in to the hub, not with odlake login."
        )

    def sign_out(self) -> bool:
        """Forget the token files here (the hub keeps the sign-in: log out of the hub to end it)."""
        with self._lock():
            found = self.session_file.exists()
            for path in (self.session_file, *(self.token_file(r) for r in RESOURCES)):
                path.unlink(missing_ok=True)
        return found
