"""DID metadata: what a user chooses samples by, read in bulk from Rucio's metadata plugins."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ..did import DID
from .connection import RUCIO_MAX_DIDS, Connection, from_lake, in_batches

# The metadata a user chooses samples by, most useful first; shown with search results when present.
SHOWN_METADATA = (
    "physics_short",
    "sample_type",
    "dsid",
    "xsec_pb",
    "lumi_fb",
    "channel",
    "n_events",
    "sum_of_weights",
    "energy_tev",
    "period",
    "project",
    "datatype",
    "run_number",
    "stream_name",
)
# Bookkeeping columns of Rucio's DID table that say nothing to a user.
INTERNAL_METADATA = {
    "scope",
    "name",
    "obsolete",
    "is_new",
    "purge_replicas",
    "transient",
    "hidden",
    "suppressed",
    "monotonic",
    "complete",
    "is_archive",
    "constituent",
    "access_cnt",
    "accessed_at",
    "closed_at",
    "deleted_at",
    "expired_at",
    "eol_at",
    "panda_id",
    "task_id",
    "lumiblocknr",
    "guid",
}


def jsonable(value: Any) -> Any:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def shown(meta: dict[str, Any]) -> dict[str, Any]:
    """The metadata a listing shows, in ``SHOWN_METADATA`` order."""
    return {k: jsonable(meta[k]) for k in SHOWN_METADATA if meta.get(k) is not None}


def described(meta: dict[str, Any]) -> dict[str, Any]:
    """All the metadata a user may want of one DID, without Rucio's bookkeeping."""
    return {k: jsonable(v) for k, v in meta.items() if v is not None and k not in INTERNAL_METADATA}


class Metadata:
    """Bulk metadata of one instance: its JSON plugin's keys where Rucio has them, else the DID columns."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self._json: bool | None = None  # does this Rucio keep JSON metadata? (not on SQLite)

    def bulk(self, dids: list[DID]) -> dict[DID, dict[str, Any]]:
        """The metadata of each DID, in as few calls as Rucio accepts."""
        if len(dids) > RUCIO_MAX_DIDS:
            merged: dict[DID, dict[str, Any]] = {}
            for batch in in_batches(dids):
                merged.update(self.bulk(list(batch)))
            return merged
        if not dids:
            return {}
        wanted = [{"scope": d.scope, "name": d.name} for d in dids]
        if self._json is not False:
            try:
                found = self.connection.call(lambda c: list(c.get_metadata_bulk(wanted, plugin="ALL")), raw=True)
                self._json = True
                return _by_did(found)
            except Exception as e:
                if not from_lake(e):
                    raise  # a bug: to the log as it is
                if self._json or not _plugin_failed(e):
                    raise self.connection.translate(e, "reading metadata") from e
        # Rucio answers a bare 500 when its database has no JSON metadata; an outage fails here too,
        # so JSON is switched off only when the same server answers for the DID columns
        found = self.connection.call(
            lambda c: list(c.get_metadata_bulk(wanted, plugin="DID_COLUMN")), "reading metadata"
        )
        self._json = False
        return _by_did(found)


def _by_did(found: list[dict[str, Any]]) -> dict[DID, dict[str, Any]]:
    return {DID(str(m.get("scope")), str(m.get("name"))): m for m in found}


def _plugin_failed(error: Exception) -> bool:
    """Did Rucio's server answer with an error of its own (not the network's, not the credential's)?"""
    from rucio.common import exception as rx

    unreached = (rx.ServerConnectionException, rx.CannotAuthenticate, rx.NoAuthInformation, rx.AccessDenied)
    return isinstance(error, rx.RucioException) and not isinstance(error, unreached)
