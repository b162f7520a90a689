"""Input examples: saved next to the model as MLflow does, and read back for replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lockgate.errors import InvalidArgument

__all__ = ["load_input_example", "save_input_example", "serving_payload"]

EXAMPLE_FILE = "input_example.json"
SERVING_FILE = "serving_input_example.json"


def _normalize(example: Any) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(example, (pd.DataFrame, np.ndarray)):
        return example
    if isinstance(example, pd.Series):
        return example.to_frame()
    if isinstance(example, dict):
        if example and all(isinstance(v, np.ndarray) for v in example.values()):
            return example
        from lockgate.models.signature import _dict_to_frame

        return _dict_to_frame(example)
    if isinstance(example, list):
        if example and all(isinstance(row, dict) for row in example):
            return pd.DataFrame(example)
        return np.asarray(example)
    try:
        import torch

        if isinstance(example, torch.Tensor):
            return example.detach().cpu().numpy()
    except ImportError:
        pass
    raise InvalidArgument(
        f"Input examples must be a DataFrame, numpy array, dict or list, not {type(example).__name__}."
    )


def serving_payload(example: Any) -> dict[str, Any]:
    """The ``/invocations`` JSON body that carries this example."""
    import numpy as np
    import pandas as pd

    example = _normalize(example)
    if isinstance(example, pd.DataFrame):
        return {"dataframe_split": json.loads(example.to_json(orient="split", index=False,
                                                              date_format="iso"))}
    if isinstance(example, np.ndarray):
        return {"inputs": example.tolist()}
    return {"inputs": {k: np.asarray(v).tolist() for k, v in example.items()}}


def save_input_example(model_dir: str | Path, example: Any) -> dict[str, Any]:
    """Write input_example.json and serving_input_example.json; returns the MLmodel info entry."""
    import pandas as pd

    model_dir = Path(model_dir)
    example = _normalize(example)
    payload = serving_payload(example)
    info: dict[str, Any] = {"artifact_path": EXAMPLE_FILE}
    if isinstance(example, pd.DataFrame):
        content: Any = payload["dataframe_split"]
        info.update({"type": "dataframe", "pandas_orient": "split"})
    else:
        content = payload["inputs"]
        info["type"] = "ndarray"
    info["serving_input_path"] = SERVING_FILE
    (model_dir / EXAMPLE_FILE).write_text(json.dumps(content))
    (model_dir / SERVING_FILE).write_text(json.dumps(payload, indent=2))
    return info


def load_input_example(model_dir: str | Path, info: dict[str, Any] | None) -> Any:
    """The saved example as a DataFrame, array or dict of arrays; None when there is none."""
    import numpy as np
    import pandas as pd

    if not info:
        return None
    path = Path(model_dir) / info.get("artifact_path", EXAMPLE_FILE)
    if not path.is_file():
        return None
    content = json.loads(path.read_text())
    kind = info.get("type")
    if kind == "dataframe":
        if info.get("pandas_orient", "split") == "split":
            return pd.DataFrame(content["data"], columns=content["columns"],
                                index=content.get("index"))
        return pd.DataFrame(content)
    if kind == "ndarray":
        if isinstance(content, dict):
            return {k: np.asarray(v) for k, v in content.items()}
        return np.asarray(content)
    return content
