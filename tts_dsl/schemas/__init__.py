"""The published JSON Schemas (draft 2020-12) of what tts-dsl writes for other programs:

- ``diagnostic.v1.json``: one diagnostic (``check --json``, discovery validations);
- ``check.v1.json``: the output of ``check --json`` (and of the MCP ``check`` tool);
- ``eval-row.v1.json``: one evaluation row (``eval --json``, the MCP ``evaluate`` tool);
- ``trace.v1.json``: one episode trace record (``eval --traces`` JSONL, ``trace --json``);
- ``discovery-candidate.v1.json``, ``discovery-final.v1.json``: ``candidates.jsonl`` and
  ``final.json`` of a discovery run.

The files ship in the package and are copied to ``docs/schemas/`` (a test keeps the copies
identical). A new incompatible version gets a new file (``.v2.json``) and a new ``$id``.
Schemas refer to each other by ``$id`` (``urn:tts-dsl:schema:NAME:VERSION``);
:func:`validator` resolves those references. Validation needs ``jsonschema``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = ("diagnostic", "check", "eval-row", "trace", "discovery-candidate", "discovery-final")
VERSION = 1


def path(name: str, version: int = VERSION) -> Path:
    """The schema file of ``name`` (one of :data:`NAMES`)."""
    if name not in NAMES:
        raise KeyError(f"no schema {name!r}; schemas: {', '.join(NAMES)}")
    return HERE / f"{name}.v{version}.json"


@lru_cache(maxsize=None)
def load(name: str, version: int = VERSION) -> dict:
    """The schema ``name`` as a dict."""
    return json.loads(path(name, version).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _registry():
    from referencing import Registry, Resource

    return Registry().with_resources(
        (load(n)["$id"], Resource.from_contents(load(n))) for n in NAMES)


@lru_cache(maxsize=None)
def validator(name: str):
    """A ``jsonschema`` validator for ``name`` that resolves the other schemas' ``$id``s."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load(name), registry=_registry())


def _where(root: str, parts) -> str:
    """``record`` for the top, else the path below it: ``events[3]``, ``params.n``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or root


def problems(name: str, obj, root: str = "record") -> list[str]:
    """Every way ``obj`` breaks schema ``name``, as short messages naming where
    (``record``, ``events[3]``, ``branches[0]``): ``missing 'x'``, ``'x' has type T``,
    ``unknown x 'v'``; an empty list when ``obj`` is valid."""
    out = []
    errors = sorted(validator(name).iter_errors(obj), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    for e in _leaves(errors):
        parts = list(e.absolute_path)
        if e.validator == "required":
            missing = e.message.split("'")[1] if "'" in e.message else e.message
            out.append(f"{_where(root, parts)}: missing '{missing}'")
            continue
        key = parts[-1] if parts and isinstance(parts[-1], str) else None
        where = _where(root, parts[:-1] if key is not None else parts)
        if e.validator == "enum" and key is not None:
            out.append(f"{where}: unknown {key} {e.instance!r}")
        elif e.validator == "const" and key is not None:
            out.append(f"{where}: {key} {e.instance!r}, expected {e.validator_value!r}")
        elif e.validator == "type" and key is not None:
            out.append(f"{where}: '{key}' has type {type(e.instance).__name__}")
        elif e.validator == "additionalProperties":
            out.append(f"{where}: {e.message}")
        else:
            out.append(f"{where}: {(key + ': ') if key else ''}{e.message}")
    return list(dict.fromkeys(out))


def _leaves(errors):
    """The most specific errors: descend into the context of oneOf/anyOf failures."""
    from jsonschema.exceptions import best_match

    for e in errors:
        yield best_match(e.context) if e.context and e.validator in ("oneOf", "anyOf") else e


def validate(name: str, obj) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``obj`` follows schema ``name``."""
    validator(name).validate(obj)


__all__ = ["NAMES", "VERSION", "path", "load", "validator", "problems", "validate"]
