"""Python's garbage collector while a run sets up.

Importing torch, Flower and CodeCarbon creates hundreds of thousands of long-lived objects; the
collector's automatic full passes over them during those imports cost 0.4-0.7 s of CPU per process
here (measured with torch._dynamo still imported), and a full `gc.collect()` afterwards another
0.2-0.3 s, while finding about 9,000 unreachable objects (a few MB). So `silocarbon run`
pauses the collector from its start until torch is warm, then freezes everything alive (later passes
skip it; Flower runs `gc.collect()` for every reply it converts) and switches the collector on again.

The freeze happens once per process: later runs in the same process (repeats, experiments, tests)
find the libraries frozen already, and freezing again would also freeze the cyclic garbage of the
runs before them, which the collector could then never free.
"""

from __future__ import annotations

import gc

_paused_by_us = False
_frozen = False


def pause_during_setup() -> None:
    """Switch the collector off until `end_of_setup()` (no effect if it is off already)."""
    global _paused_by_us
    if gc.isenabled():
        gc.disable()
        _paused_by_us = True


def end_of_setup() -> None:
    """Freeze what set-up built out of future collections (the first time in a process); switch the
    collector on again if `pause_during_setup` switched it off."""
    global _paused_by_us, _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True
    if _paused_by_us:
        gc.enable()
        _paused_by_us = False
