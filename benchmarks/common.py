"""What the benchmarks share: timing, the lake they run against, where results go."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def median_ms(fn, repeat: int, warm: bool = True) -> float:
    """Median wall time of ``fn()`` in milliseconds, after one warm-up call."""
    if warm:
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def parser(description: str, result: str, repeat: int) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--home", default=os.environ.get("ODLAKE_BENCH_HOME", str(Path(tempfile.gettempdir()) / "odlake-bench-lake"))
    )
    p.add_argument("--repeat", type=int, default=repeat)
    p.add_argument("--out", default=str(RESULTS / result))
    return p


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def write(path: str, results: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}")


class Server:
    """A Jupyter server with odlake, pointed at the lake, on loopback, called over one kept-alive connection."""

    def __init__(self, home, cache: Path):
        import requests

        from jupyterlab_odlake.lake.jupyter import start_jupyter

        self.cache = cache

        root = Path(tempfile.mkdtemp(prefix="odlake-bench-root-"))
        env = {"JUPYTER_CONFIG_DIR": str(root / "config"), "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
        self.jupyter = start_jupyter(
            home,
            app="jupyter_server",
            root_dir=str(root),
            env=env,
            # as a user's server: Rucio's client library with no rucio.cfg of the lake (that one is the server's)
            base_env={k: v for k, v in os.environ.items() if k != "RUCIO_CONFIG"},
            log_file=root / "server.log",
            args=[f"--Odlake.cache_dir={cache}", "--ServerApp.log_level=WARN"],
        )
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.jupyter.token}"

    def request(self, path, method="GET", body=None):
        r = self.session.request(method, f"{self.jupyter.url}odlake/{path}", json=body, timeout=600)
        r.raise_for_status()
        return r.json()

    def get(self, path):
        return self.request(path)

    @property
    def pid(self) -> int:
        return self.jupyter.process.pid

    def rss_mb(self) -> float:
        """The resident memory of the Jupyter server process."""
        import psutil

        return round(psutil.Process(self.pid).memory_info().rss / 1e6, 1)

    def close(self):
        self.jupyter.stop()


@contextlib.contextmanager
def served(home):
    """A Jupyter server with odlake on the lake, its download cache a fresh folder; both gone after."""
    cache = Path(tempfile.mkdtemp(prefix="odlake-bench-cache-"))
    server = Server(home, cache)
    try:
        yield server
    finally:
        server.close()
        shutil.rmtree(cache, ignore_errors=True)
