"""Models: the MLmodel format, signatures, flavors and the generic pyfunc loader.

Flavors are reached as ``lockgate.sklearn``, ``lockgate.pytorch``, ``lockgate.xgboost``,
``lockgate.lightgbm``, ``lockgate.onnx``, ``lockgate.keras`` and ``lockgate.pyfunc``;
nothing heavy is imported here.
"""

from __future__ import annotations

__all__: list[str] = []
