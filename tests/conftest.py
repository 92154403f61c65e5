"""Fixtures: one demo lake per test session (shared, never harmed), one for the tests that break
parts of a lake, and a client of the REST API that holds every answer to its description."""

import json
import os
import shutil
from pathlib import Path

import openapi
import pytest
from tornado.httpclient import HTTPClientError

from jupyterlab_odlake.lake import manager
from jupyterlab_odlake.lake.home import LakeHome

pytest_plugins = ["jupyter_server.pytest_plugin"]


def pytest_collection_modifyitems(items):
    """Mark every test that needs the demo lake, so that ``-m "not lake"`` runs the others without one."""
    for item in items:
        if {"lake", "fault_lake"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lake)


@pytest.fixture(scope="session")
def lake(tmp_path_factory):
    """A running demo lake (PostgreSQL, Rucio server, XRootD storage over root:// and https) with the Open Data samples.

    ``RUCIO_CONFIG`` points at its rucio.cfg for the whole session, so Rucio's own
    client and CLI talk to it.
    """
    running = os.environ.get("ODLAKE_TEST_LAKE")  # a lake already up (a developer's, kept between runs)
    home = LakeHome(Path(running) if running else tmp_path_factory.mktemp("lake"))
    state = manager.up(home, size="small", db="postgresql", log=lambda *_: None)
    os.environ["RUCIO_CONFIG"] = str(home.rucio_cfg)
    # as a Jupyter server with odlake gives its kernels (LakeService.kernel_environment): XRootD's client takes
    # the CA only at the first connection of this process, which may be any test's
    os.environ["X509_CERT_DIR"] = state["ca"]["certdir"]
    from rucio.common import config

    config.clean_cached_config()  # a server started earlier in this process may have given Rucio another one
    yield home, state
    if not running:
        manager.down(home, log=lambda *_: None)


@pytest.fixture(scope="session")
def fault_lake():
    """A demo lake of its own for the tests that kill, stop or corrupt its parts, or try to reach
    them as another user: its home is in a folder every user may pass through, as a user's would be."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="odlake-fault-"))
    base.chmod(0o755)
    home = LakeHome(base / "lake")
    state = manager.up(home, size="small", db="postgresql", log=lambda *_: None)
    yield home, state
    manager.down(home, purge=True, log=lambda *_: None)
    shutil.rmtree(base, ignore_errors=True)


def instance_config(home, state, secrets_dir, name="demo") -> dict:
    """An odlake instance for a demo lake, its password in a file as a sysadmin would keep it."""
    secret = secrets_dir / f"{name}.password"
    secret.write_text(home.password())
    return {
        "name": name,
        "display_name": "Demo lake",
        "rucio_host": state["rucio"]["url"],
        "account": "root",
        "username": "odlake",
        "password_file": str(secret),
        "scopes": ["opendata"],
        "mounts": {"ODLAKE_LOCAL": str(home.local_storage), "ODLAKE_USERDISK": str(home.user_storage)},
        "upload_rse": "ODLAKE_USERDISK",
        # its storages' https has the lake CA's certificates: trusted with its files only
        "ca_cert": state["ca"]["bundle"],
        "ca_certdir": state["ca"]["certdir"],
    }


@pytest.fixture
def api(jp_fetch):
    """GET/POST/DELETE an odlake route; returns (status, json body). Every body is kept for the secret check."""
    seen = []

    async def call(*parts, method="GET", body=None, **params):
        kwargs = {"method": method, "params": {k: v for k, v in params.items() if v is not None}}
        if isinstance(body, bytes):  # sent as it is, e.g. a body that is not JSON
            kwargs["body"] = body
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method == "POST":
            kwargs["body"] = "{}"
        if method == "DELETE":
            kwargs["allow_nonstandard_methods"] = True
        try:
            r = await jp_fetch("odlake", *parts, **kwargs)
            status, text = r.code, r.body.decode()
        except HTTPClientError as e:
            status, text = e.code, e.response.body.decode() if e.response else ""
        seen.append(text)
        answer = json.loads(text) if text else None
        if status != 599:  # every answer is held to the API's description
            openapi.check(method, "/" + "/".join(parts), status, answer)
        return status, answer

    call.seen = seen
    return call


@pytest.fixture(scope="session")
def rucio_client(lake):
    from rucio.client import Client

    return Client()


@pytest.fixture
def jp_server_config(jp_server_config):
    """A Jupyter server with odlake loaded, every endpoint required to authenticate."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyterlab_odlake": True},
            "allow_unauthenticated_access": False,
            "reraise_server_extension_failures": True,
        }
    }
