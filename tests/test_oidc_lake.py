"""The demo lake's identity parts, against the real lake: its certificate authority, its OpenID Connect
provider (npm's oidc-provider) and Rucio accepting the provider's tokens.

On the lake of the fault tests: some tests here restart its provider (a shorter token lifetime, a
kill -9), and its users (alice) are its own, apart from those the hub tests add to the shared lake.
"""

import grp
import json
import os
import signal
import socket
import ssl
import stat
import subprocess
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlparse

import psutil
import pytest
import requests
from oidc_flow import DEVICE_GRANT, Provider, claims, user_password, whoami
from support import odlake

from jupyterlab_odlake.lake.home import ACCOUNT, IDENTITY
from jupyterlab_odlake.lake.provider import ACCESS_TOKEN_LIFETIME, ProviderFiles
from jupyterlab_odlake.lake.services import SERVICE_USER

pytestmark = pytest.mark.lake


@pytest.fixture(scope="module")
def alice(fault_lake, tmp_path_factory):
    home, _ = fault_lake
    return "alice", user_password(home, "alice", tmp_path_factory.mktemp("alice"))


def provider_of(home) -> Provider:
    return Provider(home.load_state())


def test_the_provider_is_served_over_tls_trusted_only_through_the_lakes_ca(fault_lake):
    home, _ = fault_lake
    status = odlake("lake", "status", "--home", home.root, "--json")
    state = json.loads(status.stdout)["state"]
    running = json.loads(status.stdout)["running"]
    assert running["oidc"] and running["rucio"], running  # (Rucio's daemons are another test's: the faults')
    bundle, certdir, discovery = state["ca"]["bundle"], state["ca"]["certdir"], state["oidc"]["discovery"]
    assert bundle == str(home.root / "ca" / "ca.pem") and os.path.isfile(bundle)

    found = requests.get(discovery, verify=bundle, timeout=30).json()
    assert found["issuer"] == state["oidc"]["issuer"] and found["issuer"].startswith("https://127.0.0.1:")
    for grant in ("authorization_code", "refresh_token", "client_credentials", DEVICE_GRANT):
        assert grant in found["grant_types_supported"]
    assert found["code_challenge_methods_supported"] == ["S256"]
    keys = requests.get(found["jwks_uri"], verify=bundle, timeout=30).json()["keys"]
    assert sorted(k["alg"] for k in keys) == ["ES256", "RS256"]
    assert not any("d" in k for k in keys)  # public halves only

    # the hashed directory serves as well (X509_CERT_DIR), localhost is in the certificate too
    by_dir = ssl.create_default_context(capath=certdir)
    local = discovery.replace("127.0.0.1", "localhost")
    with urllib.request.urlopen(local, context=by_dir, timeout=30) as answer:
        assert json.loads(answer.read())["issuer"] == found["issuer"]

    # the system's store does not know the lake's CA
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(discovery, verify=True, timeout=30)
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(discovery, context=ssl.create_default_context(), timeout=30)

    # 127.0.0.1 only: another loopback address finds nothing listening
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.2", state["oidc"]["port"]), 5):
        pass
    # it runs as the lake's other services do: as their own user when the lake runs as root
    expected = SERVICE_USER if os.geteuid() == 0 else psutil.Process().username()
    assert psutil.Process(state["oidc"]["pid"]).username() == expected


