"""Bring the demo lake up, down, and tell its status.

``up`` is idempotent: servers that run are kept, servers that died are started again
on the same ports and the same database, and samples are registered only once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from pathlib import Path

from ..core.transfers.filelock import locked
from . import provider
from .ca import LakeCA
from .home import (
    ACCOUNT,
    HTTP_RSE,
    IDENTITY,
    LOCAL_RSE,
    SCOPE,
    TOKEN_RSE,
    USERDISK_RSE,
    XROOTD_RSE,
    LakeError,
    LakeHome,
    State,
    write_private,
)
from .samples import SIZES
from .services import (
    SERVICE_USER,
    Memcached,
    OidcProvider,
    Postgres,
    RucioDaemon,
    RucioServer,
    Service,
    TokenXRootD,
    XRootD,
    clear_orphan_service_areas,
    free_port,
    prepare_service_area,
    process_alive,
    rucio_environment,
    stop_process,
)

DATABASES = ("postgresql", "sqlite")
Log = Callable[[str], object]  # where a command says what it does: print, or nowhere
STATE_VERSION = 1


def _locked(home: LakeHome) -> AbstractContextManager[None]:
    """One lake command at a time per home."""
    return locked(home.lock_file)


def _services(home: LakeHome, state: State) -> list[Service]:
    out: list[Service] = []
    if "memcached" in state:
        out.append(Memcached(home))
    if state["db"] == "postgresql":
        out.append(_postgres(home, state))
    if "xrootd" in state:  # a lake made by an earlier odlake may have none, or no https (up refuses it)
        out.append(XRootD(home, state["xrootd"]["port"], state["xrootd"].get("https_port", 0)))
    if "oidc" in state:  # before Rucio, which fetches its keys
        out.append(OidcProvider(home, state))
    if "xrootd-tokens" in state:  # after the provider, whose keys it trusts
        out.append(TokenXRootD(home, state))
    workers = (os.cpu_count() or 1) if state["db"] == "postgresql" else 1
    out.append(RucioServer(home, state["rucio"]["port"], workers))
    return out + _daemons(home, state)


# Rucio's daemons a replication rule's life needs (no transfer service: the lake has no FTS)
DAEMONS = ("judge-evaluator", "judge-cleaner")


def _daemons(home: LakeHome, state: State) -> list[Service]:
    """Rucio's daemons, once its schema exists (they start after the bootstrap)."""
    if not state.get("bootstrapped"):
        return []
    for name in DAEMONS:
        state.setdefault(name, {})
    return [RucioDaemon(home, name) for name in DAEMONS]


def _postgres(home: LakeHome, state: State) -> Postgres:
    # a cluster made before passwords has no "auth": trust on its owner-only socket (never one of root's)
    return Postgres(home, state["postgres"]["port"], state["postgres"].get("auth", "trust"))


def _services_user() -> str:
    import pwd

    return SERVICE_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


def _database_url(home: LakeHome, state: State) -> str:
    """The SQLAlchemy URL of the Rucio database, for rucio.cfg and alembic.ini alike."""
    if state["db"] == "postgresql":
        return _postgres(home, state).database_url()
    return f"sqlite:///{home.sqlite_db}"


def _oidc_cfg(home: LakeHome, state: State) -> str:
    """Rucio's [oidc]: it accepts the lake provider's tokens for audience rucio with Rucio's expected scopes."""
    if "oidc" not in state:
        return ""
    return f"""
[oidc]
idpsecrets = {provider.ProviderFiles(home).idpsecrets}
admin_issuer = {provider.ISSUER_KEY}
expected_audience = {provider.RUCIO_AUDIENCE}
expected_scope = {provider.RUCIO_SCOPE}
"""


