"""A JupyterHub run by deploy/jupyterhub's recipe against a demo lake, for tests and benchmarks.

``running_hub`` installs the shared venv with deploy/jupyterhub/install.sh, creates the Unix
users, gives the ones named the lake's Rucio identities, writes the system-wide odlake config
into a Jupyter config directory of its own (the recipe's /etc/jupyter, without touching this
machine's) and starts the hub from deploy/jupyterhub/jupyterhub_config.py. Root only.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from jupyterlab_odlake.lake.services import free_port
from jupyterlab_odlake.lake.users import add_user

ROOT = Path(__file__).parent.parent
DEPLOY = ROOT / "deploy" / "jupyterhub"
PROXY = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
# the shared installation, as install.sh makes it: other users cannot run the repository's venv
# (its Python may live in root's home)
PREFIX = Path(tempfile.gettempdir()) / "odlake-hub-prefix"

# what every hub test needs: root, to spawn servers as other Unix users, and the system Python for the shared venv
HUB_TEST_MARKS = [
    pytest.mark.skipif(os.geteuid() != 0, reason="spawning servers as other Unix users needs root"),
    pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="the shared venv is made from /usr/bin/python3"),
    pytest.mark.timeout(900),
]


def ensure_unix_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
        return pwd.getpwnam(name)


def as_user(name: str, *argv: str) -> subprocess.CompletedProcess:
    """``argv`` run as the Unix user ``name``, with no capability root has."""
    return subprocess.run(
        ["setpriv", f"--reuid={name}", f"--regid={name}", "--init-groups", "--inh-caps=-all", *argv],
        capture_output=True,
        text=True,
    )


class Hub:
    """The hub's REST API (as an admin service) and its login page (as a browser)."""

    def __init__(self, url: str, token: str, password: str, log: Path):
        self.url, self.token, self.password, self.log = url, token, password, log

    def api(self, method: str, path: str, **kw) -> requests.Response:
        headers = {"Authorization": f"token {self.token}"}
        return requests.request(method, f"{self.url}/hub/api/{path}", headers=headers, timeout=60, **kw)

    def login(self, name: str) -> requests.Session:
        """Log in through the login page and open JupyterLab, as a browser does: the hub starts the
        user's server, which signs the user in through the hub (OAuth)."""
        session = requests.Session()
        page = session.get(f"{self.url}/hub/login", timeout=30)
        assert page.status_code == 200 and "password" in page.text.lower()
        answer = session.post(
            f"{self.url}/hub/login?next=/hub/spawn",
            data={"username": name, "password": self.password, "_xsrf": session.cookies.get("_xsrf", path="/hub/")},
            timeout=120,
        )
        assert answer.status_code == 200, answer.text[:300]
        self.wait_ready(name)
        lab = session.get(f"{self.url}/user/{name}/lab", timeout=60)
        assert lab.status_code == 200 and lab.url.endswith(f"/user/{name}/lab"), (lab.status_code, lab.url)
        return session

    def oidc_login(self, name: str, password: str, ca: str) -> tuple[requests.Session, requests.Response]:
        """Log in through the hub's OIDC login as a browser does: the hub sends the browser to the provider's
        login page, the user gives their password there and allows the hub, the provider sends the browser
        back to the hub's callback. The session and the last page (the provider's, when the login failed)."""
        from jupyterlab_odlake.lake.signin import forms

        session = requests.Session()
        page = session.get(f"{self.url}/hub/oauth_login?next=/hub/spawn", verify=ca, timeout=60)
        assert page.status_code == 200 and "Sign in" in page.text, (page.status_code, page.url)
        [form] = forms(page)
        page = session.post(
            form.action, data={**form.fields, "login": name, "password": password}, verify=ca, timeout=120
        )
        if "Allow access" in page.text:
            [form] = forms(page)
            page = session.post(form.action, data=form.fields, verify=ca, timeout=120)
        return session, page

    def wait_ready(self, name: str, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            server = (self.api("GET", f"users/{name}").json().get("servers") or {}).get("")
            if server and server.get("ready"):
                return
            if not server or not server.get("pending"):
                self.api("POST", f"users/{name}/server")
            time.sleep(0.2)
        raise AssertionError(f"the server of {name} did not start; see {self.log}")

    def server_pid(self, name: str) -> int:
        server = self.api("GET", f"users/{name}").json()["servers"][""]
        return int(server["state"]["pid"])

    def user_token(self, name: str) -> str:
        answer = self.api("POST", f"users/{name}/tokens", json={"note": "odlake", "expires_in": 600})
        assert answer.status_code in (200, 201), answer.text
        return str(answer.json()["token"])

    def stop(self, name: str) -> None:
        self.api("DELETE", f"users/{name}/server")


@contextmanager
def running_hub(
    home,
    state,
    work: Path,
    users: tuple[str, ...],
    with_identity: tuple[str, ...],
    port: int | None = None,
    password: str | None = None,
    config: str = "jupyterhub_config.py",
    server_config: str = "odlake.json",
    extra_env: dict[str, str] | None = None,
) -> Iterator[Hub]:
    subprocess.run([str(DEPLOY / "install.sh"), str(PREFIX)], check=True, capture_output=True)
    for name in users:
        user = ensure_unix_user(name)
        for leftover in (".cache/odlake", ".local/state/odlake", ".local/share/jupyter/runtime"):
            shutil.rmtree(Path(user.pw_dir) / leftover, ignore_errors=True)  # what an earlier run left
    for name in with_identity:
        add_user(home, name, unix_user=name)

    # the system-wide odlake config of the recipe, as it is (the hub hands it this lake's Rucio server)
    system = Path(tempfile.mkdtemp(prefix="odlake-hub-etc-"))
    drop_ins = system / "jupyter_server_config.d"
    drop_ins.mkdir()
    # and, as a site names the CA of its storages, the lake's (its https storage has the lake CA's certificate),
    # installed where every user reads it: the lake home may be private to root
    trust = system / "ca"
    shutil.copytree(state["ca"]["certdir"], trust / "certs")
    shutil.copyfile(state["ca"]["bundle"], trust / "ca.pem")
    site = json.loads((DEPLOY / server_config).read_text())
    for instance in site["Odlake"]["instances"]:
        instance.setdefault("ca_cert", str(trust / "ca.pem"))
        instance.setdefault("ca_certdir", str(trust / "certs"))
    (drop_ins / "odlake.json").write_text(json.dumps(site, indent=2))
    for path in (system, *system.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)

    port, token, password = port or free_port(), secrets.token_hex(16), password or secrets.token_urlsafe(12)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "RUCIO_CONFIG", "ODLAKE_", "JPY_"))}
    env.update(
        PATH=f"{PREFIX / 'bin'}:{env.get('PATH', '')}",
        ODLAKE_HUB_VENV=str(PREFIX),
        ODLAKE_HUB_PORT=str(port),
        ODLAKE_HUB_HUB_PORT=str(free_port()),
        ODLAKE_HUB_PROXY_API_PORT=str(free_port()),
        ODLAKE_HUB_PROXY=str(PROXY),
        ODLAKE_HUB_SHARED_PASSWORD=password,
        ODLAKE_HUB_USERS=",".join(users),
        ODLAKE_HUB_JUPYTER_CONFIG_PATH=str(system),
        ODLAKE_HUB_SERVICE_TOKEN=token,
        ODLAKE_RUCIO_HOST=state["rucio"]["url"],
        **(extra_env or {}),
    )
    log_path = work / "hub.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(PREFIX / "bin" / "jupyterhub"), "-f", str(DEPLOY / config)],
            cwd=work,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = Hub(f"http://127.0.0.1:{port}", token, password, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{hub.url}/hub/api", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start: {log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield hub
    finally:
        for name in users:
            try:
                hub.stop(name)
            except requests.RequestException:
                pass
        os.killpg(process.pid, 15)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
        shutil.rmtree(system, ignore_errors=True)
