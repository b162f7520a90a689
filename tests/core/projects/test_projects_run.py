"""Real project runs: real processes, real uv environments, real git repositories."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lockgate
import lockgate.projects
import pytest
from lockgate.entities import RunStatus
from lockgate.errors import InvalidArgument, LockgateError, NotFound
from lockgate.projects.envs import EnvironmentError_


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()

LOCKGATE = str(Path(sys.executable).with_name("lockgate"))


def _artifact(run_id: str, path: str, tmp_path: Path) -> str:
    local = lockgate.LockgateClient().download_artifacts(run_id, path, dst_path=str(tmp_path / "dl"))
    return Path(local).read_text()


def test_run_the_example_then_rerun_it_reproduces_the_metric(
        make_repo: Callable[..., Path], tmp_path: Path) -> None:
    repo = make_repo(sub="models/churn")
    commit = git("rev-parse", "HEAD", cwd=repo)
    run = lockgate.projects.run(f"{repo}#models/churn", entry_point="train",
                                parameters={"lr": 0.2, "epochs": 5})
    assert run.info.status == RunStatus.FINISHED
    tags, params = run.data.tags, run.data.params
    assert params == {"lr": "0.2", "epochs": "5", "seed": "7"}
    assert tags["lockgate.source.git.commit"] == commit
    assert tags["lockgate.source.git.dirty"] == "false"
    assert tags["lockgate.project.entry_point"] == "train"
    assert tags["lockgate.project.command"] == "python train.py --lr 0.2 --epochs 5 --seed 7"
    assert tags["lockgate.project.env_manager"] == "uv"
    assert tags["lockgate.project.exit_code"] == "0"
    accuracy = run.data.metrics["accuracy"]
    assert 0.5 < accuracy <= 1.0
    assert len(lockgate.get_metric_history(run.info.run_id, "train_loss")) == 5
    assert f"accuracy={accuracy:.4f}" in _artifact(run.info.run_id, "project/stdout.txt", tmp_path)
    lock = _artifact(run.info.run_id, "project/requirements.lock", tmp_path)
    from lockgate.projects.envs import lock_hash

    assert tags["lockgate.project.lock_hash"] == lock_hash(lock)

    # A new commit on top must not leak into the re-run: it runs the recorded commit.
    train = repo / "models/churn/train.py"
    train.write_text(train.read_text().replace("data[:300], data[300:]", "data[:100], data[100:]"))
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "change split", cwd=repo)

    again = lockgate.projects.rerun(run.info.run_id)
    assert again.info.run_id != run.info.run_id
    assert again.info.status == RunStatus.FINISHED
    assert again.data.tags["lockgate.project.rerun_of"] == run.info.run_id
    assert again.data.tags["lockgate.source.git.commit"] == commit
    assert again.data.tags["lockgate.project.lock_hash"] == tags["lockgate.project.lock_hash"]
    assert again.data.params == params
    assert again.data.metrics["accuracy"] == accuracy


def test_cli_run_from_a_git_uri_at_a_commit_and_dry_run(make_repo: Callable[..., Path]) -> None:
    repo = make_repo(sub="models/churn")
    first = git("rev-parse", "HEAD", cwd=repo)
    (repo / "models/churn/extra.txt").write_text("later\n")
    git("add", "-A", cwd=repo)
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "later", cwd=repo)
    uri = f"file://{repo}#models/churn"
    dry = subprocess.run([LOCKGATE, "run", uri, "-v", first, "-e", "train", "-P", "epochs=2",
                          "--dry-run"], capture_output=True, check=False, text=True, env=os.environ)
    assert dry.returncode == 0, dry.stderr
    described = json.loads(dry.stdout)
    assert described["commit"] == first
    assert described["command"] == "python train.py --lr 0.1 --epochs 2 --seed 7"
    assert described["env_manager"] == "uv"
    assert len(lockgate.search_runs(["0"])) == 0  # a dry run records nothing

    done = subprocess.run([LOCKGATE, "run", uri, "-v", first, "-e", "train", "-P", "epochs=2"],
                          capture_output=True, check=False, text=True, env=os.environ)
    assert done.returncode == 0, done.stderr
    assert "FINISHED" in done.stderr and "accuracy=" in done.stdout
    (run,) = lockgate.search_runs(["0"])
    assert run.data.tags["lockgate.source.git.commit"] == first
    assert run.data.tags["lockgate.project.uri"] == uri


def test_cli_bad_inputs_print_one_line_and_exit_1(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    cases = [
        (["run", str(repo), "-e", "nope"], "no entry point 'nope'"),
        (["run", str(repo), "-e", "train", "-P", "lr=fast"], "Parameter 'lr' = 'fast' is not a float"),
        (["run", f"file://{repo}/missing.git", "-e", "train"], "Cannot clone git repository"),
        (["run", f"file://{repo}", "-v", "0123abc", "-e", "train"], "has no commit or branch '0123abc'"),
    ]
    for args, message in cases:
        done = subprocess.run([LOCKGATE, *args], capture_output=True, check=False, text=True, env=os.environ)
        assert done.returncode == 1, (args, done.stderr)
        assert message in done.stderr.replace("\n", " "), done.stderr
        assert "Traceback" not in done.stderr
    assert len(lockgate.search_runs(["0"])) == 0  # nothing ran, nothing recorded


def test_entry_point_exiting_non_zero_gives_a_failed_run(make_repo: Callable[..., Path]) -> None:
    repo = make_repo({"MLproject": "name: f\nentry_points:\n  main:\n    command: 'python fail.py'\n",
                      "fail.py": "import sys\nprint('oops', file=sys.stderr)\nsys.exit(3)\n"})
    run = lockgate.projects.run(str(repo))
    assert run.info.status == RunStatus.FAILED
    assert run.data.tags["lockgate.project.exit_code"] == "3"
    assert run.data.tags["lockgate.project.env_manager"] == "local"


def test_unresolvable_environment_names_the_package(make_repo: Callable[..., Path]) -> None:
    repo = make_repo({"MLproject": "name: u\npython_env: env.yaml\nentry_points:\n  main:\n"
                                   "    command: 'python -c pass'\n",
                      "env.yaml": "python: '3.11'\ndependencies: [lockgate-no-such-package-q7x9]\n"})
    with pytest.raises(EnvironmentError_, match="lockgate-no-such-package-q7x9"):
        lockgate.projects.run(str(repo))
    assert len(lockgate.search_runs(["0"])) == 0


def test_conda_without_conda_and_docker_without_engine_are_clear(
        make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo({"MLproject": "name: c\nconda_env: conda.yaml\nentry_points:\n  main:\n"
                                   "    command: 'echo hi'\n",
                      "conda.yaml": "name: c\ndependencies: [python=3.11]\n",
                      "docker/MLproject": "name: d\ndocker_env: {image: 'python:3.11'}\n"
                                          "entry_points:\n  main:\n    command: 'echo hi'\n"})
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + "/usr/bin:/bin")
    monkeypatch.delenv("CONDA_EXE", raising=False)
    if any(Path(d, "conda").exists() for d in ("/usr/bin", "/bin")):
        pytest.fail("a conda executable is installed system-wide; this test needs it absent")
    with pytest.raises(EnvironmentError_, match="no conda executable"):
        lockgate.projects.run(str(repo), env_manager="conda")
    with pytest.raises(EnvironmentError_, match="no container engine answers"):
        lockgate.projects.run(f"{repo}#docker")


def test_rerun_refuses_without_commit_or_lock(tmp_path: Path, make_repo: Callable[..., Path]) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "job.py").write_text("print('hi')\n")
    run = lockgate.projects.run(str(plain), entry_point="job.py")
    assert run.info.status == RunStatus.FINISHED
    with pytest.raises(InvalidArgument, match="recorded no git commit"):
        lockgate.projects.rerun(run.info.run_id)

    repo = make_repo(name="locked")
    locked = lockgate.projects.run(str(repo), entry_point="train", parameters={"epochs": 1})
    client = lockgate.LockgateClient()
    artifact_dir = Path(client.get_run(locked.info.run_id).info.artifact_uri.removeprefix("file://"))
    (artifact_dir / "project" / "requirements.lock").unlink()
    with pytest.raises(NotFound, match="has no locked environment"):
        lockgate.projects.rerun(locked.info.run_id)

    with pytest.raises(LockgateError):
        lockgate.projects.rerun("0" * 32)


def test_ctrl_c_marks_the_run_killed_and_stops_the_child(make_repo: Callable[..., Path],
                                                        tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    repo = make_repo({"MLproject": "name: s\nentry_points:\n  main:\n"
                                   "    parameters: {pidfile: string}\n"
                                   "    command: 'python sleep.py {pidfile}'\n",
                      "sleep.py": "import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\n"
                                  "time.sleep(600)\n"})
    proc = subprocess.Popen([LOCKGATE, "run", str(repo), "-P", f"pidfile={pid_file}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    child = int(pid_file.read_text())
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    (run,) = lockgate.search_runs(["0"])
    assert run.info.status == RunStatus.KILLED
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_missing_uv_says_how_to_install_it(make_repo: Callable[..., Path], tmp_path: Path) -> None:
    repo = make_repo()
    site = tmp_path / "site"
    site.mkdir()
    # As if the projects extra were not installed: the uv package hidden, no uv on PATH.
    (site / "sitecustomize.py").write_text(
        "import sys\n\nclass _Hide:\n    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'uv':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n\n"
        "sys.meta_path.insert(0, _Hide())\n")
    if any(Path(d, "uv").exists() for d in ("/usr/bin", "/bin")):
        pytest.fail("uv is installed system-wide; this test needs it absent from /usr/bin and /bin")
    env = {**os.environ, "PYTHONPATH": str(site), "PATH": "/usr/bin:/bin",
           "LOCKGATE_PROJECTS_HOME": str(tmp_path / "fresh")}
    done = subprocess.run([sys.executable, "-m", "lockgate.cli", "run", str(repo), "-e", "train"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1, done.stderr
    assert "pip install 'lockgate[projects]'" in done.stderr.replace("\n", " ")
    assert "Traceback" not in done.stderr


def test_rerun_refuses_uncommitted_changes(make_repo: Callable[..., Path]) -> None:
    repo = make_repo({"MLproject": "name: d\nentry_points:\n  main:\n    command: 'python job.py'\n",
                      "job.py": "print('v1')\n"})
    (repo / "new_helper.py").write_text("X = 1\n")  # untracked: a re-run would not have it
    run = lockgate.projects.run(str(repo))
    assert run.data.tags["lockgate.source.git.dirty"] == "true"
    with pytest.raises(InvalidArgument, match="uncommitted changes on top of commit"):
        lockgate.projects.rerun(run.info.run_id)


def test_entry_point_started_before_its_run_is_recorded_waits_for_the_record(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # `lockgate run` with an embedded store starts the entry point first (warm start); the
    # entry point's start_run() must then wait for the run, not fail or create another.
    import threading
    import uuid

    run_id = uuid.uuid4().hex
    monkeypatch.setenv("LOCKGATE_RUN_ID", run_id)
    monkeypatch.setenv("LOCKGATE_RUN_PENDING", run_id)
    client = lockgate.LockgateClient()
    recorder = threading.Timer(0.5, lambda: client.create_run("0", run_id=run_id, run_name="late"))
    recorder.start()
    with lockgate.start_run() as active:
        lockgate.log_metric("m", 1.5)
    recorder.join()
    run = client.get_run(run_id)
    assert (active.info.run_id, run.info.run_name, run.data.metrics["m"]) == (run_id, "late", 1.5)
    with pytest.raises(InvalidArgument, match="32 lowercase hex"):
        client.create_run("0", run_id="not-an-id")
    monkeypatch.delenv("LOCKGATE_RUN_PENDING")
    monkeypatch.setenv("LOCKGATE_RUN_ID", uuid.uuid4().hex)
    with pytest.raises(NotFound):  # without the pending marker a missing run fails at once
        lockgate.start_run()


def test_bare_git_uri_with_subfolder_at_a_commit(make_repo: Callable[..., Path], tmp_path: Path) -> None:
    # The form: lockgate run file:///repos/churn.git#models/churn -v 3f2a9c1 -e train
    work = make_repo(sub="models/churn")
    first = git("rev-parse", "HEAD", cwd=work)
    (work / "models/churn/train.py").write_text("raise SystemExit('the later commit must not run')\n")
    (work / "later").mkdir()
    (work / "later/job.py").write_text("print('later')\n")
    git("add", "-A", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "later", cwd=work)
    bare = tmp_path / "churn.git"
    git("clone", "--quiet", "--bare", str(work), str(bare), cwd=tmp_path)

    run = lockgate.projects.run(f"file://{bare}#models/churn", version=first[:7], entry_point="train",
                                parameters={"epochs": 2})
    assert run.info.status == RunStatus.FINISHED
    tags = run.data.tags
    assert (tags["lockgate.source.git.commit"], tags["lockgate.source.git.dirty"]) == (first, "false")
    assert (tags["lockgate.project.repo"], tags["lockgate.project.subdirectory"]) == (
        f"file://{bare}", "models/churn")
    assert run.data.metrics["accuracy"] > 0.6
    again = lockgate.projects.rerun(run.info.run_id)  # from the bare repository, at that commit
    assert again.data.metrics["accuracy"] == run.data.metrics["accuracy"]
    assert again.data.tags["lockgate.project.rerun_of"] == run.info.run_id
    with pytest.raises(NotFound, match=f"at {first[:12]} has no folder 'later'"):
        lockgate.projects.run(f"file://{bare}#later", version=first, entry_point="job.py")
    with pytest.raises(NotFound, match="has no commit or branch 'feedbeef'"):
        lockgate.projects.run(f"file://{bare}#models/churn", version="feedbeef", entry_point="train")
    assert len(lockgate.search_runs(["0"])) == 2  # the refusals recorded nothing
