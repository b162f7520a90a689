"""LightGBM for Lockgate: autologging (``lockgate.lightgbm.autolog()``).

The lightgbm model flavor (``log_model``, ``load_model``) joins this module; until it does,
autologging records params, metrics and feature importance and skips the model with a warning.
"""

from __future__ import annotations

__all__ = ["autolog"]


def autolog(
    *,
    log_models: bool = True,
    log_input_examples: bool = True,
    log_model_signatures: bool = True,
    disable: bool = False,
    silent: bool = False,
    exclusive: bool = False,
    importance_types: tuple[str, ...] = ("split", "gain"),
) -> None:
    """Track LightGBM training: params, evaluation metric histories, feature importance, the model.

    Options as ``lockgate.autolog()``; raises, naming the extra to install, when the library
    is missing.
    """
    from lockgate.autologging import autolog_library

    autolog_library(
        "lightgbm", log_models=log_models, log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures, disable=disable, silent=silent, exclusive=exclusive,
        importance_types=importance_types,
    )
