"""Helpers the tests share: the odlake command line and the lake's processes."""

import os
import subprocess
import sys
from pathlib import Path


def odlake(*args, env=None, timeout=300):
    """Run the ``odlake`` command line as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "jupyterlab_odlake.cli", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})},
    )  # fmt: skip


def lake_processes(home: Path) -> list:
    """Processes whose command line names the lake home."""
    import psutil

    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if str(home) in " ".join(p.info["cmdline"] or []) and p.status() != psutil.STATUS_ZOMBIE:
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
        import threading

        self.root, self.rate, self.requests = Path(root), rate, []
        storage = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
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
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
