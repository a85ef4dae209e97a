"""What a run pays around its work: the garbage collector paused during set-up, the quick exit."""

from __future__ import annotations

import subprocess
import sys


def test_collector_paused_for_set_up_frozen_once_then_on_again():
    code = """
import gc
from simulator import collector
collector.pause_during_setup()
paused = not gc.isenabled()
collector.end_of_setup()
first = gc.get_freeze_count()
garbage = [[]]
garbage[0].append(garbage)  # a cycle made after set-up
del garbage
collector.end_of_setup()  # a second run in the same process freezes nothing more
print(paused, gc.isenabled(), first > 0, gc.get_freeze_count() == first, gc.collect() >= 1)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True", "True", "True", "True", "True"], done.stderr


def test_a_collector_switched_off_by_the_caller_stays_off():
    code = """
import gc
from simulator import collector
gc.disable()
collector.pause_during_setup()
collector.end_of_setup()
print(gc.isenabled())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_the_command_exits_quickly_with_its_status_and_all_its_output(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "simulator", "validate"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("scenario 'default' is valid"), ok.stderr
    bad = subprocess.run([sys.executable, "-m", "simulator", "validate", "--set", "training.rounds=0"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "training.rounds" in bad.stderr


def test_a_running_non_daemon_thread_is_waited_for(tmp_path):
    marker = tmp_path / "written"
    code = f"""
import threading, time, pathlib
from simulator.cli import _leave
threading.Thread(target=lambda: (time.sleep(0.5), pathlib.Path({str(marker)!r}).write_text("done"))).start()
_leave(3)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and marker.read_text() == "done", done.stderr


def test_the_quick_exit_runs_exit_handlers_and_delivers_all_output_through_a_pipe(tmp_path):
    marker = tmp_path / "handler"
    code = f"""
import atexit, pathlib, sys
from simulator.cli import _leave
atexit.register(lambda: (pathlib.Path({str(marker)!r}).write_text("ran"), print("handler output")))
sys.stdout.write("x" * 300_000 + "\\n")  # more than a pipe holds: the reader must get all of it
_leave(7)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 7 and marker.read_text() == "ran", done.stderr
    assert done.stdout == "x" * 300_000 + "\nhandler output\n"


FULL_DISK_STDOUT = """
import errno, io, os, sys
from simulator.cli import _leave

class FullDisk(io.RawIOBase):
    def writable(self):
        return True
    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

sys.stdout = io.TextIOWrapper(io.BufferedWriter(FullDisk()))
print("runs/one-run")  # `run --quiet`'s only line, still in the buffer
_leave({status})
"""


def test_output_that_cannot_be_written_is_a_failure_not_a_success():
    statuses = []
    for status in (0, 143):
        done = subprocess.run([sys.executable, "-c", FULL_DISK_STDOUT.format(status=status)], capture_output=True,
                              text=True, timeout=60)
        statuses.append(done.returncode)
        assert done.stderr == "silocarbon: error: the output could not be written ([Errno 28] No space left on device)\n"
    assert statuses == [120, 143]  # a failure where it had succeeded; a signal's status kept
