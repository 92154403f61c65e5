"""The Rucio adapter behind ``LakeService``: one Rucio instance — its status, search, a DID, its files,
where to read them, rules, the catalog.

Plain Python over rucio-clients; knows nothing of Jupyter, and only the service calls it. The
work is in the modules beside it (search, paging, locations, catalog, metadata, rules); this
class holds what they share for one instance: its connection, its metadata reader, its cursors
and the RSE settings it has read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from ..config import InstanceConfig
from ..credentials import StorageAccess
from ..did import DID
from ..errors import InvalidRequest, OdlakeError, quoted
from ..paths import inside
from ..records import MODES, Alternative, DIDInfo, FileEntry, Location, Mode, Page, Resolved, Rule
from . import catalog as _catalog
from . import compose as _compose
from . import rules as _rules
from . import search as _search
from .connection import RUCIO_MAX_DIDS, Connection, in_batches
from .file_index import FileIndex
from .locations import LISTED_SCHEMES, STREAM_SCHEMES, alternatives, choose, is_available
from .metadata import Metadata, described
from .paging import Cursors, listing_key, stream_page
from .probe import endpoint, silent

if TYPE_CHECKING:
    from ..transfers.cache import Cache


RSE_SETTINGS_SECONDS = 60.0  # how long an RSE's settings (and its availability) are taken as read


class Instance:
    """One Rucio instance as odlake uses it."""

    def __init__(self, config: InstanceConfig, token_dir: Path):
        self.config = config
        self.connection = Connection(config, token_dir)
        self.metadata = Metadata(self.connection)
        self._cursors = Cursors()
        self.file_index = FileIndex.beside(token_dir, (config.rucio_host, config.vo or ""))
        self._rse_infos: dict[str, tuple[float, dict[str, Any]]] = {}
        self._rse_attributes: dict[str, tuple[float, dict[str, Any]]] = {}
        self.storage = StorageAccess(config, self.connection.token_dir, self.connection.sign_in)
        self.server_schemes: tuple[str, ...] = STREAM_SCHEMES  # the server's order, for an instance that sets none

    @property
    def schemes(self) -> tuple[str, ...]:
        """The stream schemes, preferred first: the instance's own, else the server's."""
        return tuple(self.config.schemes) or self.server_schemes

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def default_mode(self) -> Mode:
        """The mode of an attach that names none: the instance's configured one."""
        return self.config.default_mode  # type: ignore[return-value]

    def status(self) -> dict[str, Any]:
        """Public description plus whether Rucio answers and accepts the credentials."""
        out = self.config.public()
        out["schemes"] = list(self.schemes)
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
        if self.connection.sign_in is not None:
            signed_in = self.connection.sign_in.status()
            out["signed_in"] = signed_in.to_json() if signed_in else None
        return out

    def scopes(self) -> list[str]:
        return self.config.scopes or sorted(self.connection.call(lambda c: c.list_scopes(), "listing scopes"))

    def search(
        self,
        query: str = "*",
        did_type: str = "collection",
        filters: str = "",
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page[DIDInfo]:
        """DIDs matching ``scope:pattern`` (Rucio wildcards) and metadata filters like ``dsid=343981``."""
        return _search.search(
            self.connection, self.metadata, self._cursors, self.scopes, query, did_type, filters, limit, cursor
        )

    def did(self, did: DID) -> DIDInfo:
        """Type, size, file count, checksum and all metadata of one DID."""
        found = self.connection.call(lambda c: c.get_did(did.scope, did.name, dynamic_depth="FILE"), f"for {did}")
        kind = _search.did_type(found.get("type"))
        return DIDInfo(
            scope=did.scope,
            name=did.name,
            type=kind,
            bytes=found.get("bytes"),
            length=1 if kind == "file" else found.get("length"),
            adler32=found.get("adler32"),
            metadata=described(self.metadata.bulk([did]).get(did, {})),
        )

    # -- files ------------------------------------------------------------------------------
    def files(
        self,
        did: DID,
        limit: int = 100,
        cursor: str | None = None,
        availability: bool = True,
        offset: int = 0,
        reading: Mode | None = None,
        schemes: Sequence[str] = (),
    ) -> Page[FileEntry]:
        """A page of the files of ``did`` in Rucio's order, read from the start of its stream up to the page's end,
        or from the index of a closed dataset (``file_index``), by row.

        Rucio's ``list_files`` has no order of its own (nor an offset); a listing keeps the order
        its stream gives. With ``availability``: which RSEs hold each file, for this page only.
        With ``reading`` (a mode): how each file of the page would be read in it, with ``schemes``.
        """

        key = listing_key("files", str(did))
        page = self.file_index.page(
            self.connection, did, key, limit, cursor, self._cursors, offset, lambda: self.files_of(did)
        )
        length = page.total if page is not None else None  # from the dataset's record, read for this page
        if page is None:  # open, not a dataset, or a first look: read from the stream
            page = stream_page(
                key, [lambda _wanted: self.files_of(did)], lambda f: f.did, limit, cursor, self._cursors, offset
            )
        if not (page.items and (availability or reading)):
            return page
        complete = self.complete_copies(did, length)
        replicas: dict[tuple[str, str], dict[str, Any]] | None = None
        if complete is not None:  # every copy whole: each file is on each of them, no call per file
            items = [replace(f, rses=complete, available=True) for f in page.items]
        else:  # availability only for what is shown: list_replicas costs ~0.4-5 ms per file
            replicas = self._replicas(page.items)
            items = []
            for f in page.items:
                states = replicas.get((f.scope, f.name), {}).get("states", {})
                items.append(replace(f, rses=sorted(states), available=any(is_available(s) for s in states.values())))
        if reading:  # what Rucio says of this page's files: a replica outside the counted copies counts too
            replicas = replicas if replicas is not None else self._replicas(page.items)
            located = self._locate(
                page.items, reading, None, tuple(schemes) or self.schemes, known=replicas, probe=False
            )
            items = [replace(f, read=how_read(where)) for f, where in zip(items, located, strict=True)]
        if not availability:
            items = [replace(f, rses=None, available=None) for f in items]
        return Page(items, page.total, page.next)

    def files_of(self, did: DID) -> Iterator[FileEntry]:
        """The files of ``did`` as Rucio streams them (in its order), read as far as the caller goes."""
        return (entry(f) for f in self._listed_rows(did))

    def _listed_rows(self, did: DID) -> Iterator[dict[str, Any]]:
        """Rucio's rows of ``did``'s files, as it streams them."""
        return self.connection.stream(lambda c: c.list_files(did.scope, did.name), f"listing the files of {did}")

    def complete_copies(self, did: DID, length: int | None = None) -> list[str] | None:
        """The RSEs of the dataset ``did``'s copies, when Rucio knows of some and every one is complete.

        From Rucio's count of each dataset copy (``list_dataset_replicas``, kept by its abacus
        daemon) against the dataset's length now (``length``, when read already). None, for a
        question to ask file by file: a partial copy somewhere, no copy counted (not counted
        yet, a container, a file).
        """
        copies: list[dict[str, Any]] = self.connection.call(
            lambda c: list(c.list_dataset_replicas(did.scope, did.name)), f"listing the copies of {did}"
        )
        if not copies:
            return None
        length = self._length(did) if length is None else length
        whole = [
            c["rse"] for c in copies if length and c.get("available_length") == length and is_available(c["state"])
        ]
        return sorted(whole) if len(whole) == len(copies) else None

    def _whole_copies(self, did: DID) -> list[dict[str, Any]] | None:
        """The settings of the RSEs holding ``did``, when PFNs can be composed for its files rather than asked.

        That is when every RSE holding any of the dataset's files holds all of them, available
        (``list_dataset_replicas`` deep: counted from the replicas themselves, against the
        dataset's length now) and is deterministic. None otherwise (and for a container or a file).
        """
        copies: list[dict[str, Any]] = self.connection.call(
            lambda c: list(c.list_dataset_replicas(did.scope, did.name, deep=True)), f"listing the copies of {did}"
        )
        if not copies:
            return None
        length = self._length(did)
        whole = all(c.get("available_length") == c.get("length") == length and is_available(c["state"]) for c in copies)
        infos = [self._rse_info(c["rse"]) for c in copies] if whole and length else []
        return infos if infos and all(i.get("deterministic") for i in infos) else None

    def _length(self, did: DID) -> int | None:
        """How many files ``did`` holds now: Rucio's record of a closed dataset, else counted (~0.3 ms per 1,000)."""
        record = self.connection.call(lambda c: c.get_did(did.scope, did.name), f"reading {did}")
        if not record.get("open") and record.get("length") is not None:
            return int(record["length"])
        counted = self.connection.call(
            lambda c: c.get_did(did.scope, did.name, dynamic_depth="FILE"), f"counting the files of {did}"
        )
        return None if counted.get("length") is None else int(counted["length"])

    def _template(self, copies: list[dict[str, Any]], first: FileEntry) -> _compose.Template | None:
        """What ``list_replicas`` says of any file of a dataset whose every copy is whole on the RSEs ``copies``:
        Rucio's answer for its ``first`` file, each PFN made for any other file by the protocol that made it
        (``compose``). None when a PFN cannot be made here as Rucio made it: then every file is asked."""
        answer = self._replicas([first]).get((first.scope, first.name))
        return _compose.template(copies, first, answer) if answer else None

    def _rse_info(self, rse: str) -> dict[str, Any]:
        """An RSE's settings as rsemanager takes them (protocols, whether deterministic, whether readable),
        read again after ``RSE_SETTINGS_SECONDS``: an administrator may mark it unavailable at any time."""
        read_at, info = self._rse_infos.get(rse, (0.0, {}))
        if not info or time.monotonic() - read_at > RSE_SETTINGS_SECONDS:
            info = self.connection.call(lambda c: c.get_rse(rse), f"reading the settings of {rse}")
            self._rse_infos[rse] = (time.monotonic(), info)
        return info

    def _closed_for_reading(self, rses: set[str]) -> set[str]:
        """Those of ``rses`` Rucio marks unavailable for reading (a storage down for maintenance):
        Rucio still lists their replicas, and would hand out URLs that fail."""
        return {rse for rse in rses if self._rse_info(rse).get("availability_read") is False}

    def takes_tokens(self, rse: str) -> bool:
        """Does ``rse`` read with a WLCG token (Rucio's RSE attribute ``oidc_support``)? Read again after
        ``RSE_SETTINGS_SECONDS``, as the settings are."""
        read_at, attributes = self._rse_attributes.get(rse, (0.0, {}))
        if rse not in self._rse_attributes or time.monotonic() - read_at > RSE_SETTINGS_SECONDS:
            attributes = self.connection.call(lambda c: c.list_rse_attributes(rse), f"reading the attributes of {rse}")
            self._rse_attributes[rse] = (time.monotonic(), attributes)
        return str(attributes.get("oidc_support", "")).lower() in ("true", "1")

    def _needing_a_token(self, rses: set[str]) -> set[str]:
        """Those of ``rses`` that read only with a token, when this user has none: their URLs would fail."""
        if not rses or self.storage.has_token():
            return set()
        return {rse for rse in rses if self.takes_tokens(rse)}

    def _replicas(self, files: list[FileEntry]) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for batch in in_batches([{"scope": f.scope, "name": f.name} for f in files]):
            replicas = self.connection.call(
                lambda c, b=batch: list(  # type: ignore[misc]
                    c.list_replicas(b, schemes=list(LISTED_SCHEMES), all_states=True, resolve_archives=False)
                ),
                "listing replicas",
            )
            found.update(((r["scope"], r["name"]), r) for r in replicas)
        return found

    # -- where to read ----------------------------------------------------------------------
    def locations(
        self, did: DID, mode: Mode | None, cache: Cache | None, schemes: Sequence[str] = (), rse: str | None = None
    ) -> list[Location]:
        """Per file of ``did``, in name order: where to read it in ``mode`` and every alternative.

        ``schemes``: the stream schemes to read with, preferred first (default: the instance's, else
        the server's order). ``rse``: an RSE expression; only replicas on the RSEs it names are read.
        """
        found = [f for batch in self.location_batches(did, mode, cache, schemes=schemes, rse=rse) for f in batch]
        return sorted(found, key=lambda f: (f.scope, f.name))

    def location_batches(
        self,
        did: DID,
        mode: Mode | None,
        cache: Cache | None,
        size: int = RUCIO_MAX_DIDS,
        schemes: Sequence[str] = (),
        rse: str | None = None,
    ) -> Iterator[list[Location]]:
        """``locations`` as Rucio streams the files, ``size`` at a time, so that work can start on the first."""
        mode, preferred, only = self._reading(mode, schemes, rse)
        for rows, template in self._listed_batches(did, size):
            files = [entry(r) for r in rows]
            yield self._locate(files, mode, cache if mode == "download" else None, preferred, only, template)

    def resolve(
        self, did: DID, mode: Mode | None, schemes: Sequence[str] = (), rse: str | None = None
    ) -> list[Resolved]:
        """What an attach answers of each file of ``did``, in name order, in any mode but download (whose files
        are located with the cache, by ``locations``): where it is read, or why it cannot be.

        The same as ``locations``, without the alternatives: where every copy of a dataset is whole and each
        file's PFNs are concatenations (``compose``), every file is read as the first of each 1,000 is
        (``_alike``), and nothing is decided per file but its URL.
        """
        mode, preferred, only = self._reading(mode, schemes, rse)
        if mode == "download":
            raise InvalidRequest("A download is located with the cache: ask for its locations.")
        found: list[Resolved] = []
        for rows, template in self._listed_batches(did, RUCIO_MAX_DIDS):
            alike = self._alike(rows, template, mode, preferred, only) if template else None
            if alike is None:
                files = [entry(r) for r in rows]
                alike = [Resolved.of(f) for f in self._locate(files, mode, None, preferred, only, template)]
            found += alike
        found.sort(key=attrgetter("scope", "name"))
        return found

    def _reading(
        self, mode: Mode | None, schemes: Sequence[str], rse: str | None
    ) -> tuple[Mode, tuple[str, ...], Only | None]:
        """The mode (checked), the stream schemes and the RSEs to read from, for a read of ``mode``."""
        mode = mode or self.default_mode
        if mode not in MODES:
            raise InvalidRequest(f"mode must be one of {', '.join(MODES)}.")
        if rse and mode == "download":
            raise InvalidRequest(
                "An RSE is chosen for reading in place or streaming; a download copies from any replica and "
                "checks it. Leave the RSE out in download mode."
            )
        return mode, tuple(schemes) or self.schemes, Only(rse, self.rses_of(rse)) if rse else None

    def _listed_batches(self, did: DID, size: int) -> Iterator[tuple[list[dict[str, Any]], _compose.Template | None]]:
        """Rucio's rows of ``did``'s files, ``size`` at a time as it streams them, with the template of its whole
        copies (asked once, when it has files at all), or None."""
        template = None
        for i, rows in enumerate(in_batches(self._listed_rows(did), size)):
            if i == 0:
                copies = self._whole_copies(did)
                template = self._template(copies, entry(rows[0])) if copies else None
            yield rows, template

    def _alike(
        self,
        rows: list[dict[str, Any]],
        template: _compose.Template,
        mode: Mode,
        schemes: Sequence[str],
        only: Only | None,
    ) -> list[Resolved] | None:
        """``rows`` resolved as the first of them is, each with its own URL, where every file of the dataset has
        the same replicas (``template``) and so the same choice: Rucio's order is the same for every file, and
        no copy is on a storage mounted here (whether a file is there is a question per file) unless the mode
        streams, which never reads in place. None otherwise: each row is located on its own.
        """
        first = entry(rows[0])
        mounted = set(template.states) & set(self.config.mounts)
        if not template.fixed_choice or (mounted and mode != "stream"):
            return None
        known = {(first.scope, first.name): template.replica(first)}
        [where] = self._locate([first], mode, None, schemes, only, known=known)
        if where.kind == "stream":
            door = next(d for d in template.doors if d.pfn(first.scope, first.name) == where.location)
            if door.head is not None and door.path is not None:  # one concatenation a file
                head, path = door.head, door.path
                urls = [head + path(r["scope"], r["name"]) for r in rows]
            else:
                urls = door.pfns([entry(r) for r in rows])
            return [
                Resolved(r["scope"], r["name"], r.get("bytes"), r.get("adler32"), "stream", url, where.rse)
                for r, url in zip(rows, urls, strict=True)
            ]
        if where.kind is None and mode != "auto" and not mounted:  # auto reads the cache, file by file
            return [
                Resolved(r["scope"], r["name"], r.get("bytes"), r.get("adler32"), None, None, None, where.reason)
                for r in rows
            ]
        return None

    def _locate(
        self,
        files: list[FileEntry],
        mode: Mode,
        cache: Cache | None,
        schemes: Sequence[str],
        only: Only | None = None,
        template: _compose.Template | None = None,
        known: dict[tuple[str, str], dict[str, Any]] | None = None,
        probe: bool = True,
    ) -> list[Location]:
        """Where to read each of ``files``; ``cache`` given in download mode only (no look at it per file otherwise).

        ``probe``: whether the storages to stream from are asked if they answer (an attach does, so that
        it reads another replica; a page of a file list, which only shows the choice, does not).

        ``only``: the RSEs to read from; replicas elsewhere are not alternatives. The replicas are
        ``known`` already, or made from the ``template`` of a dataset whose copies are whole, or asked of Rucio.
        """
        cached = {f.did: cache.has(DID(f.scope, f.name), f.bytes, f.adler32) for f in files} if cache else {}
        if known is not None:
            replicas = known
        elif cached and all(cached.values()):  # everything in the cache already: no need to ask where replicas are
            replicas = {}
        elif template is not None:
            replicas, odd = template.replicas(files)
            if odd:  # a file whose PFNs Rucio may order otherwise than the first file's: asked
                replicas.update(self._replicas(odd))
        else:
            replicas = self._replicas(files)
        found = {
            (f.scope, f.name): alternatives(replicas.get((f.scope, f.name), {}), self._mounted_path, schemes)
            for f in files
        }
        listed = {a.rse for alts in found.values() for a in alts}
        closed = self._closed_for_reading(listed)
        untokened = self._needing_a_token(listed - closed)
        if closed or untokened:  # (a copy mounted here is read without a token)

            def shut(a: Alternative) -> bool:
                return a.rse in closed or (a.rse in untokened and a.kind == "stream")

            found = {k: [replace(a, available=False) if shut(a) else a for a in v] for k, v in found.items()}
        elsewhere: dict[tuple[str, str], list[str]] = {}
        if only is not None:
            for key, alts in found.items():
                elsewhere[key] = sorted({a.rse for a in alts if a.rse not in only.rses})
                found[key] = [a for a in alts if a.rse in only.rses]
        dead: set[str] = set()
        if probe and mode in ("stream", "auto"):  # a storage that is down: read another replica, or say which is down
            dead = silent(a.location for alts in found.values() for a in alts if a.kind == "stream" and a.available)
        out = []
        for f in files:
            alts = found[(f.scope, f.name)]
            silent_here = [a for a in alts if endpoint_of(a) in dead] if dead else []
            if silent_here:
                alts = [replace(a, available=False) if a in silent_here else a for a in alts]
            path = str(cache.path_for(DID(f.scope, f.name))) if cache else None
            location = choose(f, alts, mode, path, cached.get(f.did) if cache else None)
            if location.kind is None and silent_here:
                named = sorted({f"{a.rse} ({endpoint(a.location)})" for a in silent_here})
                tried = sorted({a.rse for a in alts if a.kind == "stream"})
                location = replace(
                    location,
                    reason=f"the storage of {', '.join(named)} does not answer, and no other replica "
                    f"can be read in {mode} mode (tried {', '.join(tried)})",
                )
            elif (
                location.kind is None
                and mode in ("stream", "auto")
                and untokened & {a.rse for a in alts if a.kind == "stream"}
            ):
                location = replace(
                    location,
                    reason=f"{', '.join(sorted(untokened & {a.rse for a in alts}))} reads only with a storage token, "
                    "and you have none here: sign in (odlake login), or set BEARER_TOKEN_FILE",
                )
            elif location.kind is None and closed & {a.rse for a in alts}:
                location = replace(
                    location,
                    reason=f"Rucio marks {', '.join(sorted(closed & {a.rse for a in alts}))} unavailable for reading, "
                    f"and no other replica can be read in {mode} mode",
                )
            elif location.kind is None and only is not None:
                held = replicas.get((f.scope, f.name), {}).get("states", {})
                on = sorted(set(held) & only.rses)
                location = replace(
                    location,
                    reason=f"its replica on {', '.join(on)} cannot be read in {mode} mode"
                    if on
                    else f"it has no replica on {only.expression}"
                    + (
                        f" (it is on {', '.join(elsewhere[(f.scope, f.name)])})"
                        if elsewhere.get((f.scope, f.name))
                        else ""
                    ),
                )
            out.append(location)
        return out

    # -- rules -------------------------------------------------------------------------------
    def replicate(self, did: DID, rse_expression: str, lifetime_days: float | None = None) -> Rule:
        """A replication rule of this account: one copy of ``did`` on the RSEs of ``rse_expression``."""
        return _rules.replicate(self.connection, did, rse_expression, lifetime_days)

    def rules(self) -> list[Rule]:
        return _rules.rules(self.connection)

    def delete_rule(self, rule_id: str) -> None:
        _rules.delete(self.connection, rule_id)

    def rses_of(self, expression: str) -> frozenset[str]:
        """The RSEs an RSE expression names, in Rucio's own syntax (``ODLAKE_HTTP``, ``type=DISK``, ``A|B``)."""
        listed = self.connection.call(
            lambda c: [r["rse"] for r in c.list_rses(expression)], f"finding the RSEs '{quoted(expression, 80)}'"
        )
        return frozenset(listed)

    def _mounted_path(self, rse: str, pfn: str) -> str | None:
        """The local path of ``pfn`` when its RSE is mounted here and the file is there."""
        prefix = self.config.mounts.get(rse)
        if prefix is None:
            return None
        path = unquote(urlparse(pfn).path)
        for proto_prefix in self._prefixes(rse):
            if path.startswith(proto_prefix):
                candidate = os.path.normpath(os.path.join(prefix, path[len(proto_prefix) :].lstrip("/")))
                # a name with '..' or a symlink must not lead out of the mount: nothing outside is even looked at
                if inside(prefix, candidate) and os.path.isfile(candidate):
                    return candidate
        return None

    def _prefixes(self, rse: str) -> list[str]:
        protocols = self._rse_info(rse).get("protocols") or []
        return sorted({p.get("prefix") or "/" for p in protocols}, key=len, reverse=True)

    def catalog(self) -> _catalog.Catalog:
        """Analyses (channels) -> containers -> datasets, with a summary of their metadata."""
        return _catalog.Catalog(self.name, _catalog.catalog(self.connection, self.metadata, self.scopes()))


def entry(row: dict[str, Any]) -> FileEntry:
    """A file as ``list_files`` lists it."""
    return FileEntry(row["scope"], row["name"], row.get("bytes"), row.get("adler32"))


def how_read(location: Location) -> dict[str, str | None]:
    """What a file list shows of a location: its kind, and the scheme and RSE it is read with."""
    chosen = next((a for a in location.alternatives if a.location == location.location), None)
    return {
        "kind": location.kind,
        "scheme": chosen.scheme if chosen else None,
        "rse": location.rse,
        "reason": location.reason,
    }


@dataclass(frozen=True)
class Only:
    """The RSEs a read is restricted to: the expression as the user wrote it and the names it stands for."""

    expression: str
    rses: frozenset[str]


def endpoint_of(alternative: Alternative) -> str | None:
    """The ``host:port`` a stream alternative is read from; None for one read in place."""
    return endpoint(alternative.location) if alternative.kind == "stream" else None
