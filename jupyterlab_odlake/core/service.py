"""The one way into the lake: what the REST API and the kernel ask of it, and the service that answers.

``Service`` is the protocol every adapter calls: the REST handlers (server/handlers.py), the
kernel's Python API in a kernel without a Jupyter server, and — over the REST API — the
kernel's ``ServerService`` (kernel/backends.py), which implements it too, so an attach gives
equal objects either way. ``LakeService`` answers in this process: the Rucio instances a user
can reach (``Instance``, the Rucio adapter behind it), one cache, one registry of transfer jobs.
A new feature adds a method here, never a side door into ``Instance``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .config import InstanceConfig, discover
from .did import DID
from .errors import InvalidRequest, NotFound, quoted
from .paths import OpenedFile, open_file
from .records import (
    MODES,
    Attachment,
    CacheCheck,
    DIDInfo,
    FileEntry,
    Location,
    Mode,
    Page,
    Resolved,
    Rule,
    TransferKind,
    TransferRecord,
)
from .rucio import upload as _upload
from .rucio.catalog import Catalog
from .rucio.connection import ensure_rucio_config
from .rucio.instance import Instance
from .rucio.locations import check_schemes
from .signin import Refresher, SignIn
from .transfers.cache import Cache, default_root
from .transfers.downloads import Downloads
from .transfers.jobs import Jobs

_log = logging.getLogger("jupyterlab_odlake")


@runtime_checkable
class Service(Protocol):
    """What a notebook, the panel and any client ask of the lake; ``instance`` None is the default one."""

    via: str  # "core" (answered in this process) or "server" (the Jupyter server's REST API)

    def instance_name(self, instance: str | None = None) -> str:
        """The name of ``instance``, or of the default instance when None."""

    def search(
        self,
        query: str = "*",
        did_type: str = "collection",
        filters: str = "",
        limit: int = 100,
        cursor: str | None = None,
        instance: str | None = None,
    ) -> Page[DIDInfo]:
        """A page of DIDs matching ``scope:pattern`` and metadata filters; ``cursor`` from the page before."""

    def did(self, did: DID, instance: str | None = None) -> DIDInfo:
        """Type, size, file count, checksum and metadata of one DID."""

    def files(
        self,
        did: DID,
        limit: int = 100,
        cursor: str | None = None,
        offset: int = 0,
        availability: bool = True,
        mode: Mode | None = None,
        schemes: Sequence[str] = (),
        instance: str | None = None,
    ) -> Page[FileEntry]:
        """A page of the files of ``did`` in Rucio's order; with ``mode``, how each would be read in it."""

    def locations(
        self,
        did: DID,
        mode: Mode | None = None,
        schemes: Sequence[str] = (),
        rse: str | None = None,
        instance: str | None = None,
    ) -> list[Location]:
        """Per file of ``did``: where to read it in ``mode`` and every alternative (streaming with
        ``schemes``, preferred first; only from the RSEs the expression ``rse`` names, when given)."""

    def attach(
        self,
        did: DID,
        mode: Mode | None = None,
        schemes: Sequence[str] = (),
        rse: str | None = None,
        instance: str | None = None,
    ) -> Attachment:
        """Every file of ``did`` resolved for reading in ``mode`` (the instance's default mode when None),
        from one listing; the files to copy into the cache come with the download that does it."""

    def start_download(self, did: DID, instance: str | None = None) -> TransferRecord:
        """Queue the verified download of ``did`` into the cache; returns at once."""

    def start_upload(
        self,
        paths: Sequence[str],
        dataset: DID,
        rse: str | None = None,
        metadata: dict[str, Any] | None = None,
        instance: str | None = None,
    ) -> TransferRecord:
        """Check an upload of files into ``dataset`` (created when new) — refusals come here, before anything
        is written — and start it; returns at once. A server's service takes only files under its root."""

    def transfer(self, kind: TransferKind, transfer_id: str) -> TransferRecord:
        """A download or upload as it is now."""

    def verify_cached(self, did: DID, instance: str | None = None) -> CacheCheck:
        """Re-check in full (adler32) the cached copies of the files of ``did``; those that no longer match
        are removed, so that the next attach fetches them again."""

    def cancel_transfer(self, kind: TransferKind, transfer_id: str) -> TransferRecord:
        """Stop a download, or an upload after the file in flight."""

    def transfers(self, kind: TransferKind | None = None) -> list[TransferRecord]:
        """The transfers remembered, oldest first: the running ones and the latest finished ones."""

    def replicate(
        self, did: DID, rse_expression: str, lifetime_days: float | None = None, instance: str | None = None
    ) -> Rule:
        """A replication rule of the instance's account for ``did`` on ``rse_expression``."""

    def rules(self, instance: str | None = None) -> list[Rule]:
        """The replication rules of the instance's account, newest first."""

    def delete_rule(self, rule_id: str, instance: str | None = None) -> None:
        """Delete one of the account's rules (as Rucio's policy allows)."""


