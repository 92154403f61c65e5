"""The REST API's description (jupyterlab_odlake/server/openapi.yaml), as a checker of real answers."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import jupyterlab_odlake

SPEC_PATH = Path(jupyterlab_odlake.__file__).parent / "server" / "openapi.yaml"
_URI = "urn:odlake:openapi"


@lru_cache(maxsize=1)
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text())


@lru_cache(maxsize=1)
def _registry() -> Registry:
    return Registry().with_resource(_URI, Resource.from_contents(spec(), default_specification=DRAFT202012))


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def template_of(path: str) -> str | None:
    """The documented path template an actual path (below /odlake) matches, e.g. /dids/{scope}/{name}/files."""
    # the longest first: /dids/{scope}/{name}/files before /dids/{scope}/{name}, whose name may hold slashes
    for template in sorted(spec()["paths"], key=len, reverse=True):
        pattern = re.escape(template).replace(r"\{name\}", ".+?")
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", pattern)
        if re.fullmatch(pattern, path):
            return template
    return None


def check(method: str, path: str, status: int, body) -> None:
    """Assert that ``body``, answered with ``status`` to ``method path``, is what openapi.yaml says."""
    template = template_of(path)
    if template is None:  # no such route: a 404 in the error shape, like every error
        assert status == 404, f"{method} {path} is not described in {SPEC_PATH.name}, yet answered {status}"
        response = None
    else:
        operation = spec()["paths"][template].get(method.lower())
        assert operation is not None, f"{method} {template} is not described in {SPEC_PATH.name}"
        response = operation["responses"].get(str(status))
    if response is None:
        # every route may answer the shared error shape with the statuses the README lists
        assert status >= 400, f"{method} {template} answered {status}, which {SPEC_PATH.name} does not describe"
        ref = "#/components/responses/Error"
    else:
        ref = response.get("$ref") or "#" + _pointer("", "paths", template, method.lower(), "responses", str(status))
    schema_ref = f"{_URI}{ref}/content/application~1json/schema"
    validator = Draft202012Validator({"$ref": schema_ref}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{method} {path} -> {status}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in errors[:5]
    )
