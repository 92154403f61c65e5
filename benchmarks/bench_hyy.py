"""H→γγ benchmarks on --size bench samples (hundreds of MB per file), each with its baseline:

1. the selection over streamed replicas (root:// first, as attach chooses; ``--scheme https`` for the public
   storage's https) vs over local files (goal: ≤ 1.3×);
2. time to the first plot: stream vs download-then-read (goal: stream ≥ 2× faster);
3. the dask path on a LocalCluster with 2 workers vs 1.

    python benchmarks/bench_hyy.py [--home DIR] [--repeat N] [--scheme root|https]

Writes benchmarks/results/hyy.json.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))

import common

import hyy

DATA = "opendata:GamGam.Data"


def seconds(fn, repeat=1):
    return round(common.median_ms(fn, repeat, warm=False) / 1000, 2)


def selection(attached):
    events = attached.arrays("mini", hyy.BRANCHES)
    _, mass = hyy.select(events)
    return hyy.histogram(mass)


def first_plot(mode: str, scheme: str | None = None):
    """From nothing in this process to the histogram: attach (and copy, in download mode), read, select."""
    import jupyterlab_odlake as odlake

    data = odlake.attach(DATA, mode=mode, progress=False, scheme=scheme)
    return selection(data)


def dask_histogram(attached, workers: int):
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, dashboard_address=None, silence_logs=logging.CRITICAL
        ) as cluster,
        Client(cluster),
    ):
        lazy = attached.dask("mini", filter_name=hyy.BRANCHES, step_size="50 MB")
        return hyy.histogram(lazy.map_partitions(lambda p: hyy.select(p)[1]).compute())


def main(argv=None) -> int:
    parser = common.parser(__doc__.splitlines()[0], "hyy.json", repeat=3)
    parser.add_argument("--scheme", help="the stream scheme to read (default: attach's choice, root:// first)")
    args = parser.parse_args(argv)

    from jupyterlab_odlake.lake import manager
    from jupyterlab_odlake.lake.home import LakeHome

    home = LakeHome.resolve(args.home)
    state = manager.up(home, size="bench")
    os.environ["ODLAKE_LAKE_HOME"] = str(home.root)
    cache = Path(tempfile.mkdtemp(prefix="odlake-bench-hyy-cache-"))
    os.environ["ODLAKE_CACHE_DIR"] = str(cache)
    import jupyterlab_odlake as odlake

    streamed = odlake.attach(DATA, mode="stream", scheme=args.scheme)
    total_mb = streamed.bytes / 1e6
    print(f"{DATA}: {len(streamed)} files, {total_mb:.0f} MB", flush=True)

    # warm the imports and uproot's code paths on a small sample, so neither path below pays them
    selection(odlake.attach("opendata:GamGam.MC", mode="stream", scheme=args.scheme))

    # 2. time to the first plot, cold cache: stream first, then download-then-read
    stream_first = seconds(lambda: first_plot("stream", args.scheme))
    download_first = seconds(lambda: first_plot("download"))
    print(f"  first plot: stream {stream_first} s, download then read {download_first} s", flush=True)

    # 1. the selection alone, files already attached: streamed vs the verified local copies
    local = odlake.attach(DATA, mode="download", progress=False)
    assert all(f.kind == "download" for f in local.files)
    stream_sel = seconds(lambda: selection(streamed), args.repeat)
    local_sel = seconds(lambda: selection(local), args.repeat)
    assert (selection(streamed) == selection(local)).all()
    print(f"  selection: stream {stream_sel} s, local {local_sel} s", flush=True)

    # 3. dask: 2 workers vs 1, same streamed files
    one = seconds(lambda: dask_histogram(streamed, 1))
    two = seconds(lambda: dask_histogram(streamed, 2))
    print(f"  dask LocalCluster: 1 worker {one} s, 2 workers {two} s", flush=True)

    results = {
        "machine": common.machine(),
        "lake_size": state["size"],
        "dataset": DATA,
        "files": len(streamed),
        "stream_scheme": sorted({f.location.split(":", 1)[0] for f in streamed.files}),
        "megabytes": round(total_mb, 1),
        "selection_stream_s": stream_sel,
        "selection_local_s": local_sel,
        "selection_ratio_stream_vs_local": round(stream_sel / local_sel, 2),
        "first_plot_stream_s": stream_first,
        "first_plot_download_then_read_s": download_first,
        "first_plot_speedup_stream": round(download_first / stream_first, 2),
        "dask_1_worker_s": one,
        "dask_2_workers_s": two,
        "dask_speedup_2_vs_1": round(one / two, 2),
        "goals": {"selection_ratio_max": 1.3, "first_plot_speedup_min": 2.0},
    }
    shutil.rmtree(cache, ignore_errors=True)
    common.write(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
