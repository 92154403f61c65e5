"""The cases of test_compose.py, run in a process of their own: Rucio's protocol code composes PFNs in its
client mode only (a process whose rucio.cfg is a server's asks the database), and the test session's
rucio.cfg is the demo lake's server's. Each case returns None when it holds, else what went wrong.

    python compose_cases.py STATE_DIR   # prints {case: None or the failure} as JSON
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

NAMES = [
    ("opendata", "data_A.GamGam.root"),
    ("opendata", "scale.100k.file_00042.root"),
    ("user.jdoe", "ntuple.v2.root"),
    ("group.phys-higgs", "skim.root"),
    ("mc16_13TeV", "EVNT.1234._000001.pool.root.1"),
]


def protocol(scheme, hostname, port, prefix, impl, read=1, extended=None):
    return {
        "scheme": scheme,
        "hostname": hostname,
        "port": port,
        "prefix": prefix,
        "impl": impl,
        "extended_attributes": extended,
        "domains": {"lan": {"read": read, "write": 1, "delete": 1}, "wan": {"read": read, "write": 1, "delete": 1}},
    }


HTTP = protocol("http", "127.0.0.1", 8000, "/", "jupyterlab_odlake.lake.protocol.HTTP")
ROOT = protocol("root", "xrootd.example.org", 1094, "//", "rucio.rse.protocols.xrootd.Default")
DAVS = protocol("davs", "dcache.example.org", 2880, "/pnfs/example.org/data", "rucio.rse.protocols.webdav.Default")
SSH = protocol("scp", "ssh.example.org", 22, "/data/", "rucio.rse.protocols.ssh.Default")
FILE = protocol("file", "", 0, "/lake/local/", "rucio.rse.protocols.posix.Default")


def rse(name, protocols, algorithm="identity", deterministic=True):
    return {
        "rse": name,
        "id": "0" * 32,
        "deterministic": deterministic,
        "domain": ["lan", "wan"],
        "volatile": False,
        "rse_type": "DISK",
        "verify_checksum": True,
        "lfn2pfn_algorithm": algorithm,
        "sign_url": None,
        "availability_read": True,
        "protocols": protocols,
    }


def rucio_pfn(settings, scope, name, scheme):
    """The PFN Rucio's own code makes (what its server puts in list_replicas' answer)."""
    from rucio.rse import rsemanager

    made = rsemanager.lfns2pfns(settings, [{"scope": scope, "name": name}], operation="read", scheme=scheme)
    return made[f"{scope}:{name}"]


def answer(copies, scope, name):
    """list_replicas' answer for one file, as Rucio's server gives it: one PFN per RSE, by the protocol Rucio
    selects (the best read priority), numbered in order."""
    pfns = {}
    for i, (settings, scheme) in enumerate(copies, start=1):
        pfns[rucio_pfn(settings, scope, name, scheme)] = {
            "rse": settings["rse"],
            "domain": "wan",
            "priority": i,
            "type": "DISK",
        }
    return {"scope": scope, "name": name, "pfns": pfns, "states": {s["rse"]: "AVAILABLE" for s, _ in copies}}


def files(names=NAMES):
    from jupyterlab_odlake.core.records import FileEntry

    return [FileEntry(scope, name, 1, "00000001") for scope, name in names]


def made_as_rucio(copies, names=NAMES):
    """The template from the first file, its answers for every other file equal to Rucio's."""
    from jupyterlab_odlake.core.rucio.compose import template

    listed = files(names)
    found = template([s for s, _ in copies], listed[0], answer(copies, *names[0]))
    assert found is not None, "no template"
    replicas, odd = found.replicas(listed)
    assert not odd, odd
    for f in listed:
        expected = answer(copies, f.scope, f.name)
        got = replicas[(f.scope, f.name)]
        assert list(got["pfns"].items()) == list(expected["pfns"].items()), (got, expected)
        assert got["states"] == expected["states"]
    return found


def case_concatenated_pfns_equal_rucios():
    found = made_as_rucio([(rse("HTTP_RSE", [HTTP]), "http"), (rse("XROOTD_RSE", [ROOT]), "root")])
    assert [d.head for d in found.doors] == ["http://127.0.0.1:8000/", "root://xrootd.example.org:1094//"]
    assert found.fixed_order


def case_hash_algorithm_paths_come_from_rucios_translator():
    found = made_as_rucio([(rse("HTTP_RSE", [HTTP], algorithm="hash"), "http")])
    assert found.doors[0].head == "http://127.0.0.1:8000/"


def case_a_protocol_of_its_own_code_makes_pfns_with_it():
    # posix's and ssh's lfns2pfns are their own code: no concatenation, Rucio's code for each file;
    # webdav's is Rucio's base one, a concatenation
    found = made_as_rucio([(rse("LOCAL", [FILE]), "file"), (rse("SSH", [SSH]), "scp"), (rse("DCACHE", [DAVS]), "davs")])
    assert [d.head for d in found.doors] == [None, None, "davs://dcache.example.org:2880/pnfs/example.org/data/"]
    assert not found.fixed_order


