"""The kernel's attach over a stand-in lake: which answers it asks for, and what it makes of them.

The acceptance tests of attach run against the demo lake (test_kernel.py); this one pins down
the step the demo lake cannot show on demand: in auto mode, a file no replica can serve that
a verified copy in the cache still holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jupyterlab_odlake.core.did import DID
from jupyterlab_odlake.core.records import DownloadRecord, Location
from jupyterlab_odlake.kernel import api, backends


def location(name: str, mode: str, kind: str | None, where: str | None) -> Location:
    return Location("opendata", name, 3, "00000001", mode, kind, where, None, None)  # type: ignore[arg-type]


@dataclass
class StandInLake:
    via: str = "core"
    asked: list[str] = field(default_factory=list)

    def instance_name(self, instance):
        return "demo"

    def locations(self, did: DID, mode, instance, schemes=(), rse=None):
        self.asked.append(mode)
        if mode == "download":
            return [location("a.root", mode, "download", "/cache/a"), location("b.root", mode, "download", "/cache/b")]
        return [location("a.root", mode, "stream", "http://x/a"), location("b.root", mode, None, None)]

    def start_download(self, did, instance):
        self.asked.append("start_download")
        return DownloadRecord("1", "demo", str(did), "done", 2, 2, 6, 6, 0.0, 0, (), 0.0, 1.0, ())

    def download(self, download_id):
        raise AssertionError("a finished download is not asked again")


def test_auto_mode_reads_from_the_cache_only_what_no_replica_serves(monkeypatch):
    lake = StandInLake()
    monkeypatch.setattr(backends, "current", lambda: lake)
    attached = api.attach("opendata:ds", progress=False)
    assert [(f.kind, f.location) for f in attached.files] == [("stream", "http://x/a"), ("download", "/cache/b")]
    assert lake.asked == ["auto", "start_download", "download"]
