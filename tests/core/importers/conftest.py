"""One real ``mlflow server`` for the whole session, filled once by the stock client."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow_fill import FilledMlflow


@pytest.fixture(scope="session")
def mlflow_source(tmp_path_factory: pytest.TempPathFactory, services: Any) -> Iterator[FilledMlflow]:
    root = tmp_path_factory.mktemp("mlflow-source")
    db_uri = f"sqlite:///{root / 'mlflow.db'}"
    try:
        # A loaded CI box takes minutes to start mlflow (imports, migrations); still fails loudly.
        server = services.start_mlflow_server(db_uri, root / "artifacts", timeout=300)
    except services.ServiceError as exc:
        pytest.fail(f"cannot start mlflow server: {exc}", pytrace=False)
    try:
        manifest_path = root / "manifest.json"
        fill = subprocess.run([sys.executable, str(Path(__file__).with_name("mlflow_fill.py")), server.url,
                               str(manifest_path)], capture_output=True, text=True, timeout=900, check=False)
        if fill.returncode != 0:
            pytest.fail(f"filling mlflow server failed:\n{fill.stdout[-3000:]}\n{fill.stderr[-3000:]}", pytrace=False)
        manifest = json.loads(manifest_path.read_text())
        # "Artifacts missing on the source": the file is listed but cannot be read any more.
        lost = next((root / "artifacts").glob(f"*/{manifest['broken']}/artifacts/lost/weights.bin"))
        lost.unlink()
        lost.symlink_to(root / "nowhere")
        yield FilledMlflow(server.url, server.port, db_uri, root / "artifacts", manifest)
    finally:
        server.stop()
