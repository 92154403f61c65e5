"""odlake reading the lake's token storage (ODLAKE_TOKENS) with a WLCG storage token: attached files streamed
over root:// and https, verified downloads, the token read again from its file at each use, and the messages
when there is no token or a bad one. In process (the kernel's API over a LakeService), against the real lake."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import uproot
from conftest import instance_config
from oidc_flow import Provider

from jupyterlab_odlake.core import LakeService
from jupyterlab_odlake.core.config import InstanceConfig
from jupyterlab_odlake.core.credentials import StorageAccess
from jupyterlab_odlake.core.did import DID
from jupyterlab_odlake.core.errors import StorageError
from jupyterlab_odlake.core.transfers.cache import Cache
from jupyterlab_odlake.kernel import api, backends
from jupyterlab_odlake.lake.home import HTTP_RSE, TOKEN_RSE

BRANCHES = ["photon_n", "photon_pt"]


@pytest.fixture
def clean_env(monkeypatch):
    """No token of the machine's, and what an attach sets in the environment undone after the test."""
    for name in ("BEARER_TOKEN", "BEARER_TOKEN_FILE", "XDG_RUNTIME_DIR"):  # X509_CERT_DIR: as the server gives it
        monkeypatch.delenv(name, raising=False)
    assert not Path(f"/tmp/bt_u{os.getuid()}").exists(), "a token of this machine's user would be read"
    return monkeypatch


def service_for(lake, tmp_path, monkeypatch, token: str | None):
    home, state = lake
    config = instance_config(home, state, tmp_path, name="tokens")
    config |= {"ca_cert": state["ca"]["bundle"], "ca_certdir": state["ca"]["certdir"]}
    if token is not None:
        token_file = tmp_path / "storage-token"
        token_file.write_text(token)
        token_file.chmod(0o600)
        config["storage_token_file"] = str(token_file)
    service = LakeService([InstanceConfig.from_dict(config)], cache_dir=tmp_path / "cache", state_dir=tmp_path / "s")
    monkeypatch.setattr(backends, "_backend", service)
    return service


@pytest.fixture(scope="module")
def storage_token(lake):
    return Provider(lake[1]).client_token("storage", "storage.read:/")


def public_paths(lake) -> list[Path]:
    """The public copies of GamGam.Data's files, on the lake's anonymous HTTP storage."""
    return sorted((lake[0].http_storage / "opendata").rglob("data_?.GamGam.root"))


@pytest.fixture(scope="module")
def public_arrays(lake):
    [path] = list((lake[0].http_storage / "opendata").rglob("data_A.GamGam.root"))
    return uproot.open(path)["mini"].arrays(BRANCHES)


def test_without_a_token_the_token_storage_is_not_read_and_the_error_says_how_to_sign_in(lake, tmp_path, clean_env):
    service = service_for(lake, tmp_path, clean_env, token=None)
    try:
        with pytest.raises(StorageError) as e:
            api.attach("opendata:GamGam.Data", mode="stream", rse=TOKEN_RSE, progress=False)
        assert "reads only with a storage token" in str(e.value) and "odlake login" in str(e.value)
        # without a rse, the anonymous copies are read, and the token storage is never offered
        attached = api.attach("opendata:GamGam.Data", mode="stream", progress=False)
        assert all(f.rse != TOKEN_RSE for f in attached.files)
        assert "BEARER_TOKEN_FILE" not in os.environ
    finally:
        service.close()


@pytest.mark.parametrize("scheme", ["root", "https"])
def test_a_token_reads_the_token_storage_streamed(lake, tmp_path, clean_env, storage_token, public_arrays, scheme):
    service = service_for(lake, tmp_path, clean_env, token=storage_token)
    try:
        data = api.attach("opendata:GamGam.Data", mode="stream", rse=TOKEN_RSE, scheme=scheme, progress=False)
        assert all(f.rse == TOKEN_RSE and f.location.startswith(f"{scheme}://") for f in data.files)
        first = next(i for i, f in enumerate(data.files) if f.name == "data_A.GamGam.root")
        arrays = uproot.open(data.paths[first], **data.storage_options)["mini"].arrays(BRANCHES)
        assert arrays.tolist() == public_arrays.tolist()
        everything = data.arrays("mini", BRANCHES)
        assert len(everything) == sum(f["mini"].num_entries for f in data)
        # nothing of the token in what a notebook shows or keeps
        for shown in (repr(data), data._repr_html_(), repr(data.storage_options), str(data.__dict__)):
            assert storage_token not in shown
        if scheme == "root":
            assert os.environ["BEARER_TOKEN_FILE"] == str(tmp_path / "storage-token")
    finally:
        service.close()


def test_a_rewritten_token_file_is_read_at_the_next_request(lake, tmp_path, clean_env, storage_token, public_arrays):
    """Whoever refreshes the token rewrites its file: the attached object's next read carries the new one."""
    service = service_for(lake, tmp_path, clean_env, token=storage_token)
    try:
        data = api.attach("opendata:GamGam.Data", mode="stream", rse=TOKEN_RSE, scheme="https", progress=False)
        token_file = tmp_path / "storage-token"
        token_file.write_text("expired.or.revoked")
        with pytest.raises(Exception, match=r"403|401|Forbidden|Unauthorized"):
            uproot.open(data.paths[0], **data.storage_options)["mini"].arrays(BRANCHES)
        token_file.write_text(storage_token)
        first = next(i for i, f in enumerate(data.files) if f.name == "data_A.GamGam.root")
        arrays = uproot.open(data.paths[first], **data.storage_options)["mini"].arrays(BRANCHES)
        assert arrays.tolist() == public_arrays.tolist()
    finally:
        service.close()


