"""Scale: search, listings and attach on a lake of over 200,000 DIDs with a 100,000-file dataset.

Each figure against its floor in the same run, through the REST API of a running Jupyter server:

1. search ``opendata:*`` type all, first page of 100, vs the first 100 DIDs streamed by
   ``list_dids`` directly; page 10 (followed by cursor) vs page 1;
2. the first page of the 100,000-file dataset with availability, vs the first 100 names
   streamed by ``list_files`` directly; page 500 (by offset) likewise, and vs the first
   50,000 names streamed (Rucio has no offset: the floor of any page that far);
3. attach of the 100,000-file dataset in stream mode from a new process through the REST API,
   vs ``list_files`` of the whole dataset (the floor of any attach), three rounds in turn,
   medians; 1,000 files checked against ``list_replicas``' choice;
4. the server's RSS (psutil) idle and at its highest while paging through all 100,000 files
   and the first 20,000 search results;
5. walking every page of the 100,000-file dataset (1,000 a page, by cursor, with availability)
   through the REST API of a server that has no index of it yet, and again once it has, vs
   one ``list_files`` of the whole dataset directly (the floor of any walk); the first page of
   100 before and after the index is there.

The scale lake is the demo lake plus, registered once by this script (catalogue entries on
the HTTP RSE, no bytes): the dataset ``scale.100k`` (100,000 files, under a rule, its copy
counted by Rucio's abacus daemon) and 100 datasets of 1,000 files (``scale.fill_NNN``).

    python benchmarks/bench_scale.py [--home DIR] [--repeat N] [--only walk|attach]

Each server gets a state directory of its own (its file indexes among it), so a run starts
with none. Writes benchmarks/results/scale.json (``--only walk``: its ``walk`` part only, the
rest kept from the last run); benchmarks/README.md carries the table.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from itertools import islice
from pathlib import Path

import common

BIG = "scale.100k"
BIG_FILES = 100_000
FILL = 100  # datasets of 1,000 files beside it


def prepare(home, client) -> dict:
    from jupyterlab_odlake.lake.manager import count_collection_replicas
    from jupyterlab_odlake.lake.register import register_large_dataset

    t = time.perf_counter()
    register_large_dataset(client, BIG, BIG_FILES, prefix="scale", chunk=1000)
    big_s = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(FILL):
        register_large_dataset(client, f"scale.fill_{i:03d}", 1000, chunk=1000, keep=False)
    fill_s = time.perf_counter() - t
    t = time.perf_counter()
    inject_rules(home)
    inject_s = time.perf_counter() - t
    t = time.perf_counter()
    count_collection_replicas(home)
    count_s = time.perf_counter() - t
    copies = list(client.list_dataset_replicas("opendata", BIG))
    # a page's availability comes from the dataset's whole copy, as on a lake whose daemons run
    assert [c["available_length"] for c in copies] == [BIG_FILES], f"{BIG}'s copy is not counted whole: {copies}"
    dids = sum(1 for _ in client.list_dids("opendata", {"name": "*"}, did_type="all"))
    print(
        f"  lake: {dids} DIDs; {BIG} {big_s:.0f} s, fill {fill_s:.0f} s, rule injection {inject_s:.0f} s, "
        f"abacus {count_s:.0f} s",
        flush=True,
    )
    return {
        "dids": dids,
        "register_100k_s": round(big_s),
        "register_fill_s": round(fill_s),
        "inject_s": round(inject_s),
        "abacus_s": round(count_s),
    }


def inject_rules(home) -> None:
    """Run Rucio's judge-injector once: Rucio leaves a rule on 10,000 files or more to it (state INJECT),
    and the lake runs no injector; without it the 100,000-file dataset has no copy Rucio counts."""
    daemon = Path(sys.executable).with_name("rucio-judge-injector")
    env = {**os.environ, "RUCIO_CONFIG": str(home.rucio_cfg)}
    with open(home.logs / "judge-injector.log", "ab") as out:
        subprocess.run([str(daemon), "--run-once"], env=env, stdout=out, stderr=out, cwd=home.root, check=True)


def timed(fn, repeat):
    return common.median_ms(fn, repeat)


def search(server, client, repeat) -> dict:
    def direct():
        list(islice(client.list_dids("opendata", {"name": "*"}, did_type="all", long=True), 100))

    def page(n):
        cursor = None
        for _ in range(n - 1):
            cursor = server.get("search?q=opendata:*&type=all&limit=100" + (f"&cursor={cursor}" if cursor else ""))[
                "next"
            ]
        return lambda: server.get(
            f"search?q=opendata:*&type=all&limit=100&cursor={cursor}"
            if cursor
            else "search?q=opendata:*&type=all&limit=100"
        )

    first, tenth = page(1), page(10)
    out = {
        "page1_ms": timed(first, repeat),
        "page10_ms": timed(tenth, repeat),
        "direct_first100_ms": timed(direct, repeat),
    }
    out["page1_vs_direct"] = round(out["page1_ms"] / out["direct_first100_ms"], 2)
    out["page10_vs_page1"] = round(out["page10_ms"] / out["page1_ms"], 2)
    print(f"  search: {out}", flush=True)
    return out


def files(server, client, repeat) -> dict:
    def direct():
        list(islice(client.list_files("opendata", BIG), 100))

    base = f"dids/opendata/{BIG}/files?limit=100"
    out = {
        "page1_ms": timed(lambda: server.get(base), repeat),
        "page500_ms": timed(lambda: server.get(base + "&offset=49900"), repeat),
        "direct_first100_ms": timed(direct, repeat),
        # the floor of any page that far: Rucio's list_files has no offset, the rows before are read
        "direct_first50000_ms": timed(lambda: list(islice(client.list_files("opendata", BIG), 50_000)), 3),
    }
    first = server.get(base)
    assert len(first["items"]) == 100 and all(f["available"] for f in first["items"])
    out["page1_vs_direct"] = round(out["page1_ms"] / out["direct_first100_ms"], 2)
    out["page500_vs_direct"] = round(out["page500_ms"] / out["direct_first100_ms"], 2)
    print(f"  files: {out}", flush=True)
    return out


ATTACH = """
import json, sys, time
from jupyterlab_odlake.kernel import api, backends
backends._backend = backends.ServerService(sys.argv[1], sys.argv[2])
t = time.perf_counter()
attached = api.attach(sys.argv[3], mode="stream", progress=False)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "paths": {f.name: f.location for f in attached.files}}))
"""


def attach(server, client, rounds=3) -> dict:
    """The attach from a new process, then ``list_files`` of all directly, in turn (the machine is shared: each
    attach beside its own floor, under the same load); medians, and the ratio of each round."""
    measured, names, answer = [], [], {}
    for _ in range(rounds):
        run = subprocess.run(
            [sys.executable, "-c", ATTACH, server.jupyter.url.rstrip("/"), server.jupyter.token, f"opendata:{BIG}"],
            capture_output=True,
            text=True,
            check=True,
        )
        answer = json.loads(run.stdout.strip().splitlines()[-1])
        t = time.perf_counter()
        names = [f["name"] for f in client.list_files("opendata", BIG)]
        measured.append((answer["seconds"], time.perf_counter() - t))
        assert len(answer["paths"]) == len(names) == BIG_FILES
    sample = random.Random(1).sample(names, 1000)
    from jupyterlab_odlake.core.rucio.locations import STREAM_SCHEMES

    replicas = client.list_replicas([{"scope": "opendata", "name": n} for n in sample])
    mismatches = 0
    for r in replicas:
        pfns = sorted(
            r["pfns"], key=lambda p: STREAM_SCHEMES.index(p.split(":")[0]) if p.split(":")[0] in STREAM_SCHEMES else 9
        )
        mismatches += answer["paths"][r["name"]] != pfns[0]
    attach_s, floor_s = (statistics.median(m[i] for m in measured) for i in range(2))
    out = {
        "attach_stream_s": round(attach_s, 2),
        "list_files_all_s": round(floor_s, 2),
        "attach_vs_list_files": round(statistics.median(a / f for a, f in measured), 2),
        "rounds_s": [[round(a, 2), round(f, 2)] for a, f in measured],
        "checked_against_list_replicas": len(sample),
        "mismatches": mismatches,
        "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    print(f"  attach: {out}", flush=True)
    return out


def memory(server) -> dict:
    import psutil

    process = psutil.Process(server.pid)
    idle = process.memory_info().rss
    peak = idle
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # all 100,000 files (from the second page on, from the dataset's index on disk), and the first
    # 20,000 search results (each page reads Rucio's stream from its start: all 200,000 would read
    # 20 million rows)
    for path, most in (
        (f"dids/opendata/{BIG}/files?limit=1000", None),
        ("search?q=opendata:*&type=all&limit=1000", 20),
    ):
        cursor, n, pages = None, 0, 0
        while most is None or pages < most:
            page = server.get(path + (f"&cursor={cursor}" if cursor else ""))
            n, pages = n + len(page["items"]), pages + 1
            cursor = page["next"]
            if not cursor:
                break
        print(f"  paged through {n} rows of {path.split('?')[0]}", flush=True)
    done.set()
    sampler.join()
    out = {"idle_mb": round(idle / 1e6, 1), "peak_mb": round(peak / 1e6, 1), "growth_mb": round((peak - idle) / 1e6, 1)}
    print(f"  memory: {out}", flush=True)
    return out


def walk(server, client, repeat) -> dict:
    """Every page of the 100,000-file dataset by cursor through REST, from a server without its index, then with
    it, each against one ``list_files`` of all: three rounds, medians."""
    path = f"dids/opendata/{BIG}/files?limit=1000"

    def first_page():
        return server.get(f"dids/opendata/{BIG}/files?limit=100")

    first_ms = timed(first_page, repeat)  # a first page builds no index

    def every_page():
        t = time.perf_counter()
        names, cursor, pages = [], None, 0
        while True:
            page = server.get(path + (f"&cursor={cursor}" if cursor else ""))
            names += [f["name"] for f in page["items"]]
            pages += 1
            cursor = page["next"]
            if not cursor:
                return time.perf_counter() - t, names, pages

    rounds = []
    for _ in range(3):  # each walk against its floor under the same load: the machine is shared
        shutil.rmtree(server.indexes, ignore_errors=True)  # no index, as on a dataset's first walk
        built_s, names, pages = every_page()  # the index is built at the second page
        indexed_s = every_page()[0]
        t = time.perf_counter()
        listed = [f["name"] for f in client.list_files("opendata", BIG)]
        rounds.append((built_s, indexed_s, time.perf_counter() - t))
        assert len(names) == len(set(names)) == BIG_FILES and set(names) == set(listed), "a walk missed or repeated"
    built_s, indexed_s, floor_s = (statistics.median(r[i] for r in rounds) for i in range(3))
    out = {
        "pages": pages,
        "walk_first_s": round(built_s, 2),
        "walk_indexed_s": round(indexed_s, 2),
        "list_files_all_s": round(floor_s, 2),
        "first_page_no_index_ms": first_ms,
        "first_page_indexed_ms": timed(first_page, repeat),
        "same_order_as_list_files": names == listed,
        "rounds_s": [[round(x, 2) for x in r] for r in rounds],
    }
    out["walk_first_vs_list_files"] = round(built_s / floor_s, 2)
    out["walk_indexed_vs_list_files"] = round(indexed_s / floor_s, 2)
    print(f"  walk: {out}", flush=True)
    return out


@contextlib.contextmanager
def served(home):
    """``common.served`` with a state (tokens, file indexes) of its own, removed after: platformdirs reads
    XDG_STATE_HOME, so the server starts with no index and leaves none."""
    state = tempfile.mkdtemp(prefix="odlake-bench-state-")
    os.environ["XDG_STATE_HOME"] = state
    try:
        with common.served(home) as server:
            server.indexes = Path(state) / "odlake" / "file-index"
            yield server
    finally:
        shutil.rmtree(state, ignore_errors=True)


def main(argv=None) -> int:
    parser = common.parser(__doc__.splitlines()[0], "scale.json", repeat=10)
    parser.add_argument(
        "--only", choices=["walk", "attach"], help="measure this part only; keep the others' last figures"
    )
    args = parser.parse_args(argv)

    from jupyterlab_odlake.lake import manager
    from jupyterlab_odlake.lake.home import LakeHome

    home = LakeHome.resolve(args.home)
    print(f"lake in {home.root}", flush=True)
    manager.up(home)
    os.environ["RUCIO_CONFIG"] = str(home.rucio_cfg)
    from rucio.client import Client

    client = Client()
    results = json.loads(Path(args.out).read_text()) if args.only and Path(args.out).exists() else {}
    results.update(machine=common.machine(), lake=prepare(home, client))
    if not args.only:
        with served(home) as server:
            server.get("instances")
            results["memory"] = memory(server)  # first, from a server that has done nothing else
            results["search"] = search(server, client, args.repeat)
            results["files"] = files(server, client, args.repeat)
            results["attach"] = attach(server, client)
    if args.only == "attach":
        with served(home) as server:
            server.get("instances")
            results["attach"] = attach(server, client)
    if args.only in (None, "walk"):
        with served(home) as server:  # a server with no index of the dataset yet
            server.get("instances")
            results["walk"] = walk(server, client, args.repeat)
    common.write(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
