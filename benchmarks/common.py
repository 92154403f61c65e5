"""What the benchmarks share: timing, the lake they run against, where results go."""

from __future__ import annotations

import argparse
import json
import os
import platform
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
