"""The Jupyter-free core: DIDs, the cache, secrets in logs."""

import contextlib
import io
import logging
import os

import pytest

from jupyterlab_odlake.core import (
    DID,
    Cache,
    ChecksumMismatch,
    InstanceConfig,
    InvalidRequest,
    StorageError,
    Unreachable,
)
from jupyterlab_odlake.core.rucio.connection import _RUCIO_LOG, Connection
from jupyterlab_odlake.core.transfers.cache import adler32_hex


@pytest.mark.parametrize("text", ["opendata:GamGam.Data", "user.jdoe:/store/data/file.root", "a-b_c.d:x"])
def test_valid_dids_parse(text):
    did = DID.parse(text)
    assert str(did) == text


@pytest.mark.parametrize(
    "text, reason",
    [
        ("nocolon", "scope:name"),
        ("bad scope:x", "scope"),
        ("opendata:", "empty"),
        ('opendata:a"b', "quotes"),
        ("opendata:a\nb", "control"),
        ("opendata:../x", ".."),
        ("opendata:a/../b", ".."),
        ("opendata:" + "x" * 251, "250"),
        ("s" * 26 + ":x", "scope"),
    ],
)
def test_invalid_dids_say_why(text, reason):
    with pytest.raises(InvalidRequest) as err:
        DID.parse(text)
    assert reason in str(err.value)


def test_cache_paths_stay_inside_the_cache(tmp_path):
    cache = Cache(tmp_path / "cache")
    for name in ["/store/a/b.root", "a b", "ünï", "x" * 250]:
        path = cache.path_for(DID("s", name))
        assert cache.root in path.parents and path.parent == cache.root / "s"


def test_a_bad_checksum_leaves_nothing_in_the_cache(tmp_path):
    source = tmp_path / "source.root"
    source.write_bytes(b"photons" * 1000)
    cache = Cache(tmp_path / "cache")
    good = adler32_hex(source.read_bytes())
    with pytest.raises(ChecksumMismatch):
        cache.fetch(DID("s", "f.root"), [str(source)], 7000, "deadbeef")
    assert not any(p.is_file() and not p.name.endswith(".lock") for p in cache.root.rglob("*"))
    path, transferred = cache.fetch(DID("s", "f.root"), [str(source)], 7000, good)
    assert transferred and path.read_bytes() == source.read_bytes()
    assert cache.fetch(DID("s", "f.root"), [str(source)], 7000, good) == (path, False)


def test_rucio_client_debug_log_never_shows_the_password(tmp_path):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    _RUCIO_LOG.addHandler(handler)
    _RUCIO_LOG.setLevel(logging.DEBUG)
    try:
        config = InstanceConfig(
            name="x",
            rucio_host="http://127.0.0.1:9",
            account="root",
            username="u",
            password="top-secret-value",
            timeout=2,
        )
        with pytest.raises(Unreachable):
            Connection(config, tmp_path).client()
    finally:
        _RUCIO_LOG.removeHandler(handler)
        _RUCIO_LOG.setLevel(logging.INFO)
    assert "top-secret-value" not in stream.getvalue()


def test_public_instance_view_has_no_secret():
    config = InstanceConfig(name="x", rucio_host="http://h", password="pw", password_file="/p", token_file="/t")
    assert "pw" not in str(config.public().values()) and "password" not in config.public()
    assert "pw" not in repr(config)


def test_a_long_name_gets_a_bounded_collision_free_cache_file(tmp_path):
    cache = Cache(tmp_path)
    long_a, long_b = DID("opendata", "a/" * 100 + "x.root"), DID("opendata", "a/" * 100 + "y.root")
    paths = {cache.path_for(d) for d in (long_a, long_b)}
    assert len(paths) == 2 and all(len(p.name) <= 200 for p in paths)
    # an escaped short name never looks like a bounded one
    assert cache.path_for(DID("opendata", "short%%name")).name == "short%25%25name"
    source = tmp_path / "source.root"
    source.write_bytes(b"payload")
    path, transferred = cache.fetch(long_a, [str(source)], 7, adler32_hex(b"payload"))
    assert transferred and path.read_bytes() == b"payload" and cache.has(long_a, 7)