def _rucio_cfg(home: LakeHome, state: State, password: str) -> str:
    database = _database_url(home, state)
    url = state["rucio"]["url"]
    return f"""\
# Written by 'odlake lake up' for the demo lake in {home.root}.
# Server and clients share it: RUCIO_CONFIG={home.rucio_cfg} rucio did list '{SCOPE}:*'

[common]
logdir = {home.logs}
loglevel = WARNING

[client]
rucio_host = {url}
auth_host = {url}
auth_type = userpass
username = {IDENTITY}
password = {password}
account = {ACCOUNT}
request_retries = 3
auth_token_file_path = {home.root / "tokens" / "token"}
# the CA of the lake's TLS endpoints: its storages' https is checked against it
ca_cert = {LakeCA(home).bundle}

[cache]
# a socket only the lake's user reaches; where memcached is missing, Rucio finds none and runs uncached
url = unix:{Memcached(home).socket}

[database]
default = {database}
pool_size = 10
max_overflow = 10
echo = 0

[bootstrap]
userpass_identity = {IDENTITY}
userpass_pwd = {password}
userpass_email = {IDENTITY}@localhost
x509_identity =
gss_identity =
ssh_identity =
saml_id =

[alembic]
cfg = {home.alembic_ini}

[policy]
permission = generic
schema = generic
lfn2pfn_algorithm_default = identity
support = odlake demo lake

[core]
use_temp_tables = False
{_oidc_cfg(home, state)}
"""


def _alembic_ini(home: LakeHome, database: str) -> str:
    import rucio

    migrations = Path(rucio.__file__).parent / "db" / "sqla" / "migrate_repo"
    return f"""\
[alembic]
script_location = {migrations}
sqlalchemy.url = {database}

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic

[formatter_generic]
format = %%(levelname)s [%%(name)s] %%(message)s
"""


def _need_xrootd() -> None:
    """The lake's storage is XRootD (root:// and https): say what to install when it is not there."""
    missing = ([] if XRootD.binary() else ["xrootd-server"]) + XRootD.missing_plugins()
    if missing:
        raise LakeError(f"the lake's storage is XRootD, which is not installed (apt-get install {' '.join(missing)})")


def _add_identity_parts(home: LakeHome, state: State, ports: dict[str, int | None], log: Log) -> None:
    """The lake's CA and its OpenID Connect provider, also for a lake made before the lake had them."""
    ca = LakeCA(home)
    ca.ensure()
    state["ca"] = {"bundle": str(ca.bundle), "certdir": str(ca.certdir)}
    if "oidc" in state:
        return
    if OidcProvider.binary() is None:
        log("Node 20 or later is not installed: the lake has no OpenID Connect provider (apt-get install nodejs npm)")
        return
    state["oidc"] = provider.new_state(ports.get("oidc") or free_port(), None)


def _add_token_storage(home: LakeHome, state: State, ports: dict[str, int | None], log: Log) -> None:
    """The storage read and written with the provider's tokens (root:// and https), also for a lake made
    before it had one: its samples' copies are then registered by the next registration."""
    if "xrootd-tokens" in state or "oidc" not in state or XRootD.binary() is None:
        return
    missing = TokenXRootD.missing_plugins()
    if missing:
        log(
            f"XRootD's token plugins are not installed: the lake has no token storage (apt-get install {' '.join(missing)})"
        )
        return
    root, https = ports.get("xrootd-tokens") or free_port(), ports.get("xrootd-tokens-https") or free_port()
    state["xrootd-tokens"] = {
        "port": root,
        "https_port": https,
        "url": f"root://127.0.0.1:{root}",
        "https_url": f"https://127.0.0.1:{https}",
        "directory": str(home.token_storage),
    }
    state["rses"]["tokens"] = {
        "name": TOKEN_RSE,
        "scheme": "root",
        "url": state["xrootd-tokens"]["url"],
        "https_url": state["xrootd-tokens"]["https_url"],
        "directory": str(home.token_storage),
        "auth": "token",
    }
    state["registered"] = False  # register the samples' copies on it (registration keeps what is there)


