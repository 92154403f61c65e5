"""``odlake demo``: the demo lake plus a JupyterLab wired to it, stopped together by Ctrl-C."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request

from .lake import manager
from .lake.home import HOME_ENV, LakeHome
from .lake.services import free_port, process_alive, stop_process


def _wait_for_lab(url: str, proc: subprocess.Popen, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def run(home: LakeHome, size: str, db: str, port: int | None, notebook_dir: str | None) -> int:
    manager.up(home, size=size, db=db)
    port = port or free_port()
    token = secrets.token_hex(24)
    env = {
        **os.environ,
        HOME_ENV: str(home.root),
        "RUCIO_CONFIG": str(home.rucio_cfg),
        "JUPYTER_TOKEN": token,  # kept out of the command line, where `ps` would show it
    }
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0"]  # fmt: skip
    if os.geteuid() == 0:
        argv.append("--allow-root")
    if notebook_dir:
        argv.append(f"--ServerApp.root_dir={notebook_dir}")
    log_path = home.logs / "jupyterlab.log"
    with open(log_path, "ab") as log:
        lab = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        if not _wait_for_lab(f"{base}/api/status?token={token}", lab):
            print(f"odlake: error: JupyterLab did not start; see {log_path}", file=sys.stderr)
            return 1
        print(f"\nJupyterLab with the Open Data lake is running:\n\n    {base}/lab?token={token}\n")
        state = home.load_state()
        print(f"Lake: Rucio {state['rucio']['url']}, storage {state['storage']['url']}, home {home.root}")
        print(f"      RUCIO_CONFIG={home.rucio_cfg}")
        print("Press Ctrl-C to stop JupyterLab and the lake.", flush=True)
        while lab.poll() is None and process_alive(lab.pid, "jupyterlab"):
            time.sleep(0.5)
        print(f"JupyterLab exited (code {lab.returncode}); see {log_path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping JupyterLab and the lake…")
        return 0
    finally:
        stop_process(lab.pid, signal.SIGTERM)
        manager.down(home, log=lambda *_: None)
