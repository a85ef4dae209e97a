"""The reference tables in docs/ that mirror code, generated from the code.

Each table sits between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->` in a Markdown
file; `python -m simulator.docs_tables` rewrites every such block from the code (the ledger's columns,
the emission and price factors, every scenario key with its type and default), and
tests/test_docs.py fails when a block is out of date.
"""

from __future__ import annotations

import re
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel

from simulator.ledger import LEDGER_COLUMNS
from simulator.lifecycle.factors import FACTOR_NAMES, load_factors
from simulator.scenario.hardware import GPU_MAX_POWER_W
from simulator.scenario.schema import OFFLINE_DATASETS, Scenario, StrategyConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = ("README.md", "docs/*.md")
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end generated: (?P=name) -->)", re.S)


def _cell(text: object) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return " ".join(str(text).split()).replace("|", "\\|")


def ledger_columns_table() -> str:
    lines = ["| column | meaning and unit |", "|---|---|"]
    lines += [f"| `{column}` | {_cell(meaning)} |" for column, meaning in LEDGER_COLUMNS.items()]
    return "\n".join(lines)


def factors_table() -> str:
    factors = load_factors()
    lines = ["| factor | value | low | high | unit | year |", "|---|---|---|---|---|---|"]
    for name in FACTOR_NAMES:
        factor = getattr(factors, name)
        lines.append(
            f"| `{name}` | {factor.central:.4g} | {factor.low:.4g} | {factor.high:.4g} | {_cell(factor.unit)} | {factor.year} |"
        )
    return "\n".join(lines)


def scenario_keys_table() -> str:
    lines = ["| table | key | type and allowed values | default |", "|---|---|---|---|"]
    for table, key, kind, default in scenario_keys():
        lines.append(f"| `{table}` | `{key}` | {_cell(kind)} | {_cell(default)} |")
    return "\n".join(lines)


def scenario_keys(model: type[BaseModel] = Scenario, table: str = "(top level)") -> list[tuple[str, str, str, str]]:
    """(TOML table, key, type and bounds, default) for every key of the scenario, sections in order."""
    rows: list[tuple[str, str, str, str]] = []
    nested: list[tuple[type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        section, form = _section_of(annotation)
        if section is not None:
            inner = {"table": f"[{_join(table, name)}]", "list": f"[[{_join(table, name)}]]",
                     "map": f"[{_join(table, name)}.<name>]"}[form]
            nested.append((section, inner))
            continue
        kind = _CHECKED_ELSEWHERE.get((model.__name__, name)) or _kind(annotation, field.metadata)
        rows.append((table, name, kind, _default(field)))
    if model is StrategyConfig:
        rows.append((table, "<parameter>", "the chosen strategy's own parameters (`silocarbon strategies`)", ""))
    for section, inner in nested:
        rows += scenario_keys(section, inner)
    return rows


# Keys whose allowed values a validator checks (the type alone says `str`).
_CHECKED_ELSEWHERE: dict[tuple[str, str], str] = {
    ("DataConfig", "dataset"): " | ".join(OFFLINE_DATASETS) + " | torchvision:<name> | hf:<name>",
    ("StrategyConfig", "name"): "a registered strategy (`silocarbon strategies`)",
    ("SiloHardwareConfig", "gpu_model"): " | ".join(GPU_MAX_POWER_W) + " (others need gpu_power_w) (optional)",
}


def _join(table: str, name: str) -> str:
    base = table.strip("[]").replace(".<name>", ".<name>")
    return name if table == "(top level)" else f"{base}.{name}"


def _section_of(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, "table"
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], "list"
    if origin is dict and len(args) == 2 and isinstance(args[1], type) and issubclass(args[1], BaseModel):
        return args[1], "map"
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            if arg is not type(None):
                found, form = _section_of(arg)
                if found is not None:
                    return found, form
    return None, ""


def _kind(annotation: Any, metadata: list) -> str:
    named = _validated_name(metadata)
    text = named or _type_name(annotation)
    bounds = _bounds(metadata)
    if text.startswith("str"):
        bounds = bounds.replace("at least 1 entry", "not empty")
    return f"{text}, {bounds}" if bounds else text


def _validated_name(metadata: list) -> str | None:
    """The words for a type an AfterValidator checks (country codes, device names)."""
    for meta in metadata:
        check = getattr(getattr(meta, "func", None), "__name__", "")
        if check == "check_country":
            return "ISO 3166 alpha-3 country code"
        if check == "check_device":
            return "auto | cpu | cuda | cuda:N"
    return None


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " | ".join(str(arg) for arg in args)
    if origin is typing.Annotated:
        metadata = [item for meta in args[1:] for item in getattr(meta, "metadata", [meta])]
        named = _validated_name(metadata)
        if named:
            return named
        inner, bounds = _type_name(args[0]), _bounds(metadata)
        return f"{inner} ({bounds})" if bounds else inner
    if origin in (typing.Union, types.UnionType):
        kinds = [_type_name(arg) for arg in args if arg is not type(None)]
        return " or ".join(kinds) + (" (optional)" if type(None) in args else "")
    if origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"table of {_type_name(args[1])}" if args else "table"
    return getattr(annotation, "__name__", str(annotation))


_BOUND_WORDS: dict[type, tuple[str, str]] = {
    annotated_types.Ge: ("ge", ">="),
    annotated_types.Gt: ("gt", ">"),
    annotated_types.Le: ("le", "<="),
    annotated_types.Lt: ("lt", "<"),
}


def _bounds(metadata: list) -> str:
    parts = []
    for meta in metadata:
        for kind, (attribute, sign) in _BOUND_WORDS.items():
            if isinstance(meta, kind):
                value = getattr(meta, attribute)
                parts.append(f"{sign} {value}" if isinstance(value, int) else f"{sign} {value:g}")
        if isinstance(meta, annotated_types.MinLen) and meta.min_length > 0:
            parts.append(f"at least {meta.min_length} {'entry' if meta.min_length == 1 else 'entries'}")
        pattern = getattr(meta, "pattern", None)
        if isinstance(pattern, str):
            parts.append(f"pattern {pattern}")
    return ", ".join(parts)


def _default(field) -> str:  # type: ignore[no-untyped-def]
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, BaseModel):
        return "(table)"
    if isinstance(value, list | dict) and not value:
        return "(none)"
    return str(value)


GENERATORS: dict[str, Callable[[], str]] = {
    "ledger-columns": ledger_columns_table,
    "factors": factors_table,
    "scenario-keys": scenario_keys_table,
}


def regenerated(text: str) -> str:
    """`text` with every generated block replaced by what the code gives now."""

    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in GENERATORS:
            raise KeyError(f"unknown generated block '{name}'; known: {', '.join(GENERATORS)}")
        return f"{match.group(1)}{GENERATORS[name]()}\n{match.group(4)}"

    return _BLOCK.sub(replace, text)


def doc_files(root: Path = REPO_ROOT) -> list[Path]:
    return sorted({path for pattern in DOC_FILES for path in root.glob(pattern)})


def main(argv: list[str] | None = None) -> None:
    import argparse

    # A parser, so that --help explains instead of rewriting the docs.
    argparse.ArgumentParser(
        prog="python -m simulator.docs_tables",
        description="Rewrite the generated reference tables in docs/ (ledger columns, factors, scenario keys) from the code.",
    ).parse_args(argv)
    changed = []
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        new = regenerated(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    print(f"rewrote {len(changed)} file(s)" + "".join(f"\n  {path.relative_to(REPO_ROOT)}" for path in changed))


if __name__ == "__main__":
    main()
    sys.exit(0)
