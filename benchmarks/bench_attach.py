"""Attach latency: a 50-file dataset in stream mode, and a re-attach from the cache.

Baseline in the same run: the rucio-clients calls the attach needs (list_files and
list_replicas), made directly. Cold = a new kernel's first attach (it authenticates);
warm = later attaches in the same kernel.

    python benchmarks/bench_attach.py [--home DIR] [--repeat N]

Writes benchmarks/results/attach.json.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import common

DATASET = "bench.attach50"
FILES = 50


def register(client, home):
    """50 files on the HTTP storage (hard links of one sample), in one dataset."""
    from rucio.common.exception import DataIdentifierAlreadyExists

    from jupyterlab_odlake.core.transfers.cache import adler32_hex
    from jupyterlab_odlake.lake.home import HTTP_RSE

    try:
        client.add_dataset("opendata", DATASET)
    except DataIdentifierAlreadyExists:
        return
    source = home.http_storage / "opendata" / "mc_345319.ZH125J_Zincl_gamgam.GamGam.root"
    data = source.read_bytes()
    adler = adler32_hex(data)
    files = []
    for i in range(FILES):
        name = f"attach50.file_{i:02d}.root"
        target = home.http_storage / "opendata" / name
        if not target.exists():
            os.link(source, target)
        files.append({"scope": "opendata", "name": name, "bytes": len(data), "adler32": adler})
    client.add_replicas(HTTP_RSE, files)
    client.attach_dids("opendata", DATASET, [{"scope": "opendata", "name": f["name"]} for f in files])


def main(argv=None) -> int:
    parser = common.parser(__doc__.splitlines()[0], "attach.json", repeat=20)
    args = parser.parse_args(argv)

    from jupyterlab_odlake.lake import manager
    from jupyterlab_odlake.lake.home import LakeHome

    home = LakeHome.resolve(args.home)
    state = manager.up(home, size=home.load_state()["size"] if home.load_state() else "small")
    os.environ["ODLAKE_LAKE_HOME"] = str(home.root)
    os.environ["ODLAKE_CACHE_DIR"] = tempfile.mkdtemp(prefix="odlake-bench-attach-cache-")
    os.environ["RUCIO_CONFIG"] = str(home.rucio_cfg)
    from rucio.client import Client

    client = Client()
    register(client, home)

    import jupyterlab_odlake as odlake
    from jupyterlab_odlake.kernel import backends

    did = f"opendata:{DATASET}"
    t = time.perf_counter()
    first = odlake.attach(did, mode="stream")
    cold_ms = (time.perf_counter() - t) * 1000
    assert len(first) == FILES and all(p.startswith("http://") for p in first.paths)
    warm_ms = common.median_ms(lambda: odlake.attach(did, mode="stream"), args.repeat, warm=False)

    def direct():
        files = list(client.list_files("opendata", DATASET))
        list(client.list_replicas([{"scope": "opendata", "name": f["name"]} for f in files], all_states=True))

    direct_ms = common.median_ms(direct, args.repeat, warm=False)

    t = time.perf_counter()
    odlake.attach(did, mode="download", progress=False)
    first_download_ms = (time.perf_counter() - t) * 1000
    reattach_ms = common.median_ms(lambda: odlake.attach(did, mode="download", progress=False), args.repeat, warm=False)
    assert sum(d.transfers for d in odlake.downloads()) == FILES  # the re-attaches moved nothing

    results = {
        "machine": common.machine(),
        "lake_size": state["size"],
        "files": FILES,
        "backend": backends.current().via,
        "attach_stream_cold_ms": round(cold_ms, 1),
        "attach_stream_warm_ms": warm_ms,
        "direct_list_files_and_replicas_ms": direct_ms,
        "first_attach_download_ms": round(first_download_ms, 1),
        "reattach_from_cache_ms": reattach_ms,
        "goals": {"attach_stream_ms": 1000, "reattach_from_cache_ms": 200},
    }
    for k, v in results.items():
        print(f"  {k}: {v}")
    common.write(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