def test_a_verified_download_from_the_token_storage_carries_the_token(lake, tmp_path, clean_env, storage_token):
    home, state = lake
    config = InstanceConfig.from_dict(
        {**instance_config(home, state, tmp_path), "ca_cert": state["ca"]["bundle"], "storage_token_file": None}
    )
    url = f"{state['xrootd-tokens']['https_url']}/opendata/data_A.GamGam.root"
    [public] = list((home.http_storage / "opendata").rglob("data_A.GamGam.root"))
    from jupyterlab_odlake.core.transfers.cache import adler32_hex

    adler = adler32_hex(public.read_bytes())
    did = DID("opendata", "data_A.GamGam.root")
    without = Cache(tmp_path / "without")
    with pytest.raises(StorageError) as e:
        without.fetch(did, [url], public.stat().st_size, adler, access=StorageAccess(config, tmp_path / "p"))
    assert "reads only for signed-in users" in str(e.value) and "odlake login" in str(e.value)
    assert not list((tmp_path / "without").rglob("*.root"))  # nothing taken for a copy

    token_file = tmp_path / "t"
    token_file.write_text(storage_token)
    config.storage_token_file = str(token_file)
    cache = Cache(tmp_path / "with")
    path, transferred = cache.fetch(
        did, [url], public.stat().st_size, adler, access=StorageAccess(config, tmp_path / "p")
    )
    assert transferred and path.read_bytes() == public.read_bytes()

    token_file.write_text(storage_token[:-4] + "AAAA")  # a token whose signature is wrong
    refused = Cache(tmp_path / "refused")
    with pytest.raises(StorageError) as e:
        refused.fetch(did, [url], public.stat().st_size, adler, access=StorageAccess(config, tmp_path / "p"))
    assert "refused your token" in str(e.value)


def test_downloads_go_to_the_token_storage_only_with_a_token(lake, tmp_path, clean_env, storage_token):
    """The download mode copies over https from the public storage first (Rucio's priorities order a public copy
    first), then, with a token, from the token storage; without one the token storage is not tried (no 403)."""
    for token, expected in ((None, [HTTP_RSE]), (storage_token, [HTTP_RSE, TOKEN_RSE])):
        where = tmp_path / ("with" if token else "without")
        where.mkdir()
        service = service_for(lake, where, clean_env, token=token)
        try:
            [located] = [
                f
                for f in service.locations(DID("opendata", "GamGam.Data"), "download", instance="tokens")
                if f.name == "data_A.GamGam.root"
            ]
            readable = [a.rse for a in located.alternatives if a.available and a.scheme in ("http", "https")]
            assert readable == expected, located.alternatives
        finally:
            service.close()


@pytest.mark.parametrize("scheme", ["root", "https"])
def test_dask_workers_started_before_the_attach_read_the_token_storage(
    lake, tmp_path, clean_env, storage_token, scheme
):
    """A notebook often starts its dask cluster first: its worker processes were spawned before the attach set
    BEARER_TOKEN_FILE, yet each reads its partitions from the token storage with the token's file."""
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    service = service_for(lake, tmp_path, clean_env, token=storage_token)
    try:
        data = api.attach("opendata:GamGam.Data", mode="stream", rse=TOKEN_RSE, scheme=scheme, progress=False)
        spawned_with = client.run(lambda: os.environ.get("BEARER_TOKEN_FILE"))
        assert set(spawned_with.values()) == {None}, "the workers were spawned knowing the token's file"
        photons = data.dask("mini", filter_name=BRANCHES)["photon_n"].compute()
        expected = uproot.concatenate({p: "mini" for p in public_paths(lake)}, ["photon_n"])["photon_n"]
        assert sorted(photons.tolist()) == sorted(expected.tolist())
    finally:
        service.close()
        client.close()
        cluster.close()


TLS_UNTRUSTED = """
import json, sys
from jupyterlab_odlake.core import LakeService
from jupyterlab_odlake.core.config import InstanceConfig
from jupyterlab_odlake.core.errors import StorageError
from jupyterlab_odlake.kernel import api, backends

config, state_dir = json.loads(sys.argv[1]), sys.argv[2]
backends._backend = LakeService([InstanceConfig.from_dict(config)], cache_dir=state_dir, state_dir=state_dir)
data = api.attach("opendata:GamGam.Data", mode="stream", rse="%s", scheme="root", progress=False)
try:
    data.arrays("mini", ["photon_n"])
except StorageError as e:
    print(e)
finally:
    backends._backend.close()
"""


def test_a_kernel_whose_xrootd_trusts_another_ca_is_told_to_restart(lake, tmp_path, clean_env, storage_token):
    """XRootD's client keeps the CAs of its first TLS connection; a kernel that met another lake first reads no
    root:// of this one, and is told so in words, not 'TLS error: resource temporarily unavailable'."""
    home, state = lake
    # the CA as a bundle only: no hashed directory for the kernel to give XRootD's client
    config = instance_config(home, state, tmp_path, name="tokens") | {
        "ca_cert": state["ca"]["bundle"],
        "ca_certdir": None,
    }
    token_file = tmp_path / "storage-token"
    token_file.write_text(storage_token)
    token_file.chmod(0o600)
    config["storage_token_file"] = str(token_file)
    env = {**os.environ, "X509_CERT_DIR": "/etc/ssl/certs"}  # the system's CAs, which know nothing of the lake
    run = subprocess.run(
        [sys.executable, "-c", TLS_UNTRUSTED % TOKEN_RSE, json.dumps(config), str(tmp_path / "state")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    message = run.stdout.strip()
    assert "failed this kernel's TLS check" in message and "X509_CERT_DIR=/etc/ssl/certs" in message, message
    assert "Restart the kernel" in message and storage_token not in message
