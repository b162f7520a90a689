"""Start-up time of a project run: from `lockgate run` to the entry point's first line.

Run by hand (not a test): ``python bench/projects_bench.py --rounds 3 [--dep six==1.17.0]``
with the tests-core interpreter (``.nox/tests-core/bin/python``). For each tool it measures a
cold start (a fresh environment cache, so the environment is built) and a warm one (the same
inputs again), beside ``mlflow run --env-manager virtualenv`` on the same project in the same
sitting, and MLflow's own uv manager. MLflow's virtualenv manager needs pyenv; when it cannot
run here the reason is printed instead of a figure. Numbers depend heavily on machine load: ``uptime`` is
printed with them.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENTRY = "import os, time; open(os.environ['BENCH_STAMP'], 'w').write(repr(time.time()))\n"


def _project(root: Path, deps: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "MLproject").write_text(
        "name: bench\npython_env: python_env.yaml\nentry_points:\n"
        "  main:\n    command: 'python first_line.py'\n")
    # The exact version: MLflow's virtualenv manager would otherwise ask pyenv for the newest
    # 3.x.y it can build and compile that from source.
    py = platform.python_version()
    (root / "python_env.yaml").write_text(
        f"python: '{py}'\nbuild_dependencies: [pip]\ndependencies: {deps!r}\n")
    (root / "first_line.py").write_text(ENTRY)
    return root


def _time_to_first_line(argv: list[str], env: dict[str, str], stamp: Path) -> float | str:
    stamp.unlink(missing_ok=True)
    started = time.time()
    done = subprocess.run(argv, env={**env, "BENCH_STAMP": str(stamp)}, capture_output=True,
                          text=True, check=False, timeout=1800)
    if done.returncode != 0 or not stamp.exists():
        tail = (done.stderr.strip().splitlines() or ["no output"])[-3:]
        return "failed: " + " | ".join(tail)
    return float(stamp.read_text()) - started


def _bench(name: str, argv: list[str], env_for_cache: dict[str, str], rounds: int,
           work: Path) -> None:
    cold: list[float] = []
    warm: list[float] = []
    for i in range(rounds):
        cache = work / f"{''.join(c if c.isalnum() else '-' for c in name)}-cache-{i}"
        cache.mkdir(parents=True)
        env = {**os.environ, **{k: v.format(cache=cache) for k, v in env_for_cache.items()}}
        for bucket in (cold, warm):
            result = _time_to_first_line(argv, env, work / "stamp")
            if isinstance(result, str):
                print(f"{name:<28} cannot run here: {result}")
                return
            bucket.append(result)
        shutil.rmtree(cache, ignore_errors=True)
    print(f"{name:<28} cold {statistics.median(cold):7.2f} s   warm {statistics.median(warm):7.2f} s"
          f"   (median of {rounds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dep", action="append", default=[], help="a dependency (repeatable)")
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    print(subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip())
    with tempfile.TemporaryDirectory(prefix="projects-bench-") as tmp:
        work = Path(tmp)
        project = _project(work / "project", args.dep)
        track = {"LOCKGATE_HOME": "{cache}/home", "LOCKGATE_PROJECTS_HOME": "{cache}/projects"}
        _bench("lockgate run (uv)", [str(bindir / "lockgate"), "run", str(project)], track,
               args.rounds, work)
        if args.skip_mlflow:
            return
        mlflow = bindir / "mlflow"
        if not mlflow.exists():
            print("mlflow run                   cannot run here: mlflow is not installed")
            return
        # MLflow 3's virtualenv manager installs the Python with pyenv and builds the env with
        # `python -m venv` + pip; its uv manager uses `uv venv` + `uv pip install`.
        mlflow_env = {"MLFLOW_ENV_ROOT": "{cache}/envs", "MLFLOW_TRACKING_URI": "sqlite:///{cache}/mlflow.db",
                      "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
        if shutil.which("pyenv"):
            _bench("mlflow run (virtualenv)", [str(mlflow), "run", str(project), "--env-manager",
                                               "virtualenv"], mlflow_env, args.rounds, work)
        else:
            print("mlflow run (virtualenv)      cannot run here: no pyenv on PATH")
        _bench("mlflow run (uv)", [str(mlflow), "run", str(project), "--env-manager", "uv"],
               mlflow_env, args.rounds, work)

if __name__ == "__main__":
    main()
