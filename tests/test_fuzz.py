"""Generated input through every REST route of a real Jupyter server on the demo lake.

Whatever a request holds (unicode, NUL, traversal, quotes, JSON, huge numbers, 10 kB), the
answer is JSON in the error shape when it is an error, never a 5xx other than the
502/503/504 of a failing lake, never a traceback or a path of the server, never an echo of
the request in bulk; and nothing is written outside the cache.
"""

import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import odlake_server

EXAMPLES = 200  # per route: 7 routes, 1,400 requests
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MAX_MESSAGE = 600

nasty = st.sampled_from(
    [
        "..",
        "../../etc/passwd",
        "%2e%2e/",
        "a/../b",
        "",
        " ",
        "\x00",
        "'",
        '"',
        "`",
        "\\",
        "\u202e",
        "é",
        "😀",
        "*",
        "%",
        "opendata",
        "opendata:GamGam.Data",
        "GamGam*",
        "343981",
        "-1",
        "1e400",
        "Infinity",
        "NaN",
        "[]",
        "{}",
        "null",
        "true",
        "<script>alert(1)</script>",
        "a" * 10_000,
        "x;rm -rf /",
    ]
)
text = st.one_of(nasty, st.text(max_size=80), st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
number = st.one_of(st.integers(), st.sampled_from(["-1", "0", "1e9", "99999999999999999999", "1.5", "x", ""]))
scope = st.one_of(st.just("opendata"), text)


@pytest.fixture(scope="module")
def server(lake, tmp_path_factory):
    home, _ = lake
    root = tmp_path_factory.mktemp("fuzz")
    cache = root / "cache"
    jupyter, session = odlake_server(home, root, cache, "--ServerApp.log_level=WARN")
    before = _tree(home.root)
    yield session, jupyter.url + "odlake/", [str(home.root), str(root), str(Path(json.__file__).parent.parent)], cache
    jupyter.stop()
    changed = {p for p in set(_tree(home.root)) ^ set(before) if "/logs/" not in p and "/postgres/" not in p}
    assert changed == set(), f"files appeared or went in the lake's home: {sorted(changed)[:5]}"


def _tree(root) -> list[str]:
    return sorted(str(p) for p in Path(root).rglob("*"))


def check(server, method, path, **kw):
    session, base, private, _cache = server
    r = session.request(method, base + path, timeout=120, **kw)
    assert r.status_code < 500 or r.status_code in (502, 503, 504), (method, path, r.status_code, r.text[:300])
    body = r.json()  # every answer is JSON
    text = json.dumps(body)
    assert "Traceback" not in text
    assert not any(p in text for p in private), (path, text[:300])
    if r.status_code >= 400:
        assert set(body) == {"error", "message"} and body["message"], body
        assert len(body["message"]) <= MAX_MESSAGE, (path, len(body["message"]))
    return r


def seg(value) -> str:
    """One path segment; '.' and '..' escaped, or the HTTP client would fold them away as a browser does."""
    escaped = quote(str(value), safe="")
    return escaped.replace(".", "%2E") if escaped in (".", "..") else escaped


@SETTINGS
@given(
    q=text,
    type_=st.one_of(st.sampled_from(["all", "dataset", "collection"]), text),
    filters=st.lists(text, max_size=3),
    limit=number,
    cursor=st.one_of(st.none(), text),
    instance=st.one_of(st.none(), text),
)
def test_search(server, q, type_, filters, limit, cursor, instance):
    params = {"q": q, "type": type_, "filter": filters, "limit": limit, "cursor": cursor, "instance": instance}
    check(server, "GET", "search", params={k: v for k, v in params.items() if v is not None})


@SETTINGS
@given(scope=scope, name=text)
def test_did(server, scope, name):
    check(server, "GET", f"dids/{seg(scope)}/{seg(name)}")


@SETTINGS
@given(
    scope=scope,
    name=text,
    limit=number,
    offset=number,
    cursor=st.one_of(st.none(), text),
    availability=st.one_of(st.none(), text),
)
def test_files(server, scope, name, limit, offset, cursor, availability):
    params = {"limit": limit, "offset": offset, "cursor": cursor, "availability": availability}
    check(
        server, "GET", f"dids/{seg(scope)}/{seg(name)}/files", params={k: v for k, v in params.items() if v is not None}
    )


@SETTINGS
@given(scope=scope, name=text, mode=st.one_of(st.sampled_from(["stream", "download", "auto", "mounted"]), text))
def test_replicas(server, scope, name, mode):
    check(server, "GET", f"dids/{seg(scope)}/{seg(name)}/replicas", params={"mode": mode})


json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=8,
)


