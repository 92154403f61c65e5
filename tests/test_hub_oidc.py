"""odlake on a real JupyterHub whose users log in with OpenID Connect at the lake's provider
(deploy/jupyterhub/jupyterhub_oidc_config.py): the hub's login sends the browser to the provider's login
page, the user gives their lake password there, and their server (as their own Unix user) reads Rucio and
the token storage with that user's own tokens, which the hub keeps in its encrypted auth state and renews.

The lake's tokens live LIFETIME seconds here, so that the server sees its tokens renewed during the module.
Root only (it creates the Unix users alice and bob); needs JupyterHub, oauthenticator and
configurable-http-proxy, which the README's commands install.
"""

from __future__ import annotations

import pwd
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import requests
from hub import HUB_TEST_MARKS, PREFIX, PROXY, Hub, as_user, running_hub
from oidc_flow import claims
from support import odlake

from jupyterlab_odlake.lake.home import TOKEN_RSE
from jupyterlab_odlake.lake.provider import ACCESS_TOKEN_LIFETIME, ProviderFiles
from jupyterlab_odlake.lake.services import free_port

USERS = ("alice", "bob")
LIFETIME = 45  # seconds an access token lives: renewed in its last 15 s
PASSWORDS: dict[str, str] = {}

pytestmark = HUB_TEST_MARKS


