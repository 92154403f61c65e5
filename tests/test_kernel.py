"""The kernel helper in fresh kernels: no config file anywhere, as a new user has it.

Each notebook runs with an empty temporary HOME, IPYTHONDIR and JUPYTER_CONFIG_DIR; the
only hint is where the demo lake lives (what ``odlake lake up`` gives by default).
"""

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jupyterlab_odlake.lake.jupyter import start_jupyter


def make_fresh_env(lake, tmp_path):
    """An environment with empty HOME, IPython and Jupyter directories: no config file anywhere."""
    home, _ = lake
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JPY_", "JUPYTER", "IPYTHON", "RUCIO", "ODLAKE"))}
    for d in ("home", "ipython", "jupyter-config", "jupyter-data", "runtime"):
        (tmp_path / d).mkdir()
    env.update(
        HOME=str(tmp_path / "home"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        ODLAKE_LAKE_HOME=str(home.root),
        ODLAKE_CACHE_DIR=str(tmp_path / "cache"),
        XDG_CACHE_HOME=str(tmp_path / "home" / ".cache"),
    )
    return env


@pytest.fixture
def fresh_env(lake, tmp_path):
    return make_fresh_env(lake, tmp_path)


def run_cells(env, *cells, timeout=240):
    """Execute code cells in a fresh kernel; return each cell's text output (stdout, stderr, results)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(nb, kernel_name="python3", timeout=timeout, allow_errors=False).execute(env=env)
    return [_text(cell) for cell in nb.cells]


def _text(cell):
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif out["output_type"] in ("execute_result", "display_data"):
            parts.append(out["data"].get("text/plain", ""))
        elif out["output_type"] == "error":
            parts.append("\n".join(out["traceback"]))
    return "".join(parts)


def test_attach_stream_and_download_read_the_same_photons(fresh_env, tmp_path):
    out = run_cells(
        fresh_env,
        "%load_ext jupyterlab_odlake",
        "%odlake attach opendata:GamGam.Data as streamed --mode stream",
        "%odlake attach opendata:GamGam.Data as local --mode download",
        "import awkward as ak, os\n"
        "a = streamed.arrays('mini', ['photon_pt'])\n"
        "b = local.arrays('mini', ['photon_pt'])\n"
        "print('same', len(a), ak.all(ak.flatten(a.photon_pt) == ak.flatten(b.photon_pt)))\n"
        "print('urls', all(p.startswith('root://') for p in streamed.paths))\n"
        "print('cached', all(os.path.isfile(p) and p.startswith(os.environ['ODLAKE_CACHE_DIR']) for p in local.paths))",
        "lazy = streamed.dask('mini')['photon_pt'].compute()\n"
        "print('dask', ak.all(ak.flatten(lazy) == ak.flatten(a.photon_pt)))\n"
        "# step sizes in bytes make uproot read baskets' keys one by one, at offsets XRootD must take\n"
        "chunked = streamed.dask('mini', filter_name=['photon_pt'], step_size='500 kB')['photon_pt'].compute()\n"
        "pieces = [c.photon_pt for c in streamed.iterate('mini', ['photon_pt'], step_size='500 kB')]\n"
        "print('bytes', ak.all(ak.flatten(chunked) == ak.flatten(a.photon_pt)), len(pieces) > 1,\n"
        "      ak.all(ak.flatten(ak.concatenate(pieces)) == ak.flatten(a.photon_pt)))",
        "import jupyterlab_odlake as odlake\n"
        "n = len(odlake.downloads())\n"
        "%odlake attach opendata:GamGam.Data as again --mode download\n"
        "print('downloads', n, len(odlake.downloads()), again == local, again.via)",
        "print(repr(streamed)); print(len(streamed), [f.name for f in streamed.files][:2])",
    )
    assert "streamed = opendata:GamGam.Data: 4 files" in out[1] and "streamed over root:// from ODLAKE_XROOTD" in out[1]
    assert "local = opendata:GamGam.Data: 4 files" in out[2] and "cached at" in out[2]
    assert "same 100000 True" in out[3]
    assert "urls True" in out[3] and "cached True" in out[3]
    assert "dask True" in out[4] and "bytes True True True" in out[4]
    assert "downloads 1 1 True core" in out[5]  # re-attach: no new download, same object
    assert "<AttachedDID opendata:GamGam.Data: 4 files" in out[6] and "4 ['data_A.GamGam.root'" in out[6]
    assert not any("Traceback" in o for o in out)


def test_attach_without_as_names_the_variable_and_auto_reads_in_place(fresh_env):
    out = run_cells(
        fresh_env,
        "%load_ext jupyterlab_odlake\n%odlake attach opendata:GamGam.MC",
        "print(type(gamgam_mc).__name__, gamgam_mc.mode, sorted({f.kind for f in gamgam_mc.files}))",
    )
    assert out[0].startswith("gamgam_mc = opendata:GamGam.MC: 5 files")
    assert "AttachedDID auto ['mounted', 'stream']" in out[1]


def test_the_magic_streams_with_the_scheme_asked_for(fresh_env):
    out = run_cells(
        fresh_env,
        "%load_ext jupyterlab_odlake\n%odlake attach opendata:4lep.MC as over_http --mode stream --scheme https",
        "import jupyterlab_odlake as odlake\n"
        "print(over_http.arrays('mini', ['lep_n'])['lep_n'].tolist()[:50])\n"
        "over_root = odlake.attach('opendata:4lep.MC', mode='stream', scheme='root')\n"
        "print(over_root.arrays('mini', ['lep_n'])['lep_n'].tolist()[:50])",
        "%odlake attach opendata:4lep.MC --mode stream --scheme gsiftp",
        "%odlake attach opendata:4lep.MC as from_http --rse ODLAKE_HTTP",
    )
    assert "streamed over https:// from ODLAKE_HTTP" in out[0]
    first, second = out[1].splitlines()
    assert first == second and first.startswith("[")
    assert "gsiftp" in out[2] and "root, https, davs, http" in out[2] and "Traceback" not in out[2]
    assert "streamed over https:// from ODLAKE_HTTP" in out[3]


def test_the_magic_uploads_results_with_metadata_and_attaches_them_back(fresh_env, rucio_client, tmp_path):
    from rucio.common.exception import Duplicate

    try:
        rucio_client.add_scope("root", "user.root")
    except Duplicate:
        pass
    work = tmp_path
    (work / "hist.txt").write_text("bins 55\n")
    out = run_cells(
        fresh_env,
        "%load_ext jupyterlab_odlake\nimport jupyterlab_odlake as odlake",
        f"%odlake upload {work / 'hist.txt'} --dataset user.root:magic.results --meta channel=GamGam --meta note=fit",
        "print(open(odlake.attach('user.root:magic.results', mode='mounted').paths[0]).read())",
        f"%odlake upload {work / 'hist.txt'} --dataset user.root:magic.results --meta broken",
    )
    assert "uploaded 1 files" in out[1] and "user.root:magic.results on ODLAKE_USERDISK: hist.txt" in out[1], out[1]
    assert "bins 55" in out[2]
    assert "is not KEY=VALUE" in out[3] and "Traceback" not in out[3]


def test_the_magic_asks_for_a_copy_and_lists_the_rule(fresh_env, rucio_client):
    out = run_cells(
        fresh_env,
        "%load_ext jupyterlab_odlake",
        "%odlake replicate opendata:1lep.MC --rse ODLAKE_USERDISK --lifetime 1",
        "%odlake rules",
        "%odlake replicate opendata:1lep.MC --rse 'NOWHERE'",
        "%odlake attach opendata:1lep.Data --mode mounted --rse ODLAKE_USERDISK",
        "%odlake attach opendata:1lep.Data --mode mounted --rse ODLAKE_USERDISK --request",
    )
    assert "opendata:1lep.MC on ODLAKE_USERDISK, REPLICATING: waiting for the lake's transfer service" in out[1]
    rule_id = out[1].split()[1].rstrip(":")
    assert rule_id in out[2] and "REPLICATING  0/2" in out[2]
    assert "NOWHERE" in out[3] and "Traceback" not in out[3]
    # mounted from an RSE that has not the data: said, with the rule offered; --request asks for it
    assert "no replica on ODLAKE_USERDISK" in out[4] and "--request" in out[4] and "Traceback" not in out[4]
    assert "asked for a copy there: rule " in out[5] and "REPLICATING" in out[5]
    requested = out[5].split("rule ")[1].split(",")[0]
    assert rucio_client.get_replication_rule(requested)["rse_expression"] == "ODLAKE_USERDISK"
    for made in (rule_id, requested):
        rucio_client.delete_replication_rule(made)


def test_the_magic_verifies_the_cached_copies_and_a_bad_one_is_fetched_again(fresh_env):
    out = run_cells(
        fresh_env,
        "%load_ext jupyterlab_odlake\n%odlake attach opendata:GamGam.MC as mc --mode download",
        "%odlake verify opendata:GamGam.MC",
        # a bit flipped in one copy, its size and mtime kept: the fast path of an attach cannot see it
        "import os\np = mc.paths[0]\nst = os.stat(p)\nb = bytearray(open(p, 'rb').read())\nb[len(b) // 2] ^= 1\n"
        "_ = open(p, 'wb').write(bytes(b))\nos.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))\nprint(os.path.basename(p))",
        "%odlake verify opendata:GamGam.MC",
        "%odlake attach opendata:GamGam.MC as again --mode download\nprint(again.paths == mc.paths)",
        "%odlake verify opendata:GamGam.MC",
    )
    everything = "5 of 5 files of opendata:GamGam.MC verified in the cache."
    assert out[1].strip() == everything
    assert out[3].strip() == (
        "4 of 5 files of opendata:GamGam.MC verified in the cache; 1 no longer matched its checksum and was "
        f"removed ({out[2].strip()}): the next attach fetches it again."
    )
    assert out[4].strip().endswith("True") and out[5].strip() == everything


def test_errors_are_one_sentence_without_traceback(fresh_env):
    bad = [
        ("%odlake attach notadid", "is not a DID"),
        ("%odlake attach opendata:no-such-dataset", "no such DID"),
        ("%odlake attach opendata:GamGam.MC as 1abc", "not a valid Python variable name"),
        ("%odlake attach opendata:GamGam.MC as class", "is a Python keyword"),
        ("%odlake attach 'opendata:evil\"name' as x", "quotes"),
        ("%odlake attach opendata:../../etc/passwd", "'..' path segment"),
        ("%odlake attach opendata:GamGam.MC as x --mode teleport", "invalid choice"),
        ("%odlake frobnicate", "unknown command"),
        ("%odlake attach opendata:GamGam.Data as y --mode mounted", "try mode='stream'"),
        ("%odlake attach opendata:GamGam.Data as y --mode mounted --rse ODLAKE_LOCAL", "no replica on ODLAKE_LOCAL"),
    ]
    cells = ["%load_ext jupyterlab_odlake"] + [line for line, _ in bad]
    cells.append("print(sorted(k for k in ('x', 'y', 'evil', 'passwd') if k in globals()))")
    out = run_cells(fresh_env, *cells)
    for (line, expected), text in zip(bad, out[1:-1], strict=True):
        assert text.startswith("odlake: ") and expected in text, (line, text)
        assert "Traceback" not in text and text.count("\n") == 1, (line, text)
    assert out[-1].strip() == "[]"  # nothing was assigned


def test_python_api_raises_documented_exceptions(fresh_env):
    out = run_cells(
        fresh_env,
        "import jupyterlab_odlake as odlake\n"
        "for did in ['opendata:no-such-dataset', 'bad', 'opendata:a\\nb']:\n"
        "    try:\n"
        "        odlake.attach(did)\n"
        "    except odlake.OdlakeError as e:\n"
        "        print(type(e).__name__, isinstance(e, Exception), '|', e)",
    )
    lines = out[0].splitlines()
    assert lines[0].startswith("NotFound True |") and "no such DID" in lines[0]
    assert lines[1].startswith("InvalidRequest True |") and lines[2].startswith("InvalidRequest True |")


def _broken_lake(lake, tmp_path, *, port=None, password=None):
    """A copy of the lake's lake.json and rucio.cfg pointing at a dead port or holding a wrong password."""
    from jupyterlab_odlake.lake.services import free_port

    home, state = lake
    broken = tmp_path / "broken-lake"
    broken.mkdir()
    cfg = home.rucio_cfg.read_text()
    if port:
        cfg = cfg.replace(state["rucio"]["url"], f"http://127.0.0.1:{free_port()}")
    if password:
        cfg = cfg.replace(f"password = {home.password()}", f"password = {password}")
    (broken / "rucio.cfg").write_text(cfg)
    (broken / "lake.json").write_text(json.dumps(dict(state, rucio_cfg=str(broken / "rucio.cfg"))))
    return broken


@pytest.mark.parametrize(
    "fault, expected", [("port", "cannot be reached"), ("password", "rejected the userpass identity")]
)
def test_rucio_down_or_wrong_password_is_one_clear_line(fresh_env, lake, tmp_path, fault, expected):
    broken = _broken_lake(lake, tmp_path, **{fault: "wrong-secret" if fault == "password" else True})
    env = dict(fresh_env, ODLAKE_LAKE_HOME=str(broken))
    out = run_cells(env, "%load_ext jupyterlab_odlake\n%odlake attach opendata:GamGam.MC as mc")
    assert out[0].startswith("odlake: ") and expected in out[0] and "Traceback" not in out[0]
    assert "wrong-secret" not in out[0]


def test_storage_unreachable_while_streaming_is_one_clear_line(fresh_env, lake, tmp_path):
    out = run_cells(
        fresh_env,
        "%load_ext jupyterlab_odlake\n%odlake attach opendata:GamGam.MC as mc --mode stream",
        "import jupyterlab_odlake as odlake\n"
        "from dataclasses import replace\n"
        "dead = 'http://127.0.0.1:9/'\n"
        "mc.files[:] = [replace(f, location=dead + f.name) for f in mc.files]\n"
        "try:\n"
        "    mc.arrays('mini', ['photon_pt'])\n"
        "except odlake.StorageError as e:\n"
        "    print('StorageError |', e)",
    )
    assert out[1].startswith("StorageError |") and "cannot be reached" in out[1] and "127.0.0.1:9" in out[1]


def test_four_kernels_attaching_at_once_make_one_transfer_per_file(fresh_env):
    cell = (
        "import jupyterlab_odlake as odlake\n"
        "d = odlake.attach('opendata:GamGam.Data', mode='download', progress=False)\n"
        "print('transfers', sum(x.transfers for x in odlake.downloads()), '|'.join(d.paths))"
    )
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: run_cells(fresh_env, cell), range(4)))
    counts = [int(o[0].split()[1]) for o in outs]
    assert sum(counts) == 4, counts  # four files, each moved by one kernel only
    paths = {o[0].split()[2] for o in outs}
    assert len(paths) == 1 and all(os.path.isfile(p) for p in paths.pop().split("|"))


