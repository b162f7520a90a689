"""Which libraries autologging is on for, and with which options.

One ``AutologConfig`` per integration (``sklearn``, ``xgboost``, ``lightgbm``, ``pytorch``,
``keras``),
set by ``lockgate.autolog()`` or the per-library ``autolog()`` call and read by the patched
training functions at call time, so ``disable=True`` takes effect without unpatching.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass, field
from typing import Any, TypedDict

from lockgate.errors import InvalidArgument

__all__ = ["INTEGRATIONS", "AutologConfig", "AutologOptions", "Integration", "get_config", "set_config"]


@dataclass(frozen=True)
class Integration:
    """A library autologging knows: what must be importable and the extra that installs it."""

    name: str
    modules: tuple[str, ...]
    extra: str
    patcher: str

    def installed(self) -> bool:
        return any(importlib.util.find_spec(module) is not None for module in self.modules)

    def missing_error(self) -> InvalidArgument:
        return InvalidArgument(
            f"Autologging for {self.name} needs {' or '.join(self.modules)}, which is not installed: "
            f"pip install 'lockgate[{self.extra}]'"
        )


INTEGRATIONS: dict[str, Integration] = {
    integration.name: integration
    for integration in (
        Integration("sklearn", ("sklearn",), "sklearn", "lockgate.autologging.sklearn"),
        Integration("xgboost", ("xgboost",), "xgboost", "lockgate.autologging.xgboost"),
        Integration("lightgbm", ("lightgbm",), "lightgbm", "lockgate.autologging.lightgbm"),
        Integration("pytorch", ("lightning", "pytorch_lightning"), "lightning",
                    "lockgate.autologging.lightning"),
        Integration("keras", ("keras",), "keras", "lockgate.autologging.keras"),
    )
}


class AutologOptions(TypedDict, total=False):
    """The options every autolog call takes (defaults: ``AutologConfig``'s)."""

    log_models: bool
    log_input_examples: bool
    log_model_signatures: bool
    disable: bool
    silent: bool
    exclusive: bool


@dataclass(frozen=True)
class AutologConfig:
    """The options of one library's autologging (see ``lockgate.autolog``)."""

    log_models: bool = True
    log_input_examples: bool = True
    log_model_signatures: bool = True
    disable: bool = False
    silent: bool = False
    exclusive: bool = False
    # library-specific: max_tuning_runs (sklearn), importance_types (xgboost/lightgbm),
    # log_every_n_step and checkpoint (pytorch), log_every_n_steps (keras)
    options: dict[str, Any] = field(default_factory=dict)

    def option(self, key: str, default: Any) -> Any:
        return self.options.get(key, default)

    def replace(self, **changes: Any) -> AutologConfig:
        return dataclasses.replace(self, **changes)


_configs: dict[str, AutologConfig] = {}


def get_config(name: str) -> AutologConfig | None:
    """The options in force for an integration, or None when autolog was never turned on for it."""
    return _configs.get(name)


def set_config(name: str, config: AutologConfig) -> None:
    _configs[name] = config


def _reset_for_tests() -> None:
    _configs.clear()
