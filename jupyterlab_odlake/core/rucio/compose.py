"""What ``list_replicas`` says of every file of a dataset whose copies are all whole, without asking per file.

Rucio's server answers ``list_replicas`` at ~0.35 ms a file; an attach of 100,000 files cannot wait
for that. On a deterministic RSE a file's PFN follows from its name by the RSE's own rules, so
Rucio is asked about the dataset's first file only: its answer is the ``Template`` (which RSEs,
which protocol of each, in which order, with which priorities and states), and every other file's
answer is the same with its own PFNs. Each PFN is made by the RSE protocol that made the first
file's (``Door``): by concatenation, ``head + path``, where the protocol's own code builds its PFNs
so (Rucio's base protocol and its XRootD one), else by that protocol's ``lfns2pfns``.

A template is made only when each of the first file's PFNs is found again, equal, among the PFNs
its RSE's read protocols make here; otherwise the caller asks Rucio for every file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..records import FileEntry
from .locations import is_available

Key = tuple[str, str]


@dataclass(frozen=True)
class Door:
    """One of the first file's PFNs as Rucio listed it (``info``: its RSE, priority, domain...), and how the same
    PFN of any file is made: ``head`` + ``path(scope, name)`` when the protocol builds it so, else ``batch``."""

    info: dict[str, Any]
    scheme: str
    protocol_priority: int  # the protocol's own read priority: Rucio orders a file's PFNs by it, then by PFN
    head: str | None
    path: Callable[[str, str], str] | None
    batch: Callable[[list[FileEntry]], list[str]] | None = None

    def pfns(self, files: list[FileEntry]) -> list[str]:
        """The PFNs of ``files`` through this door, in their order."""
        if self.head is not None and self.path is not None:
            head, path = self.head, self.path
            return [head + path(f.scope, f.name) for f in files]
        assert self.batch is not None
        return self.batch(files)

    def pfn(self, scope: str, name: str) -> str:
        return self.pfns([FileEntry(scope, name, None, None)])[0]


class Template:
    """``list_replicas``' answer for any file of a dataset whose every copy is whole: the first file's, with the
    file's own PFNs through each door.

    Rucio orders a file's PFNs by (domain, the protocol's priority, the PFN itself), then by the distance
    of each PFN's host (the same for every file of a door), and numbers them in that order: their
    priorities. Two doors alike in domain and priority compare by their PFNs, the same way for every
    file only when both are concatenations and neither head begins the other. ``fixed_order``: every
    file's PFNs come in the first file's order; else each file's order is checked (``replicas``).
    ``fixed_choice``: so at least among doors of one scheme, the only ones whose order decides which
    replica a mode reads (``locations.alternatives`` ranks by scheme, then priority).
    """

    def __init__(self, doors: list[Door], states: dict[str, str], first: list[str]):
        self.doors = doors
        self.states = states
        self._first = self._order(first)
        n = range(len(doors))
        loose = [(i, j) for i in n for j in n if i < j and not self._fixed(doors[i], doors[j])]
        self.fixed_order = not loose
        self.fixed_choice = not any(doors[i].scheme == doors[j].scheme for i, j in loose)

    @staticmethod
    def _fixed(a: Door, b: Door) -> bool:
        """Do ``a``'s and ``b``'s PFNs of any file come in the same order?"""
        if (a.info.get("domain"), a.protocol_priority) != (b.info.get("domain"), b.protocol_priority):
            return True
        if a.head is None or b.head is None:
            return False
        return not (a.head.startswith(b.head) or b.head.startswith(a.head))

    def _order(self, pfns: list[str]) -> list[int]:
        doors = self.doors
        return sorted(
            range(len(pfns)), key=lambda i: (doors[i].info.get("domain"), doors[i].protocol_priority, pfns[i])
        )

    def replica(self, file: FileEntry) -> dict[str, Any]:
        """``file``'s answer, its PFNs in the first file's order (which may not be Rucio's where the order is
        not fixed: enough to choose among them where the choice is)."""
        pfns = {d.pfn(file.scope, file.name): d.info for d in self.doors}
        return {"scope": file.scope, "name": file.name, "pfns": pfns, "states": self.states}

    def replicas(self, files: list[FileEntry]) -> tuple[dict[Key, dict[str, Any]], list[FileEntry]]:
        """Each file's answer as ``list_replicas`` gives it (the records shared, read only), and the files whose
        answer could be in another order than the first file's (to ask Rucio about)."""
        columns = [d.pfns(files) for d in self.doors]
        found: dict[Key, dict[str, Any]] = {}
        odd: list[FileEntry] = []
        check = not self.fixed_order
        for i, f in enumerate(files):
            pfns = [c[i] for c in columns]
            if check and self._order(pfns) != self._first:
                odd.append(f)
                continue
            found[(f.scope, f.name)] = {
                "scope": f.scope,
                "name": f.name,
                "pfns": {pfn: d.info for pfn, d in zip(pfns, self.doors, strict=True)},
                "states": self.states,
            }
        return found, odd


