"""The scoring app over MLflow's protocol: every input format, and every bad payload -> 400."""

from __future__ import annotations

import json
from pathlib import Path

import lockgate
import numpy as np
import pytest
from fastapi.testclient import TestClient
from lockgate.serving.app import create_scoring_app
from serving_support import training_frame


@pytest.fixture(scope="module")
def client(churn_model_dir: Path) -> TestClient:
    return TestClient(create_scoring_app(str(churn_model_dir)), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def expected(churn_model_dir: Path) -> list[int]:
    X, _ = training_frame()
    return lockgate.pyfunc.load_model(churn_model_dir).predict(X[:4]).tolist()


def test_ping_health_version(client: TestClient, churn_model_dir: Path) -> None:
    assert client.get("/ping").status_code == 200
    served = {"uri": str(churn_model_dir), "name": None, "alias": None, "version": None, "run_id": None}
    health = client.get("/health")
    assert health.status_code == 200 and health.json() == {"status": "ok", "model": served}
    response = client.get("/version")
    assert response.status_code == 200
    assert response.json() == {"lockgate_version": lockgate.__version__, "model": served}


def test_dataframe_split(client: TestClient, expected: list[int]) -> None:
    X, _ = training_frame()
    body = {"dataframe_split": json.loads(X[:4].to_json(orient="split", index=False))}
    response = client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


def test_dataframe_records(client: TestClient, expected: list[int]) -> None:
    X, _ = training_frame()
    response = client.post("/invocations", json={"dataframe_records": X[:4].to_dict(orient="records")})
    assert response.json() == {"predictions": expected}


def test_inputs_and_instances_as_columns(client: TestClient, expected: list[int]) -> None:
    X, _ = training_frame()
    columns = {c: X[c][:4].tolist() for c in X.columns}
    for key in ("inputs", "instances"):
        response = client.post("/invocations", json={key: columns})
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": expected}
    rows = X[:4].to_dict(orient="records")
    response = client.post("/invocations", json={"instances": rows})
    assert response.json() == {"predictions": expected}


def test_csv(client: TestClient, expected: list[int]) -> None:
    X, _ = training_frame()
    response = client.post("/invocations", content=X[:4].to_csv(index=False),
                           headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


def test_saved_serving_example_replays(client: TestClient, churn_model_dir: Path, expected: list[int]) -> None:
    body = (churn_model_dir / "serving_input_example.json").read_text()
    response = client.post("/invocations", content=body, headers={"Content-Type": "application/json"})
    assert response.json() == {"predictions": expected[:3]}


BAD_JSON_BODIES = [
    (b"", "empty"),
    (b"   ", "empty"),
    (b"{not json", "not valid JSON"),
    (b"[1, 2, 3]", "must be an object"),
    (b"{}", "none of the input keys"),
    (b'{"dataframe_split": {"columns": ["age"], "data": []}}', "is empty"),
    (b'{"dataframe_records": []}', "is empty"),
    (b'{"inputs": []}', "is empty"),
    (b'{"instances": {}}', "empty object"),
    (b'{"dataframe_split": [1, 2]}', "must be an object"),
    (b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}', "has 1 values but there are 2 columns"),
    (b'{"dataframe_split": {"columns": ["age"], "data": [1, 2]}}', "row 0 is not a list"),
    (b'{"dataframe_records": [1, 2]}', "list of objects"),
    (b'{"inputs": [[1, 2], [3]]}', "not a rectangular array"),
    (b'{"inputs": {"a": [1]}, "instances": [1]}', "several input keys"),
    (b'{"inputs": [1], "extra": 1}', "unknown key"),
    (b'{"inputs": [1], "params": [1]}', "'params' must be an object"),
    (b'{"dataframe_split": {"columns": ["wrong", "cols", "here"], "data": [[1, 2, 3]]}}', "missing required column"),
    (b'{"dataframe_records": [{"age": 30, "income": "lots", "plan": "pro"}]}', "Column 'income' expects type 'double'"),
    (b'{"dataframe_records": [{"age": 30.5, "income": 1.0, "plan": "pro"}]}', "Column 'age' expects type 'long'"),
    (b'{"dataframe_records": [{"age": 30, "income": 1.0, "plan": 7}]}', "Column 'plan' expects type 'string'"),
]


@pytest.mark.parametrize("body, message", BAD_JSON_BODIES)
def test_bad_json_payloads_get_400(client: TestClient, body: bytes, message: str) -> None:
    response = client.post("/invocations", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in payload["message"]


@pytest.mark.parametrize("body, message", [
    (b"", "empty"),
    (b"age,income\n1,2\n", "missing required column"),
    (b"age,income,plan\nold,2.0,pro\n", "Column 'age' expects type 'long'"),
    (b"\xff\xfe\x00garbage", "could not be parsed"),
])
def test_bad_csv_payloads_get_400(client: TestClient, body: bytes, message: str) -> None:
    response = client.post("/invocations", content=body, headers={"Content-Type": "text/csv"})
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]


def test_unsupported_content_type(client: TestClient) -> None:
    response = client.post("/invocations", content=b"x", headers={"Content-Type": "application/xml"})
    assert response.status_code == 415
    assert "Unsupported Content-Type" in response.json()["message"]


def test_model_errors_are_400_not_500(tmp_path: Path) -> None:
    class Picky(lockgate.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            raise ValueError("negative values are not allowed")

    lockgate.pyfunc.save_model(tmp_path / "m", python_model=Picky())
    client = TestClient(create_scoring_app(str(tmp_path / "m")), raise_server_exceptions=False)
    response = client.post("/invocations", json={"inputs": [[-1.0]]})
    assert response.status_code == 400
    assert "negative values are not allowed" in response.json()["message"]


def test_tensor_model_and_nan_predictions(tmp_path: Path) -> None:
    class Halve(lockgate.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            out = np.asarray(model_input, dtype="float64") / 2
            out[0, 0] = np.nan
            return out

    lockgate.pyfunc.save_model(tmp_path / "t", python_model=Halve(),
                               input_example=np.ones((2, 2), dtype="float32"))
    client = TestClient(create_scoring_app(str(tmp_path / "t")), raise_server_exceptions=False)
    response = client.post("/invocations", json={"inputs": [[2.0, 4.0], [6.0, 8.0]]})
    assert response.json() == {"predictions": [[None, 2.0], [3.0, 4.0]]}
    bad = client.post("/invocations", json={"inputs": [[1.0, 2.0, 3.0]]})
    assert bad.status_code == 400 and "expects shape [-1, 2]" in bad.json()["message"]
    wrong_type = client.post("/invocations", json={"inputs": [["a", "b"]]})
    assert wrong_type.status_code == 400 and "expects dtype float32" in wrong_type.json()["message"]
