"""The lake's token storage against the real lake: XRootD with Debian's ztn, XrdHttp and SciTokens plugins,
serving root:// and https to holders of the lake provider's WLCG tokens only.

Reads go through real clients: Debian's xrdcp for root:// (ztn over TLS) and ``requests`` for https.
"""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import requests
from oidc_flow import Provider, claims
from support import odlake

from jupyterlab_odlake.lake.home import TOKEN_RSE

pytestmark = pytest.mark.lake

GAMGAM_FILE = "data_A.GamGam.root"


@pytest.fixture(scope="module")
def storage(lake):
    home, state = lake
    if "xrootd-tokens" not in state:
        pytest.fail("the lake has no token storage: XRootD's token plugins are missing (see .ci/setup)")
    return home, state, Provider(state)


def _replica_urls(rucio_client, name: str) -> dict[str, str]:
    """The file's PFNs on the token RSE, by scheme."""
    [replica] = rucio_client.list_replicas(
        [{"scope": "opendata", "name": name}], schemes=["root", "https"], rse_expression=TOKEN_RSE, all_states=True
    )
    return {pfn.split("://")[0]: pfn for pfn in replica["pfns"]}


def _xrdcp(url: str, target: Path, state: dict, token: str | None) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "X509_CERT_DIR": state["ca"]["certdir"], "XRD_LOGLEVEL": "Error"}
    if token:
        env |= {"BEARER_TOKEN": token}
    return subprocess.run(
        ["xrdcp", "--force", "--nopbar", url, str(target)], env=env, capture_output=True, text=True, timeout=120
    )


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_the_token_storage_runs_and_holds_gamgam_on_both_protocols(storage, rucio_client):
    home, state, _ = storage
    status = odlake("lake", "status", "--home", home.root, "--json")
    assert '"xrootd-tokens": true' in status.stdout, status.stdout
    protocols = rucio_client.get_protocols(TOKEN_RSE)
    assert sorted(p["scheme"] for p in protocols) == ["https", "root"]
    assert rucio_client.list_rse_attributes(TOKEN_RSE)["oidc_support"] is True
    urls = _replica_urls(rucio_client, GAMGAM_FILE)
    assert urls["root"].startswith(state["xrootd-tokens"]["url"] + "//opendata/")
    assert urls["https"].startswith(state["xrootd-tokens"]["https_url"] + "/opendata/")
    names = {r["rse"] for r in rucio_client.list_dataset_replicas("opendata", "GamGam.Data")}
    assert TOKEN_RSE in names


def test_anonymous_reads_are_refused_on_root_and_https(storage, rucio_client, tmp_path):
    _, state, _ = storage
    urls = _replica_urls(rucio_client, GAMGAM_FILE)
    anonymous = _xrdcp(urls["root"], tmp_path / "a.root", state, token=None)
    assert anonymous.returncode != 0 and not (tmp_path / "a.root").exists()
    assert "auth" in anonymous.stderr.lower(), anonymous.stderr
    answer = requests.get(urls["https"], verify=state["ca"]["bundle"], timeout=30)
    assert answer.status_code in (401, 403), answer.status_code


def test_a_storage_token_reads_the_same_bytes_as_the_public_copy(storage, rucio_client, tmp_path, lake):
    home, state, provider = storage
    token = provider.client_token("storage", "storage.read:/")
    assert claims(token)[1]["scope"] == "storage.read:/"
    public = Path(home.http_storage) / "opendata"
    [expected] = [p for p in public.rglob(GAMGAM_FILE)]
    urls = _replica_urls(rucio_client, GAMGAM_FILE)

    read = _xrdcp(urls["root"], tmp_path / "root.root", state, token)
    assert read.returncode == 0, read.stderr
    assert _md5(tmp_path / "root.root") == _md5(expected)

    answer = requests.get(
        urls["https"], headers={"Authorization": f"Bearer {token}"}, verify=state["ca"]["bundle"], timeout=60
    )
    assert answer.status_code == 200, answer.text[:200]
    assert hashlib.md5(answer.content).hexdigest() == _md5(expected)
    ranged = requests.get(
        urls["https"],
        headers={"Authorization": f"Bearer {token}", "Range": "bytes=10-19"},
        verify=state["ca"]["bundle"],
        timeout=60,
    )
    assert ranged.status_code == 206 and ranged.content == expected.read_bytes()[10:20]


def test_tokens_for_another_audience_without_the_scope_or_forged_are_refused(storage, rucio_client, tmp_path):
    _, state, provider = storage
    urls = _replica_urls(rucio_client, GAMGAM_FILE)
    rucio_token = provider.client_token("rucio", "openid profile")  # Rucio's audience, no storage scope
    assert claims(rucio_token)[1]["aud"] == "rucio"
    storage_token = provider.client_token("storage", "storage.read:/")
    head, body, signature = storage_token.split(".")
    forged = f"{head}.{body}.{signature[:10]}{'A' if signature[10] != 'A' else 'B'}{signature[11:]}"
    for token in (rucio_token, forged, "not-a-token"):
        answer = requests.get(
            urls["https"], headers={"Authorization": f"Bearer {token}"}, verify=state["ca"]["bundle"], timeout=30
        )
        assert answer.status_code in (401, 403), (token[:12], answer.status_code)
        refused = _xrdcp(urls["root"], tmp_path / "x.root", state, token)
        assert refused.returncode != 0 and not (tmp_path / "x.root").exists()


def test_a_read_token_cannot_write(storage):
    _, state, provider = storage
    token = provider.client_token("storage", "storage.read:/")
    url = f"{state['xrootd-tokens']['https_url']}/user/test/written.txt"
    answer = requests.put(
        url, data=b"hello", headers={"Authorization": f"Bearer {token}"}, verify=state["ca"]["bundle"], timeout=30
    )
    assert answer.status_code in (401, 403), answer.status_code
    assert not (Path(state["xrootd-tokens"]["directory"]) / "user" / "test" / "written.txt").exists()


def test_up_after_kill_9_restarts_the_token_storage_on_its_ports(fault_lake, tmp_path):
    import signal

    home, _ = fault_lake
    state = home.load_state()
    before = state["xrootd-tokens"]
    os.killpg(os.getpgid(before["pid"]), signal.SIGKILL)
    result = odlake("lake", "up", "--home", home.root)
    assert result.returncode == 0, result.stderr
    assert "starting the lake's xrootd-tokens" in result.stdout
    after = home.load_state()["xrootd-tokens"]
    assert after["pid"] != before["pid"] and (after["port"], after["https_port"]) == (
        before["port"],
        before["https_port"],
    )
    token = Provider(home.load_state()).client_token("storage", "storage.read:/", home=home)
    [public] = list((home.http_storage / "opendata").rglob(GAMGAM_FILE))
    url = f"{after['https_url']}/opendata/{GAMGAM_FILE}"
    answer = requests.get(url, headers={"Authorization": f"Bearer {token}"}, verify=state["ca"]["bundle"], timeout=60)
    assert answer.status_code == 200 and answer.content == public.read_bytes()
