"""odlake on a real JupyterHub: users log in through the hub's login page, each gets a server
spawned as their own Unix user from deploy/jupyterhub/jupyterhub_config.py, with the Rucio
instance from the system-wide config deploy/jupyterhub/odlake.json and their own Rucio identity.

Root only (it creates the Unix users alice, bob and carol); needs JupyterHub and
configurable-http-proxy, which the README's commands install.
"""

from __future__ import annotations

import pwd
import time
from pathlib import Path

import pytest
import requests
from hub import HUB_TEST_MARKS, PROXY, Hub, as_user, running_hub

from jupyterlab_odlake.lake.users import CREDENTIAL_FILE

USERS = ("alice", "bob", "carol")  # carol has no Rucio identity

pytestmark = HUB_TEST_MARKS


@pytest.fixture(scope="module")
def hub(lake, tmp_path_factory):
    assert PROXY.exists(), "configurable-http-proxy is not installed: run jlpm install (README)"
    home, state = lake
    with running_hub(home, state, tmp_path_factory.mktemp("hub"), USERS, ("alice", "bob")) as running:
        yield running, home, None


def instances(session: requests.Session, hub: Hub, name: str) -> requests.Response:
    return session.get(f"{hub.url}/user/{name}/odlake/instances", timeout=60)


def test_each_user_reads_the_lake_as_their_own_rucio_account(hub):
    hub, _home, _ = hub
    for name in ("alice", "bob"):
        session = hub.login(name)
        answer = instances(session, hub, name)
        assert answer.status_code == 200, answer.text[:300]
        [lake] = answer.json()["instances"]
        # whoami through odlake: the account Rucio authenticated, from the system-wide config
        assert lake["name"] == "lake" and lake["authenticated"] and lake["account"] == name, lake
        assert "password" not in answer.text


def test_a_download_lands_in_the_users_own_cache_that_no_one_else_reads(hub):
    hub, _home, _ = hub
    hub.login("alice")
    token = hub.user_token("alice")
    headers = {"Authorization": f"token {token}"}
    base = f"{hub.url}/user/alice/odlake"
    started = requests.post(f"{base}/downloads", json={"did": "opendata:GamGam.MC"}, headers=headers, timeout=60)
    assert started.status_code == 202, started.text
    record = started.json()
    deadline = time.monotonic() + 120
    while record["state"] not in ("done", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(0.3)
        record = requests.get(f"{base}/downloads/{record['id']}", headers=headers, timeout=30).json()
    assert record["state"] == "done", record
    alice = pwd.getpwnam("alice")
    paths = [Path(p) for p in record["paths"]]
    assert paths and all(str(p).startswith(f"{alice.pw_dir}/") and p.stat().st_uid == alice.pw_uid for p in paths)

    # bob, as his own Unix user, reaches none of alice's: cache, Rucio tokens, password
    credential = Path(alice.pw_dir) / CREDENTIAL_FILE
    tokens = Path(alice.pw_dir) / ".local" / "state" / "odlake"
    assert credential.exists() and oct(credential.stat().st_mode & 0o777) == "0o600"
    assert credential.stat().st_uid == alice.pw_uid
    for target in (paths[0], credential):
        tried = as_user("bob", "cat", str(target))
        assert tried.returncode != 0 and "Permission denied" in tried.stderr, (target, tried)
    tried = as_user("bob", "ls", "-R", str(tokens))
    assert tried.returncode != 0 and "Permission denied" in tried.stderr, tried
    # and alice herself reads her file
    assert as_user("alice", "head", "-c", "4", str(paths[0])).stdout == "root"


def test_the_hub_refuses_one_users_request_to_anothers_server(hub):
    hub, _home, _ = hub
    hub.login("alice")
    bob = hub.login("bob")
    answer = instances(bob, hub, "alice")
    assert answer.status_code == 403 or "/user/alice/odlake" not in answer.url, (answer.status_code, answer.url)
    assert '"instances"' not in answer.text
    bobs_token = hub.user_token("bob")
    answer = requests.get(
        f"{hub.url}/user/alice/odlake/instances", headers={"Authorization": f"token {bobs_token}"}, timeout=30
    )
    assert answer.status_code == 403 and '"instances"' not in answer.text


def test_a_user_without_a_rucio_identity_is_told_so_without_a_traceback(hub):
    hub, _home, _ = hub
    carol = hub.login("carol")
    answer = instances(carol, hub, "carol")
    assert answer.status_code == 200
    [lake] = answer.json()["instances"]
    assert not lake["authenticated"]
    assert "no Rucio identity here" in lake["message"] and "Traceback" not in lake["message"], lake
    token = hub.user_token("carol")
    search = requests.get(
        f"{hub.url}/user/carol/odlake/search",
        params={"q": "opendata:*"},
        headers={"Authorization": f"token {token}"},
        timeout=60,
    )
    assert search.status_code == 401 and "no Rucio identity here" in search.json()["message"]