class LakeService:
    """The Rucio instances a user can reach, by name, with one cache and one registry of transfers.

    Implements ``Service`` in this process; the server extension holds one, and so does a kernel
    that has no Jupyter server to ask.
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
        upload_root: str | Path | None = None,
    ):
        """``upload_root``: uploads take only files under this directory (paths relative to it, or absolute
        within it), as a Jupyter server uploads only what its users see; None: any file this process reads."""
        import platformdirs

        configs = discover() if configs is None else configs
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            raise InvalidRequest(f"Two Rucio instances have the same name: {', '.join(names)}.")
        state_dir = Path(state_dir or platformdirs.user_state_dir("odlake"))
        ensure_rucio_config(state_dir)
        self._instances = {c.name: Instance(c, state_dir / "tokens") for c in configs}
        server_schemes = check_schemes(stream_schemes)
        for instance in self._instances.values():
            instance.server_schemes = server_schemes or instance.server_schemes
        if default and default not in self._instances:
            raise InvalidRequest(
                f"The default instance '{default}' is not among the configured ones ({', '.join(names) or 'none'})."
            )
        self.default = default or (names[0] if names else None)
        self.cache = Cache(cache_dir or default_root())
        self.jobs = Jobs()
        self._downloads = Downloads(self.cache, self.jobs, parallel_transfers)
        self.upload_root = None if upload_root is None else os.path.realpath(os.path.expanduser(upload_root))
        # the sign-ins odlake keeps: renewed ahead of their end while no request asks (a streamed analysis
        # reads the storage token's file all along)
        self._refresher = Refresher(
            [i.connection.sign_in for i in self._instances.values() if i.connection.sign_in is not None],
            on_error=lambda sign_in, e: _log.warning("renewing the sign-in to %s: %s", sign_in.instance, e),
        )
        self._refresher.start()

    @property
    def names(self) -> list[str]:
        """The configured instances' names."""
        return list(self._instances)

    def _instance(self, name: str | None = None) -> Instance:
        name = name or self.default
        if not name:
            raise NotFound(
                "No Rucio instance is configured and none was found: start the demo lake (odlake lake up), "
                "set RUCIO_CONFIG, or configure c.Odlake.instances."
            )
        try:
            return self._instances[name]
        except KeyError:
            known = ", ".join(self._instances) or "none"
            raise NotFound(f"There is no Rucio instance '{quoted(name)}' here; known: {known}.") from None

    # -- instances ---------------------------------------------------------------------------
    def instance_name(self, instance: str | None = None) -> str:
        return self._instance(instance).name

    def instances(self) -> list[dict[str, Any]]:
        """Each instance's public description, whether it answers and accepts its credentials."""
        return [dict(i.status(), default=(i.name == self.default)) for i in self._instances.values()]

    def upload_rse(self, instance: str | None = None) -> str:
        return self._instance(instance).config.upload_rse

    def sign_in(self, instance: str | None = None) -> SignIn:
        """The sign-in at the OpenID Connect provider that ``instance`` keeps (``odlake login``, the demo)."""
        rucio = self._instance(instance)
        if rucio.connection.sign_in is None:
            raise InvalidRequest(
                f"Instance '{rucio.name}' has no sign-in: its configuration names no OpenID Connect provider "
                "('oidc': issuer and client_id), or it reads its token from a file or variable someone else keeps."
            )
        return rucio.connection.sign_in

    def instance_status(self, instance: str | None = None) -> dict[str, Any]:
        """One instance's public description, whether it answers and accepts its credentials."""
        return self._instance(instance).status()

    # -- finding data ------------------------------------------------------------------------
    def search(
        self,
        query: str = "*",
        did_type: str = "collection",
        filters: str = "",
        limit: int = 100,
        cursor: str | None = None,
        instance: str | None = None,
    ) -> Page[DIDInfo]:
        return self._instance(instance).search(query, did_type, filters, limit, cursor)

    def did(self, did: DID, instance: str | None = None) -> DIDInfo:
        return self._instance(instance).did(did)

    def files(
        self,
        did: DID,
        limit: int = 100,
        cursor: str | None = None,
        offset: int = 0,
        availability: bool = True,
        mode: Mode | None = None,
        schemes: Sequence[str] = (),
        instance: str | None = None,
    ) -> Page[FileEntry]:
        return self._instance(instance).files(did, limit, cursor, availability, offset, mode, schemes)

    def catalog(self, instance: str | None = None) -> Catalog:
        """Analyses (channels) -> containers -> datasets, with their metadata."""
        return self._instance(instance).catalog()

    # -- reading -----------------------------------------------------------------------------
    def locations(
        self,
        did: DID,
        mode: Mode | None = None,
        schemes: Sequence[str] = (),
        rse: str | None = None,
        instance: str | None = None,
    ) -> list[Location]:
        rucio = self._instance(instance)
        mode = mode or rucio.default_mode
        return rucio.locations(did, mode, self.cache if mode == "download" else None, schemes, rse)

    def attach(
        self,
        did: DID,
        mode: Mode | None = None,
        schemes: Sequence[str] = (),
        rse: str | None = None,
        instance: str | None = None,
    ) -> Attachment:
        rucio = self._instance(instance)
        mode = mode or rucio.default_mode
        if mode not in MODES:  # the one check of a mode: the kernel's in-process path and REST alike
            raise InvalidRequest(f"mode must be one of {', '.join(MODES)}.")
        download = None
        if mode == "download":  # located with the cache; the files not in it come with the download that copies them
            located = rucio.locations(did, mode, self.cache, schemes, rse)
            missing = [f for f in located if f.kind == "download" and not f.cached]
            if missing:
                download = self._downloads.start(rucio, did, missing).record()
            files = [Resolved.of(f) for f in located]
        else:  # no alternatives to keep: a 100,000-file answer is resolved without them
            files = rucio.resolve(did, mode, schemes, rse)
        if not files:
            raise NotFound(f"{did} holds no files.")
        if mode == "auto" and not rse:  # what no replica serves may have a verified copy in the cache
            files = [self._from_cache(f) if f.kind is None else f for f in files]
        access = rucio.storage.for_readers() if any(f.kind == "stream" for f in files) else None
        return Attachment(str(did), rucio.name, mode, tuple(files), download, access)

    def _from_cache(self, f: Resolved) -> Resolved:
        did = DID(f.scope, f.name)
        if not self.cache.has(did, f.bytes, f.adler32):
            return f
        return replace(f, kind="download", location=str(self.cache.path_for(did)), reason=None)

    # -- transfers ---------------------------------------------------------------------------
    def start_download(self, did: DID, instance: str | None = None) -> TransferRecord:
        return self._downloads.start(self._instance(instance), did).record()

    def start_upload(
        self,
        paths: Sequence[str],
        dataset: DID,
        rse: str | None = None,
        metadata: dict[str, Any] | None = None,
        instance: str | None = None,
    ) -> TransferRecord:
        rucio = self._instance(instance)
        files: list[OpenedFile] = []
        try:
            for path in paths:
                files.append(open_file(path, self.upload_root))
        except BaseException:
            for f in files:
                f.close()
            raise
        return _upload.start(
            self.jobs, rucio.connection, files, dataset, rse or rucio.config.upload_rse, metadata
        ).record()

    def transfer(self, kind: TransferKind, transfer_id: str) -> TransferRecord:
        return self.jobs.get(transfer_id, kind).record()

    def verify_cached(self, did: DID, instance: str | None = None) -> CacheCheck:
        files, verified, removed = 0, 0, []
        for f in self._instance(instance).files_of(did):
            files += 1
            file = DID(f.scope, f.name)
            if not self.cache.path_for(file).exists():
                continue
            if self.cache.verify(file):
                verified += 1
            else:
                removed.append(str(file))
        return CacheCheck(str(did), files, verified, tuple(removed))

    def cancel_transfer(self, kind: TransferKind, transfer_id: str) -> TransferRecord:
        return self.jobs.cancel(transfer_id, kind).record()

    def transfers(self, kind: TransferKind | None = None) -> list[TransferRecord]:
        return [j.record() for j in self.jobs.all(kind)]

    # -- rules -------------------------------------------------------------------------------
    def replicate(
        self, did: DID, rse_expression: str, lifetime_days: float | None = None, instance: str | None = None
    ) -> Rule:
        return self._instance(instance).replicate(did, rse_expression, lifetime_days)

    def rules(self, instance: str | None = None) -> list[Rule]:
        return self._instance(instance).rules()

    def delete_rule(self, rule_id: str, instance: str | None = None) -> None:
        self._instance(instance).delete_rule(rule_id)

    def kernel_environment(self) -> dict[str, str]:
        """What the kernels of a server of this service start with: the default instance's CA as a hashed
        directory (``X509_CERT_DIR``), since XRootD's client reads it once, at the first connection of a
        process, and cannot take it later, when an attach would set it. No token: the token file is named
        at attach, for the instance the attach reads."""
        if not self.default:
            return {}
        ca_dir = self._instance().config.ca_certdir
        return {"X509_CERT_DIR": ca_dir} if ca_dir else {}

    def close(self) -> None:
        """Cancel running transfers and stop their threads."""
        self._refresher.stop()
        self.jobs.shutdown()
        self._downloads.shutdown()
