"""A Jupyter server process wired to a demo lake: for ``odlake demo``, the tests and the benchmarks."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .home import HOME_ENV, LakeError, LakeHome
from .services import free_port, stop_process


@dataclass
class JupyterProcess:
    proc: subprocess.Popen
    url: str  # base URL, ending in /
    token: str
    log: Path

    def stop(self) -> None:
        stop_process(self.proc.pid, signal.SIGTERM)


def start_jupyter(home: LakeHome, *, app: str = "jupyterlab", port: int | None = None, root_dir: str | None = None,
                  env: dict | None = None, base_env: dict | None = None, args: list[str] = (),
                  log: Path | None = None, timeout: float = 120.0) -> JupyterProcess:  # fmt: skip
    """Start ``python -m <app>`` on 127.0.0.1 with the lake's home in its environment; wait until it answers.

    The environment is ``base_env`` (default: this process's) plus ``env``.
    """
    port = port or free_port()
    token = secrets.token_hex(24)
    environ = {
        **(os.environ if base_env is None else base_env),
        HOME_ENV: str(home.root),
        "JUPYTER_TOKEN": token,  # not on the command line, where `ps` would show it
        **(env or {}),
    }
    argv = [sys.executable, "-m", app, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", *args]  # fmt: skip
    if os.geteuid() == 0:
        argv.append("--allow-root")
    if root_dir:
        argv.append(f"--ServerApp.root_dir={root_dir}")
    log = log or home.logs / f"{app}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LakeError(f"{app} exited at start (code {proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2):
                return JupyterProcess(proc, url, token, log)
        except OSError:
            time.sleep(0.3)
    stop_process(proc.pid)
    raise LakeError(f"{app} did not answer within {timeout:.0f} s; see {log}")
