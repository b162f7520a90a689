"""The signature check exactly as docs/webhooks.md tells users to write it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

__all__ = ["DOC", "doc_blocks", "documented_verifier"]

DOC = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"


def doc_blocks(language: str) -> list[str]:
    """The doc's fenced code blocks of one language, in order."""
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def documented_verifier() -> Callable[[str, dict[str, str], bytes], bool]:
    """``verify_signature`` from the doc's Python example, executed as written."""
    (code,) = [b for b in doc_blocks("python") if "def verify_signature" in b]
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - the documented example itself
    return namespace["verify_signature"]  # type: ignore[return-value]
