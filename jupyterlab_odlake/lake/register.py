"""Put the Open Data samples into the lake: files on the storage, DIDs, replicas, metadata.

Run as ``python -m jupyterlab_odlake.lake.register HOME SIZE DB`` with ``RUCIO_CONFIG``
set; the storages' addresses come from the home's lake.json. Every step checks what the catalogue already holds, so a run interrupted half-way
is finished by the next one.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypedDict, TypeVar
from urllib.parse import urlparse

from .home import ACCOUNT, HTTP_RSE, LOCAL_RSE, SCOPE, TOKEN_RSE, USERDISK_RSE, XROOTD_RSE, LakeError, LakeHome, State
from .samples import ENERGY_TEV, SAMPLES, TREE, Sample, generate

if TYPE_CHECKING:
    from rucio.client import Client

PROJECT = "opendata13TeV"

P = ParamSpec("P")
T = TypeVar("T")
Metadata = dict[str, str | int | float | None]  # a DID's metadata as Rucio's set_metadata_bulk takes it


class FileSummary(TypedDict):
    events: int
    sum_of_weights: float
    bytes: int


def column_metadata(sample: Sample) -> Metadata:
    """Keys that Rucio keeps in DID columns: searchable on every database (ATLAS keeps a DSID in run_number)."""
    meta: Metadata = {"project": PROJECT, "datatype": sample.kind, "stream_name": sample.analysis}
    if sample.dsid:
        meta["run_number"] = sample.dsid
    return meta


def physics_metadata(sample: Sample, events: int, sum_of_weights: float) -> Metadata:
    """Custom keys (Rucio's JSON metadata): searchable where the database supports it."""
    meta: Metadata = {
        "channel": sample.analysis,
        "sample_type": sample.kind,
        "physics_short": sample.physics_short,
        "energy_tev": ENERGY_TEV,
        "n_events": events,
    }
    if sample.kind == "mc":
        meta.update(dsid=sample.dsid, xsec_pb=sample.xsec_pb, sum_of_weights=round(sum_of_weights, 3))
    else:
        meta.update(lumi_fb=sample.lumi_fb, period=sample.period)
    return meta


def _summary(path: Path) -> tuple[int, float]:
    import uproot

    with uproot.open(path) as f:
        tree = f[TREE]
        n = tree.num_entries
        sum_w = float(tree["SumWeights"].array(entry_stop=1, library="np")[0]) if n else 0.0
    return n, sum_w


def _ignore(
    exc_types: type[Exception] | tuple[type[Exception], ...], call: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T | None:
    try:
        return call(*args, **kwargs)
    except exc_types:
        return None


def _local_path(pfn: str, storage_url: str, storage_dir: Path) -> Path:
    """Where on disk the storage keeps the file that ``pfn`` names."""
    if pfn.startswith("file://"):
        return Path(urlparse(pfn).path)
    relative = pfn[len(storage_url) :].lstrip("/")
    return storage_dir / relative


def _port(url: str) -> int:
    port = urlparse(url).port
    if port is None:
        raise LakeError(f"the storage URL {url} names no port")
    return port


def _names_on(client: Client, rse: str) -> set[str]:
    """Names of the lake's files that already have a replica on ``rse``."""
    from rucio.common.exception import DataIdentifierNotFound

    try:
        return {
            r["name"]
            for r in client.list_replicas([{"scope": SCOPE, "name": s.name} for s in SAMPLES], rse_expression=rse)
        }
    except DataIdentifierNotFound:
        return set()


def protect(client: Client, name: str, rse: str) -> None:
    """A replication rule keeping ``SCOPE:name`` on ``rse``, where it is already (so the rule is OK at once)."""
    from rucio.common.exception import DuplicateRule

    did = {"scope": SCOPE, "name": name}
    if any(r["rse_expression"] == rse for r in client.list_replication_rules(dict(did))):
        return
    _ignore(DuplicateRule, client.add_replication_rule, [did], 1, rse)


XROOTD_ANALYSES = ("GamGam", "4lep")  # the datasets the XRootD storage holds copies of
TOKEN_ANALYSES = ("GamGam",)  # the datasets the token storage holds copies of


def _domains(read: int) -> dict[str, dict[str, int]]:
    """Rucio's protocol domains for a protocol read at priority ``read`` that also writes and deletes."""
    lan = {"read": read, "write": 1, "delete": 1}
    return {"lan": lan, "wan": {**lan, "third_party_copy_read": read, "third_party_copy_write": 1}}


def token_protocols(tokens: State) -> list[dict[str, object]]:
    """The token storage's protocols on one namespace: root:// (ztn), then https (XrdHttp). Read after the
    anonymous storages' (priorities 2 and 3), as a site orders a public copy before its own."""
    root = {
        "scheme": "root",
        "port": _port(tokens["url"]),
        "prefix": "//",
        "impl": "rucio.rse.protocols.xrootd.Default",
    }
    https = {
        "scheme": "https",
        "port": _port(tokens["https_url"]),
        "prefix": "/",
        "impl": "rucio.rse.protocols.webdav.Default",
    }
    return [
        {**root, "hostname": "127.0.0.1", "domains": _domains(2)},
        {**https, "hostname": "127.0.0.1", "domains": _domains(3)},
    ]


def register(
    home: LakeHome,
    size: str,
    json_metadata: bool,
    storage_url: str,
    xrootd_url: str = "",
    tokens: State | None = None,
) -> dict[str, object]:
    from rucio.client import Client
    from rucio.common.checksum import adler32, md5
    from rucio.common.exception import DataIdentifierAlreadyExists, Duplicate, RSEProtocolPriorityError

    client = Client()
    _ignore(Duplicate, client.add_scope, ACCOUNT, SCOPE)
    _ignore(Duplicate, client.add_scope, ACCOUNT, f"user.{ACCOUNT}")  # Rucio's convention: each account's own scope

    port = _port(storage_url)
    # the public storage's https (XrdHttp), anonymous: odlake's protocol, which checks its certificate against the
    # lake's CA, where Rucio's webdav one checks none and wants an X.509 proxy or an OIDC token to read
    http_protocol = {
        "scheme": "https",
        "hostname": "127.0.0.1",
        "port": port,
        "prefix": "/",
        "impl": "jupyterlab_odlake.lake.protocol.HTTP",
        "domains": {
            "lan": {"read": 1, "write": 0, "delete": 0},
            "wan": {"read": 1, "write": 0, "delete": 0, "third_party_copy_read": 1, "third_party_copy_write": 0},
        },
    }
    local_protocol = {
        "scheme": "file",
        "hostname": "",
        "port": 0,
        "prefix": str(home.local_storage) + "/",
        "impl": "rucio.rse.protocols.posix.Default",
        "domains": {
            "lan": {"read": 1, "write": 1, "delete": 1},
            "wan": {"read": 1, "write": 1, "delete": 1, "third_party_copy_read": 1, "third_party_copy_write": 1},
        },
    }
    userdisk_protocol = dict(local_protocol, prefix=str(home.user_storage) + "/")  # users' uploads
    rses_made = [(HTTP_RSE, http_protocol, "http"), (LOCAL_RSE, local_protocol, "local")]
    rses_made.append((USERDISK_RSE, userdisk_protocol, "userdisk"))
    if xrootd_url:
        xrootd_protocol = {
            "scheme": "root",
            "hostname": "127.0.0.1",
            "port": _port(xrootd_url),
            "prefix": "//",  # root://host:port//opendata/...: XRootD refuses relative paths
            "impl": "rucio.rse.protocols.xrootd.Default",
            "domains": {
                "lan": {"read": 1, "write": 0, "delete": 0},
                "wan": {"read": 1, "write": 0, "delete": 0, "third_party_copy_read": 1, "third_party_copy_write": 0},
            },
        }
        rses_made.append((XROOTD_RSE, xrootd_protocol, "xrootd"))
    for rse, proto, kind in rses_made:
        _ignore(Duplicate, client.add_rse, rse, deterministic=True)
        _ignore((Duplicate, RSEProtocolPriorityError), client.add_protocol, rse, proto)
        client.add_rse_attribute(rse, "odlake_kind", kind)
        client.set_local_account_limit(ACCOUNT, rse, -1)
    if tokens:
        _ignore(Duplicate, client.add_rse, TOKEN_RSE, deterministic=True)
        for proto in token_protocols(tokens):
            _ignore((Duplicate, RSEProtocolPriorityError), client.add_protocol, TOKEN_RSE, proto)
        client.add_rse_attribute(TOKEN_RSE, "odlake_kind", "tokens")
        client.add_rse_attribute(TOKEN_RSE, "oidc_support", True)  # Rucio's mark of an RSE that takes tokens
        client.set_local_account_limit(ACCOUNT, TOKEN_RSE, -1)

    storage_dirs = {HTTP_RSE: home.http_storage, LOCAL_RSE: home.local_storage}
    schemes = {HTTP_RSE: "https", LOCAL_RSE: "file"}
    urls = {HTTP_RSE: storage_url, LOCAL_RSE: ""}
    if xrootd_url:
        storage_dirs[XROOTD_RSE], schemes[XROOTD_RSE], urls[XROOTD_RSE] = home.xrootd_storage, "root", xrootd_url
    if tokens:
        storage_dirs[TOKEN_RSE], schemes[TOKEN_RSE], urls[TOKEN_RSE] = home.token_storage, "root", tokens["url"]
    present = {rse: _names_on(client, rse) for rse in storage_dirs}

    datasets: dict[str, list[Sample]] = defaultdict(list)
    summaries: dict[str, FileSummary] = {}
    for sample in SAMPLES:
        datasets[sample.dataset].append(sample)
        rses = [HTTP_RSE] + ([LOCAL_RSE] if sample.also_local else [])
        rses += [XROOTD_RSE] if xrootd_url and sample.analysis in XROOTD_ANALYSES else []
        rses += [TOKEN_RSE] if tokens and sample.analysis in TOKEN_ANALYSES else []
        paths: dict[str, Path] = {}
        for rse in rses:
            pfn = client.lfns2pfns(rse, [f"{SCOPE}:{sample.name}"], operation="read", scheme=schemes[rse])
            paths[rse] = _local_path(next(iter(pfn.values())), urls[rse], storage_dirs[rse])
        source = paths[HTTP_RSE]  # the HTTP RSE's copy (the XRootD RSE's too), which the others are copied from
        if not source.exists():
            generate(sample, source, size)
        for path in paths.values():
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(path.name + ".part")
                shutil.copyfile(source, tmp)
                tmp.replace(path)
        events, sum_w = _summary(source)
        summaries[sample.name] = {"events": events, "sum_of_weights": sum_w, "bytes": source.stat().st_size}
        record = {
            "scope": SCOPE,
            "name": sample.name,
            "bytes": source.stat().st_size,
            "adler32": adler32(str(source)),
            "md5": md5(str(source)),
        }
        for rse in rses:
            if sample.name not in present[rse]:
                client.add_replicas(rse, [record])
        client.set_metadata_bulk(SCOPE, sample.name, column_metadata(sample))
        if json_metadata:
            client.set_metadata_bulk(SCOPE, sample.name, physics_metadata(sample, events, sum_w))

    # what a deployment does with data it keeps: a rule per copy (each dataset whole on the HTTP
    # RSE, single files on the local one); Rucio then knows each dataset's replicas as a whole
    for sample in SAMPLES:
        if sample.also_local:
            protect(client, sample.name, LOCAL_RSE)

    containers: dict[str, list[str]] = defaultdict(list)
    for dataset, members in datasets.items():
        first = members[0]  # a dataset's files share their analysis and kind
        _ignore(DataIdentifierAlreadyExists, client.add_dataset, SCOPE, dataset)
        content = {d["name"] for d in client.list_content(SCOPE, dataset)}
        missing = [{"scope": SCOPE, "name": s.name} for s in members if s.name not in content]
        if missing:
            client.attach_dids(SCOPE, dataset, missing)
        protect(client, dataset, HTTP_RSE)
        if xrootd_url and first.analysis in XROOTD_ANALYSES:
            protect(client, dataset, XROOTD_RSE)
        if tokens and first.analysis in TOKEN_ANALYSES:
            protect(client, dataset, TOKEN_RSE)
        if client.get_did(SCOPE, dataset)["open"]:
            client.close(SCOPE, dataset)  # complete, as a released sample is: Rucio then keeps its length
        column = {"project": PROJECT, "datatype": first.kind, "stream_name": first.analysis}
        client.set_metadata_bulk(SCOPE, dataset, column)
        if json_metadata:
            meta = {
                "channel": first.analysis,
                "sample_type": first.kind,
                "energy_tev": ENERGY_TEV,
                "n_events": sum(summaries[s.name]["events"] for s in members),
            }
            if first.kind == "data":
                meta["lumi_fb"] = round(sum(s.lumi_fb for s in members), 3)
            else:
                meta["dsids"] = ",".join(str(s.dsid) for s in members)
            client.set_metadata_bulk(SCOPE, dataset, meta)
        containers[first.analysis].append(dataset)

    for analysis, names in containers.items():
        _ignore(DataIdentifierAlreadyExists, client.add_container, SCOPE, analysis)
        content = {d["name"] for d in client.list_content(SCOPE, analysis)}
        missing = [{"scope": SCOPE, "name": d} for d in names if d not in content]
        if missing:
            client.attach_dids(SCOPE, analysis, missing)
        client.set_metadata_bulk(SCOPE, analysis, {"project": PROJECT, "stream_name": analysis})
        if json_metadata:
            lumi = sum(s.lumi_fb for s in SAMPLES if s.analysis == analysis and s.kind == "data")
            meta = {"channel": analysis, "energy_tev": ENERGY_TEV, "lumi_fb": round(lumi, 3)}
            client.set_metadata_bulk(SCOPE, analysis, meta)

    return {
        "scope": SCOPE,
        "containers": sorted(containers),
        "datasets": sorted(datasets),
        "files": summaries,
    }


def register_large_dataset(
    client: Client, name: str, files: int, prefix: str | None = None, chunk: int = 400, keep: bool = True
) -> bool:
    """Register a dataset of ``files`` catalogue-only files on the HTTP RSE (for paging tests and benchmarks).

    The files are not on the storage: listing works, reading does not. Returns False when
    the dataset exists already. SQLite takes at most ~400 replicas per call. With ``keep``, a
    replication rule keeps it on the HTTP RSE, as the samples are kept.
    """
    from rucio.common.exception import DataIdentifierAlreadyExists

    try:
        client.add_dataset(SCOPE, name)
    except DataIdentifierAlreadyExists:
        return False
    prefix = prefix or name
    records = [
        {"scope": SCOPE, "name": f"{prefix}.file_{i:05d}.root", "bytes": 1000 + i, "adler32": "0000beef"}
        for i in range(files)
    ]
    for start in range(0, files, chunk):
        part = records[start : start + chunk]
        client.add_replicas(HTTP_RSE, part)
        client.attach_dids(SCOPE, name, [{"scope": SCOPE, "name": f["name"]} for f in part])
    client.close(SCOPE, name)  # complete, as a released sample is: Rucio then keeps its length
    if keep:
        protect(client, name, HTTP_RSE)
    return True


def main(argv: list[str]) -> int:
    root, size, db = argv
    home = LakeHome(Path(root))
    state = home.load_state()
    if state is None:
        raise LakeError(f"there is no lake in {root} (no lake.json)")
    xrootd_url = state["xrootd"]["url"] if "xrootd" in state else ""
    tokens = state.get("xrootd-tokens")
    summary = register(home, size, db == "postgresql", state["rses"]["http"]["url"], xrootd_url, tokens)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
