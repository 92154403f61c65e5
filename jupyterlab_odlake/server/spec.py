"""The REST API's description (openapi.yaml beside this file), read once: the handlers check request
bodies against it, and the tests check every answer against it, so that the description is the
one statement of the wire.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).parent / "openapi.yaml"
URI = "urn:odlake:openapi"


@cache
def spec() -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    return loaded


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
