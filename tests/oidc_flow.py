"""Signing in at the demo lake's OpenID Connect provider as a person would, over HTTP with ``requests``:
the provider's own pages (device code entry, login, consent), their forms read from the HTML.

Every request names the lake's CA (``verify=``): requests lets REQUESTS_CA_BUNDLE in the environment
override a session's own ``verify``, and the lake is trusted through its own CA only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import requests

from jupyterlab_odlake.lake.signin import forms

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def claims(jwt: str) -> tuple[dict, dict]:
    """A JWT's header and payload (not verified: for looking at)."""

    def part(text):
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))

    header, payload, _signature = jwt.split(".")
    return part(header), part(payload)


class Provider:
    def __init__(self, state: dict):
        self.state = state
        self.ca = state["ca"]["bundle"]
        self.oidc = state["oidc"]
        self.config = self.get(self.oidc["discovery"]).json()
        self.client = self.oidc["clients"]["device_code"]

    def get(self, url, session=None, **kwargs):
        return (session or requests).get(url, verify=self.ca, timeout=30, **kwargs)

    def post(self, url, session=None, **kwargs):
        return (session or requests).post(url, verify=self.ca, timeout=30, **kwargs)

    def resource(self, name: str) -> str:
        return self.oidc["resources"][name]["resource"]

    def token(self, **data) -> requests.Response:
        return self.post(self.config["token_endpoint"], data={"client_id": self.client, **data})

    def client_token(self, resource: str = "storage", scope: str = "storage.read:/", home=None) -> str:
        """An access token by client credentials (the lake's test client) for ``resource``."""
        from jupyterlab_odlake.lake.home import LakeHome
        from jupyterlab_odlake.lake.provider import TEST_CLIENT, ProviderFiles

        secret = json.loads(ProviderFiles(home or LakeHome(Path(self.state["home"]))).secrets.read_text())
        answer = self.post(
            self.config["token_endpoint"],
            data={"grant_type": "client_credentials", "resource": self.resource(resource), "scope": scope},
            auth=(TEST_CLIENT, secret["clients"][TEST_CLIENT]),
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def start_device(self, scope="openid profile offline_access storage.read:/", resources=("rucio", "storage")):
        answer = self.post(
            self.config["device_authorization_endpoint"],
            data={"client_id": self.client, "scope": scope, "resource": [self.resource(r) for r in resources]},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def enter_user_code(self, session: requests.Session, device: dict) -> requests.Response:
        """The device page: enter the code, confirm it; the answer is the login page."""
        page = self.get(device["verification_uri"], session)
        [entry] = forms(page)
        page = self.post(entry.action, session, data={**entry.fields, "user_code": device["user_code"]})
        [confirm] = forms(page)
        return self.post(confirm.action, session, data=confirm.fields)

    def log_in(self, session: requests.Session, login_page: requests.Response, user: str, password: str):
        [form] = forms(login_page)
        return self.post(form.action, session, data={**form.fields, "login": user, "password": password})

    def consent(self, session: requests.Session, consent_page: requests.Response, **kwargs) -> requests.Response:
        [form] = forms(consent_page)
        return self.post(form.action, session, data=form.fields, **kwargs)

    def device_sign_in(self, user: str, password: str, resource: str = "rucio") -> dict:
        """A person signs a terminal in with the device code; the terminal's tokens (for ``resource``)."""
        device = self.start_device()
        with requests.Session() as session:
            login = self.enter_user_code(session, device)
            consent = self.log_in(session, login, user, password)
            assert consent.status_code == 200 and "Allow access" in consent.text, consent.text
            done = self.consent(session, consent)
            assert done.status_code == 200 and "signed in" in done.text, done.text
        answer = self.token(
            grant_type=DEVICE_GRANT, device_code=device["device_code"], resource=self.resource(resource)
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    def code_sign_in(self, user: str, password: str, pkce: bool = True) -> requests.Response:
        """The authorization code grant with PKCE, as a hub's login would; the token endpoint's answer."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        redirect = "http://127.0.0.1/callback"
        params = {
            "client_id": self.client,
            "response_type": "code",
            "scope": "openid profile",
            "redirect_uri": redirect,
            "state": secrets.token_urlsafe(8),
            "resource": self.resource("rucio"),
        }
        if pkce:
            params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
        with requests.Session() as session:
            login = self.get(self.config["authorization_endpoint"], session, params=params, allow_redirects=pkce)
            if not pkce:
                return login  # the provider's answer: back to the client, with an error
            consent = self.log_in(session, login, user, password)
            back = self.consent(session, consent, allow_redirects=False)
            while back.is_redirect and not back.headers["location"].startswith(redirect):
                back = self.get(urljoin(back.url, back.headers["location"]), session, allow_redirects=False)
        query = parse_qs(urlparse(back.headers["location"]).query)
        assert query["state"] == [params["state"]], query
        return self.token(
            grant_type="authorization_code", code=query["code"][0], redirect_uri=redirect, code_verifier=verifier
        )


def whoami(state: dict, token: str) -> requests.Response:
    """Rucio's whoami with a token as the X-Rucio-Auth-Token header."""
    return requests.get(f"{state['rucio']['url']}/accounts/whoami", headers={"X-Rucio-Auth-Token": token}, timeout=30)


def user_password(home, name: str, tmp_path: Path) -> str:
    """Add lake user ``name`` (``odlake lake user add``) and return their password."""
    from support import odlake

    secret = tmp_path / f"{name}.password"
    added = odlake("lake", "user", "add", name, "--home", home.root, "--credential-file", secret)
    assert added.returncode == 0, added.stderr
    return secret.read_text().strip()
