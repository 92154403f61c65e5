"""``odlake demo`` as a user runs it: JupyterLab and the lake start together and stop together,
whether by Ctrl-C, by a service manager's SIGTERM or by a closed terminal's SIGHUP."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile

import pytest
import requests
from support import lake_processes

from jupyterlab_odlake.lake import manager
from jupyterlab_odlake.lake.home import HOME_ENV, LakeHome

pytestmark = pytest.mark.lake  # each test starts a demo lake of its own


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    return tmp_path_factory.mktemp("demo") / "lake"


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def jupyter_of(home) -> list:
    """Processes started with the demo's lake home in their environment (JupyterLab, its kernels)."""
    import psutil

    found = []
    for p in psutil.process_iter(["pid"]):
        try:
            if p.environ().get("ODLAKE_LAKE_HOME") == str(home) and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def start_demo(*args: str, env: dict | None = None) -> tuple[subprocess.Popen, str, int]:
    """``odlake demo`` as from its own terminal, once it says that everything answers: the process,
    what it printed until then, and JupyterLab's port."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab_odlake.cli", "demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # a state folder of its own (XDG's), as the user's would be: the demo keeps its sign-in there
        env={**os.environ, "XDG_STATE_HOME": tempfile.mkdtemp(prefix="odlake-demo-state-"), **(env or {})},
        start_new_session=True,  # as from its own terminal: the signal goes to the demo alone
    )
    lines = []
    for line in demo.stdout:  # the URL is printed once everything answers
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    printed = "".join(lines)
    url = re.search(r"http://127\.0\.0\.1:(\d+)/", printed)
    if url is None:
        demo.kill()
        pytest.fail(printed)
    return demo, printed, int(url.group(1))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_the_demo_stops_jupyterlab_and_the_lake_on(sig, demo_home, tmp_path):
    demo, printed, port = start_demo("--home", str(demo_home), "--notebook-dir", str(tmp_path))
    try:
        assert f"Lake: started here, in {LakeHome(demo_home).root}" in printed
        assert listening(port) and jupyter_of(demo_home)
        assert lake_processes(LakeHome(demo_home).root)
        # the demo signed its user in at the lake's provider, and JupyterLab's panel says whose token it reads with
        assert "Signed in as odlake (the lake's demo user); storage token until" in printed
        token = re.search(r"lab\?token=(\w+)", printed).group(1)
        [demo_instance] = requests.get(
            f"http://127.0.0.1:{port}/odlake/instances", headers={"Authorization": f"token {token}"}, timeout=60
        ).json()["instances"]
        assert demo_instance["signed_in"]["subject"] == "odlake" and demo_instance["signed_in"]["ended"] is None
        os.kill(demo.pid, sig)
        out, _ = demo.communicate(timeout=120)
        assert demo.returncode == 0, out
        assert f"{sig.name}: stopping JupyterLab and the lake" in out
    finally:
        if demo.poll() is None:
            demo.kill()
    assert not listening(port)
    assert jupyter_of(demo_home) == []
    assert lake_processes(LakeHome(demo_home).root) == []


def test_the_demo_leaves_running_a_lake_it_found_running(tmp_path_factory, tmp_path):
    # a hub's shared lake, up before a user runs the demo with ODLAKE_LAKE_HOME naming it
    home = LakeHome(tmp_path_factory.mktemp("shared") / "lake")
    manager.up(home, log=lambda *_: None)
    try:
        demo, printed, port = start_demo("--notebook-dir", str(tmp_path), env={HOME_ENV: str(home.root)})
        try:
            assert jupyter_of(home.root)
            os.kill(demo.pid, signal.SIGINT)
            out, _ = demo.communicate(timeout=120)
            assert demo.returncode == 0, out
        finally:
            if demo.poll() is None:
                demo.kill()
        assert not listening(port) and jupyter_of(home.root) == []
        _state, alive = manager.status(home)
        assert alive and all(alive.values()), alive  # every server of the lake still answers
        assert f"Lake: already running at {home.root}; it keeps running when the demo stops" in printed
        assert "SIGINT: stopping JupyterLab (the lake keeps running)" in out
    finally:
        manager.down(home, purge=True, log=lambda *_: None)
    assert lake_processes(home.root) == []
