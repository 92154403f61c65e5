"""What one user costs on a JupyterHub with odlake: time from login to a ready panel, and memory.

The hub of deploy/jupyterhub (tests/hub.py runs it as the tests do) against a demo lake:

- time from submitting the login page to a ready panel: the hub starts the user's server,
  JupyterLab's page loads, and the panel's first requests (instances, with Rucio's whoami,
  and the catalog) have answered; against the floor, the same login up to JupyterLab's page;
- the RSS of the user's single-user server (with its kernel-less odlake) idle after login, and
  after browsing: a search, the files of every dataset in the catalog, where to read each
  dataset, and a verified download of one.

Root only (it spawns servers as the Unix user alice).

    .venv/bin/python benchmarks/bench_hub.py [--home DIR] [--repeat N]

Writes benchmarks/results/hub.json.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

import common
import psutil
from hub import running_hub

USER = "alice"


def rss_mb(pid: int) -> float:
    return round(psutil.Process(pid).memory_info().rss / 1e6, 1)


def main(argv=None) -> int:
    parser = common.parser(__doc__.splitlines()[0], "hub.json", repeat=5)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("spawning servers as other Unix users needs root")
    from jupyterlab_odlake.lake import manager
    from jupyterlab_odlake.lake.home import LakeHome

    home = LakeHome.resolve(args.home)
    state = manager.up(home)
    work = Path(tempfile.mkdtemp(prefix="odlake-bench-hub-"))
    panel, lab_page = [], []
    with running_hub(home, state, work, (USER,), (USER,)) as hub:
        for _ in range(args.repeat):
            hub.stop(USER)
            time.sleep(1)
            start = time.perf_counter()
            session = hub.login(USER)  # through JupyterLab's page
            lab_page.append(time.perf_counter() - start)
            instances = session.get(f"{hub.url}/user/{USER}/odlake/instances", timeout=60).json()["instances"]
            assert instances[0]["authenticated"] and instances[0]["account"] == USER, instances
            assert session.get(f"{hub.url}/user/{USER}/odlake/catalog", timeout=60).status_code == 200
            panel.append(time.perf_counter() - start)
        time.sleep(5)  # idle
        pid = hub.server_pid(USER)
        idle = rss_mb(pid)
        token = hub.user_token(USER)
        api = f"{hub.url}/user/{USER}/odlake"
        headers = {"Authorization": f"token {token}"}

        def get(path, **params):
            answer = session.get(f"{api}/{path}", params=params, headers=headers, timeout=120)
            assert answer.status_code == 200, (path, answer.text[:200])
            return answer.json()

        get("search", q="opendata:*", type="all")
        catalog = get("catalog")
        datasets = [
            d["did"]
            for analysis in catalog["analyses"]
            for container in analysis.get("containers", [])
            for d in container.get("datasets", [])
        ]
        assert datasets, catalog
        for did in datasets:
            scope, name = did.split(":")
            get(f"dids/{scope}/{name}/files", mode="stream")
            get(f"dids/{scope}/{name}/replicas", mode="stream")
        record = session.post(
            f"{api}/downloads", json={"did": "opendata:GamGam.MC"}, headers=headers, timeout=60
        ).json()
        while record["state"] not in ("done", "failed", "cancelled"):
            time.sleep(0.2)
            record = get(f"downloads/{record['id']}")
        assert record["state"] == "done", record
        browsed = rss_mb(pid)
    results = {
        "machine": common.machine(),
        "lake_size": state["size"],
        "datasets_browsed": len(datasets),
        "login_to_ready_panel_s": round(statistics.median(panel), 2),
        "login_to_lab_page_s": round(statistics.median(lab_page), 2),
        "rss_idle_mb": idle,
        "rss_after_browsing_mb": browsed,
        "repeat": args.repeat,
    }
    print(results)
    common.write(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