@pytest.fixture(scope="module")
def hub(lake, tmp_path_factory):
    assert PROXY.exists(), "configurable-http-proxy is not installed: run jlpm install (README)"
    home, state = lake
    port = free_port()
    changed = odlake(
        "lake", "up", "--home", home.root, "--token-lifetime", LIFETIME, "--hub-url", f"http://127.0.0.1:{port}"
    )
    assert changed.returncode == 0, changed.stderr
    state = home.load_state()
    # the lake's CA where every user reads it, as a site installs its CA for everyone
    trust = Path(tempfile.mkdtemp(prefix="odlake-hub-ca-"))
    ca = trust / "ca.pem"
    shutil.copyfile(state["ca"]["bundle"], ca)
    shutil.copytree(state["ca"]["certdir"], trust / "certs")
    for path in (trust, *trust.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    env = {
        "ODLAKE_HUB_OIDC_ISSUER": state["oidc"]["issuer"],
        "ODLAKE_HUB_OIDC_CLIENT_SECRET_FILE": str(ProviderFiles(home).hub_secret),
        "ODLAKE_CA_CERT": str(ca),
        "ODLAKE_CA_CERTDIR": str(trust / "certs"),
        "JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32),
        "ODLAKE_HUB_AUTH_REFRESH_AGE": "5",
    }
    try:
        with running_hub(
            home,
            state,
            tmp_path_factory.mktemp("hub"),
            USERS,
            USERS,
            port=port,
            config="jupyterhub_oidc_config.py",
            server_config="odlake_oidc.json",
            extra_env=env,
        ) as running:
            # each user's password at this lake's provider, set here: the Unix users are the machine's, and
            # another lake may have written its own password into their files since
            for name in USERS:
                PASSWORDS[name] = secrets.token_urlsafe(16)
                ProviderFiles(home).set_password(name, PASSWORDS[name])
            yield running, str(ca)
    finally:
        odlake("lake", "up", "--home", home.root, "--token-lifetime", ACCESS_TOKEN_LIFETIME)
        shutil.rmtree(trust, ignore_errors=True)


def password(name: str) -> str:
    """The user's password at the lake's provider."""
    return PASSWORDS[name]


def log_in(hub: Hub, ca: str, name: str) -> requests.Session:
    session, page = hub.oidc_login(name, password(name), ca)
    assert page.status_code == 200, (page.status_code, page.url, page.text[:300])
    hub.wait_ready(name)
    lab = session.get(f"{hub.url}/user/{name}/lab", timeout=60)
    assert lab.status_code == 200 and lab.url.endswith(f"/user/{name}/lab"), (lab.status_code, lab.url)
    return session


def token_files(name: str) -> dict[str, Path]:
    """The token files odlake's server wrote for ``name`` (read as root)."""
    state = Path(pwd.getpwnam(name).pw_dir) / ".local" / "state" / "odlake"
    return {p.name: p for p in state.rglob("hub_*_token")}


def instance(session: requests.Session, hub: Hub, name: str) -> tuple[dict, str]:
    answer = session.get(f"{hub.url}/user/{name}/odlake/instances", timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    [lake] = answer.json()["instances"]
    return lake, answer.text


def test_alice_logs_in_at_the_provider_and_her_server_reads_rucio_as_alice_with_her_own_token(hub):
    hub, ca = hub
    session = log_in(hub, ca, "alice")
    lake, text = instance(session, hub, "alice")
    assert lake["authenticated"] and lake["account"] == "alice", lake.get("message")
    assert lake["auth_type"] == "oidc" and lake["signed_in"]["subject"] == "alice", lake
    files = token_files("alice")
    assert set(files) == {"hub_rucio_token", "hub_storage_token"}, files
    alice = pwd.getpwnam("alice")
    for path in files.values():
        assert path.stat().st_uid == alice.pw_uid and oct(path.stat().st_mode & 0o777) == "0o600", path
        assert oct(path.parent.stat().st_mode & 0o777) == "0o700", path.parent
        token = path.read_text().strip()
        assert claims(token)[1]["sub"] == "alice"
        assert token not in text and token.split(".")[2] not in text  # never to the browser
    rucio, storage = (claims(files[f"hub_{r}_token"].read_text())[1] for r in ("rucio", "storage"))
    assert rucio["aud"] == "rucio" and "storage" not in rucio.get("scope", ""), rucio
    assert storage["aud"] == "https://wlcg.cern.ch/jwt/v1/any" and storage["scope"] == "storage.read:/", storage
    assert "refresh" not in " ".join(p.name for p in files["hub_rucio_token"].parent.iterdir())
    log = hub.log.read_text()
    assert not any(p.read_text().strip().split(".")[2] in log for p in files.values())  # nor to the hub's log


def test_alice_reads_gamgam_from_the_token_storage_and_bob_reads_none_of_her_tokens(hub):
    hub, ca = hub
    log_in(hub, ca, "alice")
    headers = {"Authorization": f"token {hub.user_token('alice')}"}
    attached = requests.post(
        f"{hub.url}/user/alice/odlake/dids/opendata/GamGam.Data/attach",
        json={"mode": "stream", "rse": TOKEN_RSE, "scheme": "https"},
        headers=headers,
        timeout=120,
    )
    assert attached.status_code == 200, attached.text[:500]
    body = attached.json()
    token_file = body["access"]["token_file"]
    assert token_file.startswith(pwd.getpwnam("alice").pw_dir + "/") and token_file.endswith("hub_storage_token")
    assert body["files"] and all(f["rse"] == TOKEN_RSE and f["location"].startswith("https://") for f in body["files"])
    # alice, as her own Unix user, reads the first file with her token (as her kernel does)
    read = (
        "import sys, requests; t = open(sys.argv[1]).read().strip(); "
        "r = requests.get(sys.argv[2], headers={'Authorization': 'Bearer ' + t, 'Range': 'bytes=0-3'}, "
        "verify=sys.argv[3], timeout=60); print(r.status_code, r.content[:4].decode())"
    )
    url = body["files"][0]["location"]
    got = as_user("alice", str(PREFIX / "bin" / "python"), "-c", read, token_file, url, ca)
    assert got.returncode == 0 and got.stdout.split()[-1] == "root", (got.stdout, got.stderr[-500:])
    anonymous = requests.get(url, verify=ca, timeout=60)
    assert anonymous.status_code in (401, 403)  # the storage takes tokens only

    for path in token_files("alice").values():
        tried = as_user("bob", "cat", str(path))
        assert tried.returncode != 0 and "Permission denied" in tried.stderr, (path, tried)


def test_bob_logs_in_as_bob(hub):
    hub, ca = hub
    session = log_in(hub, ca, "bob")
    lake, _ = instance(session, hub, "bob")
    assert lake["authenticated"] and lake["account"] == "bob" and lake["signed_in"]["subject"] == "bob", lake
    [bobs] = {claims(p.read_text())[1]["sub"] for p in token_files("bob").values()}
    assert bobs == "bob"


def test_a_wrong_password_at_the_provider_logs_nobody_in(hub):
    hub, ca = hub
    session, page = hub.oidc_login("alice", "not-" + password("alice"), ca)
    assert page.status_code == 401 and "Wrong user name or password" in page.text, (page.status_code, page.text[:300])
    home = session.get(f"{hub.url}/hub/home", timeout=30)
    assert home.url.startswith(f"{hub.url}/hub/login"), home.url


def test_the_token_in_alices_server_is_renewed_after_it_expires(hub):
    hub, ca = hub
    session = log_in(hub, ca, "alice")
    files = token_files("alice")
    first = claims(files["hub_rucio_token"].read_text())[1]
    first_storage = claims(files["hub_storage_token"].read_text())[1]
    assert first["exp"] - first["iat"] == LIFETIME
    time.sleep(max(0.0, first["exp"] - time.time()) + 2)  # it has ended
    lake, _ = instance(session, hub, "alice")
    assert lake["authenticated"] and lake["account"] == "alice", lake.get("message")
    now = claims(files["hub_rucio_token"].read_text())[1]
    assert now["exp"] > first["exp"] and now["exp"] > time.time(), (first, now)
    # and the storage token, which the server's refresher renews with nobody asking
    deadline = time.monotonic() + 30
    while claims(files["hub_storage_token"].read_text())[1]["exp"] <= first_storage["exp"]:
        assert time.monotonic() < deadline, "the storage token was not renewed"
        time.sleep(1)
    assert "renewed the tokens of alice" in hub.log.read_text()
