"""On a shared machine, another local user reaches none of a user's lake or odlake state:
not the lake's database, nor its credentials, nor the user's Rucio tokens, file indexes or cached files."""

import json
import os
import shutil
import subprocess
import time

import pytest
from conftest import instance_config

from jupyterlab_odlake.core import DID, LakeService
from jupyterlab_odlake.core.config import InstanceConfig

OTHER_USER = "daemon"  # not the lake's user, nor PostgreSQL's (nobody, when the lake runs as root)
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
    probe = subprocess.run(
        [
            "setpriv",
            f"--reuid={OTHER_USER}",
            f"--regid={OTHER_USER}",
            "--clear-groups",
            PYTHON,
            "-I",
            "-c",
            PROBE,
            json.dumps(targets),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
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
