"""The demo lake, checked with Rucio's own client and CLI, uproot and the ``odlake`` command."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import uproot
from support import lake_processes, odlake

from jupyterlab_odlake.lake.home import HTTP_RSE, LOCAL_RSE, XROOTD_RSE, LakeHome
from jupyterlab_odlake.lake.samples import SAMPLES

pytestmark = pytest.mark.lake  # every test here starts or uses a demo lake

GAMGAM_DATA = [f"data_{p}.GamGam.root" for p in "ABCD"]
GAMGAM_MC = [
    "mc_343981.ggH125_gamgam.GamGam.root",
    "mc_345041.VBFH125_gamgam.GamGam.root",
    "mc_345318.WpH125J_Wincl_gamgam.GamGam.root",
    "mc_345319.ZH125J_Zincl_gamgam.GamGam.root",
    "mc_341081.ttH125_gamgam.GamGam.root",
]


def names(dids):
    return sorted(d["name"] if isinstance(d, dict) else d for d in dids)


def adler32_of(path):
    from rucio.common.checksum import adler32

    return adler32(str(path))  # Rucio's own, not odlake's


def test_catalogue_holds_the_open_data_samples(rucio_client):
    c = rucio_client
    assert "opendata" in c.list_scopes()
    containers = names(c.list_dids("opendata", {"name": "*"}, did_type="container"))
    assert containers == ["1lep", "4lep", "GamGam"]
    assert names(c.list_content("opendata", "GamGam")) == ["GamGam.Data", "GamGam.MC"]
    assert names(c.list_content("opendata", "GamGam.Data")) == sorted(GAMGAM_DATA)
    assert names(c.list_content("opendata", "GamGam.MC")) == sorted(GAMGAM_MC)
    for analysis in ("1lep", "4lep"):
        datasets = names(c.list_content("opendata", analysis))
        assert datasets == [f"{analysis}.Data", f"{analysis}.MC"]
        for ds in datasets:
            files = names(c.list_content("opendata", ds))
            assert files and all(f.endswith(f".{analysis}.root") for f in files)


def test_physics_metadata_is_searchable(rucio_client):
    c = rucio_client
    assert names(c.list_dids("opendata", {"dsid": 343981}, did_type="file")) == [GAMGAM_MC[0]]
    # Rucio's JSON metadata ignores did_type: the dataset with the same keys comes too
    mc = names(c.list_dids("opendata", {"channel": "GamGam", "sample_type": "mc"}, did_type="file"))
    assert mc == sorted([*GAMGAM_MC, "GamGam.MC"])
    heavy = names(c.list_dids("opendata", {"xsec_pb.gte": 1.0}, did_type="file"))
    assert heavy == ["mc_361100.Wplusenu.1lep.root", "mc_363490.llll.4lep.root", "mc_410000.ttbar_lep.1lep.root"]
    meta = c.get_metadata("opendata", GAMGAM_MC[0], plugin="ALL")
    assert meta["physics_short"] == "ggH125_gamgam"
    assert meta["energy_tev"] == 13 and meta["xsec_pb"] == pytest.approx(0.1102)
    assert meta["sum_of_weights"] > 0
    data = c.get_metadata("opendata", "GamGam.Data", plugin="ALL")
    assert data["lumi_fb"] == pytest.approx(10.0) and data["sample_type"] == "data"
    # the DID-column keys work too (ATLAS keeps a DSID in run_number)
    assert names(c.list_dids("opendata", {"run_number": 343981}, did_type="file")) == [GAMGAM_MC[0]]


def test_every_file_has_an_http_replica_and_some_a_local_one(lake, rucio_client):
    home, state = lake
    dids = [{"scope": "opendata", "name": s.name} for s in SAMPLES]
    replicas = list(rucio_client.list_replicas(dids, schemes=["https", "file"]))
    assert len(replicas) == len(SAMPLES)
    local = set()
    for r in replicas:
        # the public XRootD's https, which Rucio's server lists through odlake's protocol class
        assert r["rses"][HTTP_RSE][0] == f"{state['xrootd']['https_url']}/opendata/{r['name']}"
        on_disk = home.http_storage / "opendata" / r["name"]
        assert r["bytes"] == on_disk.stat().st_size
        assert r["adler32"] == adler32_of(on_disk)
        if LOCAL_RSE in r["rses"]:
            local.add(r["name"])
            assert r["rses"][LOCAL_RSE][0] == f"file://{home.local_storage}/opendata/{r['name']}"
    assert local == {s.name for s in SAMPLES if s.also_local}
    assert 0 < len(local) < len(SAMPLES)


def test_stock_rucio_cli_lists_and_downloads_with_checksum(lake, tmp_path):
    home, _ = lake
    env = {**os.environ, "RUCIO_CONFIG": str(home.rucio_cfg)}
    rucio = os.path.join(os.path.dirname(sys.executable), "rucio")
    listed = subprocess.run([rucio, "did", "list", "opendata:*"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    for did in ("opendata:GamGam", "opendata:GamGam.Data", "opendata:GamGam.MC", "opendata:1lep", "opendata:4lep"):
        assert did in listed.stdout
    got = subprocess.run(
        [rucio, "download", "--rses", LOCAL_RSE, "--dir", str(tmp_path), "opendata:data_A.GamGam.root"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert got.returncode == 0, got.stderr
    downloaded = tmp_path / "opendata" / "data_A.GamGam.root"
    assert adler32_of(downloaded) == adler32_of(home.local_storage / "opendata" / "data_A.GamGam.root")


def https_options(state):
    """What uproot reads the lake's https with: the lake's CA only (as ``AttachedDID.storage_options`` gives)."""
    from functools import partial

    from jupyterlab_odlake.kernel.sources import token_client

    return {"get_client": partial(token_client, None, state["ca"]["bundle"])}


def test_uproot_streams_the_http_replica_like_the_local_one(lake, rucio_client):
    [replica] = rucio_client.list_replicas(
        [{"scope": "opendata", "name": "data_A.GamGam.root"}], schemes=["https", "file"]
    )
    url = replica["rses"][HTTP_RSE][0]
    path = replica["rses"][LOCAL_RSE][0][len("file://") :]
    branches = ["photon_pt", "photon_eta", "photon_n", "trigP"]
    streamed = uproot.open(url, **https_options(lake[1]))["mini"].arrays(branches)
    local = uproot.open(path)["mini"].arrays(branches)
    assert len(streamed) == len(local) > 0
    for b in branches:
        assert streamed[b].tolist() == local[b].tolist()


def test_the_xrootd_storage_serves_copies_the_stock_cli_lists_and_uproot_reads(lake, rucio_client):
    home, state = lake
    assert "xrootd" in state, "xrootd-server is installed by the README's commands"
    env = {**os.environ, "RUCIO_CONFIG": str(home.rucio_cfg)}
    rucio = os.path.join(os.path.dirname(sys.executable), "rucio")
    listed = subprocess.run(
        [rucio, "replica", "list", "file", "opendata:GamGam.MC"], capture_output=True, text=True, env=env
    )
    assert listed.returncode == 0, listed.stderr
    assert f"{XROOTD_RSE}: {state['xrootd']['url']}//opendata/mc_343981.ggH125_gamgam.GamGam.root" in listed.stdout
    [replica] = rucio_client.list_replicas(
        [{"scope": "opendata", "name": "data_A.4lep.root"}], schemes=["root", "https"]
    )
    branches = ["lep_pt", "lep_n"]
    over_xrootd = uproot.open(replica["rses"][XROOTD_RSE][0])["mini"].arrays(branches)
    over_http = uproot.open(replica["rses"][HTTP_RSE][0], **https_options(state))["mini"].arrays(branches)
    assert len(over_xrootd) == len(over_http) > 0
    for b in branches:
        assert over_xrootd[b].tolist() == over_http[b].tolist()
    odlake = os.path.join(os.path.dirname(sys.executable), "odlake")
    status = subprocess.run([odlake, "lake", "status", "--home", str(home.root)], capture_output=True, text=True)
    assert f"xrootd    running  {state['xrootd']['url']}" in status.stdout
    assert not any(s["rse"] == XROOTD_RSE for s in rucio_client.list_dataset_replicas("opendata", "1lep.Data"))


def test_the_https_storage_is_the_public_xrootd_trusted_with_the_lakes_ca_only(lake):
    """The HTTP RSE's files are served by the public XRootD's own HTTP protocol (XrdHttp): its https answers as
    XRootD, from the XRootD process, with byte ranges, anonymously and read-only; a client that does not trust
    the lake's CA is refused at the TLS handshake."""
    import ssl

    import psutil
    import requests

    home, state = lake
    url = f"{state['rses']['http']['url']}/opendata/data_A.GamGam.root"
    on_disk = home.http_storage / "opendata" / "data_A.GamGam.root"
    ca = state["ca"]["bundle"]
    head = requests.head(url, verify=ca, timeout=30)
    assert head.status_code == 200 and head.headers["Server"].startswith("XrootD/"), head.headers
    assert int(head.headers["Content-Length"]) == on_disk.stat().st_size
    part = requests.get(url, headers={"Range": "bytes=0-3"}, verify=ca, timeout=30)
    assert part.status_code == 206 and part.content == on_disk.read_bytes()[:4] == b"root"
    xrootd = psutil.Process(state["xrootd"]["pid"])
    listening = {c.laddr.port for c in xrootd.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
    assert {state["xrootd"]["port"], state["xrootd"]["https_port"]} <= listening
    # anonymous and read-only: a write or a delete is refused, the file stays as it was
    before = on_disk.read_bytes()
    for method in ("PUT", "DELETE"):
        refused = requests.request(method, url, data=b"x" if method == "PUT" else None, verify=ca, timeout=30)
        assert refused.status_code >= 400, (method, refused.status_code)
    assert on_disk.read_bytes() == before
    # the system's CAs, requests' and Python's, do not hold the lake's
    with pytest.raises(requests.exceptions.SSLError):
        requests.head(url, timeout=30)
    with (
        pytest.raises(ssl.SSLCertVerificationError),
        socket.create_connection(("127.0.0.1", state["xrootd"]["https_port"]), timeout=30) as raw,
    ):
        ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")


def test_stock_rucio_download_reads_the_https_storage_trusting_the_lakes_ca(lake, tmp_path):
    """Rucio's own download client reads the HTTP RSE over https with odlake's protocol class, which checks the
    storage's certificate against the CA Rucio's client trusts (rucio.cfg's ca_cert, unless X509_CERT_DIR)."""
    home, _ = lake
    env = {**os.environ, "RUCIO_CONFIG": str(home.rucio_cfg)}
    env.pop("X509_CERT_DIR", None)
    rucio = os.path.join(os.path.dirname(sys.executable), "rucio")
    did = "opendata:data_C.GamGam.root"

    def download(folder, **more):
        argv = [rucio, "download", "--rses", HTTP_RSE, "--dir", str(folder), did]
        return subprocess.run(argv, capture_output=True, text=True, env={**env, **more}, timeout=120)

    got = download(tmp_path / "trusted")
    assert got.returncode == 0, got.stderr
    downloaded = tmp_path / "trusted" / "opendata" / "data_C.GamGam.root"
    assert adler32_of(downloaded) == adler32_of(home.http_storage / "opendata" / "data_C.GamGam.root")
    refused = download(tmp_path / "untrusted", X509_CERT_DIR="/etc/ssl/certs")  # the system's CAs only
    assert "None of the requested files have been downloaded" in refused.stdout + refused.stderr  # its exit code: 0
    assert not (tmp_path / "untrusted" / "opendata" / "data_C.GamGam.root").exists()


def test_up_twice_is_safe_and_says_it_runs(lake):
    home, state = lake
    before = {k: state[k]["pid"] for k in ("rucio", "xrootd", "postgres")}
    result = odlake("lake", "up", "--home", home.root)
    assert result.returncode == 0, result.stderr
    assert "already running" in result.stdout
    after = LakeHome(home.root).load_state()
    assert {k: after[k]["pid"] for k in before} == before


def test_rucio_runs_a_worker_per_core_as_production_does(lake):
    """One worker with threads made the catalog's p50 a second under 24 clients; PostgreSQL takes many."""
    import psutil

    _, state = lake
    workers = psutil.Process(state["rucio"]["pid"]).children()
    assert len(workers) == (os.cpu_count() or 1), [w.cmdline() for w in workers]


def test_status_tells_what_runs_where(lake):
    import json

    home, state = lake
    result = odlake("lake", "status", "--home", home.root)
    assert result.returncode == 0
    assert state["rucio"]["url"] in result.stdout and "running" in result.stdout
    assert str(home.rucio_cfg) in result.stdout
    xrootd = state["xrootd"]
    assert f"xrootd    running  {xrootd['url']} and {xrootd['https_url']}  anonymous, read-only" in result.stdout
    told = json.loads(odlake("lake", "status", "--json", "--home", home.root).stdout)
    assert told["running"]["xrootd"] and "storage" not in told["running"] and "storage" not in told["state"]
    assert told["state"]["rses"]["http"] == {
        "name": HTTP_RSE,
        "scheme": "https",
        "url": xrootd["https_url"],
        "directory": xrootd["directory"],
    }


def test_sqlite_lake_keeps_column_metadata_and_down_leaves_nothing(tmp_path):
    home = tmp_path / "sqlite-lake"
    up = odlake("lake", "up", "--home", home, "--db", "sqlite")
    assert up.returncode == 0, up.stderr
    assert lake_processes(home)
    env = {**os.environ, "RUCIO_CONFIG": str(home / "rucio.cfg")}
    rucio = os.path.join(os.path.dirname(sys.executable), "rucio")
    found = subprocess.run(
        [rucio, "did", "list", "opendata:*", "--filter", "type=file,run_number=343981"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert found.returncode == 0, found.stderr
    assert "mc_343981.ggH125_gamgam.GamGam.root" in found.stdout
    assert "data_A" not in found.stdout
    down = odlake("lake", "down", "--home", home)
    assert down.returncode == 0, down.stderr
    assert lake_processes(home) == []
    status = odlake("lake", "status", "--home", home)
    assert status.returncode == 3 and "stopped" in status.stdout


@pytest.mark.parametrize("bad_home", ["/proc/odlake-lake", "{file}/lake"])
def test_unwritable_home_is_one_clear_line(tmp_path, bad_home):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    result = odlake("lake", "up", "--home", bad_home.format(file=a_file))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("odlake: error: cannot use")
    assert "Traceback" not in result.stderr


def test_busy_port_is_one_clear_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = odlake("lake", "up", "--home", tmp_path / "lake", "--db", "sqlite", "--storage-port", port)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0]
    assert lake_processes(tmp_path / "lake") == []


def test_credentials_file_is_private(lake):
    home, _ = lake
    assert (home.rucio_cfg.stat().st_mode & 0o077) == 0
    assert (home.secret_file.stat().st_mode & 0o077) == 0


def test_rucio_keeps_its_cache_in_the_lakes_memcached(lake, rucio_client):
    home, _ = lake
    state = home.load_state()
    assert "memcached" in state, "memcached is installed by the README's commands"
    list(rucio_client.list_replicas([{"scope": "opendata", "name": "data_A.GamGam.root"}]))
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(state["memcached"]["socket"])
        s.sendall(b"stats\r\n")
        stats = b""
        while not stats.endswith(b"END\r\n"):
            stats += s.recv(65536)
    values = dict(line.split()[1:3] for line in stats.decode().splitlines() if line.startswith("STAT"))
    assert int(values["cmd_get"]) > 0 and int(values["curr_items"]) > 0, values  # Rucio's server reads it
    assert (Path(state["memcached"]["socket"]).parent.stat().st_mode & 0o077) == 0  # owner-only folder


@pytest.mark.parametrize("name", ["../alice", "Alice", "a" * 26, "", "root;rm", "1abc"])
def test_a_lake_user_name_rucio_or_unix_would_refuse_is_refused_first(name, tmp_path):
    from jupyterlab_odlake.lake.home import LakeError, LakeHome
    from jupyterlab_odlake.lake.users import add_user

    with pytest.raises(LakeError, match="cannot be a Rucio account"):
        add_user(LakeHome(tmp_path), name)


def test_lake_user_add_makes_an_account_whose_password_only_its_file_holds(lake, tmp_path):
    import stat
    import subprocess
    import sys
    from pathlib import Path

    from rucio.client import Client

    from jupyterlab_odlake.core.config import InstanceConfig
    from jupyterlab_odlake.core.rucio.instance import Instance

    home, state = lake
    secret = tmp_path / "private" / "dave.password"
    run = subprocess.run(
        [str(Path(sys.executable).parent / "odlake"), "lake", "user", "add", "dave", "--home", str(home.root),
         "--credential-file", str(secret)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    password = secret.read_text().strip()
    assert password and password not in run.stdout + run.stderr and "user.dave" in run.stdout
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and stat.S_IMODE(secret.parent.stat().st_mode) == 0o700

    def signed_in(password_file):  # as odlake signs in: its own token directory, the account's identity
        config = InstanceConfig(
            name="dave", rucio_host=state["rucio"]["url"], account="dave", username="dave", password_file=str(password_file)
        )  # fmt: skip
        return Instance(config, tmp_path / f"tokens-{password_file.name}").status()

    assert signed_in(secret)["authenticated"] and signed_in(secret)["account"] == "dave"
    assert "user.dave" in Client().list_scopes_for_account("dave")
    assert not signed_in(tmp_path / "nothing.password")["authenticated"]
    # again: nothing changes; with the password file gone, a clear refusal (Rucio cannot change a password)
    again = subprocess.run(run.args, capture_output=True, text=True)
    assert again.returncode == 0 and "nothing changed" in again.stdout and secret.read_text().strip() == password
    secret.unlink()
    refused = subprocess.run(run.args, capture_output=True, text=True)
    assert refused.returncode != 0 and "Rucio cannot change it" in refused.stderr + refused.stdout
    assert not secret.exists() and "Traceback" not in refused.stderr