@SETTINGS
@given(body=st.one_of(st.dictionaries(st.sampled_from(["did", "instance", "x"]), json_value, max_size=3), json_value))
def test_start_download(server, body):
    r = check(server, "POST", "downloads", data=json.dumps(body), headers={"Content-Type": "application/json"})
    if r.status_code == 202:  # a real DID: let it be, but do not leave it running
        check(server, "DELETE", f"downloads/{seg(r.json()['id'])}")


@SETTINGS
@given(download=text, method=st.sampled_from(["GET", "DELETE"]))
def test_download(server, download, method):
    check(server, method, f"downloads/{seg(download)}")


@SETTINGS
@given(path=st.lists(text, min_size=1, max_size=4), method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
def test_any_other_path(server, path, method):
    check(server, method, "/".join(seg(p) for p in path), data="{}")


def test_nothing_was_written_outside_the_cache(server):
    _session, _base, private, cache = server
    notebooks = Path(private[1]) / "notebooks"
    assert not notebooks.exists() or list(notebooks.rglob("*")) == []
    if cache.exists():
        assert all(str(p).startswith(str(cache)) for p in cache.rglob("*"))
    assert not any(Path("/").glob("etc/passwd.part"))
    assert os.path.exists("/etc/passwd")


@pytest.fixture(scope="module")
def shell(lake, tmp_path_factory):
    """A real IPython shell with %odlake loaded, on the demo lake, with a cache of its own."""
    from IPython.core.interactiveshell import InteractiveShell

    from jupyterlab_odlake.core import LakeService
    from jupyterlab_odlake.core.config import from_lake
    from jupyterlab_odlake.kernel import backends

    home, _ = lake
    root = tmp_path_factory.mktemp("fuzz-shell")
    backends._backend = LakeService([from_lake(home.root)], cache_dir=root / "cache", state_dir=root / "state")
    ipython = InteractiveShell.instance()
    ipython.extension_manager.load_extension("jupyterlab_odlake")
    yield ipython, [str(home.root), str(root), str(Path(json.__file__).parent.parent)]
    backends.reset()
    InteractiveShell.clear_instance()


magic_word = st.one_of(
    nasty, st.sampled_from(["as", "--mode", "--instance", "--filter", "--type", "--limit", "x", "1"])
)


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=st.sampled_from(["attach", "search", "ls"]), words=st.lists(st.one_of(magic_word, text), max_size=5))
def test_magic(shell, command, words):
    import contextlib
    import io
    import shlex

    ipython, private = shell
    line = " ".join([command, *(shlex.quote(w) for w in words)])
    before = set(ipython.user_ns)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = ipython.run_line_magic("odlake", line)
    shown = out.getvalue() + err.getvalue() + (repr(result) if result is not None else "")
    assert "Traceback" not in shown and not any(p in shown for p in private), (line, shown[:300])
    if err.getvalue():
        assert err.getvalue().startswith("odlake: ") and err.getvalue().count("\n") == 1, (line, err.getvalue()[:300])
        assert len(err.getvalue()) <= MAX_MESSAGE + 10, (line, len(err.getvalue()))
    added = set(ipython.user_ns) - before
    assert added <= {w for w in words if w.isidentifier()} | {"gamgam_data"}, (line, added)
    for name in added:  # an attach of this run: leave the namespace as it was
        del ipython.user_ns[name]
