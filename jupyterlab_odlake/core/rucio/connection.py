"""One long-lived rucio-clients ``Client`` per instance, and Rucio's errors in odlake's words.

Creating a Client costs ~0.65 s (it authenticates at once), so it is made on first use
and kept; after a failure it is made again on the next call, so a Rucio server that
comes back is used again without restarting anything.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from ..config import OWN_RUCIO_CFG, InstanceConfig
from ..errors import (
    AccessDenied,
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    OdlakeError,
    RucioFailed,
    TimedOut,
    Unreachable,
)
from ..signin import SignIn, SignInSettings

T = TypeVar("T")


class _HideSecrets(logging.Filter):
    """rucio-clients logs request headers at DEBUG, the userpass password among them: never let that through."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return "Password" not in text and "X-Rucio-Auth-Token:" not in text.replace("[hidden]", "")


# rucio-clients prints its own errors to stderr; odlake reports them, translated, instead.
_RUCIO_LOG = logging.getLogger("jupyterlab_odlake.rucio_client")
_RUCIO_LOG.addHandler(logging.NullHandler())
_RUCIO_LOG.addFilter(_HideSecrets())
_RUCIO_LOG.setLevel(logging.INFO)
_RUCIO_LOG.propagate = False


def _client_class() -> type[Any]:
    from rucio.client import Client
    from rucio.common.utils import parse_response

    class InstanceClient(Client):  # type: ignore[misc]  # rucio-clients has no type information
        """A Client whose token lives in a private per-instance directory, so that two
        instances with the same account never overwrite each other's token."""

        odlake_token_dir: str = ""
        odlake_auth_status: int | None = None  # the HTTP status of the last sign-in, to tell a 5xx from a 401

        def _send_request(self, url: str, *args: Any, **kwargs: Any) -> Any:
            result = super()._send_request(url, *args, **kwargs)
            if kwargs.get("get_token") and result is not None:
                type(self).odlake_auth_status = result.status_code
            return result

        def _get_auth_tokens(self) -> tuple[str, str, str, str]:
            suffix = f"for_account_{self.account}" if self.account else "for_default_account"
            token_path = self.odlake_token_dir
            token_file = os.path.join(token_path, "auth_token_" + suffix)
            return token_file, os.path.join(token_path, "auth_token_exp_" + suffix), token_file, token_path

        def _BaseClient__read_token(self) -> bool:  # overrides BaseClient.__read_token
            """For a token odlake signs in with, the one it installed for this instance, never one the WLCG
            discovery finds first as Rucio's own reader does: in a kernel, BEARER_TOKEN_FILE is the read-only
            storage token, which Rucio refuses."""
            if self.auth_type != "oidc":
                return bool(super()._BaseClient__read_token())
            try:
                with open(self.token_file) as f:
                    self.auth_token = f.readline().strip()
            except FileNotFoundError:
                return False
            self.headers["X-Rucio-Auth-Token"] = self.auth_token
            return True

        def _BaseClient__get_token_oidc(self) -> bool:  # overrides BaseClient.__get_token_oidc
            """Rucio's own sign-in asks for a code at the terminal (``input()``), which would hold a server's
            thread forever: a token Rucio refuses is an authentication failure, said in odlake's words."""
            return False

        def _load_json_data(self, response: Any) -> Iterator[Any]:
            """A streamed answer's rows as rucio-clients reads them, at a third of its cost: its reader passes
            every row through a hook that turns strings holding " UTC" into dates, which a row without those
            bytes (nor a \\u escape that could spell them) cannot hold, so such a row is read without the hook.
            A 100,000-file listing is 100,000 rows, read while Rucio's server sends the next ones."""
            if response.headers.get("content-type") != "application/x-json-stream":
                yield from super()._load_json_data(response)
                return
            for line in response.iter_lines():
                if line:
                    yield parse_response(line) if b" UTC" in line or b"\\u" in line else json.loads(line.decode())

    return InstanceClient


