"""Following a submitted deployment run until it ends, through the SuperLink's Control API.

One clear error if the run fails, times out, or one of the processes we started stops; in every
case the silo rows measured so far stay in the run folder's ledger.

Progress: the ServerApp runs in another process, so its round loop cannot call this process's
observer. It rewrites the run folder's FL ledger journal (fl_ledger.csv) after every exchange; the
follower reads the new rows and calls the observer's hooks as the inline runner does (an exchange's
start, then each silo's row), only later: once that exchange's replies are all in.
"""

from __future__ import annotations

import time
from pathlib import Path

from simulator.deployment.certs import DeploymentCredentials
from simulator.flower.flwr_internals import control_client, run_state
from simulator.deployment.processes import DeploymentError, ProcessSupervisor, StartedProcess
from simulator.ledger import SERVER_SILO, Ledger, LedgerRow
from simulator.progress import NULL_OBSERVER, RunObserver
from simulator.results.atomic import write_text_atomic
from simulator.results.run_dir import FL_HISTORY, FL_LEDGER, LEDGER
from simulator.scenario.schema import Scenario

STATUS_POLL_S = 0.2  # a run's end is noticed within this (the processes stop right after)


class JournalProgress:
    """The observer's hooks, from the FL ledger rows the ServerApp writes after every exchange."""

    def __init__(self, run_dir: Path, observer: RunObserver):
        self._path = run_dir / FL_LEDGER
        self._observer = observer
        self._stamp: tuple[int, int] | None = None
        # Rows already there belong to an earlier process (resume): they are not this run's progress.
        self._seen = len(self._rows()) if observer is not NULL_OBSERVER else 0

    def poll(self) -> None:
        if self._observer is NULL_OBSERVER:
            return
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        rows = self._rows()
        new, self._seen = rows[self._seen :], max(self._seen, len(rows))
        silo_rows = [row for row in new if row.silo != SERVER_SILO]
        groups: dict[tuple[int, str], list[LedgerRow]] = {}
        for row in silo_rows:  # the journal keeps each exchange's rows together, in order
            groups.setdefault((row.round, row.phase), []).append(row)
        for (round_number, phase), rows_of_exchange in groups.items():
            self._observer.exchange_started(round_number, phase, len(rows_of_exchange))
            for row in rows_of_exchange:
                self._observer.silo_finished(round_number, phase, row.silo)

    def _rows(self) -> list[LedgerRow]:
        try:
            return list(Ledger.from_csv(self._path).rows)
        except (OSError, ValueError):  # none yet (written atomically, so never half a file)
            return []


def follow_run(
    run_id: int,
    scenario: Scenario,
    run_dir: Path,
    address: str,
    credentials: DeploymentCredentials | None,
    supervisor: ProcessSupervisor,
    observer: RunObserver = NULL_OBSERVER,
    progress: JournalProgress | None = None,
) -> None:
    """Wait for the run to finish; one clear error if it fails or one of our processes stops."""
    # Every round may take its full timeout twice (train and evaluate), plus the start-up.
    limit_s = scenario.deployment.startup_timeout_s + 2 * scenario.training.last_round * scenario.training.round_timeout_s
    deadline = time.monotonic() + limit_s
    progress = progress if progress is not None else JournalProgress(run_dir, observer)
    client = control_client(address, root_certificates=None if credentials is None else credentials.ca_cert.read_bytes())
    try:
        while True:
            progress.poll()
            supervisor.note_descendants()
            stopped = supervisor.first_exited()
            try:
                state = run_state(client, run_id)  # after the check: the ServerApp ends its task, then exits
            except ConnectionError as error:
                if stopped is not None:
                    raise DeploymentError(_stopped_message(stopped, run_id, scenario, run_dir)) from None
                raise DeploymentError(f"{error}; {_rows_note(run_dir)}") from None
            if state is None:
                raise DeploymentError(f"the SuperLink does not know run {run_id}")
            if stopped is not None and not state.finished:
                raise DeploymentError(_stopped_message(stopped, run_id, scenario, run_dir))
            if state.finished:
                progress.poll()
                if not state.completed or not (run_dir / FL_HISTORY).is_file():
                    raise DeploymentError(
                        f"run {run_id} finished as {state.sub_status or 'unknown'}: {state.details or 'no details'}"
                        f"; {_rows_note(run_dir)}; logs in {supervisor.log_dir}"
                    )
                return
            if time.monotonic() > deadline:
                raise DeploymentError(f"run {run_id} did not finish within {limit_s:.0f} s; {_rows_note(run_dir)}")
            time.sleep(STATUS_POLL_S)
    finally:
        client.close()


def _stopped_message(stopped: StartedProcess, run_id: int, scenario: Scenario, run_dir: Path) -> str:
    return (
        f"{stopped.role} (pid {stopped.pid}) stopped with exit status {stopped.popen.returncode} during run {run_id} "
        f"of {scenario.training.rounds} rounds, so the run was ended; {_rows_note(run_dir)}; its log: {stopped.log_path}"
    )


def _rows_note(run_dir: Path) -> str:
    partial = run_dir / FL_LEDGER
    if not partial.is_file():
        return "no ledger rows were measured yet"
    rows = Ledger.from_csv(partial).rows
    silo_rows = [row for row in rows if row.silo != SERVER_SILO]
    last_round = max((row.round for row in rows), default=0)
    return f"{len(silo_rows)} silo ledger rows measured up to round {last_round} are kept in {run_dir / LEDGER}"


def keep_partial_ledger(run_dir: Path) -> None:
    """A run cut short: the FL rows measured so far become the run folder's ledger."""
    partial = run_dir / FL_LEDGER
    if partial.is_file() and not (run_dir / LEDGER).exists():
        write_text_atomic(run_dir / LEDGER, partial.read_text())
