"""What reading with tokens costs, each against its baseline in the same run:

1. the H→γγ selection streamed from the storage that serves only token holders (XRootD, ztn over TLS, and
   XrdHttp) vs the same XRootD software serving anyone (root:// without TLS, and the lake's plain http
   storage) — goal ≤ 1.1×;
2. a verified download of GamGam.Data from the token storage with odlake vs ``xrdcp --cksum adler32`` with
   the same token and as many parallel transfers (what a grid user would otherwise run; ``rucio download``
   with that token is tried and its outcome recorded) — goal ≥ 1.0×;
3. a renewal of the storage token by the sign-in (lock, refresh grant, files replaced) vs one token
   request to the provider (client credentials: the floor of any token).

The demo user is signed in as ``odlake demo`` signs it in, in a state folder of this run's.

    python benchmarks/bench_tokens.py [--home DIR] [--size small|bench] [--repeat N]

Writes benchmarks/results/tokens.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))

import common

import hyy

DATA = "opendata:GamGam.Data"


def seconds(fn, repeat):
    return round(common.median_ms(fn, repeat, warm=True) / 1000, 3)


def selection(attached):
    _, mass = hyy.select(attached.arrays("mini", hyy.BRANCHES))
    return hyy.histogram(mass)


def main(argv=None) -> int:
    parser = common.parser(__doc__.splitlines()[0], "tokens.json", repeat=5)
    parser.add_argument("--size", choices=["small", "bench"], default="bench")
    args = parser.parse_args(argv)

    # this run's own state folder (the sign-in) and cache, before odlake reads where they are
    run = Path(tempfile.mkdtemp(prefix="odlake-bench-tokens-"))
    os.environ["XDG_STATE_HOME"] = str(run / "state")
    os.environ["ODLAKE_CACHE_DIR"] = str(run / "cache")

    import requests

    from jupyterlab_odlake.core import LakeService
    from jupyterlab_odlake.core.config import from_lake
    from jupyterlab_odlake.core.did import DID
    from jupyterlab_odlake.kernel import api, backends
    from jupyterlab_odlake.lake import manager
    from jupyterlab_odlake.lake.home import HTTP_RSE, TOKEN_RSE, XROOTD_RSE, LakeHome
    from jupyterlab_odlake.lake.provider import TEST_CLIENT, ProviderFiles
    from jupyterlab_odlake.lake.signin import sign_in_demo_user

    home = LakeHome.resolve(args.home)
    state = manager.up(home, size=args.size)
    os.environ["ODLAKE_LAKE_HOME"] = str(home.root)
    os.environ["X509_CERT_DIR"] = state["ca"]["certdir"]  # as the server gives its kernels
    signed_in = sign_in_demo_user(home)
    service = LakeService([from_lake(home.root)], cache_dir=run / "cache", state_dir=run / "state" / "odlake")
    backends._backend = service
    sign_in = service._instance().connection.sign_in

    def attach(rse, scheme):
        return api.attach(DATA, mode="stream", rse=rse, scheme=scheme, progress=False)

    with_token = {"root": attach(TOKEN_RSE, "root"), "https": attach(TOKEN_RSE, "https")}
    anonymous = {"root": attach(XROOTD_RSE, "root"), "https": attach(HTTP_RSE, "https")}  # the public XRootD
    megabytes = with_token["root"].bytes / 1e6
    print(f"{DATA}: {len(with_token['root'])} files, {megabytes:.0f} MB; signed in as {signed_in.subject}", flush=True)
    assert (selection(with_token["root"]) == selection(anonymous["root"])).all()

    # 1. the selection, streamed
    sel = {
        "root_token_s": seconds(lambda: selection(with_token["root"]), args.repeat),
        "root_anonymous_s": seconds(lambda: selection(anonymous["root"]), args.repeat),
        "https_token_s": seconds(lambda: selection(with_token["https"]), args.repeat),
        "https_anonymous_s": seconds(lambda: selection(anonymous["https"]), args.repeat),
    }
    sel["ratio_root"] = round(sel["root_token_s"] / sel["root_anonymous_s"], 2)
    sel["ratio_https"] = round(sel["https_token_s"] / sel["https_anonymous_s"], 2)
    print(f"  selection: {sel}", flush=True)

    # 2. verified download from the token storage: odlake (https, the token in a header) vs xrdcp
    token_file = str(sign_in.access_token_file("storage"))

    # a server's service, signed in and with Rucio's client made, whose cache is empty: one per download
    def fresh_service():
        fresh = LakeService(
            [from_lake(home.root)], cache_dir=Path(tempfile.mkdtemp(dir=run)), state_dir=run / "state" / "odlake"
        )
        fresh.instances()
        return fresh

    downloads = max(1, args.repeat // 2)
    ready = [fresh_service() for _ in range(downloads + 1)]  # and one for the warm-up

    def odlake_download():
        fresh = ready.pop()
        backends._backend = fresh
        try:
            downloaded = api.attach(DATA, mode="download", progress=False)
            assert all(f.kind == "download" for f in downloaded.files)
        finally:
            backends._backend = service
            fresh.close()

    located = service.locations(DID.parse(DATA), "download")
    first_readable = {
        next(a.rse for a in f.alternatives if a.available and a.scheme in ("http", "https")) for f in located
    }
    assert first_readable == {TOKEN_RSE}, first_readable  # with the token, the token storage serves the download

    sources = [f.location for f in with_token["root"].files]
    env = {**os.environ, "BEARER_TOKEN_FILE": token_file, "XRD_LOGLEVEL": "Error"}

    def xrdcp():
        target = tempfile.mkdtemp(dir=run)
        done = subprocess.run(
            ["xrdcp", "--silent", "--force", "--parallel", "4", "--cksum", "adler32", *sources, target + "/"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        shutil.rmtree(target)

    dl = {
        "odlake_s": seconds(odlake_download, max(1, args.repeat // 2)),
        "xrdcp_s": seconds(xrdcp, max(1, args.repeat // 2)),
    }
    dl["speedup_vs_xrdcp"] = round(dl["xrdcp_s"] / dl["odlake_s"], 2)
    rucio_dir = Path(tempfile.mkdtemp(dir=run))
    rucio = subprocess.run(
        [
            "rucio",
            "--account",
            "root",
            "--auth-strategy",
            "oidc",
            "download",
            "--rses",
            TOKEN_RSE,
            "--dir",
            str(rucio_dir),
            DATA,
        ],
        env={
            **os.environ,
            "RUCIO_CONFIG": str(home.rucio_cfg),
            "BEARER_TOKEN_FILE": str(sign_in.access_token_file("rucio")),
            "REQUESTS_CA_BUNDLE": state["ca"]["bundle"],
        },
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )
    failed = [
        line.split("\t")[-1].strip()
        for line in (rucio.stdout + rucio.stderr).splitlines()
        if "ERROR" in line or "WARNING" in line
    ]
    dl["rucio_download"] = {
        "exit_code": rucio.returncode,
        "files_downloaded": sum(1 for p in rucio_dir.rglob("*.root")),
        "said": failed[:4],
    }
    print(f"  download: {dl}", flush=True)

    # 3. a renewal of the storage token vs one token request
    def renew():
        session = json.loads(sign_in.session_file.read_text())
        session["tokens"]["storage"]["expires_at"] = time.time()
        sign_in.session_file.write_text(json.dumps(session))
        sign_in.access_token_file("storage")

    secret = json.loads(ProviderFiles(home).secrets.read_text())["clients"][TEST_CLIENT]
    endpoint = sign_in.discovery()["token_endpoint"]

    def one_request():
        answer = requests.post(
            endpoint,
            data={
                "grant_type": "client_credentials",
                "resource": state["oidc"]["resources"]["storage"]["resource"],
                "scope": "storage.read:/",
            },
            auth=(TEST_CLIENT, secret),
            verify=state["ca"]["bundle"],
            timeout=30,
        )
        assert answer.status_code == 200

    refresh = {
        "renewal_ms": common.median_ms(renew, args.repeat * 4),
        "token_request_ms": common.median_ms(one_request, args.repeat * 4),
    }
    refresh["ratio"] = round(refresh["renewal_ms"] / refresh["token_request_ms"], 2)
    print(f"  renewal: {refresh}", flush=True)

    common.write(
        args.out,
        {
            "machine": common.machine(),
            "lake_size": state["size"],
            "dataset": DATA,
            "files": len(with_token["root"]),
            "megabytes": round(megabytes, 1),
            "access_token_lifetime_s": state["oidc"]["access_token_lifetime"],
            "selection": sel,
            "download": dl,
            "renewal": refresh,
            "goals": {"selection_ratio_max": 1.1, "download_speedup_min": 1.0},
        },
    )
    service.close()
    shutil.rmtree(run, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
