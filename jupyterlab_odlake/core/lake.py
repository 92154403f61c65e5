"""What the kernel helper needs from a lake: one protocol, two implementations.

``Lakes`` (core/service.py) answers in this process; the kernel's ``ServerBackend``
answers through the REST API of the Jupyter server that started the kernel. Both return
the same records, so an attach gives equal objects either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from .did import DID
from .records import DIDInfo, DownloadRecord, FileEntry, Location, Mode, Page, UploadRecord


@runtime_checkable
class Lake(Protocol):
    via: str  # "core" (this process) or "server" (the Jupyter server's REST API)

    def instance_name(self, instance: str | None) -> str:
        """The name of ``instance``, or of the default instance when None."""

    def search(self, query: str, did_type: str, filters: str, limit: int, instance: str | None) -> Page[DIDInfo]:
        """A first page of DIDs matching ``scope:pattern`` and metadata filters."""

    def files(self, did: DID, limit: int, instance: str | None) -> Page[FileEntry]:
        """The first ``limit`` files of ``did``, with availability."""

    def locations(
        self, did: DID, mode: Mode, instance: str | None, schemes: Sequence[str] = (), rse: str | None = None
    ) -> list[Location]:
        """Per file of ``did``: where to read it in ``mode`` (streaming with ``schemes``, preferred first;
        only from the RSEs the expression ``rse`` names, when given)."""

    def start_download(self, did: DID, instance: str | None) -> DownloadRecord:
        """Queue the verified download of ``did`` into the cache; returns at once."""

    def download(self, download_id: str) -> DownloadRecord:
        """A download as it is now."""

    def downloads(self) -> list[DownloadRecord]:
        """Every download this lake connection remembers, oldest first."""

    def upload(
        self, paths: Sequence[str], dataset: DID, rse: str | None, metadata: dict[str, Any], instance: str | None
    ) -> UploadRecord:
        """Upload files (absolute paths) into ``dataset``, created when new, with ``metadata``; returns when done."""

    def replicate(
        self, did: DID, rse_expression: str, lifetime_days: float | None, instance: str | None
    ) -> dict[str, Any]:
        """A replication rule of the instance's account for ``did`` on ``rse_expression``."""

    def rules(self, instance: str | None) -> list[dict[str, Any]]:
        """The replication rules of the instance's account, newest first."""
