"""Finding DIDs over REST, against the demo lake: searches, their cursors, words, wildcards and
metadata filters, one DID's description, the catalog of analyses."""

import json
import os

import lake_server
import pytest

# a Jupyter server over the lake's instances, for this module's tests (conftest's plain one serves the others)
jp_server_config = lake_server.jp_server_config
instance_configs = lake_server.instance_configs


# -- search ----------------------------------------------------------------------------------


async def search_all(api, limit, between=None, **query):
    """Every DID of a search, page by page; ``between()`` runs after the first page."""
    dids, cursor, totals = [], None, []
    while True:
        status, page = await api("search", limit=str(limit), cursor=cursor, **query)
        assert status == 200, page
        assert len(page["items"]) <= limit
        dids += [i["did"] for i in page["items"]]
        totals.append(page["total"])
        cursor = page["next"]
        if not cursor:
            return dids, totals
        if between and len(totals) == 1:
            between()


async def test_search_pages_through_every_did_with_a_cursor(api):
    # the samples' DIDs only: the scope grows with what other tests of the session register, and every page
    # of 4 reads Rucio's stream from its start
    dids, totals = await search_all(api, 4, q="opendata:*GamGam*", type="all")
    assert len(dids) == len(set(dids)) == totals[-1]
    assert set(totals[:-1]) == {None}  # "4+" until Rucio's stream was read to its end
    assert {"opendata:GamGam", "opendata:GamGam.Data", "opendata:data_A.GamGam.root"} <= set(dids)
    again, _ = await search_all(api, 7, q="opendata:*GamGam*", type="all")
    assert again == dids  # Rucio's order, the same whatever the page size


async def test_a_search_cursor_survives_a_did_added_meanwhile(api, rucio_client):
    before, _ = await search_all(api, 5, q="opendata:*", type="collection")
    added = f"opendata:added.{os.urandom(3).hex()}"
    during, _ = await search_all(
        api, 5, lambda: rucio_client.add_dataset("opendata", added.split(":")[1]), q="opendata:*", type="collection"
    )
    assert len(during) == len(set(during))  # no repeats
    assert set(before) <= set(during)  # no gaps in what existed
    assert set(during) - set(before) <= {added}


async def test_a_cursor_changed_by_hand_or_from_another_listing_is_refused(api):
    import base64

    status, page = await api("search", q="opendata:*", type="all", limit="3")
    assert status == 200 and page["next"]
    signature, body = base64.urlsafe_b64decode(page["next"]).decode().split(".", 1)
    data = json.loads(body)
    data["offset"] = 0  # moved back by hand: the signature no longer matches
    moved = base64.urlsafe_b64encode(f"{signature}.{json.dumps(data)}".encode())
    status, answer = await api("search", q="opendata:*", type="all", limit="3", cursor=moved.decode())
    assert status == 400 and "not one this server gave out" in answer["message"]
    status, answer = await api("search", q="opendata:GamGam*", type="all", limit="3", cursor=page["next"])
    assert status == 400 and "another listing" in answer["message"]


async def test_search_with_wildcards_type_and_metadata_filters(api):
    status, page = await api("search", q="GamGam*", type="dataset")
    assert status == 200
    assert sorted(i["did"] for i in page["items"]) == ["opendata:GamGam.Data", "opendata:GamGam.MC"]
    status, page = await api("search", q="opendata:*", type="file", filter="dsid=343981")
    [item] = page["items"]
    assert item["name"] == "mc_343981.ggH125_gamgam.GamGam.root" and item["type"] == "file"
    assert item["metadata"]["physics_short"] == "ggH125_gamgam" and item["metadata"]["xsec_pb"] == pytest.approx(0.1102)
    status, page = await api("search", q="*", type="dataset", filter="channel=GamGam")
    assert sorted(i["name"] for i in page["items"]) == ["GamGam.Data", "GamGam.MC"] and page["total"] == 2
    status, page = await api("search", q="*", type="file", filter="xsec_pb>=1,channel=1lep")
    assert sorted(i["name"] for i in page["items"]) == [
        "mc_361100.Wplusenu.1lep.root",
        "mc_410000.ttbar_lep.1lep.root",
    ]


async def test_a_word_finds_the_names_holding_it_in_every_scope(api):
    status, page = await api("search", q="GamGam", type="dataset")
    assert status == 200 and sorted(i["did"] for i in page["items"]) == ["opendata:GamGam.Data", "opendata:GamGam.MC"]
    status, page = await api("search", q="ggH125", type="file")
    assert sorted(i["did"] for i in page["items"]) == [
        "opendata:mc_343981.ggH125_gamgam.GamGam.root",
        "opendata:mc_345060.ggH125_ZZ4lep.4lep.root",
    ]
    # with a scope, Rucio's wildcards keep their exact meaning: no wildcard, no partial match
    status, page = await api("search", q="opendata:GamGam", type="dataset")
    assert status == 200 and page["items"] == []


# -- one DID, the catalog --------------------------------------------------------------------


async def test_did_tells_type_size_files_and_metadata(api):
    status, d = await api("dids", "opendata", "GamGam.Data")
    assert status == 200
    assert d["type"] == "dataset" and d["length"] == 4 and d["bytes"] > 0
    assert d["metadata"]["lumi_fb"] == pytest.approx(10.0) and d["metadata"]["channel"] == "GamGam"
    status, f = await api("dids", "opendata", "data_A.GamGam.root")
    assert f["type"] == "file" and f["adler32"]


async def test_catalog_groups_datasets_by_analysis(api):
    status, catalog = await api("catalog")
    assert status == 200
    analyses = {a["name"]: a for a in catalog["analyses"]}
    assert {"GamGam", "1lep", "4lep"} <= set(analyses)
    [gamgam] = analyses["GamGam"]["containers"]
    assert gamgam["did"] == "opendata:GamGam" and gamgam["length"] == 9
    datasets = {d["name"]: d for d in gamgam["datasets"]}
    assert datasets["GamGam.Data"]["metadata"]["lumi_fb"] == pytest.approx(10.0)
    assert datasets["GamGam.MC"]["length"] == 5
