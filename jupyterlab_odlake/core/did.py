"""Data identifiers (DIDs): ``scope:name``, checked before they go anywhere."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidRequest, quoted

# Rucio's own limits: scopes up to 25 characters of [A-Za-z0-9_.-], names up to 250.
_SCOPE = re.compile(r"^[A-Za-z0-9_.\-]{1,25}$")
_NAME_MAX = 250
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\"'`\\]")


@dataclass(frozen=True, order=True)
class DID:
    scope: str
    name: str

    def __str__(self) -> str:
        return f"{self.scope}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> DID:
        """``scope:name`` -> DID, or InvalidRequest saying why."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequest("A DID is needed, written scope:name (for example opendata:GamGam.Data).")
        text = text.strip()
        if ":" not in text:
            raise InvalidRequest(
                f"'{quoted(text)}' is not a DID: write it as scope:name (for example opendata:GamGam.Data)."
            )
        scope, name = text.split(":", 1)
        return cls.of(scope, name)

    @classmethod
    def of(cls, scope: str, name: str) -> DID:
        if not _SCOPE.match(scope or "") or scope in (".", ".."):
            raise InvalidRequest(
                f"'{quoted(scope)}' is not a valid Rucio scope (1-25 letters, digits, '_', '-' or '.')."
            )
        check_name(name)
        return cls(scope, name)


def check_name(name: str, what: str = "DID name") -> str:
    if not name:
        raise InvalidRequest(f"The {what} is empty.")
    if len(name) > _NAME_MAX:
        raise InvalidRequest(f"The {what} is {len(name)} characters long; Rucio allows at most {_NAME_MAX}.")
    if _FORBIDDEN.search(name):
        raise InvalidRequest(f"The {what} '{quoted(name)}' contains quotes, backslashes or control characters.")
    if name in (".", "..") or name.startswith("../") or "/../" in name or name.endswith("/.."):
        raise InvalidRequest(f"The {what} '{quoted(name)}' contains a '..' path segment.")
    return name
