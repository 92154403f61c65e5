"""On a shared machine, another local user reaches none of a user's lake or odlake state:
not the lake's database, nor its credentials, nor the user's Rucio tokens, file indexes or cached files."""

import json
import os
import secrets as random
import shutil
import stat
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from conftest import instance_config

from jupyterlab_odlake.core import DID, LakeService
from jupyterlab_odlake.core.config import InstanceConfig
from jupyterlab_odlake.lake.ca import LakeCA
from jupyterlab_odlake.lake.provider import ProviderFiles
from jupyterlab_odlake.lake.services import RUCIO_DB_SECRET, SERVICE_USER, SUPERUSER_SECRET

OTHER_USER = "daemon"  # not the lake's user, nor its services' (odlake-lake, when the lake runs as root)
PYTHON = "/usr/bin/python3"  # one every user can run; the project's own may live in a private home

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv") or not os.path.exists(PYTHON),
    reason="needs root, setpriv and the system's python3 to act as another local user",
)

PROBE = r"""
import json, os, socket, sys
args = json.loads(sys.argv[1])
found = {}

def attempt(name, action):
    try:
        action()
        found[name] = "reached"
    except OSError as e:
        found[name] = type(e).__name__

def unix(path):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)

def tcp(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass

attempt("database socket", lambda: unix(args["socket"]))
attempt("Rucio's cache", lambda: unix(args["memcached"]))
attempt("database over TCP", lambda: tcp(args["port"]))
for name in ("rucio.cfg", "password file", "cached file", "file index"):
    attempt(name, lambda p=args[name]: open(p).read())
for name in ("token directory", "cache", "file index directory"):
    attempt(name, lambda p=args[name]: os.listdir(p))
print(json.dumps(found))
"""


def test_another_local_user_reaches_nothing_of_the_lake_or_odlake(fault_lake, tmp_path):
    home, state = fault_lake
    # the user's odlake state, where a user's would be: below a folder everyone may pass through
    user_dir = tmp_path / "user"
    user_dir.mkdir()
    for folder in (tmp_path, user_dir):
        folder.chmod(0o755)
    secrets = user_dir / "secrets"
    secrets.mkdir(mode=0o700)
    config = InstanceConfig.from_dict(instance_config(home, state, secrets))
    service = LakeService([config], cache_dir=user_dir / "cache", state_dir=user_dir / "state")
    record = service.start_download(DID("opendata", "data_A.GamGam.root"))
    deadline = time.monotonic() + 60
    while (record := service.transfer("download", record.id)).active and time.monotonic() < deadline:
        time.sleep(0.05)
    assert record.state == "done", record
    dataset = DID("opendata", "GamGam.Data")
    service.files(dataset, 1, offset=1)  # a page past the first: the closed dataset's index is built
    index = service._instance().file_index
    service.close()
    [cached] = record.paths
    targets = {
        "socket": str(home.pgdata / f".s.PGSQL.{state['postgres']['port']}"),
        "port": state["postgres"]["port"],
        "memcached": home.load_state()["memcached"]["socket"],
        "rucio.cfg": str(home.rucio_cfg),
        "password file": str(home.secret_file),
        "cached file": cached,
        "token directory": str(user_dir / "state" / "tokens" / "demo"),
        "cache": str(user_dir / "cache"),
        "file index": str(index.path(dataset)),
        "file index directory": str(index.directory),
    }
    assert all(os.path.exists(p) for k, p in targets.items() if k != "port"), targets
    found = _probe(OTHER_USER, OTHER_USER, targets, PROBE)
    assert found == {
        "database socket": "PermissionError",
        "Rucio's cache": "PermissionError",
        "database over TCP": "ConnectionRefusedError",
        "rucio.cfg": "PermissionError",
        "password file": "PermissionError",
        "cached file": "PermissionError",
        "token directory": "PermissionError",
        "cache": "PermissionError",
        "file index": "PermissionError",
        "file index directory": "PermissionError",
    }


# What a user of the machine tries on the lake's services: PostgreSQL's socket, speaking its protocol
# (a startup message as the superuser: does the server let it in, or ask for a password?), memcached's
# socket, and every secret of the lake by name.
SERVICE_PROBE = r"""
import json, os, socket, struct, sys
args = json.loads(sys.argv[1])
found = {}

def postgres(path):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        body = struct.pack("!I", 196608) + b"user\0postgres\0database\0rucio\0\0"
        s.sendall(struct.pack("!I", len(body) + 4) + body)
        kind, _length, code = struct.unpack("!cII", s.recv(9))
        if kind != b"R" or code == 0:
            return "let in"
        return "asked for a password" if code in (3, 5, 10) else f"answered {kind!r} {code}"

def memcached(path):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(b"set odlake-probe 0 60 1\r\nx\r\n")
        return s.recv(100).decode().strip()

for name, action, target in (("database", postgres, args["database"]), ("cache", memcached, args["cache"])):
    try:
        found[name] = action(target)
    except OSError as e:
        found[name] = type(e).__name__
for path in args["secrets"]:
    try:
        open(path, "rb").read(1)
        found[path] = "read"
    except OSError as e:
        found[path] = type(e).__name__
print(json.dumps(found))
"""