def template(copies: Iterable[dict[str, Any]], first: FileEntry, answer: dict[str, Any]) -> Template | None:
    """The template of a dataset whose every copy is whole on the RSEs ``copies`` (their settings, as Rucio's
    ``get_rse`` gives them) from Rucio's ``list_replicas`` ``answer`` for its ``first`` file; None when any of
    its PFNs cannot be made here as Rucio made it."""
    settings = {c["rse"]: c for c in copies}
    states = answer.get("states") or {}
    if set(states) != set(settings) or not all(is_available(s) for s in states.values()):
        return None
    doors = []
    for pfn, info in (answer.get("pfns") or {}).items():
        rse = settings.get(info.get("rse"))
        door = next((d for d in _doors(rse, info) if _makes(d, first, pfn)), None) if rse else None
        if door is None:
            return None
        doors.append(door)
    return Template(doors, dict(states), list(answer["pfns"])) if doors else None


def _makes(door: Door, file: FileEntry, pfn: str) -> bool:
    try:
        return door.pfn(file.scope, file.name) == pfn
    except _cannot():  # a protocol that cannot make this PFN here (an algorithm it lacks...)
        return False


def _cannot() -> tuple[type[Exception], ...]:
    """What Rucio's protocol code raises for a protocol or an algorithm it cannot use here."""
    from rucio.common.exception import RucioException

    return (RucioException, ImportError, AttributeError, KeyError, TypeError, ValueError)


def _doors(rse: dict[str, Any], info: dict[str, Any]) -> list[Door]:
    """A door for each protocol of ``rse`` Rucio reads with in the PFN's domain (one of them made it)."""
    from rucio.rse import rsemanager

    domain = info.get("domain") or "wan"
    if not rse.get("deterministic"):
        return []
    doors = []
    for attributes in rse.get("protocols") or []:
        priority = ((attributes.get("domains") or {}).get(domain) or {}).get("read")
        if priority is None:
            continue
        try:
            protocol = rsemanager.create_protocol(
                rse, "read", attributes["scheme"], domain, protocol_attr=dict(attributes)
            )
        except _cannot():  # a protocol this client cannot load (its module, an option it lacks): not a door
            continue
        doors.append(_door(protocol, info, int(priority)))
    return doors


def _door(protocol: Any, info: dict[str, Any], priority: int) -> Door:
    from rucio.rse.protocols import xrootd
    from rucio.rse.protocols.protocol import RSEProtocol

    def batch(files: list[FileEntry]) -> list[str]:  # Rucio's own code, for any protocol
        made = protocol.lfns2pfns([{"scope": f.scope, "name": f.name} for f in files])
        return [made[f"{f.scope}:{f.name}"] for f in files]

    # these two build every PFN as scheme://hostname:port + prefix (with slashes) + path, in their own code
    concatenated = (
        "lfns2pfns" not in vars(protocol)  # not replaced by a call to the server (an algorithm unknown here)
        and type(protocol).lfns2pfns in (RSEProtocol.lfns2pfns, xrootd.Default.lfns2pfns)
        and type(protocol)._get_path is RSEProtocol._get_path
    )
    if not concatenated:
        return Door(info, protocol.attributes["scheme"], priority, None, None, batch)
    attributes = protocol.attributes
    prefix = attributes["prefix"]
    prefix = prefix if prefix.startswith("/") else "/" + prefix
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    head = f"{attributes['scheme']}://{attributes['hostname']}:{attributes['port']}{prefix}"
    return Door(info, attributes["scheme"], priority, head, _path_of(protocol))


def _path_of(protocol: Any) -> Callable[[str, str], str]:
    """A file's path on the protocol's RSE, by its lfn2pfn algorithm: Rucio's ``identity`` algorithm
    (``scope/name``, a user's or group's scope with its dots as slashes) is one concatenation per file;
    any other is asked of Rucio's translator for each file."""
    from rucio.rse.translation import RSEDeterministicTranslation

    translator = protocol.translator
    identity: Any = RSEDeterministicTranslation._get_one_algorithm("lfn2pfn", "identity")
    used = _algorithm(translator)
    if used is None or used is not identity:
        return protocol._get_path  # type: ignore[no-any-return]
    scopes: dict[str, str] = {}

    def path(scope: str, name: str) -> str:
        directory = scopes.get(scope)
        if directory is None:
            directory = scopes[scope] = str(used(scope, "", None, None, None))  # "scope/"
        return directory + name

    return path


def _algorithm(translator: Any) -> Callable[..., str] | None:
    """The lfn2pfn function ``translator.path`` calls, found as it finds it."""
    from rucio.common.constants import RseAttr
    from rucio.rse.translation import RSEDeterministicTranslation as T

    algorithm = translator.rse_attributes.get(RseAttr.LFN2PFN_ALGORITHM, "default")
    found = None
    if algorithm in ("default", T._DEFAULT_LFN2PFN):
        algorithm = T._DEFAULT_LFN2PFN
        found = T._get_default_algorithm(T._algorithm_type, translator.vo)
    try:
        return found or T._get_one_algorithm(T._algorithm_type, algorithm)  # type: ignore[no-any-return]
    except KeyError:
        return None
