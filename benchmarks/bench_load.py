"""Load: many clients at once through the REST API, then the same with Rucio's server killed for a while.

1. ``--clients`` threads for ``--seconds`` mix search, a word search, a page of files with
   availability, DID info and the catalog through the REST API of one Jupyter server:
   errors, p50/p95 latency per kind, the server's RSS at the start and the end.
   Baseline in the same run: the same questions asked directly of Rucio with rucio-clients
   by as many threads (each its own Client), the floor of what odlake can answer in.
   The catalog has no one Rucio call that answers it and is measured without a baseline.
2. The same load again, with the lake's Rucio server killed (SIGKILL) ``--outage`` seconds
   after a third of the run and brought back by ``odlake lake up``: what failed before the
   kill, inside the outage (only 503 is expected there) and after the lake was up again (none).

    python benchmarks/bench_load.py [--home DIR] [--clients 50] [--seconds 60] [--outage 10]

Loopback only. Writes benchmarks/results/load.json; benchmarks/README.md carries the table.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path

import common

# what a panel asks most, in a mix: (kind, REST path)
MIX = [
    ("search", "search?q=opendata:*&type=all&limit=100"),
    ("word search", "search?q=GamGam"),
    ("files", "dids/opendata/GamGam.Data/files?limit=100"),
    ("DID info", "dids/opendata/GamGam.Data"),
    ("catalog", "catalog"),
]


def direct_calls(client) -> dict:
    """The same questions asked directly of Rucio: the calls that answer each."""

    def search():
        page = list(islice(client.list_dids("opendata", {"name": "*"}, did_type="all", long=True), 100))
        list(client.get_metadata_bulk([{"scope": "opendata", "name": d["name"]} for d in page], plugin="ALL"))

    def word_search():
        for scope in client.list_scopes():
            list(islice(client.list_dids(scope, {"name": "*GamGam*"}, did_type="collection", long=True), 100))

    def files():
        page = list(islice(client.list_files("opendata", "GamGam.Data"), 100))
        list(client.list_replicas([{"scope": f["scope"], "name": f["name"]} for f in page], all_states=True))

    def did_info():
        client.get_did("opendata", "GamGam.Data", dynamic_depth="FILE")
        list(client.get_metadata_bulk([{"scope": "opendata", "name": "GamGam.Data"}], plugin="ALL"))

    return {"search": search, "word search": word_search, "files": files, "DID info": did_info}


@dataclass(frozen=True)
class Answer:
    kind: str
    start: float
    end: float
    status: int  # HTTP status; 0 for an exception in a direct call


def run_clients(make_worker, clients: int, seconds: float, during=None) -> tuple[list[Answer], float]:
    """``clients`` threads, each calling its worker until the time is up; ``during(t0)`` runs beside them."""
    answers: list[Answer] = []
    lock = threading.Lock()
    t0 = time.perf_counter()
    deadline = t0 + seconds

    def loop(n: int) -> None:
        call = make_worker(n)
        for kind, fn in cycle(call):
            if time.perf_counter() >= deadline:
                return
            start = time.perf_counter()
            status = fn()
            with lock:
                answers.append(Answer(kind, start - t0, time.perf_counter() - t0, status))

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    if during:
        during(t0)
    for t in threads:
        t.join()
    return answers, time.perf_counter() - t0


def rest_worker(server):
    import requests

    def make(n: int):
        session = requests.Session()
        session.headers["Authorization"] = f"token {server.jupyter.token}"
        base = f"{server.jupyter.url}odlake/"

        def ask(path):
            def fn() -> int:
                try:
                    return session.get(base + path, timeout=120).status_code
                except requests.RequestException:
                    return -1  # the Jupyter server did not answer at all

            return fn

        mix = [(kind, ask(path)) for kind, path in MIX]
        return mix[n % len(mix) :] + mix[: n % len(mix)]  # the clients start at different kinds

    return make


def direct_worker(rucio_cfg: Path):
    def make(n: int):
        os.environ["RUCIO_CONFIG"] = str(rucio_cfg)
        from rucio.client import Client

        calls = direct_calls(Client())

        def wrap(fn):
            def call() -> int:
                try:
                    fn()
                    return 200
                except Exception:  # noqa: BLE001 - counted as an error, as a failed REST answer is
                    return 0

            return call

        mix = [(kind, wrap(fn)) for kind, fn in calls.items()]
        return mix[n % len(mix) :] + mix[: n % len(mix)]

    return make


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1) if values else 0.0


def summary(answers: list[Answer], elapsed: float) -> dict:
    out: dict = {
        "requests": len(answers),
        "per_second": round(len(answers) / elapsed, 1),
        "errors": sum(a.status != 200 for a in answers),
    }
    for kind in dict.fromkeys(a.kind for a in answers):
        times = [a.end - a.start for a in answers if a.kind == kind]
        out[kind] = {"n": len(times), "p50_ms": percentile(times, 0.5), "p95_ms": percentile(times, 0.95)}
    return out


def steady(server, home, clients: int, seconds: float) -> dict:
    rss_start = server.rss_mb()
    answers, elapsed = run_clients(rest_worker(server), clients, seconds)
    rest = summary(answers, elapsed) | {"rss_start_mb": rss_start, "rss_end_mb": server.rss_mb()}
    direct_answers, direct_elapsed = run_clients(direct_worker(home.rucio_cfg), clients, seconds)
    direct = summary(direct_answers, direct_elapsed)
    for kind, _path in MIX:
        if kind in direct:
            print(
                f"  {kind}: REST p50 {rest[kind]['p50_ms']} / p95 {rest[kind]['p95_ms']} ms; "
                f"direct p50 {direct[kind]['p50_ms']} / p95 {direct[kind]['p95_ms']} ms",
                flush=True,
            )
        else:
            print(f"  {kind}: REST p50 {rest[kind]['p50_ms']} / p95 {rest[kind]['p95_ms']} ms", flush=True)
    print(
        f"  REST {rest['requests']} requests, {rest['errors']} errors; RSS {rss_start} -> {rest['rss_end_mb']} MB",
        flush=True,
    )
    return {"rest": rest, "direct": direct}


def outage(server, home, clients: int, seconds: float, down_s: float) -> dict:
    from jupyterlab_odlake.lake import manager

    marks: dict[str, float] = {}

    def kill_then_restart(t0: float) -> None:
        time.sleep(max(0.0, seconds / 3 - (time.perf_counter() - t0)))
        marks["killed"] = time.perf_counter() - t0
        os.killpg(os.getpgid(home.load_state()["rucio"]["pid"]), signal.SIGKILL)  # gunicorn and its workers
        time.sleep(down_s)
        marks["restarting"] = time.perf_counter() - t0
        manager.up(home, log=lambda *_: None)
        marks["up"] = time.perf_counter() - t0

    rss_start = server.rss_mb()
    answers, _elapsed = run_clients(rest_worker(server), clients, seconds, during=kill_then_restart)
    before = [a for a in answers if a.end < marks["killed"]]
    after = [a for a in answers if a.start > marks["up"]]
    within = [a for a in answers if a.end >= marks["killed"] and a.start <= marks["up"]]
    out = {
        "requests": len(answers),
        "marks_s": {k: round(v, 1) for k, v in marks.items()},
        "before": dict(Counter(a.status for a in before)),
        "during": dict(Counter(a.status for a in within)),
        "after": dict(Counter(a.status for a in after)),
        "errors_before": sum(a.status != 200 for a in before),
        "non_503_errors_during": sum(a.status not in (200, 503) for a in within),
        "errors_after": sum(a.status != 200 for a in after),
        "rss_start_mb": rss_start,
        "rss_end_mb": server.rss_mb(),
    }
    print(
        f"  Rucio killed at {out['marks_s']['killed']} s, up again at {out['marks_s']['up']} s: "
        f"before {out['before']}, during {out['during']}, after {out['after']}",
        flush=True,
    )
    return out


def main(argv=None) -> int:
    parser = common.parser(__doc__.splitlines()[0], "load.json", repeat=1)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--outage", type=float, default=10)
    args = parser.parse_args(argv)

    from jupyterlab_odlake.lake import manager
    from jupyterlab_odlake.lake.home import LakeHome

    home = LakeHome.resolve(args.home)
    print(f"lake in {home.root}", flush=True)
    manager.up(home)
    with common.served(home) as server:
        for _kind, path in MIX:  # warm: tokens, metadata support, Rucio's own caches
            server.get(path)
        print(f"{args.clients} clients for {args.seconds:.0f} s", flush=True)
        results = {
            "machine": common.machine(),
            "clients": args.clients,
            "seconds": args.seconds,
            "steady": steady(server, home, args.clients, args.seconds),
        }
        print(f"the same, Rucio's server killed for {args.outage:.0f} s", flush=True)
        results["outage"] = outage(server, home, args.clients, args.seconds, args.outage)
    common.write(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
