"""Closing a DAG run's parent runs off the caller's thread, so Airflow's own session is never touched.

The DAG-run listener runs inside the scheduler's loop, in the middle of the scheduler's
database session. Airflow's sessions are thread-local (``scoped_session``): looking a
connection up from that thread reuses, commits and closes the scheduler's session and
detaches the ``DagRun`` it is working on, which kills the scheduler. So the listener only
copies plain values (ids and connection names) and queues them; one background thread
looks the connections up (in a session of its own) and writes to Lockgate.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from dataclasses import dataclass

__all__ = ["CloseDagRun", "flush", "submit"]

log = logging.getLogger(__name__)
#: The background thread ends after this many idle seconds (it is started again on demand),
#: so a scheduler that forks executor workers rarely has an extra thread alive when it forks.
IDLE_SECONDS = 2.0
#: How long a process waits at exit for parent runs still being closed.
EXIT_FLUSH_SECONDS = 30.0

_jobs: queue.Queue[CloseDagRun] = queue.Queue()
_thread_lock = threading.Lock()
_thread: threading.Thread | None = None
_atexit_registered = False


@dataclass(frozen=True)
class CloseDagRun:
    """Close the parent runs of one DAG run on each named connection: plain data, safe to queue."""

    dag_id: str
    run_id: str
    state: str
    conn_ids: tuple[str, ...]

    def run(self) -> None:
        """Do it; problems are logged per connection, never raised."""
        from lockgate_airflow.hooks.lockgate import LockgateHook
        from lockgate_airflow.tracking import finish_dag_run

        for conn_id in self.conn_ids:
            try:
                finish_dag_run(
                    LockgateHook(conn_id).get_conn(), dag_id=self.dag_id, run_id=self.run_id, state=self.state
                )
            except Exception:
                log.exception(
                    "Lockgate could not close the parent run of DAG run %s.%s on connection %s",
                    self.dag_id, self.run_id, conn_id,
                )


def _work() -> None:
    global _thread
    from lockgate_airflow.version_compat import release_thread_session

    while True:
        try:
            job = _jobs.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            with _thread_lock:
                if _jobs.empty():
                    _thread = None
                    return
            continue
        try:
            job.run()
        except Exception:  # run() logs its own problems; this guards the thread itself
            log.exception("Lockgate could not close %s", job)
        finally:
            release_thread_session()
            _jobs.task_done()


def submit(job: CloseDagRun) -> None:
    """Queue ``job`` for the background thread (started when none is alive)."""
    global _thread, _atexit_registered
    with _thread_lock:
        _jobs.put(job)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_work, name="lockgate-close-dag-runs", daemon=True)
            _thread.start()
        if not _atexit_registered:
            atexit.register(flush, EXIT_FLUSH_SECONDS)
            _atexit_registered = True


def flush(timeout: float = 60.0) -> bool:
    """Wait until every queued job is done; False when ``timeout`` seconds passed first."""
    deadline = time.monotonic() + timeout
    with _jobs.all_tasks_done:
        while _jobs.unfinished_tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _jobs.all_tasks_done.wait(remaining)
    return True
