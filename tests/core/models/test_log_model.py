"""log_model into runs, registration, and loading back through runs:/ and models:/ URIs."""

from __future__ import annotations

import lockgate
import numpy as np
import pandas as pd
import pytest
from lockgate.errors import InvalidArgument, NotFound
from sklearn.linear_model import LogisticRegression


@pytest.fixture
def churn_data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"tenure": rng.integers(0, 60, 120).astype("int64"), "spend": rng.normal(80, 20, 120)})
    return X, (X["spend"] > 80).astype(int).to_numpy()


def test_sklearn_log_model_register_and_load_everywhere(client, churn_data) -> None:
    X, y = churn_data
    est = LogisticRegression().fit(X, y)
    with lockgate.start_run() as run:
        info = lockgate.sklearn.log_model(est, name="model", input_example=X[:5],
                                          registered_model_name="churn")
    assert info.model_uri == f"runs:/{run.info.run_id}/model"
    assert info.registered_model_version == 1
    assert info.signature is not None and info.signature.inputs.names() == ["tenure", "spend"]
    assert [f.path for f in client.list_artifacts(run.info.run_id, "model")] == [
        "model/MLmodel", "model/conda.yaml", "model/input_example.json", "model/model.pkl",
        "model/python_env.yaml", "model/requirements.txt", "model/serving_input_example.json"]

    client.set_registered_model_alias("churn", "champion", 1)
    expected = est.predict(X)
    for uri in (info.model_uri, "models:/churn/1", "models:/churn@champion"):
        model = lockgate.pyfunc.load_model(uri)
        np.testing.assert_array_equal(model.predict(X), expected)
        np.testing.assert_array_equal(model.predict(model.input_example()), expected[:5])
        assert model.metadata.run_id == run.info.run_id
        assert model.metadata.artifact_path == "model"
    assert type(lockgate.sklearn.load_model("models:/churn@champion")) is LogisticRegression

    with lockgate.start_run():
        again = lockgate.sklearn.log_model(est, name="model", registered_model_name="churn")
    assert again.registered_model_version == 2


def test_model_uris_that_name_nothing(client) -> None:
    client.create_registered_model("empty")
    with pytest.raises(NotFound):
        lockgate.pyfunc.load_model("models:/empty/1")
    with pytest.raises(NotFound):
        lockgate.pyfunc.load_model("models:/no-such-model@champion")
    with pytest.raises(NotFound):
        lockgate.pyfunc.load_model("runs:/0123456789abcdef0123456789abcdef/model")
    with lockgate.start_run() as run:
        pass
    with pytest.raises(NotFound, match="Nothing exists"):
        lockgate.pyfunc.load_model(f"runs:/{run.info.run_id}/model")


def test_log_model_name_may_not_escape_the_run(client, churn_data) -> None:
    X, y = churn_data
    with lockgate.start_run(), pytest.raises(InvalidArgument, match="not allowed"):
        lockgate.sklearn.log_model(LogisticRegression().fit(X, y), name="../../elsewhere")


def test_log_model_without_active_run_starts_one(client, churn_data) -> None:
    X, y = churn_data
    info = lockgate.sklearn.log_model(LogisticRegression().fit(X, y), name="m")
    active = lockgate.active_run()
    assert active is not None and info.run_id == active.info.run_id
    lockgate.end_run()


def test_pyfunc_and_pytorch_log_model(client) -> None:
    import torch

    class Echo(lockgate.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input * 3

    net = torch.nn.Sequential(torch.nn.Linear(4, 2))
    example = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    with lockgate.start_run() as run:
        lockgate.pyfunc.log_model("echo", python_model=Echo(), input_example=pd.DataFrame({"x": [1.0, 2.0]}),
                                  registered_model_name="echo")
        torch_info = lockgate.pytorch.log_model(net, name="net", input_example=example)
    echo = lockgate.pyfunc.load_model("models:/echo/1")
    assert echo.predict(echo.input_example())["x"].tolist() == [3.0, 6.0]
    loaded = lockgate.pyfunc.load_model(f"runs:/{run.info.run_id}/net")
    with torch.no_grad():
        expected = net(torch.as_tensor(example)).numpy()
    np.testing.assert_allclose(loaded.predict(loaded.input_example()), expected, rtol=1e-6)
    assert torch_info.signature.outputs.inputs[0].shape == (-1, 2)


def test_log_model_to_an_s3_experiment(client, s3_server, monkeypatch, churn_data, tmp_path) -> None:
    import s3fs

    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    bucket = "lg-models-s3"
    fs = s3fs.S3FileSystem(skip_instance_cache=True, **s3_server.storage_options())
    if not fs.exists(bucket):
        fs.mkdir(bucket)
    X, y = churn_data
    est = LogisticRegression().fit(X, y)
    exp = client.create_experiment("s3-models", artifact_location=f"s3://{bucket}/exp")
    with lockgate.start_run(experiment_id=exp) as run:
        info = lockgate.sklearn.log_model(est, name="model", input_example=X[:3],
                                          registered_model_name="churn-s3")
    assert client.get_run(run.info.run_id).info.artifact_uri.startswith("s3://")
    for uri in (info.model_uri, "models:/churn-s3/1"):
        model = lockgate.pyfunc.load_model(uri, dst_path=str(tmp_path / uri.replace(":", "_").replace("/", "_")))
        np.testing.assert_array_equal(model.predict(X), est.predict(X))
    model = lockgate.pyfunc.load_model(info.model_uri)
    np.testing.assert_array_equal(model.predict(model.input_example()), est.predict(X[:3]))
