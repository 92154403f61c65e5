"""Helpers the tests share: the odlake command line, the lake's processes, waiting for a download."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def odlake(*args, env=None, timeout=300):
    """Run the ``odlake`` command line as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "jupyterlab_odlake.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def lake_processes(home: Path) -> list:
    """Processes whose command line names the lake home or its service folder."""
    import psutil

    from jupyterlab_odlake.lake.home import LakeHome

    markers = {str(home), str(LakeHome(Path(home)).service_dir)}
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            line = " ".join(p.info["cmdline"] or [])
            if any(m in line for m in markers) and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except psutil.NoSuchProcess:
            pass
    return found


class SlowStorage:
    """A deliberately slow HTTP storage on loopback (Range-capable), to watch a download in progress.

    It serves files from a directory at about ``rate`` bytes per second and records the
    Range header of each request.
    """

    def __init__(self, root: Path, rate: int = 2_000_000):
        import http.server

        self.root, self.rate, self.requests = Path(root), rate, []
        self.connections: set = set()
        storage = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                storage.connections.add(self.connection)
                path = storage.root / self.path.lstrip("/")
                storage.requests.append((self.path, self.headers.get("Range")))
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[len("bytes=") :].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                import time

                step = max(1, storage.rate // 20)
                try:
                    for i in range(start, len(data), step):
                        self.wfile.write(data[i : i + step])
                        time.sleep(0.05)
                except OSError:  # the client went away, or the storage crashed
                    pass
                finally:
                    storage.connections.discard(self.connection)

        self._handler = Handler
        self._serve(0)

    def _serve(self, port: int) -> None:
        import http.server
        import threading

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), self._handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def crash(self) -> None:
        """Go away as a killed server does: stop answering and cut every transfer in the middle."""
        import socket

        self.close()
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restart(self) -> None:
        """Come back on the same port, so that the replica's URL holds again."""
        self._serve(self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


async def wait_download(api, download_id, until=("done", "failed", "cancelled"), timeout=60):
    for _ in range(int(timeout / 0.05)):
        status, d = await api("downloads", download_id)
        assert status == 200
        if d["state"] in until:
            return d
        await asyncio.sleep(0.05)
    pytest.fail(f"download {download_id} stayed {d['state']}")


async def until(condition, timeout=30.0, what="the condition"):
    """Wait until ``condition()`` holds (checked every 20 ms), or fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(0.02)


def transfer_ended(cache_root: Path, scope: str, name: str) -> bool:
    """Has every transfer of ``scope:name`` into the cache let go of the file's lock?"""
    import fcntl
    from urllib.parse import quote

    lock = cache_root / ".locks" / scope / (quote(name, safe="") + ".lock")
    if not lock.exists():
        return True
    with open(lock, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True


def odlake_server(home, root: Path, cache: Path, *args: str):
    """A real Jupyter server with odlake on the lake in ``home``, its own config, runtime and state in ``root``
    and its downloads in ``cache``; returns it and a requests session that carries its token."""
    import requests

    from jupyterlab_odlake.lake.home import LakeHome
    from jupyterlab_odlake.lake.jupyter import start_jupyter

    root.mkdir(parents=True, exist_ok=True)
    (root / "notebooks").mkdir(exist_ok=True)
    server = start_jupyter(
        LakeHome(home.root),
        app="jupyter_server",
        root_dir=str(root / "notebooks"),
        env={"JUPYTER_CONFIG_DIR": str(root / "config"), "JUPYTER_RUNTIME_DIR": str(root / "runtime")},
        log_file=root / "server.log",
        args=[f"--Odlake.cache_dir={cache}", f"--Odlake.state_dir={root / 'state'}", *args],
    )
    session = requests.Session()
    session.headers["Authorization"] = f"token {server.token}"
    return server, session


def follow(server, session, record: dict, timeout: float = 120.0) -> dict:
    """Poll a download through a server's REST API until it ends."""
    deadline = time.monotonic() + timeout
    while record["state"] in ("resolving", "running") and time.monotonic() < deadline:
        time.sleep(0.02)
        record = session.get(server.url + f"odlake/downloads/{record['id']}", timeout=60).json()
    return record


def root_client(home):
    """A Rucio client of the lake in ``home`` as its root account."""
    from rucio.client import Client

    state = home.load_state()
    return Client(
        rucio_host=state["rucio"]["url"],
        auth_host=state["rucio"]["url"],
        account="root",
        auth_type="userpass",
        creds={"username": "odlake", "password": home.password()},
    )
