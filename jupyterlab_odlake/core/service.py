"""Everything a server (or a kernel without one) holds: the instances, the cache, the downloads."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cache import Cache
from .config import InstanceConfig, discover
from .connection import ensure_rucio_config
from .did import DID
from .downloads import Downloads
from .errors import InvalidRequest, NotFound, quoted
from .instance import Instance
from .locations import check_schemes
from .records import DIDInfo, DownloadRecord, FileEntry, Location, Mode, Page, UploadRecord
from .upload import Uploads

CACHE_ENV = "ODLAKE_CACHE_DIR"  # the download cache, for servers and kernels alike


class Lakes:
    """The Rucio instances a user can reach, by name, with one cache and one download queue.

    Implements ``core.lake.Lake`` in this process.
    """

    via = "core"

    def __init__(
        self,
        configs: list[InstanceConfig] | None = None,
        default: str | None = None,
        cache_dir: str | Path | None = None,
        parallel_transfers: int = 4,
        state_dir: str | Path | None = None,
        stream_schemes: Sequence[str] = (),
    ):
        import platformdirs

        configs = discover() if configs is None else configs
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise InvalidRequest(f"Two Rucio instances have the same name: {', '.join(names)}.")
        state_dir = Path(state_dir or platformdirs.user_state_dir("odlake"))
        ensure_rucio_config(state_dir)
        self.instances = {c.name: Instance(c, state_dir / "tokens") for c in configs}
        server_schemes = check_schemes(stream_schemes)
        for instance in self.instances.values():
            instance.server_schemes = server_schemes or instance.server_schemes
        if default and default not in self.instances:
            raise InvalidRequest(
                f"The default instance '{default}' is not among the configured ones ({', '.join(names) or 'none'})."
            )
        self.default = default or (names[0] if names else None)
        self.cache = Cache(cache_dir or os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("odlake"))
        self.queue = Downloads(self.cache, parallel_transfers)
        self.uploads = Uploads()

    def instance(self, name: str | None = None) -> Instance:
        name = name or self.default
        if not name:
            raise NotFound(
                "No Rucio instance is configured and none was found: start the demo lake (odlake lake up), "
                "set RUCIO_CONFIG, or configure c.Odlake.instances."
            )
        try:
            return self.instances[name]
        except KeyError:
            known = ", ".join(self.instances) or "none"
            raise NotFound(f"There is no Rucio instance '{quoted(name)}' here; known: {known}.") from None

    def instance_list(self) -> list[dict[str, Any]]:
        return [dict(i.status(), default=(i.name == self.default)) for i in self.instances.values()]

    # -- core.lake.Lake ---------------------------------------------------------------------
    def instance_name(self, instance: str | None) -> str:
        return self.instance(instance).name

    def search(self, query: str, did_type: str, filters: str, limit: int, instance: str | None) -> Page[DIDInfo]:
        return self.instance(instance).search(query, did_type, filters, limit)

    def files(self, did: DID, limit: int, instance: str | None) -> Page[FileEntry]:
        return self.instance(instance).files(did, limit)

    def locations(
        self, did: DID, mode: Mode, instance: str | None, schemes: Sequence[str] = (), rse: str | None = None
    ) -> list[Location]:
        return self.instance(instance).locations(did, mode, self.cache, schemes, rse)

    def start_download(self, did: DID, instance: str | None) -> DownloadRecord:
        return self.queue.start(self.instance(instance), did).record()

    def download(self, download_id: str) -> DownloadRecord:
        return self.queue.get(download_id).record()

    def cancel_download(self, download_id: str) -> DownloadRecord:
        return self.queue.cancel(download_id).record()

    def downloads(self) -> list[DownloadRecord]:
        return [d.record() for d in self.queue.all()]

    def upload(
        self, paths: Sequence[str], dataset: DID, rse: str | None, metadata: dict[str, Any], instance: str | None
    ) -> UploadRecord:
        return self.instance(instance).upload([Path(p) for p in paths], dataset, rse, metadata)

    def start_upload(
        self, paths: Sequence[Path], dataset: DID, rse: str | None, metadata: dict[str, Any], instance: str | None
    ) -> UploadRecord:
        return self.uploads.start(self.instance(instance), paths, dataset, rse, metadata).record()

    def replicate(
        self, did: DID, rse_expression: str, lifetime_days: float | None, instance: str | None
    ) -> dict[str, Any]:
        return self.instance(instance).replicate(did, rse_expression, lifetime_days).to_json()

    def rules(self, instance: str | None) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.instance(instance).rules()]

    def close(self) -> None:
        """Cancel running downloads and uploads and stop their threads."""
        self.queue.shutdown()
        self.uploads.shutdown()