def test_a_device_code_sign_in_checks_the_password_and_rucio_answers_alices_account(fault_lake, alice):
    home, _ = fault_lake
    name, password = alice
    provider = provider_of(home)
    device = provider.start_device()
    with requests.Session() as session:
        login = provider.enter_user_code(session, device)
        assert "Sign in" in login.text and "password" in login.text
        for user, wrong in ((name, password + "x"), (name, ""), ("mallory", password), (IDENTITY, password)):
            refused = provider.log_in(session, login, user, wrong)
            assert refused.status_code == 401 and "Wrong user name or password" in refused.text
            waiting = provider.token(grant_type=DEVICE_GRANT, device_code=device["device_code"])
            assert waiting.json()["error"] == "authorization_pending"
        consent = provider.log_in(session, login, name, password)
        assert consent.status_code == 200 and "Allow access" in consent.text
        done = provider.consent(session, consent)
        assert "signed in" in done.text
    tokens = provider.token(
        grant_type=DEVICE_GRANT, device_code=device["device_code"], resource=provider.resource("rucio")
    ).json()
    header, payload = claims(tokens["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256"
    assert payload["iss"] == provider.oidc["issuer"] and payload["sub"] == name and payload["aud"] == "rucio"
    assert set(payload["scope"].split()) == {"openid", "profile"} and payload["wlcg.ver"] == "1.0"
    assert payload["exp"] - payload["iat"] == provider.oidc["access_token_lifetime"]
    assert tokens["refresh_token"]

    me = whoami(provider.state, tokens["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["account"] == name
    # the device code is spent
    again = provider.token(grant_type=DEVICE_GRANT, device_code=device["device_code"])
    assert again.status_code == 400


def test_rucios_own_client_signs_in_with_the_token_as_bearer_token(fault_lake, alice, monkeypatch):
    from rucio.client import Client
    from rucio.common import config

    home, _ = fault_lake
    provider = provider_of(home)
    tokens = provider.device_sign_in(*alice)
    monkeypatch.setenv("BEARER_TOKEN", tokens["access_token"])  # the WLCG token discovery's first place
    monkeypatch.setenv("RUCIO_CONFIG", str(home.rucio_cfg))
    config.clean_cached_config()
    try:
        url = provider.state["rucio"]["url"]
        client = Client(rucio_host=url, auth_host=url, account="alice", auth_type="oidc")
        assert client.whoami()["account"] == "alice"
        assert "user.alice" in client.list_scopes_for_account("alice")
    finally:
        monkeypatch.undo()
        config.clean_cached_config()  # the next test's Rucio reads its own lake's configuration again


def test_the_demo_user_signs_in_as_the_lakes_account(fault_lake):
    home, _ = fault_lake
    provider = provider_of(home)
    tokens = provider.device_sign_in(IDENTITY, home.password())
    assert whoami(provider.state, tokens["access_token"]).json()["account"] == ACCOUNT


def test_rucio_refuses_a_token_for_another_audience_a_forged_one_and_one_of_no_identity(fault_lake, alice):
    home, _ = fault_lake
    provider = provider_of(home)
    tokens = provider.device_sign_in(*alice)
    storage = provider.token(
        grant_type="refresh_token", refresh_token=tokens["refresh_token"], resource=provider.resource("storage")
    ).json()
    _, payload = claims(storage["access_token"])
    assert payload["aud"] == "https://wlcg.cern.ch/jwt/v1/any" and payload["scope"] == "storage.read:/"
    assert payload["sub"] == "alice" and payload["wlcg.ver"] == "1.0"
    refused = whoami(provider.state, storage["access_token"])
    assert refused.status_code == 401 and refused.json()["ExceptionClass"] == "CannotAuthenticate"

    # the same token for Rucio, with one letter of its signature changed
    head, body, signature = tokens["access_token"].split(".")
    forged = f"{head}.{body}.{signature[:10]}{'A' if signature[10] != 'A' else 'B'}{signature[11:]}"
    assert whoami(provider.state, forged).status_code == 401

    # a token for Rucio whose subject (a client, by client credentials) is no identity in Rucio
    secret = json.loads(ProviderFiles(home).secrets.read_text())["clients"]["odlake-tests"]
    client_token = requests.post(
        provider.config["token_endpoint"],
        data={"grant_type": "client_credentials", "resource": provider.resource("rucio"), "scope": "openid profile"},
        auth=("odlake-tests", secret),
        verify=provider.ca,
        timeout=30,
    ).json()["access_token"]
    _, payload = claims(client_token)
    assert payload["aud"] == "rucio" and payload["sub"] == "odlake-tests"
    assert whoami(provider.state, client_token).status_code == 401
    # ...and this one, alice's, works: what was refused above was the audience, the signature, the identity
    assert whoami(provider.state, tokens["access_token"]).status_code == 200


def test_a_refresh_token_gives_a_new_token_that_works_and_is_used_once(fault_lake, alice):
    """Refresh tokens rotate: each refresh answers a new one, and a spent one used again ends the sign-in
    (the provider takes it for a stolen copy and revokes the grant)."""
    home, _ = fault_lake
    provider = provider_of(home)
    first = provider.device_sign_in(*alice)
    time.sleep(1.1)  # a new iat
    second = provider.token(
        grant_type="refresh_token", refresh_token=first["refresh_token"], resource=provider.resource("rucio")
    ).json()
    assert second["access_token"] != first["access_token"]
    assert claims(second["access_token"])[1]["iat"] > claims(first["access_token"])[1]["iat"]
    assert whoami(provider.state, second["access_token"]).json()["account"] == "alice"
    assert second["refresh_token"] != first["refresh_token"]
    third = provider.token(grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert third.status_code == 200 and whoami(provider.state, third.json()["access_token"]).status_code == 200
    # the first refresh token again: refused, and so is every later one of that sign-in
    spent = provider.token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert spent.status_code == 400 and spent.json()["error"] == "invalid_grant"
    after = provider.token(grant_type="refresh_token", refresh_token=third.json()["refresh_token"])
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


def test_the_authorization_code_grant_needs_pkce_and_gives_a_token_rucio_takes(fault_lake, alice):
    home, _ = fault_lake
    provider = provider_of(home)
    without = provider.code_sign_in(*alice, pkce=False)  # refused before any login page
    assert without.is_redirect and without.headers["location"].startswith("http://127.0.0.1/callback?")
    error = parse_qs(urlparse(without.headers["location"]).query)
    assert error["error"] == ["invalid_request"] and "PKCE" in error["error_description"][0]
    answer = provider.code_sign_in(*alice)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert "id_token" in tokens
    assert whoami(provider.state, tokens["access_token"]).json()["account"] == "alice"


def test_an_expired_token_is_refused(fault_lake, alice):
    home, _ = fault_lake
    lifetime = 4
    changed = odlake("lake", "up", "--home", home.root, "--token-lifetime", lifetime)
    try:
        assert changed.returncode == 0, changed.stdout + changed.stderr
        assert "starting the lake's oidc" in changed.stdout and f"live {lifetime} s" in changed.stdout
        provider = provider_of(home)
        tokens = provider.device_sign_in(*alice)
        _, payload = claims(tokens["access_token"])
        assert payload["exp"] - payload["iat"] == lifetime
        assert whoami(provider.state, tokens["access_token"]).status_code == 200  # while it lives
        time.sleep(max(0.0, payload["exp"] + 1.5 - time.time()))
        expired = whoami(provider.state, tokens["access_token"])
        assert expired.status_code == 401 and expired.json()["ExceptionClass"] == "CannotAuthenticate"
        # what a client then does: refresh (the refresh token lives on)
        renewed = provider.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
        assert whoami(provider.state, renewed["access_token"]).status_code == 200
    finally:
        restored = odlake("lake", "up", "--home", home.root, "--token-lifetime", ACCESS_TOKEN_LIFETIME)
        assert restored.returncode == 0, restored.stderr


def test_up_after_kill_9_brings_the_provider_back_with_its_keys(fault_lake, alice):
    home, _ = fault_lake
    provider = provider_of(home)
    before = provider.device_sign_in(*alice)
    keys = requests.get(provider.config["jwks_uri"], verify=provider.ca, timeout=30).json()
    pid = provider.state["oidc"]["pid"]
    os.kill(pid, signal.SIGKILL)
    result = odlake("lake", "up", "--home", home.root)
    assert result.returncode == 0, result.stderr
    assert "starting the lake's oidc" in result.stdout
    again = provider_of(home)
    assert again.state["oidc"]["pid"] != pid and again.state["oidc"]["port"] == provider.state["oidc"]["port"]
    assert requests.get(again.config["jwks_uri"], verify=again.ca, timeout=30).json() == keys
    # a token issued before still works (the keys are kept); sessions and refresh tokens were in memory
    assert whoami(again.state, before["access_token"]).json()["account"] == "alice"
    assert again.token(grant_type="refresh_token", refresh_token=before["refresh_token"]).status_code == 400
    assert whoami(again.state, again.device_sign_in(*alice)["access_token"]).status_code == 200


def test_the_providers_keys_and_passwords_are_owner_only(fault_lake, alice):
    home, _ = fault_lake
    files = ProviderFiles(home)
    state = home.load_state()
    private = [
        files.secrets,
        files.idpsecrets,
        home.root / "ca" / "private" / "ca.key",
        home.root / "ca" / "private" / "oidc.key",
    ]
    # what the provider reads: as root, in the service folder, root's with the service user's group, so
    # that the provider reads it and cannot change it
    provider_reads = [files.jwks, files.users, files.settings]
    as_root = os.geteuid() == 0
    if as_root:
        provider_reads.append(files.runtime / "tls.key")
    for path in private + provider_reads:
        mode = 0o640 if as_root and path in provider_reads else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == mode, path
        assert path.stat().st_uid == os.geteuid(), path
        if as_root and path in provider_reads:
            assert grp.getgrgid(path.stat().st_gid).gr_name == SERVICE_USER, path
    for folder in (files.folder, home.root / "ca" / "private"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    if as_root:
        assert stat.S_IMODE(files.runtime.stat().st_mode) == 0o750 and files.runtime.stat().st_uid == 0
    # the users file holds salted hashes, never a password; lake.json no secret
    _, password = alice
    users = json.loads(files.users.read_text())
    assert {"alice", IDENTITY} <= set(users) and password not in files.users.read_text()
    assert users["alice"]["salt"] != users[IDENTITY]["salt"]
    lake_json = home.lake_json.read_text()
    for secret in json.loads(files.secrets.read_text())["clients"].values():
        assert secret not in lake_json
    assert home.password() not in lake_json
    assert state["ca"]["bundle"] and stat.S_IMODE(os.stat(state["ca"]["bundle"]).st_mode) == 0o644
    # the public certificate verifies with OpenSSL against the hashed directory
    checked = subprocess.run(
        ["openssl", "verify", "-CApath", state["ca"]["certdir"], str(home.root / "ca" / "hosts" / "oidc.pem")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
