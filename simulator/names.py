"""Names from scenario files are data: one pattern, and one way to turn a name into a file path.

A silo or scenario name ends up in file names (SuperNode keys `<silo>.key`, deployment logs, run
folders `<time>-<scenario>`), in the ledger and in HTML. The pattern keeps it to letters, digits,
`-`, `_` and `.`, at most `MAX_NAME_LENGTH` characters and never dots alone (`.`, `..`), so it can
be neither a path nor markup. `file_in` is the second line of defence where a name becomes a path:
it refuses any result that would leave the folder, whatever the name.
"""

from __future__ import annotations

import re
from pathlib import Path

from simulator.errors import InputError

# 64 characters: a run folder's name is `<UTC time>-<scenario>` (about 20 more) and a file name may
# have at most 255 bytes on common file systems; 64 leaves room for suffixes and is enough to name.
MAX_NAME_LENGTH = 64
NAME_PATTERN = r"^(?!\.+$)[A-Za-z0-9_.-]{1,64}$"
NAME_RULE = "letters, digits, '-', '_' and '.', 1 to 64 characters, not dots alone"
_NAME = re.compile(NAME_PATTERN)
# A file name built from a name (a prefix, the name): the same characters, room for the prefix.
_FILE_STEM = re.compile(r"^(?!\.+$)[A-Za-z0-9_.-]{1,200}$")


def is_valid_name(value: object) -> bool:
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


def check_name(value: str, key: str) -> str:
    """`value` if it is a valid name, else `InputError` naming `key` and the rule."""
    if not is_valid_name(value):
        raise InputError(f"key '{key}': {value!r} is not a valid name ({NAME_RULE})")
    return value


def file_in(folder: Path, name: str, suffix: str = "") -> Path:
    """`folder / (name + suffix)`, refused unless `name` holds only a name's characters and the path
    stays in `folder`."""
    if _FILE_STEM.fullmatch(name) is None:
        raise InputError(f"refusing to make a file from the name {name!r} ({NAME_RULE})")
    root = Path(folder).resolve()
    path = (root / f"{name}{suffix}").resolve()
    if path.parent != root:
        raise InputError(f"refusing to write outside '{root}': the name {name!r} leads to '{path}'")
    return path