def _new_state(home: LakeHome, size: str, db: str, ports: dict[str, int | None]) -> State:
    def port(name: str) -> int:
        return ports.get(name) or free_port()

    state: State = {
        "version": STATE_VERSION,
        "home": str(home.root),
        "size": size,
        "db": db,
        "scope": SCOPE,
        "account": ACCOUNT,
        "identity": IDENTITY,
        "rucio_cfg": str(home.rucio_cfg),
        "logs": str(home.logs),
        "rucio": {"port": port("rucio")},
        "rses": {
            "http": {"name": HTTP_RSE, "scheme": "https", "directory": str(home.http_storage)},
            "local": {"name": LOCAL_RSE, "scheme": "file", "directory": str(home.local_storage)},
            "userdisk": {"name": USERDISK_RSE, "scheme": "file", "directory": str(home.user_storage)},
        },
        "bootstrapped": False,
        "registered": False,
        # who runs PostgreSQL, memcached, XRootD and the provider, and where their files are
        "services": {"user": _services_user(), "directory": str(home.service_dir)},
    }
    state["rucio"]["url"] = f"http://127.0.0.1:{state['rucio']['port']}"
    # the public storage: XRootD's root:// and its https (XrdHttp, on the --storage-port), one folder
    xrootd = XRootD(home, port("xrootd"), port("storage"))
    state["xrootd"] = {
        "port": xrootd.port,
        "url": xrootd.url,
        "https_port": xrootd.https_port,
        "https_url": xrootd.https_url,
        "directory": str(home.xrootd_storage),
    }
    state["rses"]["http"]["url"] = xrootd.https_url
    state["rses"]["xrootd"] = {"name": XROOTD_RSE, "scheme": "root", "url": xrootd.url}
    state["rses"]["xrootd"]["directory"] = str(home.xrootd_storage)
    if db == "postgresql":
        state["postgres"] = {"port": port("postgres"), "directory": str(home.pgdata), "auth": "scram-sha-256"}
    else:
        state["sqlite"] = {"path": str(home.sqlite_db)}
    return state


def _run_with_rucio_config(home: LakeHome, module: str, *args: str, what: str) -> str:
    env = rucio_environment(home)
    log = home.logs / f"{module.rsplit('.', 1)[-1]}.log"
    with open(log, "ab") as err:
        proc = subprocess.run(
            [sys.executable, "-m", module, *args], env=env, stdout=subprocess.PIPE, stderr=err, cwd=home.root
        )
    if proc.returncode != 0:
        raise LakeError(f"{what} failed; see {log}")
    return proc.stdout.decode()


def count_collection_replicas(home: LakeHome) -> None:
    """Run Rucio's abacus-collection-replica daemon once over what changed.

    It counts the files each dataset's replicas hold, the table ``list_dataset_replicas``
    answers from. A deployment runs it all the time; the lake, after registering, and so
    can a test or benchmark that registers more.
    """
    daemon = Path(sys.executable).with_name("rucio-abacus-collection-replica")
    env = rucio_environment(home)
    log = home.logs / "abacus-collection-replica.log"
    with open(log, "ab") as out:
        proc = subprocess.run([str(daemon), "--run-once"], env=env, stdout=out, stderr=out, cwd=home.root)
    if proc.returncode != 0:
        raise LakeError(f"counting the datasets' replicas failed; see {log}")


def service_names(home: LakeHome, state: State) -> list[str]:
    """The names of the lake's servers, in the order they start."""
    return [service.name for service in _services(home, state)]


def running(home: LakeHome, state: State) -> dict[str, bool]:
    """Which of the lake's servers are up: the recorded process lives and answers."""
    result = {}
    for service in _services(home, state):
        pid = state[service.name].get("pid")
        result[service.name] = process_alive(pid, service.marker) and service.ready()
    return result