class Connection:
    """Calls into one Rucio instance, off any event loop, with errors translated."""

    def __init__(self, config: InstanceConfig, token_dir: Path):
        self.config = config
        self.token_dir = token_dir / _safe(config.name)
        self._client: Any = None
        self._client_class: type[Any] | None = None
        self._lock = threading.Lock()
        self._token_read: tuple[int, int] | None = None  # the OIDC token file as last read (mtime, size)
        self.sign_in: SignIn | None = None
        if config.auth_type == "oidc" and config.token_source == "hub":
            from ..hubtokens import HubTokens

            self.sign_in = HubTokens(config.name, self.token_dir, config.timeout)
        elif config.signs_in():
            self.sign_in = SignIn(
                config.name, SignInSettings.from_config(config.name, config.oidc), self.token_dir, config.ca_cert
            )

    def _credentials(self) -> dict[str, Any]:
        c = self.config
        if c.auth_type == "userpass":
            return {"username": c.username, "password": c.userpass_password()}
        if c.auth_type == "x509":
            return {"client_cert": c.certificate, "client_key": c.key}
        if c.auth_type == "x509_proxy":
            return {"client_proxy": c.proxy}
        return {}

    def _install_oidc_token(self) -> None:
        c = self.config
        token = None
        path = self._token_path()
        if c.token_env:
            token = os.environ.get(c.token_env)
        elif path is not None:
            try:
                self._token_read = self._token_file_stamp()
                token = path.read_text().strip()
            except OSError as e:
                raise AuthenticationFailed(
                    f"Instance '{c.name}': cannot read the OIDC token file {path} ({e.strerror})."
                ) from e
        if not token:
            raise AuthenticationFailed(f"Instance '{c.name}': no OIDC token in {c.credential()}.")
        target = self.token_dir / f"auth_token_for_account_{self.account}"
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as out:  # the token is the user's: 0600 whatever the umask or an older file said
            os.fchmod(fd, 0o600)
            out.write(token)

    def _token_path(self) -> Path | None:
        """The file Rucio's token is read from: the configured one, or the sign-in's (renewed when due)."""
        if self.config.token_file:
            return Path(self.config.token_file).expanduser()
        if self.sign_in is not None and self.config.auth_type == "oidc":
            return self.sign_in.access_token_file("rucio")
        return None

    def _token_file_stamp(self) -> tuple[int, int] | None:
        try:
            path = self._token_path()
            if path is None:
                return None
            stat = path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    @property
    def account(self) -> str | None:
        """The Rucio account: the configured one, else (signed in) the sign-in's subject, as the demo lake's
        accounts are named."""
        if self.config.account or self.sign_in is None or self.config.auth_type != "oidc":
            return self.config.account
        status = self.sign_in.status()
        return status.subject if status else None

    def client(self) -> Any:
        with self._lock:
            # the token file was rewritten (a hub refreshed the token): sign in again with the new one
            if self._token_read is not None and self._token_file_stamp() != self._token_read:
                self._client = None
            if self._client is None:
                self.token_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.chmod(self.token_dir, 0o700)
                if self.config.auth_type == "oidc":
                    self._install_oidc_token()
                cls = self._client_class = _client_class()
                cls.odlake_token_dir = str(self.token_dir)
                c = self.config
                try:
                    self._client = cls(
                        rucio_host=c.rucio_host,
                        auth_host=c.auth_host,
                        account=self.account,
                        vo=c.vo,
                        ca_cert=c.ca_cert or True,
                        auth_type=c.auth_type,
                        creds=self._credentials(),
                        timeout=c.timeout,
                        logger=_RUCIO_LOG,
                    )
                except Exception as e:
                    if not from_lake(e):
                        raise
                    # no client was made, so there is none to reset (and this lock is held)
                    raise translate(e, self.config, auth_status=cls.odlake_auth_status) from e
            return self._client

    def call(self, operation: Callable[[Any], T], what: str = "", raw: bool = False) -> T:
        """Run ``operation(client)``; Rucio's and the network's exceptions come out as OdlakeErrors.

        Any other exception (a bug) goes on unchanged, so that it reaches the log with its
        traceback. With ``raw``, Rucio's exceptions go on unchanged too, for a caller that
        tells some of them apart and translates the rest (``translate``).
        """
        client = self.client()
        try:
            return operation(client)
        except Exception as e:
            if raw or not from_lake(e):
                raise
            raise self.translate(e, what) from e

    def stream(self, operation: Callable[[Any], Iterable[T]], what: str = "") -> Iterator[T]:
        """The rows of ``operation(client)`` as Rucio streams them, errors translated as by ``call``.

        Read as far as needed and then closed: the rest of Rucio's answer is never read.
        """
        client = self.client()
        try:
            yield from operation(client)
        except Exception as e:  # GeneratorExit (a close) is not an Exception: it passes
            if not from_lake(e):
                raise
            raise self.translate(e, what) from e

    def translate(self, error: Exception, what: str = "") -> OdlakeError:
        """``error`` in the user's words; a connection that failed this way is made again on the next call."""
        translated = translate(error, self.config, what, getattr(self._client_class, "odlake_auth_status", None))
        if isinstance(translated, (Unreachable, TimedOut, AuthenticationFailed)):
            self.reset()
        return translated

    def reset(self) -> None:
        with self._lock:
            self._client = None


