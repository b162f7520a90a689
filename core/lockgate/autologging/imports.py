"""Run a callback when a module is imported (now, if it already is).

``lockgate.autolog()`` must not import scikit-learn, XGBoost, LightGBM and Lightning itself
(Lightning alone takes seconds), so each library is patched right after the user's own
import of it. The hook sets ``exec_module`` on that module's own loader instance and leaves
the spec and loader types alone, which keeps ``importlib.resources`` and friends working.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

__all__ = ["when_imported"]

_lock = threading.Lock()


class _PostImportFinder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.pending: dict[str, list[Callable[[ModuleType], None]]] = {}

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.pending:
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        loader: Any = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        with _lock:
            callbacks = self.pending.pop(fullname, [])
        run_module = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            del loader.exec_module  # back to the class's method for any later import
            for callback in callbacks:
                callback(module)

        loader.exec_module = exec_module
        return spec


_finder = _PostImportFinder()


def when_imported(name: str, callback: Callable[[ModuleType], None]) -> None:
    """Call ``callback(module)`` now if ``name`` is imported, else right after its import."""
    module = sys.modules.get(name)
    if module is not None:
        callback(module)
        return
    with _lock:
        _finder.pending.setdefault(name, []).append(callback)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
