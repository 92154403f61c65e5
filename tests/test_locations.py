"""Where a file is read in each mode: the pure choice among its replicas, without a lake."""

import pytest

from jupyterlab_odlake.core.errors import InvalidRequest
from jupyterlab_odlake.core.records import FileEntry
from jupyterlab_odlake.core.rucio.locations import alternatives, check_schemes, choose

FILE = FileEntry("opendata", "data_A.GamGam.root", 1000, "0000beef")
HTTP = "http://127.0.0.1:8000/opendata/data_A.GamGam.root"
ROOT = "root://127.0.0.1:1094//opendata/data_A.GamGam.root"
LOCAL = "file:///lake/local/opendata/data_A.GamGam.root"


def replica(states=None, pfns=None):
    pfns = pfns or {HTTP: {"rse": "HTTP_RSE"}, LOCAL: {"rse": "LOCAL_RSE"}}
    return {"states": states or {"HTTP_RSE": "AVAILABLE", "LOCAL_RSE": "AVAILABLE"}, "pfns": pfns}


def mounted_local(rse, pfn):
    return "/lake/local/opendata/data_A.GamGam.root" if rse == "LOCAL_RSE" else None


def nothing_mounted(rse, pfn):
    return None


def test_alternatives_put_mounted_first_then_streams_by_scheme():
    pfns = {HTTP: {"rse": "HTTP_RSE"}, ROOT: {"rse": "XROOTD_RSE"}, LOCAL: {"rse": "LOCAL_RSE"}}
    states = {"HTTP_RSE": "A", "XROOTD_RSE": "AVAILABLE", "LOCAL_RSE": "AVAILABLE"}
    found = alternatives(replica(states, pfns), mounted_local)
    assert [(a.kind, a.rse) for a in found] == [
        ("mounted", "LOCAL_RSE"),
        ("stream", "XROOTD_RSE"),
        ("stream", "HTTP_RSE"),
    ]


def test_an_unavailable_replica_comes_last_and_is_never_chosen():
    found = alternatives(replica({"HTTP_RSE": "UNAVAILABLE", "LOCAL_RSE": "AVAILABLE"}), nothing_mounted)
    assert [a.available for a in found] == [False]
    location = choose(FILE, found, "stream", None, cached=False)
    assert location.kind is None and location.location is None and "stream mode" in (location.reason or "")


@pytest.mark.parametrize(
    "mode, mounted, kind, where",
    [
        ("auto", mounted_local, "mounted", "/lake/local/opendata/data_A.GamGam.root"),
        ("auto", nothing_mounted, "stream", HTTP),
        ("stream", mounted_local, "stream", HTTP),
        ("mounted", mounted_local, "mounted", "/lake/local/opendata/data_A.GamGam.root"),
        ("mounted", nothing_mounted, None, None),
        ("download", nothing_mounted, "download", "/cache/opendata/data_A.GamGam.root"),
    ],
)
def test_each_mode_chooses_its_location(mode, mounted, kind, where):
    location = choose(FILE, alternatives(replica(), mounted), mode, "/cache/opendata/data_A.GamGam.root", False)
    assert (location.kind, location.location) == (kind, where)
    assert location.mode == mode and location.did == "opendata:data_A.GamGam.root"
    assert (location.reason is None) == (kind is not None)


def test_download_needs_a_replica_or_the_cached_copy():
    assert choose(FILE, [], "download", "/cache/x", cached=False).kind is None
    cached = choose(FILE, [], "download", "/cache/x", cached=True)
    assert (cached.kind, cached.location, cached.cached) == ("download", "/cache/x", True)


def test_the_stream_scheme_follows_the_preference_and_others_are_not_streamed():
    replica = {
        "pfns": {
            "http://h/f.root": {"rse": "HTTP", "priority": 1},
            "root://x//f.root": {"rse": "XROOTD", "priority": 1},
        },
        "states": {"HTTP": "AVAILABLE", "XROOTD": "AVAILABLE"},
    }
    grid = choose(FILE, alternatives(replica, nothing_mounted), "stream", None, None)
    assert grid.location == "root://x//f.root"  # the default order: root first, as a grid site reads
    http_first = choose(FILE, alternatives(replica, nothing_mounted, ("http", "root")), "stream", None, None)
    assert http_first.location == "http://h/f.root" and len(http_first.alternatives) == 2
    only_root = alternatives(replica, nothing_mounted, ("root",))
    assert [a.location for a in only_root] == ["root://x//f.root"]


@pytest.mark.parametrize("value, expected", [("root", ("root",)), (" HTTP, root ,http", ("http", "root")), ("", ())])
def test_a_scheme_preference_is_read_from_words(value, expected):
    assert check_schemes(value) == expected


def test_a_scheme_odlake_cannot_read_is_refused():
    with pytest.raises(InvalidRequest, match=r"gsiftp.*root, https, davs, http"):
        check_schemes("gsiftp,root")


URLS = [
    "root://127.0.0.1:1094//opendata/a.root",
    "root://xrootd.example.org//store/a.root",
    "https://storage.example.org/data/a.root",
    "http://127.0.0.1:8080/opendata/a.root?x=1",
    "davs://[::1]:2880/a.root",
    "HTTPS://Storage.Example.org:8443",
]


@pytest.mark.parametrize("url", URLS)
def test_the_endpoint_and_scheme_of_a_replica_are_what_urlparse_says(url):
    from urllib.parse import urlparse

    from jupyterlab_odlake.core.rucio.probe import DEFAULT_PORTS, endpoint

    parsed = urlparse(url)
    assert endpoint(url) == f"{parsed.hostname}:{parsed.port or DEFAULT_PORTS.get(parsed.scheme, 0)}"
    [found] = alternatives(
        {"pfns": {url: {"rse": "R", "priority": 1}}, "states": {"R": "A"}}, lambda r, p: None, [parsed.scheme]
    )
    assert found.scheme == parsed.scheme
