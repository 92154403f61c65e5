"""Two Jupyter servers of one user sharing one download cache: each file crosses the network once."""

import concurrent.futures
import time

import requests

from jupyterlab_odlake.lake.home import LakeHome
from jupyterlab_odlake.lake.jupyter import start_jupyter


def test_two_servers_sharing_a_cache_transfer_each_file_once(lake, tmp_path):
    home, _ = lake
    cache = tmp_path / "shared-cache"
    servers = []
    try:
        for i in range(2):
            root = tmp_path / f"server{i}"
            root.mkdir()
            env = {"JUPYTER_CONFIG_DIR": str(root / "config"), "JUPYTER_RUNTIME_DIR": str(root / "runtime")}
            servers.append(
                start_jupyter(
                    LakeHome(home.root),
                    app="jupyter_server",
                    root_dir=str(root),
                    env=env,
                    log_file=root / "server.log",
                    args=[f"--Odlake.cache_dir={cache}", f"--Odlake.state_dir={root / 'state'}"],
                )
            )

        def download(server):
            s = requests.Session()
            s.headers["Authorization"] = f"token {server.token}"
            record = s.post(server.url + "odlake/downloads", json={"did": "opendata:GamGam.Data"}, timeout=60).json()
            deadline = time.monotonic() + 120
            while record["state"] in ("resolving", "running") and time.monotonic() < deadline:
                time.sleep(0.05)
                record = s.get(server.url + f"odlake/downloads/{record['id']}", timeout=60).json()
            return record

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            records = list(pool.map(download, servers))
    finally:
        for server in servers:
            server.stop()
    assert [r["state"] for r in records] == ["done", "done"], records
    assert sum(r["transfers"] for r in records) == 4  # four files, each moved by one server only
    assert records[0]["paths"] == records[1]["paths"]
