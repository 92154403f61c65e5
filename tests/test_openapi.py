"""The REST API's description and the route table are one: every route documented, every documented route served;
the records' schemas are made from the records, and openapi.json is the description as server/spec.py makes it.

The answers themselves are checked against the description by every REST test (see the
``api`` fixture of conftest.py); each record's JSON against its schema by test_contracts.py. The
frontend's types are generated from openapi.json.
"""

import dataclasses
import json
import re
import subprocess
import sys
from typing import Any, get_origin

import openapi
import pytest

from jupyterlab_odlake.core import records
from jupyterlab_odlake.core.schema import schemas
from jupyterlab_odlake.server import spec
from jupyterlab_odlake.server.routes import ROUTES

METHODS = ("get", "post", "delete", "put", "patch")


def _template(pattern: str) -> str:
    """``dids/(?P<scope>[^/]+)/(?P<name>.+?)/files`` -> ``/dids/{scope}/{name}/files``."""
    return "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)


def test_every_route_is_documented_with_its_methods_and_nothing_else():
    documented = {path: {m for m in item if m in METHODS} for path, item in openapi.spec()["paths"].items()}
    served = {}
    for pattern, handler, *_ in ROUTES:
        served[_template(pattern)] = {
            m
            for m in METHODS
            if m.upper() in handler.SUPPORTED_METHODS
            and getattr(handler, m) is not getattr(handler.__mro__[-2], m, None)
        }
    assert served == documented


def test_an_answer_that_breaks_the_description_is_caught():
    good = {"version": "1.0", "default_instance": None}
    openapi.check("GET", "/info", 200, good)
    with pytest.raises(AssertionError, match="default_instance"):
        openapi.check("GET", "/info", 200, {"version": "1.0"})
    with pytest.raises(AssertionError, match="not described"):
        openapi.check("GET", "/nowhere", 200, {})
    with pytest.raises(AssertionError, match="message"):
        openapi.check("GET", "/nowhere", 404, {"error": "not_found"})
    with pytest.raises(AssertionError, match="does not describe"):
        openapi.check("GET", "/info", 201, good)


def test_openapi_json_is_the_description_as_it_is_made():
    assert spec.SPEC_PATH.read_text(encoding="utf-8") == spec.text(), (
        "openapi.json is not what paths.yaml and core/records.py make: "
        "run python -m jupyterlab_odlake.server.spec --write (and jlpm build for the frontend's types)"
    )


def test_the_module_writes_and_prints_the_description(tmp_path, monkeypatch):
    out = subprocess.run([sys.executable, "-m", "jupyterlab_odlake.server.spec"], capture_output=True, text=True)
    assert out.returncode == 0 and json.loads(out.stdout) == spec.spec()
    monkeypatch.setattr(spec, "SPEC_PATH", tmp_path / "openapi.json")
    assert spec.main(["--write"]) == 0 and spec.SPEC_PATH.read_text(encoding="utf-8") == spec.text()
    assert spec.main(["--check"]) == 2


def test_every_record_has_a_schema_made_from_its_type():
    made = {get_origin(tp) or tp for tp in spec.RECORDS.values()}
    kinds = [
        v
        for name, v in vars(records).items()
        if isinstance(v, type) and v.__module__ == records.__name__ and not name.startswith("_")  # private helpers
    ]
    for kind in kinds:
        if kind is not records.Wire:
            assert kind in made, f"{kind.__name__} has no name among the description's schemas (spec.RECORDS)"
    schemas_ = spec.spec()["components"]["schemas"]
    # the answers that add keys to a record leave it open, and close themselves
    assert "additionalProperties" not in schemas_["DID"] and schemas_["Resolved"]["additionalProperties"] is False


def test_paths_yaml_may_not_write_a_records_schema(tmp_path, monkeypatch):
    written = tmp_path / "paths.yaml"
    written.write_text(
        spec.PATHS_PATH.read_text(encoding="utf-8") + "    Resolved: { type: object }\n", encoding="utf-8"
    )
    monkeypatch.setattr(spec, "PATHS_PATH", written)
    spec.spec.cache_clear()
    try:
        with pytest.raises(ValueError, match="Resolved"):
            spec.spec()
    finally:
        spec.spec.cache_clear()


def test_a_type_that_has_no_json_schema_is_refused_with_its_place():
    @dataclasses.dataclass(frozen=True)
    class Loose:
        """A record with a field of any type."""

        anything: Any

    @dataclasses.dataclass(frozen=True)
    class Holder:
        """A record holding one that has no name."""

        held: records.Alternative

    with pytest.raises(TypeError, match=r"Loose\.anything"):
        schemas({"Loose": Loose})
    with pytest.raises(TypeError, match=r"Holder\.held: Alternative has no name"):
        schemas({"Holder": Holder})


def test_a_records_derived_and_omitted_fields_are_in_its_schema():
    made = schemas(spec.RECORDS)
    assert made["DID"]["properties"]["did"] == {"type": "string", "description": "scope:name"}
    assert "explained" in made["Rule"]["required"]
    file = made["File"]
    assert set(file["required"]) == {"did", "scope", "name", "bytes", "adler32"}
    assert file["properties"]["available"] == {"type": "boolean"}  # left out when None, never null
    assert file["properties"]["read"] == {"$ref": "#/components/schemas/FileRead"}
    assert made["Transfer"]["properties"]["bytes_done"] == {"type": "integer", "minimum": 0}
