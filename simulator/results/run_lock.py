"""One writer per run folder: `run` and `resume` hold an OS lock on `<run folder>/run.lock`.

The lock is `fcntl.flock` on an open file, so the kernel drops it when its process ends, however it
ends (SIGKILL included): a stale lock from a killed run never blocks its resume, and no PID file has
to be trusted. The holder writes its PID into the file only so a refused writer can name it. Local
file systems only (flock over NFS is not reliable).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from simulator.errors import InputError

LOCK_FILE = "run.lock"


@contextmanager
def hold_run_folder(run_dir: Path) -> Iterator[None]:
    """Hold the folder's lock for the block; InputError naming the folder and the holder's PID if taken."""
    descriptor = _acquire(run_dir / LOCK_FILE, run_dir)
    try:
        yield
    finally:
        _release(run_dir / LOCK_FILE, descriptor)


def _acquire(path: Path, run_dir: Path) -> int:
    while True:
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise InputError(f"run folder '{run_dir}' cannot be locked ({error.strerror})") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(descriptor)
            os.close(descriptor)
            raise InputError(
                f"run folder '{run_dir}' is in use by process {holder} (it holds {LOCK_FILE}); "
                "wait for it to end or stop it first"
            ) from None
        # The holder before us may have removed the file between our open and our lock: then we
        # locked a file nobody else can see, and must lock the one now at `path`.
        try:
            same_file = os.stat(path).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            same_file = False
        if same_file:
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"{os.getpid()}\n".encode())
            return descriptor
        os.close(descriptor)


def _release(path: Path, descriptor: int) -> None:
    try:
        path.unlink(missing_ok=True)  # while still locked, so no one can lock this file after us
    finally:
        os.close(descriptor)


def _holder(descriptor: int) -> str:
    try:
        text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "(unknown PID)"
