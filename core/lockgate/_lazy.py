"""Lazy re-exports for package ``__init__`` modules that must stay cheap to import."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    module_name: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package that re-exports names from submodules.

    ``exports`` maps each public name to the module defining it; the module is imported on
    first access and the value cached on the package.
    """
    package = sys.modules[module_name]

    def __getattr__(name: str) -> Any:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(target), name)
        setattr(package, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(package)) | set(exports))

    return __getattr__, __dir__
