"""What the tests of the REST API share: a Jupyter server with odlake over the demo lake and two
instances that fail (one unreachable, one with a wrong password), and the scenes they read.

A test module binds the fixtures it uses to its own names (``jp_server_config =
lake_server.jp_server_config``), ``jp_server_config`` and ``instance_configs`` always: they
override conftest's plain server for that module only. Module-scoped fixtures run once per
module that binds them.
"""

import pytest
from conftest import instance_config
from tornado.httpclient import AsyncHTTPClient

from jupyterlab_odlake.lake.register import register_large_dataset
from jupyterlab_odlake.lake.services import free_port

PAGING_DATASET = "paging.2000"
PAGING_FILES = 2100


@pytest.fixture(scope="module")
def instance_configs(lake, tmp_path_factory):
    home, state = lake
    secrets = tmp_path_factory.mktemp("secrets")
    (secrets / "demo").write_text(home.password())
    (secrets / "wrong").write_text("not-the-password")
    (secrets / "dead").write_text("unused-secret")
    demo = instance_config(home, state, secrets)
    dead = {
        "name": "dead",
        "rucio_host": f"http://127.0.0.1:{free_port()}",
        "account": "root",
        "username": "odlake",
        "password_file": str(secrets / "dead"),
        "timeout": 5,
    }
    wrong = dict(demo, name="wrongpw", password_file=str(secrets / "wrong"))
    return [demo, dead, wrong]


@pytest.fixture
def jp_server_config(instance_configs, tmp_path):
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyterlab_odlake": True},
            "allow_unauthenticated_access": False,
        },
        "Odlake": {
            "instances": instance_configs,
            "default_instance": "demo",
            "cache_dir": str(tmp_path / "cache"),
            "state_dir": str(tmp_path / "state"),
            "parallel_transfers": 2,
        },
    }


@pytest.fixture
def raw_get(jp_http_port, jp_base_url, jp_auth_header):
    """GET a path exactly as written (already URL-encoded)."""

    async def get(path):
        url = f"http://localhost:{jp_http_port}{jp_base_url}odlake/{path}"
        try:
            r = await AsyncHTTPClient().fetch(url, headers=jp_auth_header, raise_error=False)
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"request failed: {e}")
        return r.code, r.body.decode()

    return get


@pytest.fixture(scope="module")
def paging_dataset(lake, rucio_client):
    """A dataset of 2,100 files (registered, with HTTP replicas) to page through."""
    register_large_dataset(rucio_client, PAGING_DATASET, PAGING_FILES, prefix="paging")
    return PAGING_DATASET