@contextlib.contextmanager
def serving(handler):
    """An HTTP server on a free loopback port, answering with ``handler``, for the block."""
    import http.server
    import threading

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_an_interrupted_transfer_keeps_what_came_and_resumes(tmp_path):
    import http.server

    data = bytes(range(256)) * 4000  # 1 MB
    served = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            start = int(self.headers.get("Range", "bytes=0-")[6:].split("-")[0])
            served.append(start)
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            body = data[start:] if start else data[: len(data) // 3]  # the first answer stops short
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as server:
        cache, did = Cache(tmp_path / "cache"), DID("opendata", "big.root")
        url = f"http://127.0.0.1:{server.server_address[1]}/big.root"
        with pytest.raises(StorageError, match="broke off after 341333 of 1024000 bytes; retry to resume"):
            cache.fetch(did, [url], len(data), adler32_hex(data))
        part = cache.path_for(did).with_name("big.root.part")
        assert part.stat().st_size == len(data) // 3 and not cache.has(did)
        path, _ = cache.fetch(did, [url], len(data), adler32_hex(data))
        assert path.read_bytes() == data and not part.exists()
        assert served == [0, len(data) // 3]


def test_a_storage_that_never_stops_sending_fills_no_disk(tmp_path):
    import http.server

    class Endless(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            try:
                while True:  # the catalogue says 10 bytes
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass

    with serving(Endless) as server:
        cache, did = Cache(tmp_path / "cache"), DID("opendata", "small.root")
        url = f"http://127.0.0.1:{server.server_address[1]}/small.root"
        with pytest.raises(StorageError, match="sent more than the catalogue's 10 bytes; the copy was discarded"):
            cache.fetch(did, [url], 10, adler32_hex(b"x" * 10))
        assert not cache.has(did) and not list(cache.path_for(did).parent.glob("small.root*"))


def test_a_cached_copy_changed_after_verification_is_not_served(tmp_path):
    cache, did = Cache(tmp_path / "cache"), DID("opendata", "f.root")
    source = tmp_path / "source.root"
    source.write_bytes(b"0123456789" * 1000)
    good = adler32_hex(source.read_bytes())
    path, transferred = cache.fetch(did, [str(source)], 10_000, good)
    assert transferred and cache.has(did, 10_000, good)
    # a byte flipped in place: same size, so a check by size alone would serve it
    with open(path, "r+b") as f:
        f.seek(5000)
        f.write(b"X")
    assert not cache.has(did, 10_000, good)
    path, transferred = cache.fetch(did, [str(source)], 10_000, good)
    assert transferred and path.read_bytes() == source.read_bytes() and cache.has(did, 10_000, good)
    # a copy from before records were kept is checked in full once, then trusted by its record
    record = tmp_path / "cache" / ".verified" / "opendata" / "f.root.json"
    record.unlink()
    assert cache.has(did, 10_000, good) and record.exists()


def test_a_cached_copy_changed_with_its_mtime_set_back_is_not_served(tmp_path):
    cache, did = Cache(tmp_path / "cache"), DID("opendata", "f.root")
    source = tmp_path / "source.root"
    source.write_bytes(b"0123456789" * 1000)
    good = adler32_hex(source.read_bytes())
    path, _ = cache.fetch(did, [str(source)], 10_000, good)
    before = path.stat()
    with open(path, "r+b") as f:  # a byte flipped, and the size and mtime made as they were
        f.seek(5000)
        f.write(b"X")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert not cache.has(did, 10_000, good)  # the ctime moved: checked in full


def test_odlake_cache_verify_rechecks_every_copy_and_removes_the_bad_ones(tmp_path, capsys):
    from jupyterlab_odlake.cli import main

    cache = Cache(tmp_path / "cache")
    paths = {}
    for name in ("a.root", "b.root", "c" * 300 + ".root"):  # the last one's cache name is bounded
        source = tmp_path / "source"
        source.write_bytes(name.encode() * 100)
        paths[name], _ = cache.fetch(
            DID("opendata", name), [str(source)], source.stat().st_size, adler32_hex(source.read_bytes())
        )
    with open(paths["b.root"], "r+b") as f:
        f.write(b"X")
    assert main(["cache", "verify", "--cache-dir", str(tmp_path / "cache")]) == 1
    out = capsys.readouterr().out
    assert "ok   opendata:a.root" in out and "BAD  opendata:b.root" in out and f"ok   opendata:{'c' * 300}.root" in out
    assert "2 of 3 cached copies verified" in out and not paths["b.root"].exists()
    assert main(["cache", "verify", "--cache-dir", str(tmp_path / "cache"), "opendata:a.root"]) == 0
    assert main(["cache", "verify", "--cache-dir", str(tmp_path / "cache"), "no-colon"]) == 2


def test_a_mounted_path_stays_inside_its_mount_also_through_symlinks(tmp_path):
    from jupyterlab_odlake.core.paths import inside as _inside

    mount = tmp_path / "mount"
    (mount / "opendata").mkdir(parents=True)
    (mount / "opendata" / "a.root").write_bytes(b"a")
    (mount / "opendata" / "out").symlink_to("/etc")
    assert _inside(str(mount), str(mount / "opendata" / "a.root"))
    assert not _inside(str(mount), os.path.normpath(f"{mount}/opendata/../../x"))
    assert not _inside(str(mount), str(mount / "opendata" / "out" / "hostname"))


def test_a_file_opened_for_upload_is_the_one_that_was_checked_whatever_its_name_becomes(tmp_path):
    from jupyterlab_odlake.core.paths import open_file

    root = tmp_path / "root"
    root.mkdir()
    (root / "small.txt").write_text("a result\n")
    secret = tmp_path / "secret"
    secret.write_text("not yours\n")
    opened = open_file("small.txt", str(root))
    try:
        (root / "small.txt").unlink()
        (root / "small.txt").symlink_to(secret)  # swapped after the check, before the read
        with open(opened.path) as read:
            assert read.read() == "a result\n"
        assert (opened.name, opened.size) == ("small.txt", 9)
    finally:
        opened.close()


@pytest.mark.parametrize(
    "make, path, refusal",
    [
        (lambda root, out: None, "../secret", "outside the Jupyter root directory"),
        (lambda root, out: None, "{out}", "outside the Jupyter root directory"),
        (lambda root, out: (root / "link").symlink_to(out), "link", "outside the Jupyter root directory"),
        (lambda root, out: (root / "sub").symlink_to(out.parent), "sub/secret", "outside the Jupyter root directory"),
        (lambda root, out: os.link(out, root / "hard"), "hard", "is a hard link"),
        (lambda root, out: os.mkfifo(root / "pipe"), "pipe", "is not a file that can be uploaded"),
        (lambda root, out: (root / "dir").mkdir(), "dir", "is not a file that can be uploaded"),
        (lambda root, out: None, "missing.txt", "there is none"),
        (lambda root, out: None, "a\0b.txt", "holds a NUL character"),
    ],
)
def test_a_file_the_root_does_not_hold_is_refused_in_a_sentence(tmp_path, make, path, refusal):
    from jupyterlab_odlake.core.errors import InvalidRequest
    from jupyterlab_odlake.core.paths import open_file

    root, out = tmp_path / "root", tmp_path / "secret"
    root.mkdir()
    out.write_text("not yours\n")
    make(root, out)
    with pytest.raises(InvalidRequest, match=refusal):
        open_file(path.format(out=out), str(root))  # a FIFO does not hold it up either


def test_one_hub_configuration_gives_each_user_their_own_account_and_files(monkeypatch):
    from jupyterlab_odlake.core.config import InstanceConfig
    from jupyterlab_odlake.core.errors import InvalidRequest

    shared = {
        "name": "lake",
        "rucio_host": "$ODLAKE_RUCIO_HOST",
        "account": "$JUPYTERHUB_USER",
        "username": "${JUPYTERHUB_USER}",
        "password_file": "~/.config/odlake/rucio-password",
        "password": "not$expanded",
    }
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.setenv("ODLAKE_RUCIO_HOST", "https://rucio.example:443")
    alice = InstanceConfig.from_dict(dict(shared))
    assert (alice.account, alice.username, alice.password) == ("alice", "alice", "not$expanded")
    assert alice.rucio_host == alice.auth_host == "https://rucio.example:443"
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    assert InstanceConfig.from_dict(dict(shared)).account == "bob"
    monkeypatch.delenv("JUPYTERHUB_USER")
    with pytest.raises(InvalidRequest, match="environment variable this server does not have"):
        InstanceConfig.from_dict(dict(shared))


def test_a_refreshed_oidc_token_file_is_read_again_without_a_restart(tmp_path, monkeypatch):
    """A hub's refresh job rewrites the token file; the next call signs in with the new token."""
    import os

    from jupyterlab_odlake.core.config import InstanceConfig
    from jupyterlab_odlake.core.rucio import connection

    made = []

    class FakeClient:  # stands in for rucio-clients at this boundary: records the token it was given
        odlake_auth_status = None

        def __init__(self, **kw):
            made.append(config.token_file and (token_dir / "lake" / "auth_token_for_account_alice").read_text())

    monkeypatch.setattr(connection, "_client_class", lambda: FakeClient)
    token_file, token_dir = tmp_path / "token", tmp_path / "tokens"
    token_file.write_text("first-token\n")
    config = InstanceConfig(
        name="lake", rucio_host="https://r", auth_type="oidc", account="alice", token_file=str(token_file)
    )
    conn = connection.Connection(config, token_dir)
    first = conn.client()
    assert conn.client() is first and made == ["first-token"]  # unchanged file: the same client
    token_file.write_text("second-token-longer\n")
    os.utime(token_file, ns=(1, 10**18))
    assert conn.client() is not first and made == ["first-token", "second-token-longer"]
    installed = token_dir / "lake" / "auth_token_for_account_alice"
    assert installed.stat().st_mode & 0o777 == 0o600  # the user's token, whatever the umask
