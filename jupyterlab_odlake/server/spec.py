"""The REST API's description, put together once: the routes and the schemas that are no record, as
written in paths.yaml beside this file, and the schemas of the records, made from their Python types in
core/records.py (core/schema.py). The handlers check request bodies against it, and the tests every
answer, so that the records and paths.yaml are the one statement of the wire.

``python -m jupyterlab_odlake.server.spec --write`` writes the description whole into openapi.json
beside this file, for whoever reads it without Python: the frontend's types are generated from that
file when it is built, and a test fails while the file is not what this module makes.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from ..core import records as r
from ..core.schema import schemas

PATHS_PATH = Path(__file__).parent / "paths.yaml"
SPEC_PATH = Path(__file__).parent / "openapi.json"
URI = "urn:odlake:openapi"
REF = "#/components/schemas/{}"

# the records, and the types they name, by their names in the description
RECORDS: dict[str, Any] = {
    "Mode": r.Mode,
    "DIDType": r.DIDType,
    "Metadata": r.DIDMetadata,
    "DID": r.DIDInfo,
    "PageOfDIDs": r.Page[r.DIDInfo],
    "File": r.FileEntry,
    "FileRead": r.FileRead,
    "PageOfFiles": r.Page[r.FileEntry],
    "Alternative": r.Alternative,
    "Location": r.Location,
    "Transfer": r.TransferRecord,
    "UploadedFile": r.UploadedFile,
    "Rule": r.Rule,
    "Resolved": r.Resolved,
    "ReadAccess": r.ReadAccess,
    "SignedIn": r.SignedIn,
    "Attachment": r.Attachment,
    "CacheCheck": r.CacheCheck,
}


@cache
def spec() -> dict[str, Any]:
    """The whole description: paths.yaml with the records' schemas among its components."""
    import yaml

    written: dict[str, Any] = yaml.safe_load(PATHS_PATH.read_text(encoding="utf-8"))
    components = written.setdefault("components", {}).setdefault("schemas", {})
    twice = sorted(set(components) & set(RECORDS))
    if twice:
        raise ValueError(f"{PATHS_PATH.name} writes the schemas of records, which are made from their types: {twice}")
    # a record that a route's answer adds keys to (allOf) stays open; the answer's schema closes the whole
    extended = {ref.removeprefix(REF.format("")) for ref in _extended(written)}
    components.update(schemas(RECORDS, REF.format, open_records=extended))
    return written


def _extended(node: Any) -> Iterator[str]:
    """The $refs that are members of an allOf anywhere in ``node``."""
    if isinstance(node, dict):
        for member in node.get("allOf", ()):
            if "$ref" in member:
                yield member["$ref"]
        for value in node.values():
            yield from _extended(value)
    elif isinstance(node, list):
        for value in node:
            yield from _extended(value)


def text() -> str:
    """The description as openapi.json holds it."""
    return json.dumps(spec(), indent=2, ensure_ascii=False) + "\n"


@cache
def registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    return Registry().with_resource(URI, Resource.from_contents(spec(), default_specification=DRAFT202012))


def pointer(*parts: str) -> str:
    """A JSON pointer's tail from its parts, escaped."""
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@cache
def _templates() -> list[tuple[re.Pattern[str], str]]:
    # the longest first: /dids/{scope}/{name}/files before /dids/{scope}/{name}, whose name may hold slashes
    found = []
    for template in sorted(spec()["paths"], key=len, reverse=True):
        pattern = re.escape(template).replace(r"\{name\}", ".+?")
        found.append((re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", pattern)), template))
    return found


def warm() -> None:
    """Read the description now (about 0.15 s of YAML), rather than in the first request that has a body."""
    _templates()
    registry()


def template_of(path: str) -> str | None:
    """The documented path template a path below /odlake matches, e.g. /dids/{scope}/{name}/files."""
    return next((template for pattern, template in _templates() if pattern.fullmatch(path)), None)


@cache
def _body_validator(template: str, method: str) -> Any:
    from jsonschema import Draft202012Validator

    operation = spec()["paths"][template].get(method)
    if not operation or "requestBody" not in operation:
        return None
    ref = URI + "#" + pointer("", "paths", template, method, "requestBody", "content", "application/json", "schema")
    return Draft202012Validator({"$ref": ref}, registry=registry())


def body_problem(path: str, method: str, body: Any) -> str | None:
    """What is wrong with a request body for ``method path`` as the description says, in one phrase;
    None when nothing is (or the route takes no body)."""
    template = template_of(path)
    validator = _body_validator(template, method.lower()) if template else None
    if validator is None:
        return None
    error = next(iter(sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return None
    where = "/".join(map(str, error.absolute_path))
    return f"{where}: {error.message}" if where else error.message


def main(argv: list[str]) -> int:
    """Print the description, or with ``--write`` write it into openapi.json."""
    if argv == ["--write"]:
        SPEC_PATH.write_text(text(), encoding="utf-8")
        print(f"wrote {SPEC_PATH}")
    elif not argv:
        sys.stdout.write(text())
    else:
        print("usage: python -m jupyterlab_odlake.server.spec [--write]", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
