"""Signing in with ``odlake login`` against the real lake: the device code on the provider's pages, Rucio
with the sign-in's token, the token storage read with its storage token, renewal before a token ends (once,
whoever asks, though two ask at once), and the one sentence when renewal is no longer possible.

The user (dana) signs in as a person would: ``odlake login`` in a terminal, its page in a browser (here,
the provider's forms posted as a browser does). odlake is configured as a Jupyter server of dana's would
be (``c.Odlake.instances`` in her Jupyter config), so that the command and the server use one state folder.
"""

import json
import os
import re
import secrets
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import uproot
from oidc_flow import Provider, claims, user_password, whoami
from support import odlake

from jupyterlab_odlake.core import LakeService
from jupyterlab_odlake.core.config import InstanceConfig, _lake_sign_in
from jupyterlab_odlake.core.did import DID
from jupyterlab_odlake.core.errors import AuthenticationFailed
from jupyterlab_odlake.kernel import api, backends
from jupyterlab_odlake.lake.home import HTTP_RSE, TOKEN_RSE
from jupyterlab_odlake.lake.provider import ACCESS_TOKEN_LIFETIME

USER = f"dana{secrets.token_hex(3)}"  # a lake a developer keeps up between runs has the earlier ones
BRANCHES = ["photon_n", "photon_pt"]


@pytest.fixture(scope="module")
def dana(lake, tmp_path_factory):
    home, _ = lake
    return USER, user_password(home, USER, tmp_path_factory.mktemp(USER))


