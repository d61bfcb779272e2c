"""Names that look like other names: the mark on the presenter's list of students.

Two students named "Ada" and "Аda" (the second with a Cyrillic А) read the same on a
projector and in a gradebook. :func:`lookalikes` marks, for each name of a room:

- a name that folds to the same *skeleton* as another name of the room (letters that look
  alike in the usual fonts mapped to one, case and width folded, marks dropped), and
- a name whose letters come from more than one of the scripts that share those shapes
  (Latin, Cyrillic, Greek): nobody types "Ada" with one Cyrillic letter by chance.

The map below holds the common Cyrillic and Greek letters that are drawn like a Latin one
(after Unicode's confusable letters for these scripts); it is deliberately small: a mark is
a prompt for the presenter to look, never a refusal.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence

# Cyrillic and Greek letters drawn like a Latin letter (lower case: names are case-folded)
_SHAPES = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ь": "b", "г": "r",
    "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "c", "σ": "o",
}
_LOOKS_ALIKE = str.maketrans({**_SHAPES, "0": "o", "1": "l", "|": "l", "ı": "i"})
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def skeleton(name: str) -> str:
    """``name`` folded so that names that look the same fold alike."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.translate(_LOOKS_ALIKE).replace("rn", "m")
    return " ".join(text.split())


def scripts(name: str) -> set[str]:
    """The scripts, among Latin, Cyrillic and Greek, that ``name``'s letters come from."""
    found = set()
    for c in name:
        if c.isalpha():
            script = unicodedata.name(c, "").split(" ")[0]
            if script in _SCRIPTS:
                found.add(script)
    return found


def lookalikes(names: Sequence[str]) -> list[str | None]:
    """For each of ``names``, why it may be mistaken for another (or None)."""
    folded = [skeleton(n) for n in names]
    spelled: dict[str, list[str]] = {}  # skeleton -> its first two spellings
    for name, key in zip(names, folded):
        seen = spelled.setdefault(key, [])
        if len(seen) < 2 and name not in seen:
            seen.append(name)
    counts = Counter(folded)
    out: list[str | None] = []
    for name, key in zip(names, folded):
        mixed = scripts(name)
        if len(mixed) > 1:
            out.append(f"mixes {' and '.join(s.title() for s in sorted(mixed))} letters")
        elif counts[key] > 1:
            others = [n for n in spelled[key] if n != name]
            out.append(f"looks like “{others[0]}”" if others else "the same name twice")
        else:
            out.append(None)
    return out
