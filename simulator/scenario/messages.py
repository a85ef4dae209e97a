"""Scenario errors in one line: the dotted key, what is wrong, and the allowed keys or values.

pydantic reports every problem with its location; a user needs the first one, named the way they
wrote it in the TOML file (`training.rounds`, `silos.0.country`), with the keys that section allows.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError


def describe_validation_error(error: ValidationError, root: type[BaseModel]) -> str:
    """One line for the first problem: the dotted key, what is wrong, the allowed values."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    kind = first["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{key}'{_allowed_keys_hint(root, first['loc'])}"
    if kind == "missing":
        return f"missing required key '{key}'"
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    got = first.get("input")
    got_text = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    if message.startswith("key '"):  # a section's own check names its key already
        return f"{message}{got_text}"
    return f"key '{key}': {message}{got_text}"


def _allowed_keys_hint(root: type[BaseModel], location: tuple[Any, ...]) -> str:
    model: type[BaseModel] = root
    skip_name = False
    for part in location[:-1]:
        if isinstance(part, int) or skip_name:
            skip_name = False
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return ""
        annotation = field.annotation
        keyed = keyed_section_model(annotation)
        if keyed is not None:
            model, skip_name = keyed, True
            continue
        inner = getattr(annotation, "__args__", (annotation,))[0] if annotation is not None else None
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return ""
    return "; allowed: " + ", ".join(model.model_fields)


def keyed_section_model(annotation: Any) -> type[BaseModel] | None:
    """The value model of a `dict[str, Model]` field (e.g. `[faults.silo.<name>]`), else None."""
    if getattr(annotation, "__origin__", None) is not dict:
        return None
    value = annotation.__args__[1]
    return value if isinstance(value, type) and issubclass(value, BaseModel) else None
