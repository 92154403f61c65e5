"""The REST API's description (server/spec.py: paths.yaml and the records' schemas), as a checker of real answers."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from jupyterlab_odlake.server import spec as spec_module

NAME = "the REST API's description"
spec, template_of, _pointer, _registry, _URI = (
    spec_module.spec,
    spec_module.template_of,
    spec_module.pointer,
    spec_module.registry,
    spec_module.URI,
)


def check(method: str, path: str, status: int, body) -> None:
    """Assert that ``body``, answered with ``status`` to ``method path``, is what the description says."""
    template = template_of(path)
    if template is None:  # no such route: a 404 in the error shape, like every error
        assert status == 404, f"{method} {path} is not described in {NAME}, yet answered {status}"
        response = None
    else:
        operation = spec()["paths"][template].get(method.lower())
        assert operation is not None, f"{method} {template} is not described in {NAME}"
        response = operation["responses"].get(str(status))
    if response is None:
        # every route may answer the shared error shape with the statuses the README lists
        assert status >= 400, f"{method} {template} answered {status}, which {NAME} does not describe"
        ref = "#/components/responses/Error"
    else:
        ref = response.get("$ref") or "#" + _pointer("", "paths", template, method.lower(), "responses", str(status))
    schema_ref = f"{_URI}{ref}/content/application~1json/schema"
    validator = Draft202012Validator({"$ref": schema_ref}, registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, f"{method} {path} -> {status}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in errors[:5]
    )
