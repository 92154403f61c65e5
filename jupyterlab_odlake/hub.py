"""What a JupyterHub whose users log in at an OpenID Connect provider keeps of their tokens, for odlake.

The hub's ``GenericOAuthenticator`` (oauthenticator) logs a user in with the authorization code grant and
keeps the provider's answer in the user's encrypted auth state: its access token is for Rucio (the
audience the provider gives by default, or the one the login asks for), with a refresh token
(``offline_access``). Two hooks of oauthenticator's add what odlake needs (deploy/jupyterhub's
``jupyterhub_oidc_config.py`` sets them):

- ``storage_token_hook`` (``modify_auth_state_hook``): a second access token, for storage (its audience
  and ``storage.read:/`` only), asked for with the refresh token, as ``odlake login`` asks for its own;
  and when each token ends.
- ``refresh_before_expiry`` (``refresh_user_hook``): when the hub refreshes a user's auth state
  (``auth_refresh_age``, ``refresh_pre_spawn``), new tokens by the refresh token once the access token is
  within a third of its life of its end (at least 15 s), not only after it ended, so that a user's server
  that asks the hub for its tokens (core.hubtokens) never holds an expired one.

The requests are oauthenticator's own (``build_refresh_token_request_params``, ``get_token_info``: its
client authentication, its TLS settings); nothing here reads a token's content.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

STORAGE_TOKEN = "odlake_storage_token"  # the auth state's storage token (absent: the access token serves both)
EXPIRES_AT = "odlake_expires_at"  # when the access token ends (seconds since the epoch)
LIFETIME = "odlake_lifetime"  # how long it lives
STORAGE_EXPIRES_AT = "odlake_storage_expires_at"
MIN_MARGIN = 15.0  # seconds: tokens are renewed at least this long before they end


def _lifetime(token_info: dict[str, Any]) -> float:
    try:
        return max(1.0, float(token_info.get("expires_in") or 300))
    except (TypeError, ValueError):
        return 300.0


def due(auth_state: dict[str, Any], now: float | None = None) -> bool:
    """Is the access token of ``auth_state`` within a third of its life (at least 15 s) of its end?"""
    now = time.time() if now is None else now
    expires_at = float(auth_state.get(EXPIRES_AT) or 0)
    lifetime = float(auth_state.get(LIFETIME) or 0)
    return expires_at - now < max(MIN_MARGIN, lifetime / 3)


def storage_token_hook(
    resource: str | None, scope: str = "storage.read:/", audience_parameter: str = "resource"
) -> Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]:
    """A ``modify_auth_state_hook`` that adds a storage token for ``resource`` with ``scope`` (by the refresh
    token; ``audience_parameter`` is ``resource``, RFC 8707, or ``audience``, INDIGO IAM); with ``resource``
    None, none (a provider whose one token is accepted by Rucio and storage)."""

    async def hook(authenticator: Any, auth_state: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        lifetime = _lifetime(auth_state.get("token_response") or {})
        auth_state[EXPIRES_AT], auth_state[LIFETIME] = now + lifetime, lifetime
        if resource is None:
            return auth_state
        if not auth_state.get("refresh_token"):
            raise ValueError(
                "the provider gave the hub no refresh token: add offline_access to the hub's scope and allow "
                "it for the hub's client"
            )
        params = authenticator.build_refresh_token_request_params(auth_state["refresh_token"])
        params.update({audience_parameter: resource, "scope": scope})
        storage = await authenticator.get_token_info(None, params)
        auth_state[STORAGE_TOKEN] = storage["access_token"]
        auth_state[STORAGE_EXPIRES_AT] = now + _lifetime(storage)
        if storage.get("refresh_token"):  # a provider that rotates refresh tokens
            auth_state["refresh_token"] = storage["refresh_token"]
        return auth_state

    return hook


async def refresh_before_expiry(authenticator: Any, user: Any, auth_state: dict[str, Any] | None) -> Any:
    """A ``refresh_user_hook``: True while the tokens are fresh; new ones (the auth model) when they are due;
    False (log in again) when the provider refuses the refresh token."""
    if not auth_state or not auth_state.get("refresh_token"):
        return False
    if not due(auth_state):
        return True
    params = authenticator.build_refresh_token_request_params(auth_state["refresh_token"])
    try:
        token_info = await authenticator.get_token_info(None, params)
    except Exception as e:  # noqa: BLE001 - refused (ended, revoked) or unreachable, as oauthenticator takes it
        authenticator.log.warning("renewing the tokens of %s failed (%s): log in again", user.name, type(e).__name__)
        return False
    token_info.setdefault("refresh_token", auth_state["refresh_token"])
    user_info = await authenticator.token_to_user(token_info)
    state = authenticator.build_auth_state_dict(token_info, user_info)
    if inspect.isawaitable(state):
        state = await state
    if authenticator.modify_auth_state_hook is not None:
        state = authenticator.modify_auth_state_hook(authenticator, state)
        if inspect.isawaitable(state):
            state = await state
    authenticator.log.info("renewed the tokens of %s", user.name)
    return {"name": user.name, "auth_state": state}