def case_a_protocol_this_client_cannot_load_gives_no_template():
    # gfal's needs the gfal2 library, which rucio-clients does not bring: Rucio is asked instead
    from jupyterlab_odlake.core.rucio.compose import template

    http = rse("HTTP_RSE", [HTTP])
    gfal = rse("GFAL", [dict(DAVS, impl="rucio.rse.protocols.gfal.Default")])
    first = files()[0]
    given = answer([(http, "http")], first.scope, first.name)
    made = rucio_pfn(http, first.scope, first.name, "http").replace("http://127.0.0.1:8000/", "davs://d:2880/")
    given["pfns"][made] = {"rse": "GFAL", "domain": "wan", "priority": 2, "type": "DISK"}
    given["states"]["GFAL"] = "AVAILABLE"
    assert template([http, gfal], first, given) is None


def case_only_the_protocol_rucio_lists_is_a_door():
    # an RSE read over https first and root second: Rucio lists the https PFN only, and so does the template
    https = protocol("https", "web.example.org", 443, "/data", "jupyterlab_odlake.lake.protocol.HTTP", read=1)
    root = dict(ROOT, domains={"lan": {"read": 2}, "wan": {"read": 2, "write": 1, "delete": 1}})
    settings = rse("SITE", [https, root])
    found = made_as_rucio([(settings, "https")])
    assert len(found.doors) == 1 and found.doors[0].head == "https://web.example.org:443/data/"


def case_a_pfn_no_protocol_makes_here_gives_no_template():
    from jupyterlab_odlake.core.rucio.compose import template

    settings = rse("HTTP_RSE", [HTTP])
    first = files()[0]
    given = answer([(settings, "http")], first.scope, first.name)
    signed = {pfn + "?signature=abc": info for pfn, info in given["pfns"].items()}  # as a signing server gives it
    assert template([settings], first, dict(given, pfns=signed)) is None
    assert template([settings], first, given) is not None


def case_a_non_deterministic_rse_gives_no_template():
    from jupyterlab_odlake.core.rucio.compose import template

    settings = rse("HTTP_RSE", [HTTP])
    first = files()[0]
    given = answer([(settings, "http")], first.scope, first.name)
    assert template([dict(settings, deterministic=False)], first, given) is None


def case_a_replica_not_available_or_elsewhere_gives_no_template():
    from jupyterlab_odlake.core.rucio.compose import template

    http, root = rse("HTTP_RSE", [HTTP]), rse("XROOTD_RSE", [ROOT])
    first = files()[0]
    given = answer([(http, "http"), (root, "root")], first.scope, first.name)
    assert template([http, root], first, dict(given, states={"HTTP_RSE": "AVAILABLE", "XROOTD_RSE": "COPYING"})) is None
    assert template([http], first, given) is None  # a replica on an RSE that holds no whole copy


def case_an_order_that_could_change_is_checked_file_by_file():
    # two RSEs alike but for a prefix that begins the other's: Rucio orders their PFNs as strings, which
    # differs from one file to another; such files are left to Rucio
    from jupyterlab_odlake.core.rucio.compose import template

    a = rse("A", [HTTP])
    b = rse("B", [dict(HTTP, prefix="/a/")])
    names = [("opendata", "x.root"), ("0", "x.root"), ("opendata", "y.root")]
    listed = files(names)

    def rucios(scope, name):  # Rucio sorts by (domain, priority, PFN) and numbers them
        made = sorted([(rucio_pfn(a, scope, name, "http"), "A"), (rucio_pfn(b, scope, name, "http"), "B")])
        return {
            "pfns": {p: {"rse": r, "domain": "wan", "priority": i, "type": "DISK"} for i, (p, r) in enumerate(made, 1)},
            "states": {"A": "AVAILABLE", "B": "AVAILABLE"},
        }

    found = template([a, b], listed[0], rucios(*names[0]))
    assert found is not None and not found.fixed_order
    replicas, odd = found.replicas(listed)
    assert [(f.scope, f.name) for f in odd] == [("0", "x.root")]
    for f in listed:
        if f not in odd:
            assert list(replicas[(f.scope, f.name)]["pfns"]) == list(rucios(f.scope, f.name)["pfns"])


def case_identity_paths_are_rucios():
    from rucio.rse import rsemanager

    from jupyterlab_odlake.core.rucio.compose import _path_of

    made = rsemanager.create_protocol(rse("HTTP_RSE", [HTTP]), "read", "http", "wan")
    path = _path_of(made)
    assert path is not made._get_path  # the concatenation, not Rucio's translator
    for scope, name in [*NAMES, ("user.a.b", "c"), ("groupx", "n"), ("s", "")]:
        assert path(scope, name) == made._get_path(scope, name), (scope, name)


def main(state: str) -> int:
    from jupyterlab_odlake.core.rucio.connection import ensure_rucio_config

    ensure_rucio_config(Path(state))
    out = {}
    for name, case in sorted(globals().items()):
        if name.startswith("case_"):
            try:
                case()
                out[name] = None
            except Exception:  # noqa: BLE001 - every case reports, whatever it raised
                out[name] = traceback.format_exc()[-3000:]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
