"""The packaging: the server extension loads and the prebuilt lab extension is enabled."""

import json
import subprocess
import sys
import warnings

import pytest
from jupyter_server.utils import JupyterServerAuthWarning


async def test_server_extension_answers(jp_fetch):
    response = await jp_fetch("odlake", "info")
    assert response.code == 200
    assert "version" in json.loads(response.body)


async def test_routes_refuse_requests_without_a_token(jp_fetch):
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("odlake", "info", headers={"Authorization": ""})
    assert err.value.code == 403


def test_no_handler_is_left_unauthenticated(jp_configurable_serverapp):
    # jupyter_server warns about every handler method that lacks @tornado.web.authenticated
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", JupyterServerAuthWarning)
        jp_configurable_serverapp()
    ours = [str(w.message) for w in caught if w.category is JupyterServerAuthWarning and "/odlake/" in str(w.message)]
    assert ours == []


def test_lab_extension_is_installed_and_enabled():
    out = subprocess.run([sys.executable, "-m", "jupyterlab.labextensions", "list"], capture_output=True, text=True)
    listing = out.stdout + out.stderr
    line = next(line for line in listing.splitlines() if "jupyterlab-odlake" in line)
    assert "enabled" in line and "OK" in line


def test_unloading_the_extension_stops_its_downloads_and_threads(jp_serverapp):
    import jupyterlab_odlake

    settings = jp_serverapp.web_app.settings
    service, executor = settings["odlake_service"], settings["odlake_executor"]
    jupyterlab_odlake._unload_jupyter_server_extension(jp_serverapp)
    assert "odlake_service" not in settings and "odlake_executor" not in settings
    assert service.jobs._runner._shutdown and service._downloads._pool._shutdown and executor._shutdown


def test_a_sites_drop_in_file_configures_odlake_and_the_users_own_files_win(tmp_path):
    from jupyterlab_odlake.server.extension import drop_in_config

    system, user = tmp_path / "etc", tmp_path / "home"
    for folder, data in (
        (system, {"Odlake": {"instances": [{"name": "site", "rucio_host": "https://r"}], "default_instance": "site"}}),
        (user, {"Odlake": {"default_instance": "mine"}}),
    ):
        (folder / "jupyter_server_config.d").mkdir(parents=True)
        (folder / "jupyter_server_config.d" / "odlake.json").write_text(json.dumps(data))
    (system / "jupyter_server_config.d" / "other.json").write_text(json.dumps({"ServerApp": {"x": 1}}))
    config = drop_in_config([str(user), str(system)])  # Jupyter's order: the user's first
    assert config.Odlake.instances == [{"name": "site", "rucio_host": "https://r"}]
    assert config.Odlake.default_instance == "mine"
    assert drop_in_config([str(tmp_path / "nothing")]) == {}
