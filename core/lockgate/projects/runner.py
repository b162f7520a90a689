"""Run a project entry point as a tracked run, and re-run a past run exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from lockgate.errors import InvalidArgument, LockgateError, NotFound
from lockgate.projects.envs import Environment, default_manager, prepare
from lockgate.projects.params import build_command, resolve_parameters
from lockgate.projects.source import ProjectSource, fetch
from lockgate.projects.spec import load_project

if TYPE_CHECKING:
    from lockgate.client import LockgateClient
    from lockgate.entities import Run

__all__ = ["LOCK_ARTIFACT", "TAGS", "Plan", "ProjectRunFailed", "plan", "rerun", "run", "summary"]

LOCK_ARTIFACT = "project/requirements.lock"
TAGS = {
    "uri": "lockgate.project.uri", "repo": "lockgate.project.repo",
    "subdirectory": "lockgate.project.subdirectory", "entry_point": "lockgate.project.entry_point",
    "command": "lockgate.project.command", "env_manager": "lockgate.project.env_manager",
    "lock_hash": "lockgate.project.lock_hash", "exit_code": "lockgate.project.exit_code",
    "rerun_of": "lockgate.project.rerun_of", "commit": "lockgate.source.git.commit",
    "dirty": "lockgate.source.git.dirty",
}
_STOP_GRACE_S = 10.0


_STDERR_TAIL_LINES = 20


class ProjectRunFailed(LockgateError):
    """An entry point exited non-zero (``run(check=True)``); ``run`` is the finished FAILED run."""

    code = "PROJECT_RUN_FAILED"

    def __init__(self, run: Run, *, stderr_tail: str = "") -> None:
        tags = run.data.tags
        exit_code = tags.get(TAGS["exit_code"], "unknown")
        message = (f"Entry point {tags.get(TAGS['entry_point'])!r} of project {tags.get(TAGS['uri'])!r} "
                   f"exited with code {exit_code}; run {run.info.run_id} is FAILED.")
        if stderr_tail:
            message += f" Its stderr ends with:\n{stderr_tail}"
        super().__init__(message, details={"run_id": run.info.run_id, "exit_code": exit_code})
        self.run = run


def summary(run: Run) -> dict[str, Any]:
    """What an orchestrator step hands on: ``{"run_id", "status", "metrics", "params"}``."""
    return {"run_id": run.info.run_id, "status": run.info.status.value,
            "metrics": dict(run.data.metrics), "params": dict(run.data.params)}


@dataclass
class Plan:
    """A resolved project run: source, entry point, checked parameters, command, environment."""

    source: ProjectSource
    entry_point: str
    parameters: dict[str, str]
    command: str
    environment: Environment

    def describe(self) -> dict[str, Any]:
        """What ``--dry-run`` prints."""
        env = self.environment
        return {"project": str(self.source.directory), "uri": self.source.uri,
                "commit": self.source.commit, "dirty": self.source.dirty,
                "entry_point": self.entry_point, "parameters": self.parameters,
                "command": self.command, "env_manager": env.manager, "environment": env.location,
                "lock_hash": env.lock_hash, "cached": env.cached, "notes": env.notes}


def plan(uri: str, *, entry_point: str = "main", parameters: Mapping[str, Any] | None = None,
         version: str | None = None, env_manager: str | None = None, lock: str | None = None,
         build: bool = True) -> Plan:
    """Fetch, parse and check everything a run needs; fails before anything runs."""
    source = fetch(uri, version=version)
    try:
        project = load_project(source.directory)
        entry = project.entry_point(entry_point)
        declared, extra = resolve_parameters(entry, parameters or {})
        command = build_command(entry, declared, extra)
        environment = prepare(project, env_manager or default_manager(project), lock=lock, build=build)
    except BaseException:
        source.cleanup()
        raise
    return Plan(source=source, entry_point=entry_point, parameters={**declared, **extra},
                command=command, environment=environment)


def _tee(stream: IO[bytes], sink: IO[bytes], echo: IO[bytes] | None) -> None:
    for chunk in iter(lambda: stream.read1(65536), b""):  # type: ignore[attr-defined]
        sink.write(chunk)
        sink.flush()
        if echo is not None:
            echo.write(chunk)
            echo.flush()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the child's whole process group: SIGTERM, then SIGKILL after a grace period."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=_STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def _tags(prepared: Plan, extra_tags: Mapping[str, str]) -> dict[str, str]:
    src, env = prepared.source, prepared.environment
    tags = {TAGS["uri"]: src.uri, TAGS["entry_point"]: prepared.entry_point,
            TAGS["command"]: prepared.command, TAGS["env_manager"]: env.manager,
            TAGS["subdirectory"]: src.subdirectory, "mlflow.source.type": "PROJECT",
            "mlflow.source.name": src.uri, "mlflow.project.entryPoint": prepared.entry_point,
            "mlflow.project.env": env.manager, **extra_tags}
    if src.repo:
        tags[TAGS["repo"]] = src.repo
    if src.commit:
        tags.update({TAGS["commit"]: src.commit, "mlflow.source.git.commit": src.commit,
                     TAGS["dirty"]: "true" if src.dirty else "false"})
    if env.lock_hash:
        tags[TAGS["lock_hash"]] = env.lock_hash
    return tags


def _argv(prepared: Plan, child_env: Mapping[str, str]) -> list[str]:
    env = prepared.environment
    if env.manager != "docker":
        return ["bash", "-c", prepared.command]
    return [env.location, "run", "--rm", "-v", f"{prepared.source.directory}:/lockgate/project",
            "-w", "/lockgate/project", *[f"-e{k}={child_env[k]}" for k in
            ("LOCKGATE_RUN_ID", "MLFLOW_RUN_ID", "LOCKGATE_TRACKING_URI", "MLFLOW_TRACKING_URI")],
            str(env.docker_image), "bash", "-c", prepared.command]


@dataclass
class _Launch:
    """Where a run is recorded, decided before the entry point starts."""

    tracking_uri: str
    experiment_id: str | None  # None: the client resolves it (a name, or a parent's experiment)
    early: bool  # start the entry point before recording the run
    run_id: str | None = None


def _launch(tracking_uri: str | None, experiment_id: str | None,
            parent_run_id: str | None) -> _Launch:
    from lockgate import settings
    from lockgate.chosen_experiment import known_experiment_id

    uri = tracking_uri or settings.tracking_uri()
    known = known_experiment_id() if experiment_id is None and parent_run_id is None else None
    # With an embedded store, importing it costs more than everything else in a warm start, so
    # the entry point starts first under a run id chosen here, and its lockgate.start_run()
    # waits for the record (LOCKGATE_RUN_PENDING). A server assigns run ids: record first there.
    if known is not None and not settings.is_http_uri(uri):
        return _Launch(uri, known, early=True, run_id=uuid.uuid4().hex)
    return _Launch(uri, experiment_id, early=False)


def _record(client: LockgateClient, prepared: Plan, launch: _Launch, *, run_name: str | None,
            tags: Mapping[str, str], parent_run_id: str | None, start_ms: int) -> Run:
    experiment = launch.experiment_id
    if experiment is None:
        from lockgate.fluent import _default_experiment_id

        experiment = (client.get_run(parent_run_id).info.experiment_id if parent_run_id
                      else _default_experiment_id(client))
    created = client.create_run(experiment, run_name=run_name, tags=tags, run_id=launch.run_id,
                                parent_run_id=parent_run_id, start_time=start_ms)
    if prepared.parameters:
        client.log_params(created.info.run_id, prepared.parameters)
    return created


def _execute(prepared: Plan, *, experiment_id: str | None, run_name: str | None,
             extra_tags: Mapping[str, str], echo: bool, tracking_uri: str | None,
             parent_run_id: str | None = None, check: bool = False) -> Run:
    launch = _launch(tracking_uri, experiment_id, parent_run_id)
    tags = _tags(prepared, extra_tags)
    start_ms = int(time.time() * 1000)
    client: LockgateClient | None = None
    if not launch.early:
        from lockgate.client import LockgateClient

        client = LockgateClient(launch.tracking_uri)
        created = _record(client, prepared, launch, run_name=run_name, tags=tags,
                          parent_run_id=parent_run_id, start_ms=start_ms)
        launch.run_id, launch.experiment_id = created.info.run_id, created.info.experiment_id
    run_id, exp_id = str(launch.run_id), str(launch.experiment_id)
    child_env = {**os.environ, **prepared.environment.env, "LOCKGATE_RUN_ID": run_id,
                 "MLFLOW_RUN_ID": run_id, "LOCKGATE_TRACKING_URI": launch.tracking_uri,
                 "MLFLOW_TRACKING_URI": launch.tracking_uri, "LOCKGATE_EXPERIMENT_ID": exp_id,
                 "MLFLOW_EXPERIMENT_ID": exp_id}
    if launch.early:
        child_env["LOCKGATE_RUN_PENDING"] = run_id
    exit_code: int | None = None
    recorded = not launch.early
    with tempfile.TemporaryDirectory(prefix="lockgate-run-") as logs:
        out_path, err_path = Path(logs, "stdout.txt"), Path(logs, "stderr.txt")
        interrupted = False
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            process = subprocess.Popen(_argv(prepared, child_env), cwd=prepared.source.directory,
                                       env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       start_new_session=True)
            threads = [threading.Thread(target=_tee, daemon=True, args=(
                pipe, sink, (target.buffer if echo else None)))
                for pipe, sink, target in ((process.stdout, out, sys.stdout), (process.stderr, err, sys.stderr))]
            for thread in threads:
                thread.start()
            try:
                # An interrupt is delivered after the store is open and the run recorded, so the
                # run can always be marked KILLED.
                with _interrupts_held():
                    if client is None:
                        client = _open_client(launch.tracking_uri)
                    if not recorded:
                        _record(client, prepared, launch, run_name=run_name, tags=tags,
                                parent_run_id=parent_run_id, start_ms=start_ms)
                        recorded = True
                if prepared.environment.lock is not None:
                    client.log_text(run_id, prepared.environment.lock, LOCK_ARTIFACT)
                exit_code = process.wait()
            except KeyboardInterrupt:
                interrupted = True
            finally:
                _stop(process)
                for thread in threads:
                    thread.join(timeout=5)
        # Interrupts are held while the store opens and the run is recorded, so only one that
        # came before that (nothing stored yet, nothing to mark) gets here without a run.
        if client is None or not recorded:
            raise KeyboardInterrupt
        return _finish(client, run_id, (out_path, err_path), exit_code=exit_code,
                       interrupted=interrupted, check=check)


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back until the block ends, then deliver them as they came.

    A KeyboardInterrupt raised inside a module import leaves that module half-initialised, and
    marking the run KILLED afterwards would fail importing it again (e.g. ``asyncio``).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: held.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if held:
            signal.raise_signal(held[0])


def _open_client(tracking_uri: str) -> LockgateClient:
    """A client whose store is already imported and open (call it with interrupts held)."""
    from lockgate.client import LockgateClient

    client = LockgateClient(tracking_uri)
    client.store  # noqa: B018 - opening the store is the point: its imports must not be cut short
    return client


def _finish(client: LockgateClient, run_id: str, logs: tuple[Path, ...], *, exit_code: int | None,
            interrupted: bool, check: bool) -> Run:
    """Store the logs and set the status from the exit; re-raise an interrupt after that, and
    with ``check`` a failure as ProjectRunFailed."""
    from lockgate.entities import RunStatus

    for path in logs:
        client.log_artifact(run_id, path, "project")
    status = RunStatus.FAILED
    if interrupted:
        status = RunStatus.KILLED
    elif exit_code == 0:
        status = RunStatus.FINISHED
    if exit_code is not None:
        client.set_tag(run_id, TAGS["exit_code"], str(exit_code))
    client.set_terminated(run_id, status)
    if interrupted:
        raise KeyboardInterrupt
    finished = client.get_run(run_id)
    if check and status == RunStatus.FAILED:
        lines = logs[-1].read_text(errors="replace").rstrip().splitlines()
        raise ProjectRunFailed(finished, stderr_tail="\n".join(lines[-_STDERR_TAIL_LINES:]))
    return finished


def run(uri: str, *, entry_point: str = "main", parameters: Mapping[str, Any] | None = None,
        version: str | None = None, env_manager: str | None = None,
        experiment_id: str | None = None, run_name: str | None = None,
        tracking_uri: str | None = None, echo: bool = False,
        parent_run_id: str | None = None, tags: Mapping[str, str] | None = None,
        check: bool = False) -> Run:
    """Run a project's entry point as a tracked run and return the finished run.

    ``uri``: a folder (``path#subdir``) or a git URI; ``version``: a git commit or branch.
    ``parent_run_id`` nests the run under another (in that run's experiment unless
    ``experiment_id`` is given); ``tags`` are added to the run.
    A non-zero exit gives a FAILED run (tag ``lockgate.project.exit_code``), and with ``check``
    raises ProjectRunFailed (exit code and the end of stderr) after recording it; Ctrl-C stops
    the child, marks the run KILLED and re-raises KeyboardInterrupt.
    """
    prepared = plan(uri, entry_point=entry_point, parameters=parameters, version=version,
                    env_manager=env_manager)
    try:
        return _execute(prepared, experiment_id=experiment_id, run_name=run_name,
                        extra_tags=dict(tags or {}), echo=echo, tracking_uri=tracking_uri,
                        parent_run_id=parent_run_id, check=check)
    finally:
        prepared.source.cleanup()


def rerun_plan(run_id: str, *, tracking_uri: str | None = None,
               build: bool = True) -> tuple[Plan, Run]:
    """The plan that repeats ``run_id``: its commit, entry point, params and locked environment."""
    from lockgate.client import LockgateClient

    client = LockgateClient(tracking_uri)
    old = client.get_run(run_id)
    tags = old.data.tags
    if TAGS["entry_point"] not in tags:
        raise InvalidArgument(f"Run {run_id!r} was not started by `lockgate run`; nothing to re-run.")
    commit, repo = tags.get(TAGS["commit"]), tags.get(TAGS["repo"])
    if not commit or not repo:
        raise InvalidArgument(f"Run {run_id!r} recorded no git commit (its project was not in a git "
                              "repository), so its code cannot be recovered.")
    if tags.get(TAGS["dirty"]) == "true":
        raise InvalidArgument(f"Run {run_id!r} ran with uncommitted changes on top of commit "
                              f"{commit[:12]}; that code cannot be recovered.")
    lock: str | None = None
    manager = tags.get(TAGS["env_manager"], "local")
    if manager == "uv":
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = client.download_artifacts(run_id, LOCK_ARTIFACT, dst_path=tmp)
                lock = Path(path).read_text()
            except (NotFound, FileNotFoundError, OSError):
                raise NotFound(f"Run {run_id!r} has no locked environment ({LOCK_ARTIFACT} artifact "
                               "missing); it cannot be re-created exactly.") from None
    sub = tags.get(TAGS["subdirectory"], "")
    uri = f"{repo}#{sub}" if sub else repo
    if not repo.startswith(("git@", "git+", "https://", "http://", "ssh://", "file://")):
        uri = f"{Path(repo).as_uri()}#{sub}" if sub else Path(repo).as_uri()
    try:
        prepared = plan(uri, entry_point=tags[TAGS["entry_point"]], parameters=old.data.params,
                        version=commit, env_manager=manager, lock=lock, build=build)
    except NotFound as exc:
        raise NotFound(f"Cannot recover run {run_id!r}'s code: {exc.message}") from None
    if lock is not None and prepared.environment.lock_hash != tags.get(TAGS["lock_hash"]):
        raise InvalidArgument(f"Run {run_id!r}'s lock artifact does not match its lock hash tag.")
    return prepared, old


def rerun(run_id: str, *, tracking_uri: str | None = None, experiment_id: str | None = None,
          echo: bool = False) -> Run:
    """Run again exactly what produced ``run_id``; the new run has tag lockgate.project.rerun_of."""
    prepared, old = rerun_plan(run_id, tracking_uri=tracking_uri)
    try:
        return _execute(prepared, experiment_id=experiment_id or old.info.experiment_id,
                        run_name=None, extra_tags={TAGS["rerun_of"]: run_id}, echo=echo,
                        tracking_uri=tracking_uri)
    finally:
        prepared.source.cleanup()
