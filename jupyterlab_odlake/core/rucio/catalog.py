"""The Open Data view of a lake: analyses (channels) -> containers -> datasets, with their metadata."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..records import DIDInfo
from .connection import Connection
from .metadata import Metadata
from .search import info, with_metadata


@dataclass(frozen=True)
class CatalogContainer:
    container: DIDInfo
    datasets: list[DIDInfo]

    def to_json(self) -> dict[str, Any]:
        return {**self.container.to_json(), "datasets": [d.to_json() for d in self.datasets]}


@dataclass(frozen=True)
class Catalog:
    instance: str
    analyses: dict[str, list[CatalogContainer]]

    def to_json(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "analyses": [{"name": k, "containers": [c.to_json() for c in v]} for k, v in self.analyses.items()],
        }


def catalog(connection: Connection, metadata: Metadata, scopes: list[str]) -> dict[str, list[CatalogContainer]]:
    """Containers of ``scopes`` by analysis (their ``channel``), each with its datasets, sizes and metadata."""
    analyses: dict[str, list[CatalogContainer]] = {}
    for scope in scopes:
        names: list[str] = connection.call(
            lambda c, s=scope: list(c.list_dids(s, {"name": "*"}, did_type="container")),  # type: ignore[misc]
            f"listing containers of {scope}",
        )
        containers = with_metadata([info({"name": n, "did_type": "container"}, scope) for n in sorted(names)], metadata)
        for container in containers:
            content: list[dict[str, Any]] = connection.call(
                lambda c, i=container: list(c.list_content(i.scope, i.name))  # type: ignore[misc]
            )
            datasets = []
            for d in with_metadata([info(d) for d in content], metadata):
                did: dict[str, Any] = connection.call(
                    lambda c, d=d: c.get_did(d.scope, d.name, dynamic_depth="FILE")  # type: ignore[misc]
                )
                datasets.append(replace(d, bytes=did.get("bytes"), length=did.get("length")))
            container = replace(
                container, bytes=sum(d.bytes or 0 for d in datasets), length=sum(d.length or 0 for d in datasets)
            )
            channel = container.metadata.get("channel") or container.metadata.get("stream_name") or "Other"
            analyses.setdefault(str(channel), []).append(CatalogContainer(container, datasets))
    return dict(sorted(analyses.items()))
