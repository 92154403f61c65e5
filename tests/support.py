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