def up(
    home: LakeHome,
    size: str = "small",
    db: str = "postgresql",
    ports: dict[str, int | None] | None = None,
    log: Log = print,
    token_lifetime: int | None = None,
    hub_url: str | None = None,
) -> State:
    """Start the lake in ``home`` (or make sure it runs) and return its lake.json content.

    ``token_lifetime``: seconds an access token of the lake's OpenID Connect provider lives (kept for
    the next ``up``; changing it restarts the provider, which signs everyone out).

    ``hub_url``: a JupyterHub whose users log in at the lake's provider (its client ``odlake-hub``, with
    the redirect ``<hub_url>/hub/oauth_callback``, its secret in ``oidc/hub_client_secret``); kept, and a
    new one restarts the provider as a new lifetime does."""
    if size not in SIZES:
        raise LakeError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    if db not in DATABASES:
        raise LakeError(f"unknown database {db!r}; choose one of {', '.join(DATABASES)}")
    home.prepare()
    with _locked(home):
        state = home.load_state()
        if state is None:
            _need_xrootd()
            clear_orphan_service_areas(log)
            state = _new_state(home, size, db, ports or {})
        elif os.geteuid() == 0 and "services" not in state:
            raise LakeError(
                f"the lake in {home.root} was made by an earlier odlake, whose services ran as the shared user "
                f"nobody; run 'odlake lake down --purge --home {home.root}' and 'odlake lake up' again "
                "(its samples are registered anew)"
            )
        elif "xrootd" not in state or "https_port" not in state["xrootd"]:
            raise LakeError(
                f"the lake in {home.root} was made by an earlier odlake, whose HTTP storage was not XRootD; run "
                f"'odlake lake down --purge --home {home.root}' and 'odlake lake up' again (its samples are registered anew)"
            )
        elif state.get("size") != size or state.get("db") != db:
            raise LakeError(
                f"the lake in {home.root} was made with --size {state.get('size')} --db {state.get('db')}; "
                "run 'odlake lake down --purge' first, or use another --home"
            )
        prepare_service_area(home)
        if "memcached" not in state and Memcached.binary():  # also for a lake made before it was installed
            state["memcached"] = {"port": 0, "socket": str(Memcached(home).socket)}
        if "memcached" not in state:
            log("memcached is not installed: Rucio's server runs without its cache (apt-get install memcached)")
        if token_lifetime is not None and token_lifetime < 1:
            raise LakeError(f"a token lifetime must be a positive number of seconds, not {token_lifetime}")
        _add_identity_parts(home, state, ports or {}, log)
        _add_token_storage(home, state, ports or {}, log)
        if "oidc" in state:
            if token_lifetime and token_lifetime != state["oidc"]["access_token_lifetime"]:
                state["oidc"]["access_token_lifetime"] = token_lifetime
                pid = state["oidc"].pop("pid", None)
                if process_alive(pid, str(home.service_dir)):
                    log(f"stopping the lake's oidc (pid {pid}): its tokens now live {token_lifetime} s")
                    stop_process(pid)  # started again below, with the new lifetime
            redirect = f"{hub_url.rstrip('/')}/hub/oauth_callback" if hub_url else None
            if hub_url and not hub_url.startswith(("http://", "https://")):
                raise LakeError(f"a hub's address starts with https:// (or http://), not {hub_url[:80]!r}")
            if redirect and redirect not in state["oidc"].get("hub_redirect_uris", []):
                state["oidc"]["hub_redirect_uris"] = [redirect]
                state["oidc"]["clients"]["hub"] = provider.HUB_CLIENT
                pid = state["oidc"].pop("pid", None)
                if process_alive(pid, str(home.service_dir)):
                    log(f"stopping the lake's oidc (pid {pid}): it now takes logins of the hub at {hub_url}")
                    stop_process(pid)  # started again below, with the hub's client
            provider.ProviderFiles(home).write_idpsecrets(state)
        started = []
        password = home.password()
        write_private(home.rucio_cfg, _rucio_cfg(home, state, password))
        write_private(home.alembic_ini, _alembic_ini(home, _database_url(home, state)))  # it holds the password

        _stop_what_a_stopped_database_left_stale(home, state, log)
        started = [s.name for s in _start(home, state, _services(home, state), log)]

        if not state["bootstrapped"]:
            log("creating the Rucio schema and root account")
            started.append("bootstrap")
            _run_with_rucio_config(home, "jupyterlab_odlake.lake.bootstrap", what="bootstrapping the Rucio database")
            state["bootstrapped"] = True
            home.save_state(state)

        if not state["registered"]:
            log(f"registering the Open Data samples (--size {size})")
            home.save_state(state)  # the registration reads the storages' addresses from it
            out = _run_with_rucio_config(
                home, "jupyterlab_odlake.lake.register", str(home.root), size, db, what="registering the samples"
            )
            summary = json.loads(out.strip().splitlines()[-1])
            state.update(
                registered=True,
                containers=[f"{SCOPE}:{c}" for c in summary["containers"]],
                datasets=[f"{SCOPE}:{d}" for d in summary["datasets"]],
                files=len(summary["files"]),
                bytes=sum(f["bytes"] for f in summary["files"].values()),
            )
            home.save_state(state)
            started.append("registration")
            count_collection_replicas(home)
        if "oidc" in state and not state["oidc"].get("demo_identity"):
            _add_demo_login(home, state, password)
        started += [s.name for s in _start(home, state, _daemons(home, state), log)]  # after the bootstrap
        state["started"] = started
        return state


