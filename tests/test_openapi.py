"""The REST API's description and the route table are one: every route documented, every documented route served.

The answers themselves are checked against the description by every REST test (see the
``api`` fixture of conftest.py); the frontend's types by src/__tests__/contract.spec.ts.
"""

import re

import openapi
import pytest

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
