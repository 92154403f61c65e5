"""What a user asks of one Rucio instance: search, DIDs, their files, replicas, the catalog.

Plain Python over rucio-clients; knows nothing of Jupyter. Large listings are paged
from a short-lived server-side snapshot, so a 10,000-file dataset shows its first page
without sending the whole list each time.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from .config import MODES, InstanceConfig
from .connection import Connection
from .did import DID, check_name
from .errors import InvalidRequest, OdlakeError

DID_TYPES = ("container", "dataset", "file", "all", "collection")
STREAM_SCHEMES = ("root", "https", "davs", "http")  # in order of preference
# The metadata a user chooses samples by; shown with search results when present.
SHOWN_METADATA = (
    "channel", "sample_type", "physics_short", "dsid", "xsec_pb", "sum_of_weights", "lumi_fb",
    "energy_tev", "n_events", "period", "project", "datatype", "run_number", "stream_name",
)  # fmt: skip
# Bookkeeping columns of Rucio's DID table that say nothing to a user.
_INTERNAL_METADATA = {
    "scope", "name", "obsolete", "is_new", "purge_replicas", "transient", "hidden", "suppressed", "monotonic",
    "complete", "is_archive", "constituent", "access_cnt", "accessed_at", "closed_at", "deleted_at", "expired_at",
    "eol_at", "panda_id", "task_id", "lumiblocknr", "guid",
}  # fmt: skip
MAX_PAGE = 1000
SNAPSHOT_SECONDS = 120


@dataclass
class Page:
    items: list
    total: int
    next: str | None

    def as_dict(self) -> dict:
        return {"items": self.items, "total": self.total, "next": self.next}


class _Snapshots:
    """Full result lists kept a short while, so that pages of one listing are consistent and cheap."""

    def __init__(self):
        self._data: dict[str, tuple[float, list]] = {}
        self._lock = threading.Lock()

    def page(self, key: str, produce, limit: int, cursor: str | None, offset=None) -> Page:
        """A page from a cursor this server gave out, or from an offset (for views that jump, like a scrolled list)."""
        limit = _limit(limit)
        try:
            offset = int(offset or 0)
        except (TypeError, ValueError):
            raise InvalidRequest("offset must be a whole number.") from None
        if offset < 0:
            raise InvalidRequest("offset must not be negative.")
        if cursor:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
                offset, cursor_key = int(decoded["o"]), decoded["k"]
            except (ValueError, KeyError, TypeError):
                raise InvalidRequest("The paging cursor is not one this server gave out; start again without it.") from None
            if cursor_key != key or offset < 0:
                raise InvalidRequest("The paging cursor belongs to another listing; start again without it.")
        now = time.monotonic()
        with self._lock:
            self._data = {k: v for k, v in self._data.items() if now - v[0] < SNAPSHOT_SECONDS}
            entry = self._data.get(key) if offset else None
        if entry is None:
            items = list(produce())
            with self._lock:
                self._data[key] = (now, items)
        else:
            items = entry[1]
        end = offset + limit
        nxt = None
        if end < len(items):
            nxt = base64.urlsafe_b64encode(json.dumps({"k": key, "o": end}).encode()).decode()
        # copies: a page gets availability and metadata added, the snapshot must not keep them
        return Page([dict(i) for i in items[offset:end]], len(items), nxt)


def _limit(limit) -> int:
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise InvalidRequest(f"limit must be a whole number between 1 and {MAX_PAGE}.") from None
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}.")
    return limit


def _key(*parts) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _jsonable(value):
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _available(state) -> bool:
    """Is a replica in this Rucio state readable? (Rucio gives the name or its one-letter code.)"""
    return str(state).upper() in ("AVAILABLE", "A")


def _did_type(value) -> str:
    text = str(getattr(value, "name", value) or "").lower()
    return text.replace("didtype.", "")


class Instance:
    """One Rucio instance as odlake uses it."""

    def __init__(self, config: InstanceConfig, token_dir: Path):
        self.config = config
        self.connection = Connection(config, token_dir)
        self._snapshots = _Snapshots()
        self._rse_prefixes: dict[str, list[str]] = {}
        self._json_metadata: bool | None = None

    @property
    def name(self) -> str:
        return self.config.name

    # -- status ---------------------------------------------------------------------------
    def status(self) -> dict:
        """Public description plus whether Rucio answers and accepts the credentials."""
        out = self.config.public()
        try:
            who = self.connection.call(lambda c: c.whoami())
            out.update(reachable=True, authenticated=True, status="ok", account=who.get("account", out["account"]))
        except OdlakeError as e:
            out.update(
                reachable=e.code not in ("unreachable", "timeout"),
                authenticated=False,
                status=e.code,
                message=e.message,
            )
        return out

    # -- search ---------------------------------------------------------------------------
    def scopes(self) -> list[str]:
        return self.config.scopes or sorted(self.connection.call(lambda c: c.list_scopes(), "listing scopes"))

    def search(self, query: str = "*", did_type: str = "collection", filters: str = "", limit=100, cursor=None) -> Page:
        """DIDs matching ``scope:pattern`` (Rucio wildcards) and metadata filters like ``dsid=343981``."""
        from rucio.common.utils import parse_did_filter_from_string_fe

        did_type = (did_type or "collection").lower()
        if did_type not in DID_TYPES:
            raise InvalidRequest(f"type must be one of {', '.join(DID_TYPES)}.")
        query = (query or "*").strip() or "*"
        if ":" in query:
            scope, pattern = query.split(":", 1)
            DID.of(scope, "x")  # validates the scope
            scopes = [scope]
        else:
            pattern, scopes = query, None
        check_name(pattern or "*", "search pattern")
        try:
            rucio_filters, did_type = parse_did_filter_from_string_fe(filters or "", name=pattern or "*", type=did_type)
        except Exception as e:  # noqa: BLE001 - rucio raises several kinds for bad filters
            raise InvalidRequest(f"The metadata filter '{filters}' is not understood ({e}). Write key=value, key>=number, joined by commas.") from None

        def produce():
            found = []
            for scope in scopes or self.scopes():
                for d in self.connection.call(
                    lambda c, s=scope: list(c.list_dids(s, rucio_filters, did_type=did_type, long=True)), f"searching {scope}:{pattern}"
                ):
                    found.append(self._item(d, scope))
            if any(not d["type"] for d in found):
                # Rucio's JSON metadata search returns bare names and ignores the type: complete and filter
                self._complete(found)
                wanted = {"collection": ("container", "dataset"), "all": ("container", "dataset", "file")}.get(did_type, (did_type,))
                found = [d for d in found if d["type"] in wanted]
            return sorted(found, key=lambda d: (d["scope"], d["name"]))

        page = self._snapshots.page(_key("search", query, did_type, filters, scopes), produce, limit, cursor)
        self._add_metadata(page.items)
        return page

    def _item(self, d, scope=None) -> dict:
        scope = d.get("scope", scope)
        return {
            "scope": scope,
            "name": d["name"],
            "did": f"{scope}:{d['name']}",
            "type": _did_type(d.get("did_type") or d.get("type")),
            "bytes": d.get("bytes"),
            "length": d.get("length"),
        }

    def _metadata_of(self, items: list[dict]) -> dict[tuple, dict]:
        """The metadata of each item, by (scope, name), in one call."""
        dids = [{"scope": i["scope"], "name": i["name"]} for i in items]
        return {(m.get("scope"), m.get("name")): m for m in self._bulk_metadata(dids)}

    def _complete(self, items: list[dict], chunk: int = 500) -> None:
        for start in range(0, len(items), chunk):
            part = items[start : start + chunk]
            metas = self._metadata_of(part)
            for item in part:
                meta = metas.get((item["scope"], item["name"]), {})
                item["type"] = item["type"] or _did_type(meta.get("did_type"))
                item["bytes"] = item["bytes"] if item["bytes"] is not None else meta.get("bytes")
                item["length"] = item["length"] if item["length"] is not None else meta.get("length")

    def _add_metadata(self, items: list[dict]) -> None:
        if not items:
            return
        metas = self._metadata_of(items)
        for item in items:
            meta = metas.get((item["scope"], item["name"]), {})
            item["metadata"] = {k: _jsonable(meta[k]) for k in SHOWN_METADATA if meta.get(k) is not None}

    def _bulk_metadata(self, dids: list[dict]) -> list[dict]:
        # Rucio switches its JSON metadata off on some databases (SQLite): fall back to DID columns.
        if self._json_metadata is not False:
            try:
                found = self.connection.call(lambda c: list(c.get_metadata_bulk(dids, plugin="ALL")))
                self._json_metadata = True
                return found
            except OdlakeError as e:
                if e.code in ("unreachable", "timeout", "authentication_failed") and self._json_metadata:
                    raise
                self._json_metadata = False
        return self.connection.call(lambda c: list(c.get_metadata_bulk(dids, plugin="DID_COLUMN")))

    # -- one DID ----------------------------------------------------------------------------
    def did(self, did: DID) -> dict:
        info = self.connection.call(lambda c: c.get_did(did.scope, did.name, dynamic_depth="FILE"), f"for {did}")
        meta = self._metadata(did)
        return {
            "scope": did.scope,
            "name": did.name,
            "did": str(did),
            "type": _did_type(info.get("type")),
            "bytes": info.get("bytes"),
            "length": info.get("length") if _did_type(info.get("type")) != "file" else 1,
            "adler32": info.get("adler32"),
            "metadata": meta,
        }

    def _metadata(self, did: DID) -> dict:
        try:
            [meta] = self._bulk_metadata([{"scope": did.scope, "name": did.name}])
        except ValueError:
            meta = {}
        return {k: _jsonable(v) for k, v in meta.items() if v is not None and k not in _INTERNAL_METADATA}

    # -- files --------------------------------------------------------------------------------
    def file_list(self, did: DID) -> list[dict]:
        """Every file of a DID (itself, for a file), in name order."""
        files = self.connection.call(lambda c: list(c.list_files(did.scope, did.name)), f"listing the files of {did}")
        return sorted(
            ({"scope": f["scope"], "name": f["name"], "bytes": f.get("bytes"), "adler32": f.get("adler32")} for f in files),
            key=lambda f: (f["scope"], f["name"]),
        )

    def files(self, did: DID, limit=100, cursor=None, availability: bool = True, offset=None) -> Page:
        """A page of the files of ``did``; with ``availability``, which RSEs hold each (one list_replicas call)."""
        page = self._snapshots.page(_key("files", str(did)), lambda: self.file_list(did), limit, cursor, offset)
        # availability only for what is shown: list_replicas costs ~1-5 ms per file
        if page.items and availability:
            replicas = {(r["scope"], r["name"]): r for r in self._replicas(page.items, all_states=True)}
            for f in page.items:
                states = replicas.get((f["scope"], f["name"]), {}).get("states", {})
                f["rses"] = sorted(states)
                f["available"] = any(_available(s) for s in states.values())
        return page

    def _replicas(self, files: list[dict], all_states: bool = False) -> list[dict]:
        dids = [{"scope": f["scope"], "name": f["name"]} for f in files]
        return self.connection.call(
            lambda c: list(c.list_replicas(dids, all_states=all_states, resolve_archives=False)), "listing replicas"
        )

    # -- replicas and locations -----------------------------------------------------------
    def locations(self, did: DID, mode: str | None, cache) -> list[dict]:
        """Per file of ``did``: where to read it in ``mode`` and every alternative."""
        mode = mode or self.config.default_mode
        if mode not in MODES:
            raise InvalidRequest(f"mode must be one of {', '.join(MODES)}.")
        files = self.file_list(did)
        if not files:
            return []
        if mode == "download" and cache and all(cache.has(DID(f["scope"], f["name"]), f["bytes"]) for f in files):
            # everything is in the cache already: no need to ask where the replicas are
            return [self._locate(f, {}, mode, cache) for f in files]
        by_name = {(r["scope"], r["name"]): r for r in self._replicas(files, all_states=True)}
        return [self._locate(f, by_name.get((f["scope"], f["name"]), {}), mode, cache) for f in files]

    def _locate(self, f: dict, replica: dict, mode: str, cache) -> dict:
        states = replica.get("states") or {}
        alternatives = []
        for pfn, info in (replica.get("pfns") or {}).items():
            rse = info.get("rse")
            available = _available(states.get(rse, "AVAILABLE"))
            scheme = urlparse(pfn).scheme
            local = self._mounted_path(rse, pfn)
            if local:
                alternatives.append({"kind": "mounted", "location": local, "rse": rse, "scheme": scheme, "available": available})
            if scheme in STREAM_SCHEMES:
                alternatives.append({"kind": "stream", "location": pfn, "rse": rse, "scheme": scheme, "available": available,
                                     "priority": info.get("priority", 0)})  # fmt: skip
        alternatives.sort(key=lambda a: (not a["available"], a["kind"] != "mounted",
                                         STREAM_SCHEMES.index(a["scheme"]) if a["scheme"] in STREAM_SCHEMES else 9,
                                         a.get("priority", 0)))  # fmt: skip
        cached = cache.path_for(DID(f["scope"], f["name"])) if cache else None
        download = {"kind": "download", "location": str(cached) if cached else None, "cached": bool(cached and cached.exists())}
        mounted = [a for a in alternatives if a["kind"] == "mounted" and a["available"]]
        stream = [a for a in alternatives if a["kind"] == "stream" and a["available"]]
        chosen = None
        if mode == "mounted":
            chosen = mounted[0] if mounted else None
        elif mode == "stream":
            chosen = stream[0] if stream else None
        elif mode == "download":
            chosen = download if stream or mounted or download["cached"] else None
        else:  # auto: read in place, else stream, else download
            chosen = (mounted or stream or [None])[0]
        result = {
            "scope": f["scope"], "name": f["name"], "did": f"{f['scope']}:{f['name']}",
            "bytes": f["bytes"], "adler32": f["adler32"], "mode": mode,
            "kind": chosen["kind"] if chosen else None,
            "location": chosen["location"] if chosen else None,
            "rse": chosen.get("rse") if chosen else None,
            "cached": download["cached"],
            "cache_path": download["location"],
            "alternatives": alternatives,
        }  # fmt: skip
        if chosen is None:
            result["reason"] = f"no available replica can be read in {mode} mode"
        return result

    def _mounted_path(self, rse: str, pfn: str) -> str | None:
        """The local path of ``pfn`` when its RSE is mounted here and the file is there."""
        prefix = self.config.mounts.get(rse)
        if prefix is None:
            return None
        path = unquote(urlparse(pfn).path)
        for proto_prefix in self._prefixes(rse):
            if path.startswith(proto_prefix):
                candidate = os.path.join(prefix, path[len(proto_prefix) :].lstrip("/"))
                if os.path.isfile(candidate):
                    return candidate
        return None

    def _prefixes(self, rse: str) -> list[str]:
        if rse not in self._rse_prefixes:
            protocols = self.connection.call(lambda c: c.get_protocols(rse), f"reading the protocols of {rse}")
            self._rse_prefixes[rse] = sorted({p.get("prefix") or "/" for p in protocols}, key=len, reverse=True)
        return self._rse_prefixes[rse]

    # -- the Open Data view ---------------------------------------------------------------
    def catalog(self) -> dict:
        """Analyses (channels) -> containers -> datasets, with a summary of their metadata."""
        analyses: dict[str, list] = {}
        for scope in self.scopes():
            containers = self.connection.call(
                lambda c, s=scope: list(c.list_dids(s, {"name": "*"}, did_type="container")), f"listing containers of {scope}"
            )
            items = [self._item({"name": n, "did_type": "container"}, scope) for n in sorted(containers)]
            self._add_metadata(items)
            for item in items:
                datasets = [
                    self._item(d) for d in self.connection.call(lambda c, i=item: list(c.list_content(i["scope"], i["name"])))
                ]
                self._add_metadata(datasets)
                for d in datasets:
                    info = self.connection.call(lambda c, d=d: c.get_did(d["scope"], d["name"], dynamic_depth="FILE"))
                    d["bytes"], d["length"] = info.get("bytes"), info.get("length")
                item["datasets"] = datasets
                item["bytes"] = sum(d["bytes"] or 0 for d in datasets)
                item["length"] = sum(d["length"] or 0 for d in datasets)
                channel = item["metadata"].get("channel") or item["metadata"].get("stream_name") or "Other"
                analyses.setdefault(channel, []).append(item)
        return {
            "instance": self.name,
            "analyses": [{"name": k, "containers": v} for k, v in sorted(analyses.items())],
        }
