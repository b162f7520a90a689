"""Aliases that look alike: one script per alias, and no look-alike of a guarded alias.

Aliases stay case-sensitive, as in MLflow (``champion`` and ``Champion`` are two aliases and
``models:/m@Champion`` does not resolve ``champion``). What is refused is what lets a
look-alike pass for a gated alias: an alias mixing scripts (Latin ``champion`` with a
Cyrillic ``о``), one not in Unicode NFKC form (full-width letters), and a new alias whose
*skeleton* (NFKC, case-folded, common Cyrillic and Greek homoglyphs mapped to Latin) equals
that of a different guarded alias of the same model.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

__all__ = ["alias_script_problem", "alias_skeleton", "look_alike"]

# Scripts that legitimately mix within one word.
_JAPANESE = {"CJK", "HIRAGANA", "KATAKANA"}
# Cyrillic and Greek letters drawn like Latin ones (lower case; input is case-folded first).
_HOMOGLYPHS = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ɡ": "g", "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
})


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    return unicodedata.name(ch, "UNKNOWN").split(" ", 1)[0]


def alias_script_problem(alias: str) -> str | None:
    """Why ``alias`` could pass for another one (mixed scripts, not NFKC), or None."""
    if unicodedata.normalize("NFKC", alias) != alias:
        return "it is not in Unicode NFKC form (e.g. full-width letters)"
    scripts = {s for s in map(_script, alias) if s is not None}
    if len(scripts) > 1 and not scripts <= _JAPANESE:
        return f"it mixes scripts ({', '.join(sorted(scripts)).lower()})"
    return None


def alias_skeleton(alias: str) -> str:
    """What ``alias`` looks like: NFKC, case-folded, homoglyphs mapped to Latin."""
    return unicodedata.normalize("NFKC", alias).casefold().translate(_HOMOGLYPHS)


def look_alike(alias: str, others: Iterable[str]) -> str | None:
    """The first of ``others`` that differs from ``alias`` but looks the same, or None."""
    skeleton = alias_skeleton(alias)
    for other in others:
        if other != alias and alias_skeleton(other) == skeleton:
            return other
    return None
