"""Whether a new model version may take over requests shaped for the version served now.

The rule (docs/serving.md, "When a new version is refused"): every request the old version
accepted must still be well-formed for the new one. Concretely, when both versions declare an
input schema:

- column schemas: every column the new version *requires* must exist in the old schema, under
  the same name (or position, for unnamed columns), with the same type; optional new columns
  and old columns the new version dropped are fine;
- tensor schemas: the same number of tensors, each with the same dtype and a shape that
  agrees wherever neither side is free (``-1``);
- a column schema never replaces a tensor schema, nor the other way round.

A side without an input schema constrains nothing here; the warm-up requests decide then.
"""

from __future__ import annotations

from lockgate.models.signature import ColSpec, ModelSignature, Schema, TensorSpec

__all__ = ["signature_incompatibility"]


def _col_label(spec: ColSpec, index: int) -> str:
    return repr(spec.name) if spec.name is not None else f"#{index}"


def _type_label(spec: ColSpec) -> str:
    return spec.type if isinstance(spec.type, str) else str(spec.type.get("type", spec.type))


def _columns(old: Schema, new: Schema) -> str | None:
    by_name = {spec.name: spec for spec in old.inputs if isinstance(spec, ColSpec) and spec.name is not None}
    for index, spec in enumerate(new.inputs):
        if not isinstance(spec, ColSpec) or not spec.required:
            continue
        if spec.name is not None:
            previous = by_name.get(spec.name)
        else:
            candidate = old.inputs[index] if index < len(old.inputs) else None
            previous = candidate if isinstance(candidate, ColSpec) else None
        label = _col_label(spec, index)
        if previous is None:
            return f"it requires input column {label}, which the served version does not take"
        if previous.type != spec.type:
            return (f"input column {label} changed type from {_type_label(previous)} "
                    f"to {_type_label(spec)}")
    return None


def _tensors(old: Schema, new: Schema) -> str | None:
    if len(old.inputs) != len(new.inputs):
        return f"it takes {len(new.inputs)} tensor input(s) where the served version takes {len(old.inputs)}"
    for index, (before, after) in enumerate(zip(old.inputs, new.inputs, strict=True)):
        assert isinstance(before, TensorSpec) and isinstance(after, TensorSpec)
        label = repr(after.name) if after.name is not None else f"#{index}"
        if before.dtype != after.dtype:
            return f"input tensor {label} changed dtype from {before.dtype} to {after.dtype}"
        agrees = len(before.shape) == len(after.shape) and all(
            a == b or -1 in (a, b) for a, b in zip(before.shape, after.shape, strict=True))
        if not agrees:
            return (f"input tensor {label} changed shape from {list(before.shape)} "
                    f"to {list(after.shape)}")
    return None


def signature_incompatibility(old: ModelSignature | None, new: ModelSignature | None) -> str | None:
    """Why ``new`` cannot serve the requests ``old`` accepted, or None when it can."""
    before = old.inputs if old is not None else None
    after = new.inputs if new is not None else None
    if not before or not after or not before.inputs or not after.inputs:
        return None
    if before.is_tensor != after.is_tensor:
        kinds = ("tensor", "column") if before.is_tensor else ("column", "tensor")
        return f"its inputs changed from {kinds[0]}s to {kinds[1]}s"
    return _tensors(before, after) if before.is_tensor else _columns(before, after)
