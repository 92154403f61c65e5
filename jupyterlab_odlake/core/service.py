"""Everything a server (or a kernel without one) holds: the instances, the cache, the downloads."""

from __future__ import annotations

import os
from pathlib import Path

from .cache import Cache
from .config import InstanceConfig, discover
from .did import DID
from .downloads import Downloads
from .errors import InvalidRequest, NotFound
from .instance import Instance


CACHE_ENV = "ODLAKE_CACHE_DIR"  # the download cache, for servers and kernels alike


class Lakes:
    """The Rucio instances a user can reach, by name, with one cache and one download queue."""

    def __init__(self, configs: list[InstanceConfig] | None = None, default: str | None = None,
                 cache_dir: str | Path | None = None, parallel_transfers: int = 4, state_dir: str | Path | None = None):  # fmt: skip
        import platformdirs

        configs = discover() if configs is None else configs
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise InvalidRequest(f"Two Rucio instances have the same name: {', '.join(names)}.")
        state_dir = Path(state_dir or platformdirs.user_state_dir("odlake"))
        self.instances = {c.name: Instance(c, state_dir / "tokens") for c in configs}
        if default and default not in self.instances:
            raise InvalidRequest(f"The default instance '{default}' is not among the configured ones ({', '.join(names) or 'none'}).")
        self.default = default or (names[0] if names else None)
        self.cache = Cache(cache_dir or os.environ.get(CACHE_ENV) or platformdirs.user_cache_dir("odlake"))
        self.downloads = Downloads(self.cache, parallel_transfers)

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
            raise NotFound(f"There is no Rucio instance '{name}' here; known: {', '.join(self.instances) or 'none'}.") from None

    def instance_list(self) -> list[dict]:
        return [dict(i.status(), default=(i.name == self.default)) for i in self.instances.values()]

    def download(self, instance: str | None, did: str):
        inst = self.instance(instance)
        return self.downloads.start(inst, DID.parse(did))

    def close(self) -> None:
        self.downloads.shutdown()
