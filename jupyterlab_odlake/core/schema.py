"""The JSON Schema of records (records.py), made from their Python types: what server/spec.py puts into
the REST API's description as its component schemas.

A record's schema lists its fields, then the properties its JSON carries too (``DERIVED``), all of them
required but those its JSON leaves out when they are None (``OMITTED_WHEN_NONE``); its docstring is the
description, and a field's ``Wire`` annotation adds a description, a minimum, or the shape of a dict.
A record, a TypedDict or a Literal that is given a name is a ``$ref`` wherever another names it.

The types are the few the records use (str, int, float, bool, None, Literal, unions, list, tuple,
dict, dataclasses and TypedDicts, a generic dataclass with its parameters); any other is refused with
its place named, so that the description never says less than the record.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from .records import Wire

JSON = dict[str, Any]
SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def schemas(
    named: Mapping[str, Any],
    ref: Callable[[str], str] = "#/components/schemas/{}".format,
    open_records: Collection[str] = (),
) -> dict[str, JSON]:
    """The schema of each named type (a record, a ``Page[DIDInfo]``, a TypedDict, a Literal alias, a dict
    alias), where a type that has a name is referred to by ``ref(name)``. A record's object is closed
    (``additionalProperties: false``: its JSON has no other keys) unless it is named in ``open_records``,
    for a schema that adds keys to it."""
    names = {tp: name for name, tp in named.items()}
    maker = _Maker(names, ref)
    return {name: maker.top(tp, name, closed=name not in open_records) for name, tp in named.items()}


def description(doc: str | None) -> str:
    """A docstring as a description: its paragraphs each on one line, ``code`` as Markdown's `code`."""
    text = inspect.cleandoc(doc or "")
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p).replace("``", "`")


class _Maker:
    def __init__(self, names: Mapping[Any, str], ref: Callable[[str], str]):
        self.names, self.ref = names, ref

    def top(self, tp: Any, where: str, closed: bool) -> JSON:
        origin = get_origin(tp) or tp
        if dataclasses.is_dataclass(origin) or typing.is_typeddict(origin):
            return self.record(tp, closed)
        return self.of(tp, where, top=True)

    def record(self, tp: Any, closed: bool) -> JSON:
        """The object a dataclass (maybe generic: ``Page[DIDInfo]``) or a TypedDict is on the wire."""
        cls = get_origin(tp) or tp
        bound = dict(zip(getattr(cls, "__parameters__", ()), get_args(tp), strict=True))
        hints = get_type_hints(cls, include_extras=True)
        if dataclasses.is_dataclass(cls):
            names = [f.name for f in dataclasses.fields(cls)]
            required = set(names)
        else:
            names = list(hints)
            required = set(cls.__required_keys__)
        properties: JSON = {}
        for name in getattr(cls, "DERIVED", ()):
            prop = getattr(cls, name)
            if not isinstance(prop, property) or prop.fget is None:
                raise TypeError(f"{cls.__name__}.{name} is in DERIVED but is not a property")
            returns = get_type_hints(prop.fget, include_extras=True)["return"]
            properties[name] = self.described(self.of(returns, f"{cls.__name__}.{name}"), description(prop.__doc__))
            required.add(name)
        omitted = set(getattr(cls, "OMITTED_WHEN_NONE", ()))
        for name in names:
            hint = _substituted(hints[name], bound)
            if name in omitted:  # absent rather than null
                hint = _without_none(hint, f"{cls.__name__}.{name}")
                required.discard(name)
            properties[name] = self.of(hint, f"{cls.__name__}.{name}")
        schema: JSON = {"type": "object"}
        doc = cls.__doc__ if not (cls.__doc__ or "").startswith(cls.__name__ + "(") else None  # not dataclass's own
        if doc:
            schema["description"] = description(doc)
        schema["required"] = [name for name in properties if name in required]
        schema["properties"] = properties
        if closed:
            schema["additionalProperties"] = False
        return schema

    def of(self, tp: Any, where: str, top: bool = False) -> JSON:
        """The schema of a value of type ``tp`` (the type of ``where``)."""
        if not top and _hashable(tp) and tp in self.names:
            return {"$ref": self.ref(self.names[tp])}
        origin, args = get_origin(tp), get_args(tp)
        if origin is typing.Annotated:
            wire = next((a for a in tp.__metadata__ if isinstance(a, Wire)), Wire())
            schema = self.of(wire.shape if wire.shape is not None else args[0], where)
            if wire.minimum is not None:
                schema["minimum"] = wire.minimum
            return self.described(schema, wire.description)
        if tp in SCALARS:
            return {"type": SCALARS[tp]}
        if origin is Literal and all(isinstance(a, str) for a in args):
            return {"type": "string", "enum": list(args)}
        if origin in (Union, types.UnionType):
            return self.union([self.of(a, where) for a in args])
        if origin is list or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
            return {"type": "array", "items": self.of(args[0], where)}
        if origin is dict and args[0] is str:
            return {"type": "object", "additionalProperties": self.of(args[1], where)}
        if dataclasses.is_dataclass(origin or tp) or typing.is_typeddict(tp):
            raise TypeError(f"{where}: {_name(tp)} has no name in the description, so nothing can refer to it")
        raise TypeError(f"{where}: no JSON Schema is made for {tp!r}")

    @staticmethod
    def union(members: list[JSON]) -> JSON:
        """One schema of several: their types together when each is a bare type (or a Literal's enum, with
        null), else one of them."""
        if all(set(m) <= {"type", "enum"} for m in members):
            kinds = [t for m in members for t in (m["type"] if isinstance(m["type"], list) else [m["type"]])]
            if "number" in kinds:  # an integer is a number
                kinds = [k for k in kinds if k != "integer"]
            merged: JSON = {"type": list(dict.fromkeys(kinds))}
            enums = [m for m in members if "enum" in m]
            if enums:
                if len(enums) != len(members) - (1 if "null" in kinds else 0):
                    raise TypeError(f"no JSON Schema is made for a Literal joined with a free type: {members}")
                merged["enum"] = [v for m in enums for v in m["enum"]] + ([None] if "null" in kinds else [])
            return merged
        return {"oneOf": members}

    @staticmethod
    def described(schema: JSON, text: str) -> JSON:
        return dict(schema, description=text) if text else schema


def _substituted(tp: Any, bound: Mapping[Any, Any]) -> Any:
    """``tp`` with the type parameters of a generic record replaced by what they are bound to."""
    if isinstance(tp, typing.TypeVar):
        return bound[tp]
    parameters = getattr(tp, "__parameters__", ())
    return tp[tuple(bound[p] for p in parameters)] if parameters else tp


def _without_none(tp: Any, where: str) -> Any:
    """``X | None`` as ``X``: a field whose JSON leaves it out instead of sending null."""
    if get_origin(tp) is typing.Annotated:
        return typing.Annotated[(_without_none(get_args(tp)[0], where), *tp.__metadata__)]
    args = get_args(tp)
    if get_origin(tp) not in (Union, types.UnionType) or type(None) not in args:
        raise TypeError(f"{where} is in OMITTED_WHEN_NONE but may not be None")
    rest = [a for a in args if a is not type(None)]
    return rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007


def _hashable(tp: Any) -> bool:
    try:
        hash(tp)
    except TypeError:
        return False
    return True


def _name(tp: Any) -> str:
    return getattr(get_origin(tp) or tp, "__name__", repr(tp))