def _add_demo_login(home: LakeHome, state: State, password: str) -> None:
    """The demo user (the lake's own identity) signs in at the provider with the lake's password, and
    its token's ``SUB=…, ISS=…`` is an identity of the lake's account in Rucio."""
    provider.ProviderFiles(home).set_password(IDENTITY, password)
    _run_with_rucio_config(
        home,
        "jupyterlab_odlake.lake.provider",
        "identity",
        ACCOUNT,
        IDENTITY,
        state["oidc"]["issuer"],
        what="adding the demo user's OIDC identity",
    )
    state["oidc"]["demo_identity"] = provider.oidc_identity(IDENTITY, state["oidc"]["issuer"])
    home.save_state(state)


def _stop_what_a_stopped_database_left_stale(home: LakeHome, state: State, log: Log) -> None:
    """Rucio's server and daemons keep pooled connections to PostgreSQL; when it died, every pooled one is
    dead, and each worker's next request would fail with a DatabaseException even after PostgreSQL is back.
    Those running while PostgreSQL does not are stopped, to start again after it (as a service manager
    restarts the services bound to their database)."""
    if state["db"] != "postgresql" or "pid" not in state["postgres"]:
        return
    database = _postgres(home, state)
    if process_alive(state["postgres"]["pid"], database.marker) and database.ready():
        return
    for service in _services(home, state):
        pid = state[service.name].get("pid")
        if service.pools_database_connections and process_alive(pid, service.marker):
            log(f"stopping the lake's {service.name} (pid {pid}): its connections to PostgreSQL died with it")
            stop_process(state[service.name].pop("pid"), service.stop_signal)
    home.save_state(state)


def _start(home: LakeHome, state: State, services: list[Service], log: Log) -> list[Service]:
    """Start those of ``services`` that do not run; on a failure, stop the ones this started."""
    started: list[Service] = []
    try:
        for service in services:
            record = state[service.name]
            if process_alive(record.get("pid"), service.marker) and service.ready():
                continue
            # a crashed server may have left workers behind in its process group
            stop_process(record.get("pid"), service.stop_signal, timeout=5)
            log(f"starting the lake's {service.name} on {service.address}")
            record["pid"] = service.start()
            started.append(service)
            if isinstance(service, Postgres):
                service.create_database()
            home.save_state(state)
    except LakeError:
        # leave nothing half-started behind
        for service in reversed(started):
            stop_process(state[service.name].pop("pid", None), service.stop_signal)
        if home.lake_json.exists():
            home.save_state(state)
        raise
    return started


def down(home: LakeHome, purge: bool = False, log: Log = print, keep: Collection[str] = ()) -> bool:
    """Stop every process the lake started, but those of the services named in ``keep``.
    With ``purge``, also delete the lake's home."""
    if purge and keep:
        raise ValueError("a lake whose services are kept cannot be purged")
    state = home.load_state()
    if state is None:
        if purge and home.root.exists():
            _purge(home)
        return False
    with _locked(home):
        for service in reversed(_services(home, state)):
            if service.name in keep:
                continue
            pid = state[service.name].get("pid")
            if pid:
                if process_alive(pid, service.marker):
                    log(f"stopping the lake's {service.name} (pid {pid})")
                stop_process(pid, service.stop_signal)
                state[service.name]["pid"] = None
        legacy = (state.get("storage") or {}).get("pid")  # the HTTP storage of a lake made by an earlier odlake
        if legacy and "storage" not in keep:
            if process_alive(legacy, str(home.root)):
                log(f"stopping the lake's storage (pid {legacy})")
                stop_process(legacy)
            state["storage"]["pid"] = None
        home.save_state(state)
    if purge:
        _purge(home)
    return True


def _purge(home: LakeHome) -> None:
    import shutil

    shutil.rmtree(home.root, ignore_errors=True)
    for name in ("xrootd", "xrootd-tokens"):
        shutil.rmtree(XRootD(home, 0, name=name).run_folder, ignore_errors=True)
    if home.service_dir != home.root:
        shutil.rmtree(home.service_dir, ignore_errors=True)
    # a lake made before the service folder kept XRootD's run files in /tmp
    shutil.rmtree(XRootD.legacy_run_folder(home), ignore_errors=True)


def status(home: LakeHome) -> tuple[State | None, dict[str, bool]]:
    state = home.load_state()
    if state is None:
        return None, {}
    return state, running(home, state)
