"""Autologging state (options, one-time warnings) is reset after every test; patches stay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _autolog_off() -> Iterator[None]:
    yield
    from lockgate.autologging import config, session

    config._reset_for_tests()
    session._warned.clear()


@pytest.fixture
def iris():  # type: ignore[no-untyped-def]
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True, as_frame=True)
