"""Bad input over REST, against the demo lake: a 400 or 404 that says what is wrong, never a 500,
and JSON on every path under odlake/."""

import json
from urllib.parse import quote

import lake_server

# a Jupyter server over the lake's instances, for this module's tests (conftest's plain one serves the others)
jp_server_config = lake_server.jp_server_config
instance_configs = lake_server.instance_configs
raw_get = lake_server.raw_get


async def test_bad_input_gets_400_or_404_never_500(api, raw_get, lake):
    home, _ = lake
    status, body = await api("dids", "opendata", "no-such-dataset")
    assert status == 404 and body["error"] == "not_found" and "no such DID" in body["message"]
    status, body = await api("dids", "bad scope!", "x")
    assert status == 400 and "scope" in body["message"]
    for name in [
        "../../etc/passwd",
        "..",
        'quo"te',
        "it's",
        "with space",
        "ünïcødé-ñame",
        "x" * 1000,
        "new\nline",
        "back\\slash",
    ]:
        status, body = await raw_get(f"dids/opendata/{quote(name, safe='')}")
        assert status in (400, 404), (name, status, body)
        assert json.loads(body)["message"]
        status, body = await raw_get(f"dids/opendata/{quote(name, safe='')}/replicas?mode=download")
        assert status in (400, 404), (name, status, body)
    assert not any((home.root.parent).glob("**/passwd"))
    for params in (
        {"type": "nonsense"},
        {"limit": "0"},
        {"limit": "lots"},
        {"cursor": "garbage"},
        {"q": 'opendata:"x'},
    ):
        status, body = await api("search", **params)
        assert status == 400 and body["error"] == "invalid_request", params
    status, body = await api("dids", "opendata", "GamGam.Data", "replicas", mode="teleport")
    assert status == 400
    status, body = await api("search", instance="nowhere")
    assert status == 404 and "nowhere" in body["message"]


async def test_input_that_once_gave_500_gets_a_clear_400_or_404(api, raw_get):
    import base64

    forged = base64.urlsafe_b64encode(b'{"k": "x", "o": Infinity}').decode()
    status, body = await api("search", q="opendata:*", cursor=forged)
    assert status == 400 and "cursor" in body["message"]
    for instance in (["demo"], {"name": "demo"}, 5):
        status, body = await api("downloads", method="POST", body={"did": "opendata:GamGam.MC", "instance": instance})
        assert status == 400 and "instance" in body["message"], instance
    status, body = await api("downloads", method="POST", body=b"[" * 5000)
    assert status == 400 and "not JSON" in body["message"]
    for scope in (".", ".."):
        status, body = await api("dids", scope, "x")
        assert status == 400 and "scope" in body["message"], scope
    # Rucio's server reads these as a number, a date or True, or fails on them: a 400 that says what to write
    for params, said in (
        ({"q": "opendata:343981"}, "*343981*"),
        ({"q": "opendata:untrue"}, "'true'"),
        ({"q": "opendata:*", "filter": "length>x"}, "whole number"),
        ({"q": "opendata:*", "filter": "created_before=notadate"}, "needs a date"),
    ):
        status, body = await api("search", type="all", **params)
        assert status == 400 and said in body["message"], (params, body)
    status, body = await api("search", q="opendata:*343981*", type="all")
    assert status == 200 and [i["did"] for i in body["items"]] == ["opendata:mc_343981.ggH125_gamgam.GamGam.root"]


async def test_every_path_under_odlake_answers_json(api, raw_get):
    for path in ("nowhere", "dids", "dids//x", "downloads/not-an-id!", "downloads/%E2%80%AE", "info/extra"):
        status, body = await raw_get(path)
        assert status in (400, 404), (path, status)
        answer = json.loads(body)
        assert set(answer) == {"error", "message"} and answer["message"], (path, answer)
    status, body = await api("nowhere", "at", "all", method="POST", body={})
    assert status == 404 and body["error"] == "not_found"