def _probe(user: str, group: str, targets: dict, probe: str = SERVICE_PROBE) -> dict:
    """What ``user`` finds when ``probe`` (a Python program) tries ``targets``, run as that user alone."""
    probe = subprocess.run(
        [
            "setpriv",
            f"--reuid={user}",
            f"--regid={group}",
            "--clear-groups",
            PYTHON,
            "-I",
            "-c",
            probe,
            json.dumps(targets),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert probe.returncode == 0, probe.stderr
    return json.loads(probe.stdout)


@pytest.fixture
def fresh_user():
    """A Unix user made for the test, in no group but its own."""
    name = f"odlprobe{random.token_hex(3)}"
    subprocess.run(["useradd", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name], check=True)
    yield name
    subprocess.run(["userdel", name], check=False)


def _lake_secrets(home) -> list[str]:
    """Every file of the lake that holds a secret or a service's data, by path."""
    files = ProviderFiles(home)
    ca = LakeCA(home)
    found = [
        home.rucio_cfg,
        home.secret_file,
        home.alembic_ini,
        home.root / "etc" / SUPERUSER_SECRET,
        home.root / "etc" / RUCIO_DB_SECRET,
        files.secrets,
        files.idpsecrets,
        files.jwks,
        files.users,
        files.settings,
        ca.key,
        ca.host_key("oidc"),
        files.runtime / "tls.key",
        home.pgdata / "global" / "pg_control",
        home.pgdata / "pg_hba.conf",
        *(p for p in (home.root / "tokens").rglob("*") if p.is_file()),
        *(p for p in (home.root / "users").glob("*") if p.is_file()),
    ]
    assert all(p.is_file() for p in found), [str(p) for p in found if not p.is_file()]
    return [str(p) for p in found]


def test_the_lakes_services_run_as_its_own_user_without_capabilities_and_no_other_user_reaches_them(
    fault_lake, fresh_user
):
    home, _ = fault_lake
    state = home.load_state()
    assert state["services"] == {"user": SERVICE_USER, "directory": str(home.service_dir)}
    assert not str(home.service_dir).startswith(str(home.root))

    # each service, and every process of its group, runs as the lake's own user with no capability at all
    for name in ("postgres", "memcached", "xrootd", "oidc"):
        leader = psutil.Process(state[name]["pid"])
        group = [p for p in psutil.process_iter() if os.getpgid(p.pid) == os.getpgid(leader.pid)]
        for process in group:
            status = dict(line.split(":", 1) for line in Path(f"/proc/{process.pid}/status").read_text().splitlines())
            assert process.username() == SERVICE_USER, (name, process.cmdline())
            for capabilities in ("CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"):
                assert int(status[capabilities], 16) == 0, (name, capabilities, status[capabilities])
            assert status["NoNewPrivs"].strip() == "1", name

    # PostgreSQL asks every connection for a password, on its socket too
    hba = [line.split() for line in (home.pgdata / "pg_hba.conf").read_text().splitlines()]
    rules = [words for words in hba if words and not words[0].startswith("#")]
    assert rules and all(words[-1] == "scram-sha-256" for words in rules), rules
    assert ["local", "all", "all", "scram-sha-256"] in rules

    socket_path = str(home.pgdata / f".s.PGSQL.{state['postgres']['port']}")
    targets = {"database": socket_path, "cache": state["memcached"]["socket"], "secrets": _lake_secrets(home)}
    refused = {"database": "PermissionError", "cache": "PermissionError"}
    refused.update({path: "PermissionError" for path in targets["secrets"]})
    # nobody (which other daemons share) and a fresh user reach neither service nor any secret
    assert _probe("nobody", "nogroup", targets) == refused
    assert _probe(fresh_user, fresh_user, targets) == refused

    # the services' own user reaches its sockets, but the database wants a password of it too, and the
    # lake's secrets stay root's: a service taken over gives neither the database nor Rucio
    own = _probe(SERVICE_USER, SERVICE_USER, targets)
    assert own.pop("database") == "asked for a password"
    assert own.pop("cache") == "STORED"
    home_secrets = {p: r for p, r in own.items() if not p.startswith(str(home.service_dir))}
    assert set(home_secrets.values()) == {"PermissionError"}, home_secrets
    for path in targets["secrets"]:
        info = os.stat(path)
        if path.startswith(str(home.root)):
            assert info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o600, path


def test_rucios_database_role_is_no_superuser_and_without_a_password_nobody_gets_in(fault_lake):
    import psycopg

    home, state = fault_lake
    where = {"host": str(home.pgdata), "port": state["postgres"]["port"], "dbname": "rucio"}
    for user in ("postgres", "rucio"):
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(user=user, **where).close()  # root, who reaches the socket: no password, no entry
    with psycopg.connect(user="rucio", password=home.secret(RUCIO_DB_SECRET), **where) as db:
        assert db.execute("select rolsuper from pg_roles where rolname = current_user").fetchone() == (False,)
        assert db.execute("select count(*) from dids").fetchone()[0] > 0  # Rucio's own tables are its
        for query in ("select pg_read_file('/etc/shadow')", "copy (select 1) to program 'true'"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute(query)
            db.rollback()
