"""MLproject parsing and parameter checks: everything that must fail before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from lockgate.errors import InvalidArgument, NotFound
from lockgate.projects.params import build_command, resolve_parameters
from lockgate.projects.spec import load_project

MLPROJECT = """
name: demo
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      data: path
      lr: {type: float, default: 0.1}
      depth: {type: int, default: 3}
      name: {type: string, default: "a b"}
      out: {type: uri, default: "s3://bucket/x"}
    command: "python main.py {data} --lr {lr} --depth {depth} --name {name} --out {out}"
"""


def _project(tmp_path: Path, text: str = MLPROJECT) -> Path:
    (tmp_path / "MLproject").write_text(text)
    (tmp_path / "python_env.yaml").write_text("python: '3.11'\ndependencies: []\n")
    (tmp_path / "main.py").write_text("print('hi')\n")
    (tmp_path / "prep.sh").write_text("echo prep\n")
    return tmp_path


def test_mlproject_is_read_with_types_defaults_and_env(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path))
    assert project.name == "demo"
    assert project.env.kind == "python" and project.env.path == tmp_path / "python_env.yaml"
    params = project.entry_point("main").parameters
    assert {k: (p.type, p.default) for k, p in params.items()} == {
        "data": ("path", None), "lr": ("float", 0.1), "depth": ("int", 3),
        "name": ("string", "a b"), "out": ("uri", "s3://bucket/x")}
    assert params["data"].required and not params["lr"].required


def test_command_is_filled_quoted_and_unknown_params_are_appended(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path))
    entry = project.entry_point("main")
    (tmp_path / "d.csv").write_text("x\n")
    declared, extra = resolve_parameters(entry, {"data": "d.csv", "lr": "0.5", "extra_flag": "7"},
                                         cwd=tmp_path)
    assert declared["data"] == str(tmp_path / "d.csv")
    assert extra == {"extra_flag": "7"}
    assert build_command(entry, declared, extra) == (
        f"python main.py {tmp_path / 'd.csv'} --lr 0.5 --depth 3 --name 'a b' "
        "--out s3://bucket/x --extra_flag 7")


def test_py_and_sh_files_are_entry_points_without_a_project_file(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text("print(1)\n")
    (tmp_path / "prep.sh").write_text("echo 1\n")
    project = load_project(tmp_path)
    assert project.env.kind == "none"
    job = project.entry_point("job.py")
    assert build_command(job, *resolve_parameters(job, {"alpha": "1"})) == "python job.py --alpha 1"
    assert project.entry_point("prep.sh").command == "bash prep.sh"


def test_missing_mlproject_and_no_entry_point_file(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("nothing to run\n")
    with pytest.raises(NotFound, match="no MLproject file and no .py or .sh file"):
        load_project(tmp_path)


def test_unknown_entry_point_names_it_and_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"no entry point 'nope' \(declared: main"):
        load_project(_project(tmp_path)).entry_point("nope")


@pytest.mark.parametrize(("name", "value", "kind"), [("lr", "fast", "float"), ("depth", "2.5", "int")])
def test_wrong_type_names_parameter_value_and_type(tmp_path: Path, name: str, value: str, kind: str) -> None:
    entry = load_project(_project(tmp_path)).entry_point("main")
    (tmp_path / "d.csv").write_text("x\n")
    with pytest.raises(InvalidArgument, match=rf"Parameter '{name}' = '{value}' is not an? {kind}"):
        resolve_parameters(entry, {"data": "d.csv", name: value}, cwd=tmp_path)


def test_missing_required_parameter(tmp_path: Path) -> None:
    entry = load_project(_project(tmp_path)).entry_point("main")
    with pytest.raises(InvalidArgument, match="needs parameter\\(s\\) 'data'"):
        resolve_parameters(entry, {"lr": "0.2"}, cwd=tmp_path)


def test_path_parameter_to_missing_file(tmp_path: Path) -> None:
    entry = load_project(_project(tmp_path)).entry_point("main")
    with pytest.raises(NotFound, match="Parameter 'data' = 'nope.csv': path .* does not exist"):
        resolve_parameters(entry, {"data": "nope.csv"}, cwd=tmp_path)


def test_unknown_parameter_type_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="has type 'number'; expected one of string, float"):
        load_project(_project(tmp_path, MLPROJECT.replace("data: path", "data: number")))


def test_docker_env_and_conda_env_are_read(tmp_path: Path) -> None:
    (tmp_path / "MLproject").write_text("name: d\ndocker_env:\n  image: python:3.11\n"
                                        "entry_points:\n  main:\n    command: echo hi\n")
    project = load_project(tmp_path)
    assert (project.env.kind, project.env.image) == ("docker", "python:3.11")
    (tmp_path / "conda.yaml").write_text("name: c\ndependencies: [python=3.11]\n")
    (tmp_path / "MLproject").write_text("name: c\nconda_env: conda.yaml\n"
                                        "entry_points:\n  main:\n    command: echo hi\n")
    assert load_project(tmp_path).env.kind == "conda"
