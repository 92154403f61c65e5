"""H→γγ over a slower link: the lake's storages behind a rate-limited veth pair, streamed vs downloaded.

The lake's public storage (XRootD, root:// and its own HTTP protocol, XrdHttp) is served a second time from
inside a network namespace, by one XRootD over root:// and plain http (the lake CA's host certificates name
127.0.0.1 and localhost only), reached from the host over a veth pair shaped with ``tc tbf`` in both
directions, and registered in Rucio as two more RSEs (ODLAKE_SHAPED_HTTP, ODLAKE_SHAPED_XROOTD) holding the
same files of the --size bench samples. At each rate (the veth unshaped, then 1000, 200, 50 Mbit/s),
each against its baseline in the same run:

- time to the first plot: ``odlake.attach(..., mode="stream", rse=...)`` and the selection, over
  http:// and over root:// — vs download-then-read: ``rucio download --rses ODLAKE_SHAPED_HTTP``
  (what a user would otherwise do), then the same selection over the local files;
- the selection streamed vs over local files (the floor: no network at all);
- bytes that crossed the link (the host side of the veth: payload and TCP/IP headers) vs the
  files' size, and the HTTP requests the storage answered.

This kernel has no ``netem``: the link adds no delay (round-trip time ~0.05 ms); see README.

Root only. The namespace (its veth pair with it) and the storages in it are removed whatever
happens; the two RSEs stay in the benchmark's lake, unavailable for reading between runs (Rucio
lets no account delete replicas; its reaper would delete the files, which are the lake's own).

    .venv/bin/python benchmarks/bench_shaped.py [--home DIR] [--rates 0,1000,200,50]

Writes benchmarks/results/shaped.json and the plot benchmarks/results/shaped.svg.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))

import common

import hyy

DATA = "opendata:GamGam.Data"
NAMESPACE = "odlake-shaped"
HOST_LINK, LAKE_LINK = "odlk-host", "odlk-lake"
HOST_ADDRESS, LAKE_ADDRESS = "10.231.0.1", "10.231.0.2"  # the project's own test hosts, on this machine only
HTTP_PORT, XROOTD_PORT = 8000, 1094
SHAPED = {"http": "ODLAKE_SHAPED_HTTP", "root": "ODLAKE_SHAPED_XROOTD"}
ORIGINAL = {"http": ("ODLAKE_HTTP", "https"), "root": ("ODLAKE_XROOTD", "root")}  # the RSE and scheme copied


def run(*argv: str, inside: bool = False, check: bool = True) -> subprocess.CompletedProcess:
    prefix = ["ip", "netns", "exec", NAMESPACE] if inside else []
    return subprocess.run([*prefix, *argv], check=check, capture_output=True, text=True)


def wait_for(address: str, port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing answers on {address}:{port}")


class ShapedLink:
    """A namespace holding the lake's storages, one veth pair to the host, a tbf qdisc at each end."""

    def __init__(self, home, work: Path):
        self.home, self.work = home, work
        self.servers: list[subprocess.Popen] = []

    def __enter__(self) -> ShapedLink:
        self.remove()  # what a killed run left behind
        run("ip", "netns", "add", NAMESPACE)
        run("ip", "link", "add", HOST_LINK, "type", "veth", "peer", "name", LAKE_LINK)
        run("ip", "link", "set", LAKE_LINK, "netns", NAMESPACE)
        run("ip", "addr", "add", f"{HOST_ADDRESS}/30", "dev", HOST_LINK)
        run("ip", "link", "set", HOST_LINK, "up")
        run("ip", "addr", "add", f"{LAKE_ADDRESS}/30", "dev", LAKE_LINK, inside=True)
        run("ip", "link", "set", LAKE_LINK, "up", inside=True)
        run("ip", "link", "set", "lo", "up", inside=True)
        self._serve()
        return self

    def _serve(self) -> None:
        from jupyterlab_odlake.lake.services import XRootD, as_service_user

        run_dir = self.work / "xrootd"
        self.access_log = run_dir / "xrootd.log"  # XrdHttp's trace: a line per request
        run_dir.mkdir()
        if os.geteuid() == 0:  # the service user writes its admin files and log there
            from jupyterlab_odlake.lake.services import SERVICE_USER, ensure_service_user

            ensure_service_user()
            shutil.chown(self.work, SERVICE_USER)
            shutil.chown(run_dir, SERVICE_USER)
        config = run_dir / "xrootd.cfg"
        # no xrd.allow: only the host's end of the veth reaches this namespace
        config.write_text(
            f"all.export / nolock r/o\noss.localroot {self.home.xrootd_storage}\nxrd.port {XROOTD_PORT}\n"
            f"all.adminpath {run_dir}\nall.pidpath {run_dir}\n"
            f"xrd.protocol XrdHttp:{HTTP_PORT} libXrdHttp.so\nhttp.trace request\n"
        )
        binary = XRootD.binary()
        if binary is None:
            raise SystemExit("xrootd is not installed (apt-get install xrootd-server)")
        argv = as_service_user([binary, "-c", str(config), "-l", str(run_dir / "xrootd.log")], "xrootd")
        self.servers.append(self._start(argv, "xrootd"))
        wait_for(LAKE_ADDRESS, HTTP_PORT)
        wait_for(LAKE_ADDRESS, XROOTD_PORT)

    def _start(self, argv: list[str], name: str) -> subprocess.Popen:
        with open(self.work / f"{name}.out", "wb") as log:  # the server keeps its own copy of the descriptor
            return subprocess.Popen(
                ["ip", "netns", "exec", NAMESPACE, *argv], stdout=log, stderr=log, start_new_session=True
            )

    def shape(self, mbit: int) -> None:
        """Limit both directions to ``mbit`` Mbit/s (0: no limit, the veth as it is)."""
        for link, inside in ((HOST_LINK, False), (LAKE_LINK, True)):
            run("tc", "qdisc", "del", "dev", link, "root", inside=inside, check=False)
            if mbit:
                burst = max(64 * 1024, mbit * 1_000_000 // 8 // 100)  # 10 ms at the rate
                rate = f"{mbit}mbit"
                tbf = ["tbf", "rate", rate, "burst", str(burst), "latency", "50ms"]
                run("tc", "qdisc", "add", "dev", link, "root", *tbf, inside=inside)

    @staticmethod
    def received() -> int:
        """Bytes the host received over the link so far."""
        return int(Path(f"/sys/class/net/{HOST_LINK}/statistics/rx_bytes").read_text())

    def requests(self) -> int:
        """HTTP requests XrdHttp answered so far (its trace says 'Stat for GET' once per request)."""
        if not self.access_log.exists():
            return 0
        return sum(1 for line in open(self.access_log, errors="replace") if "http_Req: Stat for " in line)

    def remove(self) -> None:
        for server in self.servers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(10)
        self.servers.clear()
        run("ip", "netns", "del", NAMESPACE, check=False)  # takes its end of the veth, and so the pair
        run("ip", "link", "del", HOST_LINK, check=False)

    def __exit__(self, *exc) -> None:
        self.remove()


def register(client, files: list[dict]) -> None:
    """The two RSEs of the namespace's storages, each holding a replica of every file of DATA."""
    from rucio.common.exception import Duplicate, RSEProtocolPriorityError

    for scheme, rse in SHAPED.items():
        with contextlib.suppress(Duplicate):
            client.add_rse(rse, deterministic=True)
        client.update_rse(rse, {"availability_read": True})
        original, original_scheme = ORIGINAL[scheme]
        for key, value in client.list_rse_attributes(original).items():
            if key not in (original, "odlake_kind") and key != "rse":
                client.add_rse_attribute(rse, key, value)
        [protocol] = [p for p in client.get_protocols(original) if p["scheme"] == original_scheme]
        port = HTTP_PORT if scheme == "http" else XROOTD_PORT
        with contextlib.suppress(Duplicate, RSEProtocolPriorityError):
            client.add_protocol(rse, {**protocol, "scheme": scheme, "hostname": LAKE_ADDRESS, "port": port})
        with contextlib.suppress(Duplicate):
            client.add_replicas(rse, [{k: f[k] for k in ("scope", "name", "bytes", "adler32")} for f in files])


def retire(client) -> None:
    """The RSEs' storages are gone with the namespace: Rucio is told no one can read from them."""
    for rse in SHAPED.values():
        client.update_rse(rse, {"availability_read": False})


def selection(attached_or_paths):
    if isinstance(attached_or_paths, list):
        import uproot

        events = uproot.concatenate([f"{p}:mini" for p in attached_or_paths], hyy.BRANCHES)
    else:
        events = attached_or_paths.arrays("mini", hyy.BRANCHES)
    _, mass = hyy.select(events)
    return hyy.histogram(mass)


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - t, 2)


