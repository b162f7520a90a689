"""Optional libraries of flavors and scoring engines, imported with an error naming the extra."""

from __future__ import annotations

import importlib
from typing import Any

from lockgate.errors import InvalidArgument

__all__ = ["import_extra"]


def import_extra(module: str, *, extra: str, feature: str) -> Any:
    """Import ``module``, or raise InvalidArgument: ``<feature> needs ... pip install 'lockgate[<extra>]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InvalidArgument(
            f"{feature} needs the {extra} extra ({module} is not installed: {exc}): "
            f"pip install 'lockgate[{extra}]'"
        ) from None
