"""Where to read a file in a mode: the choice among its replicas, as a pure function.

``alternatives`` turns Rucio's answer for one file into the ways it can be read;
``choose`` picks one for a mode. Neither talks to Rucio or the disk (the caller says
which replicas are mounted here), so both are tested without a lake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InvalidRequest, quoted
from ..records import Alternative, FileEntry, Location, LocationKind, Mode

STREAM_SCHEMES = ("root", "https", "davs", "http")  # the default order of preference: a grid site's
# what replicas are listed with: Rucio names one URL per RSE unless it is given schemes, then one per protocol
# of those schemes (an RSE with root:// and https then gives both); "file" for storage mounted here
LISTED_SCHEMES = (*STREAM_SCHEMES, "file")


def check_schemes(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """A preference order of stream schemes ("http,root" or a list); empty for none given; InvalidRequest else."""
    names = value.split(",") if isinstance(value, str) else list(value or ())
    schemes = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    unknown = [s for s in schemes if s not in STREAM_SCHEMES]
    if unknown:
        raise InvalidRequest(
            f"Stream scheme '{quoted(unknown[0], 20)}' is not one odlake reads; choose among {', '.join(STREAM_SCHEMES)}."
        )
    return schemes


def is_available(state: object) -> bool:
    """Is a replica in this Rucio state readable? (Rucio gives the name or its one-letter code.)"""
    return str(state).upper() in ("AVAILABLE", "A")


def alternatives(
    replica: dict[str, Any],
    mounted_path: Callable[[str, str], str | None],
    schemes: Sequence[str] = STREAM_SCHEMES,
) -> list[Alternative]:
    """The ways to read one file, best first, from Rucio's ``list_replicas`` entry for it.

    ``mounted_path(rse, pfn)`` gives the local path of a replica on an RSE mounted here, else None;
    ``schemes`` the stream schemes to read with, in order of preference (others are not streamed).
    """
    states = replica.get("states") or {}
    found = []
    for pfn, info in (replica.get("pfns") or {}).items():
        rse = info.get("rse")
        available = is_available(states.get(rse, "AVAILABLE"))
        scheme = (
            pfn[: pfn.index("://")].lower() if "://" in pfn else ""
        )  # as urlparse says, without it: asked of every replica
        local = mounted_path(rse, pfn)
        if local:
            found.append(Alternative("mounted", local, rse, scheme, available))
        if scheme in schemes:
            found.append(Alternative("stream", pfn, rse, scheme, available, int(info.get("priority") or 0)))

    def rank(a: Alternative) -> tuple[bool, bool, int, int]:
        scheme = schemes.index(a.scheme) if a.scheme in schemes else len(schemes)
        return (not a.available, a.kind != "mounted", scheme, a.priority)

    return sorted(found, key=rank)


def choose(
    file: FileEntry, found: list[Alternative], mode: Mode, cache_path: str | None, cached: bool | None
) -> Location:
    """Where to read ``file`` in ``mode``: mounted, stream, download (into ``cache_path``) or auto.

    ``auto`` reads in place, else streams; a file with neither gets no location (the
    kernel then downloads it). ``download`` needs some replica to copy, or the copy cached;
    ``cached`` is None where the mode does not read the cache.
    """
    mounted = [a for a in found if a.kind == "mounted" and a.available]
    stream = [a for a in found if a.kind == "stream" and a.available]
    candidates = {"mounted": mounted, "stream": stream, "auto": mounted or stream}.get(mode, [])
    kind: LocationKind | None = None
    location: str | None = None
    rse: str | None = None
    if candidates:
        kind, location, rse = candidates[0].kind, candidates[0].location, candidates[0].rse
    elif mode == "download" and (stream or mounted or cached):
        kind, location = "download", cache_path
    return Location(
        scope=file.scope,
        name=file.name,
        bytes=file.bytes,
        adler32=file.adler32,
        mode=mode,
        kind=kind,
        location=location,
        rse=rse,
        cached=cached,
        alternatives=tuple(found),
        reason=None if kind else f"no available replica can be read in {mode} mode",
    )