# what tells Rucio's library in a process that it is a client; a server's processes must not inherit it
CLIENT_MODE = "RUCIO_CLIENT_MODE"


def ensure_rucio_config(state_dir: Path) -> None:
    """Give Rucio's client library a configuration to read when it finds none.

    odlake passes each instance's host and credential to its Client, so it needs no rucio.cfg;
    but Rucio's ``rsemanager`` (composing PFNs) reads ``[common] multi_vo`` from one and fails
    without. A found rucio.cfg is Rucio's own and stays untouched; else a file that names no
    server and holds no credential is written under odlake's state directory and pointed to.
    """
    from rucio.common import config
    from rucio.common.exception import ConfigLoadingError, ConfigNotFound

    # odlake is Rucio's client, whatever rucio.cfg says: one with a [database] section (a lake's, a
    # server's) makes rucio-clients' storage protocols look RSEs up in that database, not ask the instance
    os.environ.setdefault(CLIENT_MODE, "1")
    try:
        config.get_config()
        return
    except ConfigLoadingError:  # RUCIO_CONFIG names a file that cannot be read: the user's to fix
        return
    except ConfigNotFound:
        pass
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = state_dir / "rucio.cfg"
    path.write_text(
        f"{OWN_RUCIO_CFG} (rsemanager); no server, no credential here.\n"
        "# odlake's instances are configured in Jupyter (c.Odlake.instances); for the rucio CLI,\n"
        "# point RUCIO_CONFIG at a rucio.cfg of your own.\n"
        "[common]\nmulti_vo = False\n\n[client]\n"
    )
    os.environ["RUCIO_CONFIG"] = str(path)
    config.clean_cached_config()


RUCIO_MAX_DIDS = 1000  # DIDs in one request: Rucio's schema (rucio.common.schema, "DIDS") refuses more


def in_batches(items: Iterable[T], size: int = RUCIO_MAX_DIDS) -> Iterator[list[T]]:
    """``items`` in lists of the size Rucio's server accepts in one request, read as they come (a stream too)."""
    rows = iter(items)
    while batch := list(islice(rows, size)):
        yield batch


def from_lake(error: Exception) -> bool:
    """Is ``error`` Rucio's or the network's (to translate), rather than a bug in odlake (to log as it is)?"""
    import requests
    from rucio.common.exception import RucioException

    # an answer cut off mid-way reaches rucio-clients' JSON parser as an empty or broken text
    lake_errors = (RucioException, requests.RequestException, ConnectionError, TimeoutError, json.JSONDecodeError)
    return isinstance(error, lake_errors)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "instance"


