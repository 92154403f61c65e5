"""``%odlake``: the IPython magic. Loaded by ``%load_ext jupyterlab_odlake`` in any IPython or kernel.

Output is a short line or a small table; an error is one sentence, never a traceback.
A DID or a variable name is only ever data: nothing the user types is turned into code.
"""

from __future__ import annotations

import argparse
import html
import keyword
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from IPython.core.magic import Magics, line_magic, magics_class

from ..core.did import DID
from ..core.errors import InvalidRequest, OdlakeError, quoted
from ..core.records import MODES
from ..core.rucio.metadata import SHOWN_METADATA
from . import api
from .attached import size_text

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

USAGE = """\
%odlake attach SCOPE:NAME [as VARIABLE] [--mode stream|download|mounted|auto] [--scheme root,http] [--rse RSE]
              [--request] [--instance NAME]
        attach a DID as a kernel variable whose .paths are local files or streamable URLs;
        --rse reads only replicas on the RSEs an expression names (ODLAKE_XROOTD, type=DISK);
        --request asks for a copy there of what is not (a replication rule)
%odlake search PATTERN [--filter KEY=VALUE ...] [--type container|dataset|file|all] [--instance NAME]
        find DIDs by Rucio wildcard and metadata, e.g. %odlake search opendata:* --filter channel=GamGam
        a word without scope or wildcard (GamGam) finds the names holding it in every scope;
        scope:pattern keeps Rucio's wildcards (* matches any text, and so does %, which Rucio
        hands to its database as it is)
%odlake upload PATH... --dataset SCOPE:NAME [--rse RSE] [--meta KEY=VALUE ...] [--instance NAME]
        upload files into a dataset of your scope (user.<account>), created when new, with metadata
%odlake replicate SCOPE:NAME --rse RSE_EXPRESSION [--lifetime DAYS] [--instance NAME]
        make a DID available on an RSE: a replication rule of your account
%odlake rules [--instance NAME]             your replication rules: state, copies done, expiry
%odlake ls SCOPE:NAME [--instance NAME]      the files of a DID
%odlake downloads                           downloads and their progress
%odlake verify SCOPE:NAME [--instance NAME]  re-check the cached copies of a DID's files in full (adler32);
        copies that no longer match are removed, and the next attach fetches them again
%odlake help                                this text

Python: import jupyterlab_odlake as odlake; data = odlake.attach("opendata:GamGam.Data", mode="stream")"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InvalidRequest(f"{message}. See %odlake help.")


def _parser(command: str) -> _Parser:
    p = _Parser(prog=f"%odlake {command}", add_help=False)
    p.add_argument("--instance")
    if command == "attach":
        p.add_argument("did")
        p.add_argument("rest", nargs="*")
        p.add_argument("--mode", choices=MODES)
        p.add_argument("--scheme", default=None, help="stream schemes, preferred first: root, https, davs, http")
        p.add_argument("--rse", default=None, help="an RSE expression: read only replicas on the RSEs it names")
        p.add_argument("--request", action="store_true", help="with --rse: ask for a copy of what is not there")
    elif command == "search":
        p.add_argument("pattern", nargs="?", default="*")
        p.add_argument("--filter", action="append", default=[])
        p.add_argument("--type", default="collection")
        p.add_argument("--limit", type=int, default=50)
    elif command == "upload":
        p.add_argument("paths", nargs="*")
        p.add_argument("--dataset", required=True)
        p.add_argument("--rse", default=None)
        p.add_argument("--meta", action="append", default=[])
    elif command == "replicate":
        p.add_argument("did")
        p.add_argument("--rse", required=True)
        p.add_argument("--lifetime", type=float, default=None)
    elif command == "verify":
        p.add_argument("did")
    elif command == "ls":
        p.add_argument("did")
        p.add_argument("--limit", type=int, default=50)
    return p


# Words a variable must not be: Python's keywords and soft keywords (of every Python odlake runs on).
RESERVED = frozenset(keyword.kwlist) | {"_", "case", "match", "type"}


def variable_name(did: DID) -> str:
    """A readable Python name for a DID: opendata:GamGam.Data -> gamgam_data.

    The panel proposes the same names: both are tested against tests/cases/variable_names.json.
    """
    stem = did.name[:-5] if did.name.endswith(".root") else did.name
    ident = re.sub(r"\W+", "_", stem, flags=re.ASCII).strip("_").lower() or "dataset"
    if ident[0].isdigit():
        ident = "ds_" + ident
    ident = ident[:60]
    return ident + "_" if ident in RESERVED else ident


def check_variable(name: str) -> str:
    if not (name.isascii() and name.isidentifier()):
        raise InvalidRequest(f"'{quoted(name, 40)}' is not a valid Python variable name.")
    if name in RESERVED:
        raise InvalidRequest(f"'{name}' is a Python keyword; choose another variable name.")
    return name


class Table:
    """Rows shown as text, or as an HTML table in a notebook."""

    def __init__(self, columns: list[str], rows: Sequence[Sequence[object]], note: str = "") -> None:
        self.columns, self.rows, self.note = columns, rows, note

    def __repr__(self) -> str:
        cells = [self.columns] + [[str(c) for c in r] for r in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines + ([self.note] if self.note else []))

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in self.rows)
        note = f"<small>{html.escape(self.note)}</small>" if self.note else ""
        return f"<table><tr>{head}</tr>{body}</table>{note}"


def _meta_summary(meta: dict[str, Any]) -> str:
    return ", ".join(f"{k}={meta[k]}" for k in SHOWN_METADATA[:6] if k in meta)


@magics_class
class OdlakeMagics(Magics):
    shell: InteractiveShell  # registered by load_ipython_extension, always with its shell

    @line_magic
    def odlake(self, line: str) -> Table | None:
        """Attach, search and list Rucio DIDs. %odlake help for usage."""
        try:
            return self._run(line)
        except OdlakeError as e:
            print(f"odlake: {e.message}", file=sys.stderr)
        except ValueError as e:  # shlex: unbalanced quotes
            print(f"odlake: cannot read the command ({e}). See %odlake help.", file=sys.stderr)
        return None

    def _run(self, line: str) -> Table | None:
        words = shlex.split(line)
        command, args = (words[0], words[1:]) if words else ("help", [])
        if command == "help":
            print(USAGE)
            return None
        commands: dict[str, Callable[[argparse.Namespace], Table | None]] = {
            "attach": self._attach,
            "search": self._search,
            "ls": self._ls,
            "upload": self._upload,
            "replicate": self._replicate,
            "rules": self._rules,
            "verify": self._verify,
        }
        if command != "downloads" and command not in commands:
            raise InvalidRequest(f"unknown command '{command[:30]}'. See %odlake help.")
        if command == "downloads":
            return self._downloads()
        opts = _parser(command).parse_args(args)
        return commands[command](opts)

    def _attach(self, opts: argparse.Namespace) -> None:
        target = None
        if opts.rest:
            if len(opts.rest) != 2 or opts.rest[0] != "as":
                raise InvalidRequest("write: %odlake attach SCOPE:NAME as VARIABLE")
            target = check_variable(opts.rest[1])
        did = DID.parse(opts.did)
        name = target or variable_name(did)
        attached = api.attach(
            did, mode=opts.mode, instance=opts.instance, scheme=opts.scheme, rse=opts.rse, request=opts.request
        )
        self.shell.user_ns[name] = attached
        print(f"{name} = {attached.summary()}")
        return None

    def _upload(self, opts: argparse.Namespace) -> None:
        meta: dict[str, str] = {}
        for pair in opts.meta:
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise InvalidRequest(f"--meta '{pair[:40]}' is not KEY=VALUE.")
            meta[key.strip()] = value
        done = api.upload(opts.paths, opts.dataset, rse=opts.rse, meta=meta, instance=opts.instance)
        size = sum(f.get("bytes") or 0 for f in done.uploaded)
        names = ", ".join(f["did"].split(":", 1)[1] for f in done.uploaded)
        print(f"uploaded {len(done.uploaded)} files ({size_text(size)}) into {done.did} on {done.rse}: {names}")
        return None

    def _replicate(self, opts: argparse.Namespace) -> None:
        rule = api.replicate(opts.did, opts.rse, opts.lifetime, opts.instance)
        print(f"rule {rule.id}: {rule.did} on {rule.rse_expression}, {rule.state}: {rule.explained}")
        return None

    def _verify(self, opts: argparse.Namespace) -> None:
        print(api.verify(opts.did, opts.instance).summary())
        return None

    def _rules(self, opts: argparse.Namespace) -> Table:
        rows = [
            [r.id, r.did, r.rse_expression, r.state, f"{r.locks_ok}/{r.locks_total}", r.expires_at or ""]
            for r in api.rules(opts.instance)
        ]
        return Table(["rule", "DID", "RSEs", "state", "copies", "expires"], rows, "" if rows else "You have no rules.")

    def _search(self, opts: argparse.Namespace) -> Table:
        items = api.search(opts.pattern, ",".join(opts.filter), opts.type, opts.limit, opts.instance)
        rows = [[i.did, i.type, size_text(i.bytes) if i.bytes else "", _meta_summary(i.metadata)] for i in items]
        note = "" if rows else "Nothing found: check the pattern (scope:name with * wildcards) and the filters."
        return Table(["DID", "type", "size", "metadata"], rows, note)

    def _ls(self, opts: argparse.Namespace) -> Table:
        files = api.ls(DID.parse(opts.did), opts.limit, opts.instance)
        rows = [[f.name, size_text(f.bytes), f.adler32 or "", "yes" if f.available else "no"] for f in files]
        return Table(["file", "size", "adler32", "available"], rows)

    def _downloads(self) -> Table:
        rows = [
            [
                d.did,
                d.state,
                f"{d.files_done}/{d.files_total}",
                f"{size_text(d.bytes_done)} of {size_text(d.bytes_total)}",
            ]
            for d in api.downloads()
        ]
        return Table(["DID", "state", "files", "bytes"], rows, "" if rows else "No downloads yet.")


def load_ipython_extension(ipython: InteractiveShell) -> None:
    ipython.register_magics(OdlakeMagics)
