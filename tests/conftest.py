"""Fixtures: one demo lake per test session, started in a temporary home and stopped at the end."""

import os

import pytest

from jupyterlab_odlake.lake import manager
from jupyterlab_odlake.lake.home import LakeHome

pytest_plugins = ["jupyter_server.pytest_plugin"]


@pytest.fixture(scope="session")
def lake(tmp_path_factory):
    """A running demo lake (PostgreSQL, Rucio server, HTTP storage) with the Open Data samples.

    ``RUCIO_CONFIG`` points at its rucio.cfg for the whole session, so Rucio's own
    client and CLI talk to it.
    """
    home = LakeHome(tmp_path_factory.mktemp("lake"))
    state = manager.up(home, size="small", db="postgresql", log=lambda *_: None)
    os.environ["RUCIO_CONFIG"] = str(home.rucio_cfg)
    yield home, state
    manager.down(home, log=lambda *_: None)


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