def translate(error: Exception, config: InstanceConfig, what: str = "", auth_status: int | None = None) -> OdlakeError:
    """A Rucio or network exception -> the OdlakeError a user understands.

    ``auth_status`` is the HTTP status of the last sign-in: Rucio's client reports a server
    failure there (5xx) with the same exception as a rejected credential (401).
    """
    import requests
    from rucio.common import exception as rx

    name = f"Rucio instance '{config.name}' ({config.rucio_host})"
    subject = f" ({what})" if what else ""
    if isinstance(error, (requests.Timeout,)):
        return TimedOut(f"{name} did not answer in time{subject}; it may be overloaded. Try again in a moment.")
    if isinstance(error, (requests.exceptions.ChunkedEncodingError, json.JSONDecodeError)):
        return Unreachable(f"{name} broke off its answer{subject}; it may be restarting. Retry in a moment.")
    if isinstance(error, (requests.ConnectionError, rx.ServerConnectionException, ConnectionError)):
        return Unreachable(
            f"{name} cannot be reached. Check that the server runs and the address is right, then retry."
        )
    if isinstance(error, (rx.CannotAuthenticate, rx.NoAuthInformation)) and auth_status and auth_status >= 500:
        return RucioFailed(
            f"{name} failed while signing in (HTTP {auth_status}: {_first_line(error).rstrip('.')}). This is the server's "
            "failure, not your credential's: retry, or ask the lake's administrators if it persists."
        )
    if isinstance(error, (rx.CannotAuthenticate, rx.NoAuthInformation)):
        return AuthenticationFailed(
            f"{name} rejected the {config.credential()}. Check the credential in the instance's configuration."
        )
    if isinstance(error, rx.DuplicateRule):
        return InvalidRequest(f"{name}: your account has such a rule already{subject}; see your rules.")
    if isinstance(error, (rx.InsufficientAccountLimit, rx.InsufficientTargetRSEs)):
        return AccessDenied(f"{name} cannot do this{subject}: {_first_line(error)}")
    if isinstance(error, rx.AccessDenied):
        return AccessDenied(f"{name}: account '{config.account}' is not allowed to do this{subject}.")
    if isinstance(error, (rx.DataIdentifierNotFound, rx.ScopeNotFound)):
        return NotFound(f"{name} has no such DID{subject}. Check the scope and name (Rucio names are case-sensitive).")
    if isinstance(error, rx.RuleNotFound):
        return NotFound(f"{name} has no such rule{subject}; see your rules.")
    if isinstance(error, rx.RSENotFound):
        return NotFound(f"{name} has no such RSE{subject}.")
    if isinstance(
        error,
        (
            rx.InvalidObject,
            rx.InputValidationError,
            rx.InvalidType,
            rx.UnsupportedOperation,
            rx.DuplicateCriteriaInDIDFilter,
            rx.KeyNotFound,
            rx.InvalidValueForKey,
            rx.InvalidRSEExpression,
        ),
    ):
        return InvalidRequest(f"{name} refused the request{subject}: {_first_line(error)}")
    if isinstance(
        error, (rx.MissingClientParameter, rx.ConfigNotFound, rx.ClientProtocolNotSupported, rx.ClientProtocolNotFound)
    ):
        return Unreachable(f"{name} is not configured completely: {_first_line(error)}")
    if isinstance(error, rx.RucioException):  # the server answered, with a failure of its own
        return RucioFailed(
            f"{name} failed{subject}: {_first_line(error).rstrip('.')}. Retry; if it persists, ask the lake's "
            "administrators."
        )
    return RucioFailed(f"{name}: unexpected {type(error).__name__}{subject}: {_first_line(error)}")


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    details = [line for line in text if line.startswith("Details:")]
    line = details[0][len("Details:") :].strip() if details else (text[0] if text else type(error).__name__)
    return line[:300]
