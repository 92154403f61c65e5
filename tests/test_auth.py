"""Instances and who may ask, over REST against the demo lake: each instance's status, a dead one
and one with a wrong password beside one that works, the token and the XSRF token a request
needs, and no secret in any answer or log."""

import json
import logging

import lake_server
import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

# a Jupyter server over the lake's instances, for this module's tests (conftest's plain one serves the others)
jp_server_config = lake_server.jp_server_config
instance_configs = lake_server.instance_configs


# -- instances ------------------------------------------------------------------------------


async def test_instances_report_status_and_no_secret(api, instance_configs):
    status, body = await api("instances")
    assert status == 200
    by_name = {i["name"]: i for i in body["instances"]}
    assert by_name["demo"]["authenticated"] is True and by_name["demo"]["default"] is True
    assert by_name["dead"]["reachable"] is False and "cannot be reached" in by_name["dead"]["message"]
    assert by_name["wrongpw"]["status"] == "authentication_failed"
    assert "userpass identity 'odlake'" in by_name["wrongpw"]["message"]
    for secret in ("password", "unused-secret", "not-the-password"):
        assert secret not in json.dumps(body)


async def test_info_names_the_default_instance_without_asking_rucio(api):
    # a kernel learns the default here: /instances would wait for every instance's status, a dead one's timeout too
    status, body = await api("info")
    assert status == 200 and body["default_instance"] == "demo" and body["version"]


async def test_a_dead_instance_fails_clearly_while_the_other_works(api):
    status, body = await api("search", instance="dead", q="*")
    assert status == 503 and body["error"] == "unreachable"
    assert "'dead'" in body["message"] and "cannot be reached" in body["message"]
    status, body = await api("search", instance="demo", q="opendata:GamGam")
    assert status == 200 and body["items"]


async def test_wrong_password_is_401_naming_instance_and_credential(api):
    status, body = await api("search", instance="wrongpw", q="*")
    assert status == 401 and body["error"] == "authentication_failed"
    assert "'wrongpw'" in body["message"] and "userpass identity 'odlake'" in body["message"]
    assert "not-the-password" not in json.dumps(body)


# -- who may ask, and what is never said ----------------------------------------------------


async def test_requests_without_token_are_rejected(jp_fetch):
    for method, body in (("GET", None), ("POST", json.dumps({"did": "opendata:GamGam.MC"}))):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch("odlake", "downloads", method=method, body=body, headers={"Authorization": ""})
        assert err.value.code == 403


async def test_browser_session_needs_the_xsrf_token_to_post(jp_fetch, jp_serverapp, jp_http_port, jp_base_url):
    """A browser logged in with a cookie can POST only with the XSRF token, as JupyterLab sends it."""
    from http.cookies import SimpleCookie

    client, base = AsyncHTTPClient(), f"http://localhost:{jp_http_port}{jp_base_url}"
    cookies = SimpleCookie()

    def keep(response):
        for header in response.headers.get_list("Set-Cookie"):
            cookies.load(header)

    keep(await client.fetch(base + "login", raise_error=False))
    xsrf = cookies["_xsrf"].value
    header = lambda: "; ".join(f"{k}={v.value}" for k, v in cookies.items())  # noqa: E731
    login = await client.fetch(
        base + "login",
        method="POST",
        body=f"password={jp_serverapp.identity_provider.token}&_xsrf={xsrf}",
        headers={"Cookie": header()},
        follow_redirects=False,
        raise_error=False,
    )
    keep(login)
    assert login.code == 302
    url = base + "odlake/downloads"
    body = json.dumps({"did": "opendata:GamGam.MC"})
    without = await client.fetch(url, method="POST", body=body, headers={"Cookie": header()}, raise_error=False)
    assert without.code == 403
    listed = await client.fetch(url, headers={"Cookie": header()}, raise_error=False)
    assert listed.code == 200  # the cookie alone is a valid session for reading
    with_token = await client.fetch(
        url, method="POST", body=body, headers={"Cookie": header(), "X-XSRFToken": xsrf}, raise_error=False
    )
    assert with_token.code == 202


async def test_no_secret_in_any_response_or_log(api, lake, caplog, instance_configs, tmp_path):
    caplog.set_level(logging.DEBUG)
    for args, params in [
        (("instances",), {}),
        (("search",), {"instance": "wrongpw"}),
        (("search",), {"instance": "dead"}),
        (("dids", "opendata", "GamGam.Data"), {}),
        (("catalog",), {}),
    ]:
        await api(*args, **params)
    home, _ = lake
    secrets = [open(c["password_file"]).read().strip() for c in instance_configs]
    tokens = [p.read_text().strip() for p in (tmp_path / "state" / "tokens").rglob("auth_token_for_*")]
    assert tokens and all(len(s) >= 8 for s in secrets + tokens)
    lake_logs = "\n".join(p.read_text(errors="replace") for p in home.logs.glob("*.log"))
    everything = "\n".join(api.seen) + caplog.text + lake_logs
    for secret in secrets + tokens:
        assert secret not in everything