def measure(link: ShapedLink, home, mbit: int, work: Path) -> dict:
    import jupyterlab_odlake as odlake

    link.shape(mbit)
    row: dict = {"mbit": mbit or None}
    histograms = {}
    for scheme in ("http", "root"):
        before, asked = link.received(), link.requests()

        def first_plot(scheme=scheme):
            return selection(odlake.attach(DATA, mode="stream", rse=SHAPED[scheme], scheme=scheme, progress=False))

        histograms[scheme], row[f"first_plot_stream_{scheme}_s"] = timed(first_plot)
        row[f"stream_{scheme}_link_bytes"] = link.received() - before
        if scheme == "http":
            row["stream_http_requests"] = link.requests() - asked
    target = work / f"download-{mbit}"
    rucio = Path(sys.executable).parent / "rucio"
    env = {**os.environ, "RUCIO_CONFIG": str(home.rucio_cfg)}
    before = link.received()
    download = [str(rucio), "download", "--rses", SHAPED["http"], "--dir", str(target), DATA]
    _, row["download_s"] = timed(lambda: subprocess.run(download, check=True, env=env, capture_output=True))
    row["download_link_bytes"] = link.received() - before
    paths = sorted(str(p) for p in target.rglob("*.root"))
    histograms["local"], row["read_local_s"] = timed(lambda: selection(paths))
    row["download_then_read_s"] = round(row["download_s"] + row["read_local_s"], 2)
    assert (histograms["http"] == histograms["local"]).all() and (histograms["root"] == histograms["local"]).all()
    for scheme in ("http", "root"):
        row[f"first_plot_speedup_stream_{scheme}"] = round(
            row["download_then_read_s"] / row[f"first_plot_stream_{scheme}_s"], 2
        )
        row[f"stream_{scheme}_vs_local"] = round(row[f"first_plot_stream_{scheme}_s"] / row["read_local_s"], 2)
    shutil.rmtree(target)
    return row


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shaped = [r for r in rows if r["mbit"]]
    rates = [r["mbit"] for r in shaped]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot(rates, [r["download_then_read_s"] for r in shaped], "o-", label="download, then read (rucio download)")
    ax.plot(rates, [r["first_plot_stream_http_s"] for r in shaped], "s-", label="streamed over http://")
    ax.plot(rates, [r["first_plot_stream_root_s"] for r in shaped], "^-", label="streamed over root://")
    ax.plot(rates, [r["read_local_s"] for r in shaped], ":", color="grey", label="local files (no network)")
    ax.set_xscale("log")
    ax.set_xticks(rates, [f"{r:,} Mbit/s" for r in rates])
    ax.minorticks_off()
    ax.set_xlabel("link rate (tc tbf on a veth pair)")
    ax.set_ylabel("time to the first plot [s]")
    ax.set_ylim(bottom=0)
    ax.set_title(f"H→γγ first plot, {DATA}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None})
    plt.close(fig)


def main(argv=None) -> int:
    parser = common.parser(__doc__.splitlines()[0], "shaped.json", repeat=1)
    parser.add_argument("--rates", default="0,1000,200,50", help="Mbit/s, comma-separated; 0 for the unshaped veth")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("the shaped link needs root (network namespaces and tc)")
    rates = [int(r) for r in args.rates.split(",")]

    from jupyterlab_odlake.lake import manager
    from jupyterlab_odlake.lake.home import LakeHome

    home = LakeHome.resolve(args.home)
    state = manager.up(home, size="bench")
    if "xrootd" not in state:
        raise SystemExit("the lake runs without XRootD; install xrootd-server")
    os.environ["ODLAKE_LAKE_HOME"] = str(home.root)
    os.environ["RUCIO_CONFIG"] = str(home.rucio_cfg)
    from rucio.client import Client

    client = Client()
    scope, name = DATA.split(":")
    files = list(client.list_files(scope, name))
    total = sum(f["bytes"] for f in files)
    print(f"{DATA}: {len(files)} files, {total / 1e6:.0f} MB", flush=True)
    work = Path(tempfile.mkdtemp(prefix="odlake-bench-shaped-"))
    os.chmod(work, 0o755)
    rows = []
    try:
        register(client, files)
        with ShapedLink(home, work) as link:
            import jupyterlab_odlake as odlake

            # warm imports and uproot's code paths on a small sample, so no path below pays them
            selection(odlake.attach("opendata:GamGam.MC", mode="stream"))
            for mbit in rates:
                row = measure(link, home, mbit, work)
                rows.append(row)
                print(
                    f"  {mbit or 'unshaped'} Mbit/s: first plot http {row['first_plot_stream_http_s']} s, "
                    f"root {row['first_plot_stream_root_s']} s, download then read {row['download_then_read_s']} s "
                    f"(download {row['download_s']} s); streamed {row['stream_http_link_bytes'] / total:.0%} of "
                    f"the bytes over http, {row['stream_root_link_bytes'] / total:.0%} over root",
                    flush=True,
                )
    finally:
        retire(client)
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "machine": common.machine(),
        "lake_size": state["size"],
        "dataset": DATA,
        "files": len(files),
        "megabytes": round(total / 1e6, 1),
        "link": "veth pair into a network namespace, tc tbf in both directions, no added delay",
        "rows": rows,
        "goals": {"first_plot_speedup_min_at_200_mbit_and_below": 2.0},
    }
    out = Path(args.out)
    common.write(str(out), results)
    plot(rows, out.with_suffix(".svg"))
    print(f"wrote {out.with_suffix('.svg')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
