"""A Jupyter server process wired to a demo lake: for ``odlake demo``, the tests and the benchmarks."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .home import HOME_ENV, LakeHome
from .services import Service, _http_ok, free_port, stop_process


@dataclass
class JupyterServer(Service):
    """``python -m <app>`` on 127.0.0.1 with the lake's home in its environment, started like the lake's servers.

    The environment is ``base_env`` (default: this process's) plus ``env``; the token is
    passed in the environment, not on the command line, where ``ps`` would show it.
    """

    app: str = "jupyterlab"
    root_dir: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    base_env: dict[str, str] | None = None
    args: Sequence[str] = ()
    log_file: Path | None = None
    token: str = field(default_factory=lambda: secrets.token_hex(24))

    def __post_init__(self) -> None:
        self.name = self.app

    @property
    def url(self) -> str:
        """The base URL, ending in /."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        return self.log_file or self.home.logs / f"{self.app}.log"

    def command(self) -> list[str]:
        argv = [sys.executable, "-m", self.app, "--no-browser", "--ip=127.0.0.1", f"--port={self.port}"]
        argv += ["--ServerApp.port_retries=0", *self.args]
        if os.geteuid() == 0:
            argv.append("--allow-root")
        if self.root_dir:
            argv.append(f"--ServerApp.root_dir={self.root_dir}")
        return argv

    def environment(self) -> dict[str, str]:
        base = dict(os.environ if self.base_env is None else self.base_env)
        return {**base, HOME_ENV: str(self.home.root), "JUPYTER_TOKEN": self.token, **self.env}

    def workdir(self) -> Path | None:
        return None  # without root_dir, Jupyter serves the folder it was started in, as `jupyter lab` does

    def ready(self) -> bool:
        return _http_ok(f"{self.url}api/status?token={self.token}")

    def stop(self) -> None:
        stop_process(self.process.pid)


def start_jupyter(home: LakeHome, *, port: int | None = None, timeout: float = 120.0, **options: Any) -> JupyterServer:
    """Start a Jupyter server (see ``JupyterServer`` for the options) and wait until it answers."""
    server = JupyterServer(home, port or free_port(), **options)
    server.start(timeout)
    return server
