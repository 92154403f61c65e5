"""Two Jupyter servers of one user sharing one download cache: each file crosses the network once."""

import concurrent.futures

from support import follow, odlake_server


def test_two_servers_sharing_a_cache_transfer_each_file_once(lake, tmp_path):
    home, _ = lake
    cache = tmp_path / "shared-cache"
    servers = []
    try:
        for i in range(2):
            servers.append(odlake_server(home, tmp_path / f"server{i}", cache))

        def download(pair):
            server, session = pair
            record = session.post(server.url + "odlake/downloads", json={"did": "opendata:GamGam.Data"}, timeout=60)
            return follow(server, session, record.json())

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            records = list(pool.map(download, servers))
    finally:
        for server, _session in servers:
            server.stop()
    assert [r["state"] for r in records] == ["done", "done"], records
    assert sum(r["transfers"] for r in records) == 4  # four files, each moved by one server only
    assert records[0]["paths"] == records[1]["paths"]
