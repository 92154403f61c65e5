"""``odlake demo`` as a user runs it: JupyterLab and the lake start together and stop together,
whether by Ctrl-C, by a service manager's SIGTERM or by a closed terminal's SIGHUP."""

import os
import re
import signal
import socket
import subprocess
import sys

import pytest
from support import lake_processes

from jupyterlab_odlake.lake.home import LakeHome

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


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_the_demo_stops_jupyterlab_and_the_lake_on(sig, demo_home, tmp_path):
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab_odlake.cli",
            "demo",
            "--home",
            str(demo_home),
            "--notebook-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # as from its own terminal: the signal goes to the demo alone
    )
    try:
        lines = []
        for line in demo.stdout:  # the URL is printed once everything answers
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        url = next((m.group(0) for m in map(re.compile(r"http://127\.0\.0\.1:\d+/").search, lines) if m), None)
        assert url, "".join(lines)
        port = int(url.rsplit(":", 1)[1].strip("/"))
        assert listening(port) and jupyter_of(demo_home)
        assert lake_processes(LakeHome(demo_home).root)
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
