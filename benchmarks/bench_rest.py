"""REST API benchmarks, each against its baseline in the same run and on the same lake.

1. search / listing latency through REST vs the same calls made directly with rucio-clients;
2. download throughput of a --size bench dataset: REST download queue vs the stock
   ``rucio download`` CLI, plus Rucio's DownloadClient vs odlake's verified HTTP transfer;
3. a 10,000-file dataset: time to the first page vs the full list (and vs list_replicas,
   what the older Rucio extension lists with).

    python benchmarks/bench_rest.py [--home DIR] [--repeat N] [--skip-download]

Writes benchmarks/results/rest.json; benchmarks/README.md carries the table.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import common

BIG_DATASET = "bench.10k"
BIG_FILES = 10_000


def latency(server, client, repeat):
    from jupyterlab_odlake.core.rucio.metadata import SHOWN_METADATA  # noqa: F401 - same page size and content

    def direct_search():
        page = list(islice(client.list_dids("opendata", [{"name": "*"}], did_type="all", long=True), 100))
        list(client.get_metadata_bulk([{"scope": "opendata", "name": d["name"]} for d in page], plugin="ALL"))

    def direct_files():
        files = list(islice(client.list_files("opendata", "GamGam.Data"), 100))
        list(client.list_replicas([{"scope": f["scope"], "name": f["name"]} for f in files], all_states=True))

    def direct_did():
        client.get_did("opendata", "GamGam.Data", dynamic_depth="FILE")
        list(client.get_metadata_bulk([{"scope": "opendata", "name": "GamGam.Data"}], plugin="ALL"))

    pairs = {
        "search (all DIDs, first page of 100, with metadata)": (
            lambda: server.get("search?q=opendata:*&type=all&limit=100"),
            direct_search,
        ),
        "files of GamGam.Data (with availability)": (
            lambda: server.get("dids/opendata/GamGam.Data/files?limit=100"),
            direct_files,
        ),
        "DID info GamGam.Data": (lambda: server.get("dids/opendata/GamGam.Data"), direct_did),
    }
    out = {}
    for name, (rest, direct) in pairs.items():
        r, d = common.median_ms(rest, repeat), common.median_ms(direct, repeat)
        out[name] = {"rest_ms": r, "direct_ms": d, "ratio": round(r / d, 2)}
        print(f"  {name}: REST {r} ms, direct {d} ms, x{r / d:.2f}", flush=True)
    return out


def big_listing(server, client):
    from jupyterlab_odlake.lake.register import register_large_dataset

    register_large_dataset(client, BIG_DATASET, BIG_FILES, prefix="bench")
    t = time.perf_counter()
    first = server.get(f"dids/opendata/{BIG_DATASET}/files?limit=100")
    first_ms = (time.perf_counter() - t) * 1000

    def all_pages(availability):
        cursor, n = None, 0
        while True:
            page = server.get(
                f"dids/opendata/{BIG_DATASET}/files?limit=1000&availability={availability}"
                + (f"&cursor={cursor}" if cursor else "")
            )
            n += len(page["items"])
            cursor = page["next"]
            if not cursor:
                return n

    t = time.perf_counter()
    n = all_pages("false")
    full_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    all_pages("true")
    full_avail_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    replicas = list(client.list_replicas([{"scope": "opendata", "name": BIG_DATASET}]))
    replicas_ms = (time.perf_counter() - t) * 1000
    assert first["total"] is None and BIG_FILES == n == len(replicas)  # "100+" until the end is read
    out = {
        "files": BIG_FILES,
        "first_page_ms": round(first_ms, 1),
        "full_list_rest_ms": round(full_ms, 1),
        "full_list_with_availability_rest_ms": round(full_avail_ms, 1),
        "list_replicas_all_ms": round(replicas_ms, 1),
    }
    print(
        f"  10k files: first page {first_ms:.0f} ms, all pages {full_ms:.0f} ms "
        f"({full_avail_ms:.0f} ms with availability), list_replicas {replicas_ms:.0f} ms",
        flush=True,
    )
    return out


def downloads(server, home, cache, client):
    """REST queue vs `rucio download` CLI, then DownloadClient vs odlake's transfer, on GamGam.Data."""
    from rucio.client.downloadclient import DownloadClient

    from jupyterlab_odlake.core import DID, Cache
    from jupyterlab_odlake.core.config import from_lake
    from jupyterlab_odlake.core.credentials import StorageAccess
    from jupyterlab_odlake.lake.home import HTTP_RSE

    did = "opendata:GamGam.Data"
    total = sum(f["bytes"] for f in client.list_files("opendata", "GamGam.Data"))
    out = {"dataset": did, "bytes": total}

    shutil.rmtree(cache, ignore_errors=True)
    t = time.perf_counter()
    d = server.request("downloads", "POST", {"did": did})
    while d["state"] in ("resolving", "running"):
        time.sleep(0.05)
        d = server.get(f"downloads/{d['id']}")
    rest_s = time.perf_counter() - t
    assert d["state"] == "done", d

    target = Path(tempfile.mkdtemp(prefix="odlake-bench-cli-"))
    rucio = Path(sys.executable).parent / "rucio"
    env = {**os.environ, "RUCIO_CONFIG": str(home / "rucio.cfg")}
    t = time.perf_counter()
    subprocess.run(
        [str(rucio), "download", "--rses", HTTP_RSE, "--dir", str(target), did],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cli_s = time.perf_counter() - t
    shutil.rmtree(target)

    target = Path(tempfile.mkdtemp(prefix="odlake-bench-dc-"))
    t = time.perf_counter()
    DownloadClient(client=client).download_dids([{"did": did, "rse": HTTP_RSE, "base_dir": str(target)}])
    dc_s = time.perf_counter() - t
    shutil.rmtree(target)

    direct_cache = Cache(tempfile.mkdtemp(prefix="odlake-bench-direct-"))
    files = list(client.list_replicas([{"scope": "opendata", "name": "GamGam.Data"}], schemes=["https"]))
    access = StorageAccess(from_lake(home), Path(tempfile.mkdtemp(prefix="odlake-bench-tokens-")))  # the lake's CA
    t = time.perf_counter()
    for r in files:
        did = DID("opendata", r["name"])
        direct_cache.fetch(did, [r["rses"][HTTP_RSE][0]], r["bytes"], r["adler32"], access=access)
    direct_s = time.perf_counter() - t
    direct_cache.clear()

    mb = total / 1e6
    out.update(
        rest_s=round(rest_s, 2),
        rest_mb_s=round(mb / rest_s, 1),
        rucio_cli_s=round(cli_s, 2),
        rucio_cli_mb_s=round(mb / cli_s, 1),
        ratio_rest_vs_cli=round(cli_s / rest_s, 2),
        download_client_s=round(dc_s, 2),
        download_client_mb_s=round(mb / dc_s, 1),
        odlake_transfer_sequential_s=round(direct_s, 2),
        odlake_transfer_mb_s=round(mb / direct_s, 1),
    )
    print(
        f"  download {mb:.0f} MB: REST {rest_s:.2f} s, rucio CLI {cli_s:.2f} s (x{cli_s / rest_s:.2f}); "
        f"DownloadClient {dc_s:.2f} s, odlake transfer {direct_s:.2f} s",
        flush=True,
    )
    return out


def main(argv=None) -> int:
    parser = common.parser(__doc__.splitlines()[0], "rest.json", repeat=30)
    parser.add_argument("--skip-download", action="store_true")
    args = parser.parse_args(argv)

    from jupyterlab_odlake.lake import manager
    from jupyterlab_odlake.lake.home import LakeHome

    home = LakeHome.resolve(args.home)
    size = "small" if args.skip_download else "bench"
    print(f"lake --size {size} in {home.root}", flush=True)
    t = time.perf_counter()
    manager.up(home, size=size)
    lake_up_s = time.perf_counter() - t
    os.environ["RUCIO_CONFIG"] = str(home.rucio_cfg)
    from rucio.client import Client

    client = Client()
    with common.served(home) as server:
        results = {
            "machine": common.machine(),
            "lake": {"size": size, "up_s": round(lake_up_s, 1)},
            "latency": latency(server, client, args.repeat),
            "big_listing": big_listing(server, client),
        }
        if not args.skip_download:
            results["download"] = downloads(server, home.root, server.cache, client)
    common.write(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
