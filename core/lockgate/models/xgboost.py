"""XGBoost for Lockgate: autologging (``lockgate.xgboost.autolog()``).

The xgboost model flavor (``log_model``, ``load_model``) joins this module; until it does,
autologging records params, metrics and feature importance and skips the model with a warning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from lockgate.autologging.config import AutologOptions

__all__ = ["autolog"]


def autolog(
    *, importance_types: tuple[str, ...] = ("weight", "gain"),
    **options: Unpack[AutologOptions],
) -> None:
    """Track XGBoost training: params, evaluation metric histories, feature importance, the model.

    Options as ``lockgate.autolog()``; raises, naming the extra to install, when the library
    is missing.
    """
    from lockgate.autologging import autolog_library

    autolog_library("xgboost", library_options={"importance_types": importance_types}, **options)