def write_jupyter_config(root: Path, state: dict) -> Path:
    """dana's Jupyter config in ``root``: one instance that signs in to Rucio and storage with the lake's
    provider, and its state folder."""
    instance = {
        "name": "lake",
        "rucio_host": state["rucio"]["url"],
        "auth_type": "oidc",
        "oidc": _lake_sign_in(state),
        "ca_cert": state["ca"]["bundle"],
        "ca_certdir": state["ca"]["certdir"],
        "scopes": ["opendata"],
    }
    config = {"Odlake": {"instances": [instance], "state_dir": str(root / "state")}}
    (root / "config").mkdir(parents=True)
    (root / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
    return root


@pytest.fixture(scope="module")
def jupyter_dir(lake, tmp_path_factory):
    return write_jupyter_config(tmp_path_factory.mktemp("dana-jupyter"), lake[1])


def service_of(jupyter_dir: Path) -> LakeService:
    [instance] = json.loads((jupyter_dir / "config" / "jupyter_server_config.json").read_text())["Odlake"]["instances"]
    return LakeService(
        [InstanceConfig.from_dict(instance)],
        cache_dir=jupyter_dir / "cache",
        state_dir=jupyter_dir / "state",
    )


def login(lake, jupyter_dir, user, password) -> subprocess.CompletedProcess:
    """``odlake login`` in a terminal, its page signed in to in a browser."""
    env = {"JUPYTER_CONFIG_DIR": str(jupyter_dir / "config")}

    command = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab_odlake.cli", "login"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    shown = ""
    while "Waiting" not in shown:
        line = command.stdout.readline()
        assert line, command.stderr.read()
        shown += line
    page, code = re.search(r"or open (\S+) and enter the code (\S+) ", shown).groups()
    provider = Provider(lake[1])
    with requests.Session() as browser:
        consent = provider.log_in(
            browser, provider.enter_user_code(browser, {"verification_uri": page, "user_code": code}), user, password
        )
        done = provider.consent(browser, consent)
        assert done.status_code == 200 and "signed in" in done.text, done.text
    out, err = command.communicate(timeout=120)
    return subprocess.CompletedProcess(command.args, command.returncode, shown + out, err)


@pytest.fixture(scope="module")
def signed_in(lake, dana, jupyter_dir):
    done = login(lake, jupyter_dir, *dana)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def session_folder(jupyter_dir: Path) -> Path:
    return jupyter_dir / "state" / "tokens" / "lake"


def test_login_signs_in_with_the_device_code_and_rucio_knows_the_account(signed_in, jupyter_dir):
    assert f"Signed in to 'lake' as {USER}. Rucio knows you as account '{USER}'." in signed_in.stdout
    folder = session_folder(jupyter_dir)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("signin.json", "signin_rucio_token", "signin_storage_token"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    tokens = {r: (folder / f"signin_{r}_token").read_text() for r in ("rucio", "storage")}
    assert claims(tokens["rucio"])[1]["aud"] == "rucio"
    storage = claims(tokens["storage"])[1]
    assert storage["aud"] == "https://wlcg.cern.ch/jwt/v1/any" and storage["scope"] == "storage.read:/"
    assert storage["sub"] == USER
    session = (folder / "signin.json").read_text()
    for token in tokens.values():  # what was printed holds no token, and the session keeps none but the refresh one
        assert token not in signed_in.stdout + signed_in.stderr and token not in session

    service = service_of(jupyter_dir)
    try:
        [status] = service.instances()
        assert status["authenticated"] and status["account"] == USER
        assert status["signed_in"]["subject"] == USER and status["signed_in"]["ended"] is None
        assert status["signed_in"]["expires_at"] > time.time()
        assert "token" not in json.dumps(status["signed_in"]).lower()
        page = service.search("opendata:*GamGam*", did_type="container")
        assert page.items, "Rucio answered a search with the sign-in's token"
    finally:
        service.close()


def test_the_token_storage_is_read_with_the_sign_ins_storage_token(lake, signed_in, jupyter_dir, monkeypatch):
    for name in ("BEARER_TOKEN", "BEARER_TOKEN_FILE"):  # X509_CERT_DIR: as the server gives its kernels
        monkeypatch.setenv(name, "")  # so that what the attach sets is undone after the test
        monkeypatch.delenv(name)
    [public] = list((lake[0].http_storage / "opendata").rglob("data_A.GamGam.root"))
    expected = uproot.open(public)["mini"].arrays(BRANCHES)
    service = service_of(jupyter_dir)
    monkeypatch.setattr(backends, "_backend", service)
    try:
        for scheme in ("https", "root"):
            data = api.attach("opendata:GamGam.Data", mode="stream", rse=TOKEN_RSE, scheme=scheme, progress=False)
            assert data.access.token_file == str(session_folder(jupyter_dir) / "signin_storage_token")
            first = next(i for i, f in enumerate(data.files) if f.name == "data_A.GamGam.root")
            assert data.files[first].rse == TOKEN_RSE and data.paths[first].startswith(f"{scheme}://")
            got = uproot.open(data.paths[first], **data.storage_options)["mini"].arrays(BRANCHES)
            assert got.tolist() == expected.tolist(), scheme
        # a download may read the token storage too when there is a token to send (after the public copy, both https)
        [located] = [f for f in service.locations(DID("opendata", "GamGam.Data"), "download") if f.name == public.name]
        readable = [a.rse for a in located.alternatives if a.available and a.scheme in ("http", "https")]
        assert readable == [HTTP_RSE, TOKEN_RSE], located.alternatives
        downloaded = api.attach("opendata:GamGam.Data", mode="download", progress=False)
        first = next(i for i, f in enumerate(downloaded.files) if f.name == public.name)
        assert Path(downloaded.paths[first]).read_bytes() == public.read_bytes()
    finally:
        service.close()


def expire(folder: Path, resource: str) -> None:
    """Make the sign-in's token for ``resource`` due for renewal, as it is a third of its life before its end."""
    session = json.loads((folder / "signin.json").read_text())
    session["tokens"][resource]["expires_at"] = time.time() + 1
    (folder / "signin.json").write_text(json.dumps(session))


def test_a_token_due_is_renewed_once_though_two_processes_ask_at_once(lake, signed_in, jupyter_dir, monkeypatch):
    """Refresh tokens rotate and a spent one ends the sign-in: without the lock held across processes, two
    renewals at once would spend one refresh token twice and sign the user out."""
    folder = session_folder(jupyter_dir)
    before = (folder / "signin_storage_token").read_text()
    time.sleep(1.1)  # a new iat
    expire(folder, "storage")
    services = [service_of(jupyter_dir), service_of(jupyter_dir)]  # two servers (or a server and a kernel)
    try:
        storages = [s._instance().storage for s in services]
        answers: list = []
        threads = [threading.Thread(target=lambda s=s: answers.append(s.token())) for s in storages]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = (folder / "signin_storage_token").read_text()
        assert after != before and answers == [after, after]
        assert claims(after)[1]["exp"] > time.time() + 60
        provider = Provider(lake[1])
        head = requests.get(
            f"{lake[1]['xrootd-tokens']['https_url']}/",
            headers={"Authorization": f"Bearer {after}"},
            verify=provider.ca,
            timeout=30,
        )
        assert head.status_code != 401 and head.status_code != 403, head.status_code
        # and Rucio's: renewed at its next use, and taken, though the kernel's BEARER_TOKEN_FILE (which Rucio's
        # own client reads first) holds the storage token, as after an attach over root://
        monkeypatch.setenv("BEARER_TOKEN_FILE", str(folder / "signin_storage_token"))
        rucio_before = (folder / "signin_rucio_token").read_text()
        expire(folder, "rucio")
        [status] = services[0].instances()
        assert status["authenticated"], status
        rucio_after = (folder / "signin_rucio_token").read_text()
        assert rucio_after != rucio_before
        assert whoami(lake[1], rucio_after).json()["account"] == USER
        assert json.loads((folder / "signin.json").read_text())["ended"] is None
    finally:
        for s in services:
            s.close()


def test_when_renewal_is_refused_every_use_says_so_in_one_sentence(lake, dana, tmp_path):
    """A refresh token the provider no longer takes (here: a spent one, which also revokes the sign-in)."""
    jupyter_dir = write_jupyter_config(tmp_path, lake[1])
    done = login(lake, jupyter_dir, *dana)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = session_folder(jupyter_dir)
    spent = json.loads((folder / "signin.json").read_text())["refresh_token"]
    service = service_of(jupyter_dir)
    try:
        expire(folder, "storage")
        service._instance().storage.token()  # renewed: the refresh token rotated, ``spent`` is spent
        session = json.loads((folder / "signin.json").read_text())
        session["refresh_token"] = spent  # a copy of an older sign-in file, say
        (folder / "signin.json").write_text(json.dumps(session))
        expire(folder, "storage")
        with pytest.raises(AuthenticationFailed) as refused:
            service._instance().storage.token()
        message = str(refused.value)
        assert message.startswith("Your sign-in to 'lake' has ended (")
        assert message.endswith("sign in again with odlake login lake") and message.count(". ") == 0
        assert spent not in message
        expire(folder, "rucio")
        service._instance().connection.reset()
        [status] = service.instances()
        assert not status["authenticated"] and status["message"] == message
        assert status["signed_in"]["ended"]
    finally:
        service.close()
    # logging out forgets it; the next use says to sign in
    out = subprocess.run(
        [sys.executable, "-m", "jupyterlab_odlake.cli", "logout"],
        capture_output=True,
        text=True,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(jupyter_dir / "config")},
        timeout=120,
    )
    assert out.returncode == 0 and "Signed out of 'lake'." in out.stdout, out.stdout + out.stderr
    assert not list(folder.glob("signin*"))
    service = service_of(jupyter_dir)
    try:
        [status] = service.instances()
        assert status["message"] == "You are not signed in to 'lake': run odlake login lake in a terminal."
        assert status["signed_in"] is None
    finally:
        service.close()


# An analysis in its own process, as in a kernel: XRootD's client takes the CA of the first lake a process
# connects to over TLS, and this lake (the fault tests' own) has another CA than the lake of the other tests.
ANALYSIS = """
import pickle, sys, time
import uproot

attached, expected, token_file, seconds = pickle.load(open(sys.argv[1], "rb"))
seen, reads, end = set(), 0, time.time() + seconds
while time.time() < end:
    seen.add(open(token_file).read())
    for scheme, (path, options) in attached.items():
        # a new file object each time: a new connection, which carries the token of the moment
        with uproot.open(path, **options) as f:
            assert f["mini"].arrays(expected["branches"]).tolist() == expected["arrays"], scheme
        reads += 1
    time.sleep(3)
pickle.dump((seen, reads), open(sys.argv[2], "wb"))
"""


def test_an_analysis_longer_than_a_tokens_life_reads_to_its_end(fault_lake, tmp_path, monkeypatch):
    """Tokens that live 20 s, an analysis of 50 s reading the token storage over root:// and https the whole
    time: the server's refresher renews the storage token before each ends, and every read succeeds."""
    import pickle

    home, _ = fault_lake
    lifetime = 20
    changed = odlake("lake", "up", "--home", home.root, "--token-lifetime", lifetime)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    try:
        state = home.load_state()
        user = f"erin{secrets.token_hex(2)}"
        jupyter_dir = write_jupyter_config(tmp_path / "jupyter", state)
        done = login((home, state), jupyter_dir, user, user_password(home, user, tmp_path))
        assert done.returncode == 0, done.stdout + done.stderr
        monkeypatch.setenv("BEARER_TOKEN_FILE", "")  # undone after the test: the attach sets it
        [public] = list((home.http_storage / "opendata").rglob("data_A.GamGam.root"))
        expected = {"branches": BRANCHES, "arrays": uproot.open(public)["mini"].arrays(BRANCHES).tolist()}
        service = service_of(jupyter_dir)  # its refresher runs, as in a Jupyter server
        monkeypatch.setattr(backends, "_backend", service)
        token_file = session_folder(jupyter_dir) / "signin_storage_token"
        try:
            attached = {}
            for scheme in ("root", "https"):
                data = api.attach("opendata:GamGam.Data", mode="stream", rse=TOKEN_RSE, scheme=scheme, progress=False)
                first = next(i for i, f in enumerate(data.files) if f.name == public.name)
                attached[scheme] = (data.paths[first], data.storage_options)
            (tmp_path / "in").write_bytes(pickle.dumps((attached, expected, str(token_file), 2.5 * lifetime)))
            env = {**os.environ, "X509_CERT_DIR": state["ca"]["certdir"]}
            analysis = subprocess.run(
                [sys.executable, "-c", ANALYSIS, str(tmp_path / "in"), str(tmp_path / "out")],
                capture_output=True,
                text=True,
                env=env,
                timeout=600,
            )
            assert analysis.returncode == 0, analysis.stderr[-3000:]
            seen, reads = pickle.loads((tmp_path / "out").read_bytes())
            assert len(seen) >= 2, "the storage token was renewed while the analysis ran"
            assert all(claims(t)[1]["exp"] - claims(t)[1]["iat"] == lifetime for t in seen)
            assert claims(token_file.read_text())[1]["exp"] > time.time()
            assert reads >= 2 * 10
        finally:
            service.close()
    finally:
        restored = odlake("lake", "up", "--home", home.root, "--token-lifetime", ACCESS_TOKEN_LIFETIME)
        assert restored.returncode == 0, restored.stderr