def test_odlake_ipython_install_loads_the_magic_in_every_kernel(fresh_env):
    cmd = [sys.executable, "-m", "jupyterlab_odlake.cli", "ipython", "install"]
    result = subprocess.run(cmd, env=fresh_env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = run_cells(fresh_env, "%odlake help")
    assert out[0].startswith("%odlake attach SCOPE:NAME")
    result = subprocess.run([*cmd[:-1], "uninstall"], env=fresh_env, capture_output=True, text=True)
    assert result.returncode == 0
    assert not list(Path(fresh_env["IPYTHONDIR"]).glob("**/*odlake*"))


def test_inside_jupyter_the_kernel_goes_through_the_server(fresh_env, lake, tmp_path):
    """A kernel started by a Jupyter server running odlake uses its REST API: the download is the server's."""
    from jupyter_client import BlockingKernelClient

    from jupyterlab_odlake.lake.home import LakeHome

    home, _ = lake
    server = start_jupyter(
        LakeHome(home.root),
        app="jupyter_server",
        root_dir=str(tmp_path),
        base_env=fresh_env,
        log_file=tmp_path / "server.log",
    )
    try:
        import requests

        s = requests.Session()
        s.headers["Authorization"] = f"token {server.token}"
        kernel = s.post(server.url + "api/kernels", json={"name": "python3"}).json()
        connection = os.path.join(fresh_env["JUPYTER_RUNTIME_DIR"], f"kernel-{kernel['id']}.json")
        client = BlockingKernelClient(connection_file=connection)
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        outputs = []

        def run(code):
            outputs.clear()
            reply = client.execute_interactive(code, timeout=120, output_hook=lambda m: outputs.append(m))
            assert reply["content"]["status"] == "ok", reply["content"]
            return "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")

        out = run("%load_ext jupyterlab_odlake\n%odlake attach opendata:GamGam.MC as mc --mode download\nprint(mc.via)")
        assert out.strip().endswith("server"), out
        downloads = s.get(server.url + "odlake/downloads").json()["downloads"]
        assert [d["did"] for d in downloads] == ["opendata:GamGam.MC"] and downloads[0]["state"] == "done"
        same = run(
            "import jupyterlab_odlake as odlake, jupyterlab_odlake.kernel.backends as b\n"
            "via_server = odlake.attach('opendata:GamGam.MC', mode='stream')\n"
            "from jupyterlab_odlake.core import LakeService\nb._backend = LakeService()\n"
            "via_core = odlake.attach('opendata:GamGam.MC', mode='stream')\n"
            "print(via_server.via, via_core.via, via_server == via_core)"
        )
        assert same.strip() == "server core True"
        client.stop_channels()
        s.delete(server.url + f"api/kernels/{kernel['id']}")
    finally:
        server.stop()
    shutil.rmtree(tmp_path / "runtime", ignore_errors=True)
