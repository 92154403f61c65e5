"""Attach, decided where the lake is: one listing of the DID, the files to copy handed to their download.

The kernel asks the service once (``attach``) and follows the download it is given, if any;
the service resolves every file from one listing. The stand-ins pin down what the demo lake
cannot show on demand (a file no replica serves, whose verified copy is in the cache); the
last test counts Rucio's listings of a real attach against the demo lake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from jupyterlab_odlake.core.did import DID
from jupyterlab_odlake.core.records import Attachment, Location, Resolved, TransferRecord
from jupyterlab_odlake.core.service import LakeService
from jupyterlab_odlake.kernel import api, backends


def record(state: str) -> TransferRecord:
    return TransferRecord(
        "d1", "download", "demo", "opendata:ds", state, 1, int(state == "done"), 3, 3, 3, 1.0, (), 0.0, None
    )


@dataclass
class StandInService:
    via: str = "server"
    asked: list[str] = field(default_factory=list)

    def attach(self, did, mode, schemes, rse, instance):
        self.asked.append(f"attach {did} {mode}")
        files = (
            Resolved("opendata", "a.root", 3, "00000001", "stream", "root://x//a.root", "XROOTD"),
            Resolved("opendata", "b.root", 3, "00000001", "download", "/cache/opendata/b.root", None),
        )
        return Attachment(str(did), "demo", mode or "download", files, record("running"))

    def transfer(self, kind, transfer_id):
        self.asked.append(f"transfer {kind} {transfer_id}")
        return record("done")


def test_the_kernel_asks_once_and_follows_the_download_it_is_given(monkeypatch):
    service = StandInService()
    monkeypatch.setattr(backends, "current", lambda: service)
    attached = api.attach("opendata:ds", progress=False)
    assert [(f.kind, f.location) for f in attached.files] == [
        ("stream", "root://x//a.root"),
        ("download", "/cache/opendata/b.root"),
    ]
    # no second listing, no question for the default instance or mode: the answer named them
    assert service.asked == ["attach opendata:ds None", "transfer download d1"]
    assert (attached.mode, attached.instance) == ("download", "demo")


def location(name: str, mode: str, kind: str | None, where: str | None) -> Location:
    return Location("opendata", name, 7, "0c1e030c", mode, kind, where, None, None)  # type: ignore[arg-type]


@dataclass
class StandInRucio:
    """The Rucio adapter as the service sees it: in auto mode, b.root has no replica to read."""

    name: str = "demo"
    default_mode: str = "auto"
    listed: list[str] = field(default_factory=list)
    storage: object = field(default_factory=lambda: SimpleNamespace(for_readers=lambda: None))  # needs no credential

    def locations(self, did, mode, cache, schemes=(), rse=None):
        self.listed.append(mode)
        return [location("a.root", mode, "stream", "http://x/a.root"), location("b.root", mode, None, None)]

    def resolve(self, did, mode, schemes=(), rse=None):  # what an attach asks in any mode but download
        return [Resolved.of(f) for f in self.locations(did, mode, None, schemes, rse)]


def test_auto_reads_from_the_cache_only_what_no_replica_serves(tmp_path: Path):
    service = LakeService([], cache_dir=tmp_path / "cache", state_dir=tmp_path / "state")
    rucio = StandInRucio()
    service._instances = {"demo": rucio}  # type: ignore[dict-item]
    service.default = "demo"
    unread = service.attach(DID("opendata", "ds"))
    assert [f.kind for f in unread.files] == ["stream", None] and unread.mode == "auto"
    cached = service.cache.path_for(DID("opendata", "b.root"))
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"photons")  # adler32 0c1e030c, 7 bytes: a verified copy
    attachment = service.attach(DID("opendata", "ds"))
    assert [(f.kind, f.location) for f in attachment.files] == [
        ("stream", "http://x/a.root"),
        ("download", str(cached)),
    ]
    assert attachment.download is None and rucio.listed == ["auto", "auto"]  # one listing an attach
    service.close()


@pytest.mark.parametrize("mode", ["download", None])
def test_an_attach_that_downloads_lists_the_dataset_at_rucio_once(lake, tmp_path, monkeypatch, mode):
    """Against the demo lake: a download-mode attach of a dataset not in the cache (and the instance's
    default mode, set to download) asks Rucio for the dataset's files once, the download included."""
    from conftest import instance_config
    from rucio.client.didclient import DIDClient

    from jupyterlab_odlake.core.config import InstanceConfig

    home, state = lake
    config = instance_config(home, state, tmp_path, name="counted")
    config["default_mode"] = "download"
    service = LakeService([InstanceConfig.from_dict(config)], cache_dir=tmp_path / "cache", state_dir=tmp_path / "s")
    listings = []
    list_files = DIDClient.list_files

    def counted(client, scope, name, *args, **kwargs):
        listings.append(f"{scope}:{name}")
        return list_files(client, scope, name, *args, **kwargs)

    monkeypatch.setattr(DIDClient, "list_files", counted)
    monkeypatch.setattr(backends, "_backend", service)
    attached = api.attach("opendata:GamGam.MC", mode=mode, progress=False)
    assert listings == ["opendata:GamGam.MC"]
    assert attached.mode == "download" and len(attached.files) == 5
    assert all(Path(p).is_file() and Path(p).is_relative_to(tmp_path / "cache") for p in attached.paths)
    [download] = service.transfers("download")
    assert (download.state, download.files_done, download.transfers) == ("done", 5, 5)
    service.close()
