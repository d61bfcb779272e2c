"""Where each key and table of a TOML lesson is written: the line numbers in error messages.

:mod:`tomllib` gives the values but not their positions, so :func:`key_lines` scans the text
once. It follows the parts of TOML a lesson uses — ``[table]`` and ``[[array]]`` headers,
``key = value`` lines (dotted and quoted keys included), values that span lines (arrays,
inline tables, multi-line strings) and comments — and records, for each key path, the line
it starts on. A path is a tuple of keys, with the position in an array of tables as an int:
``("slide", 3, "step")`` is the ``step`` key of the fourth ``[[slide]]``.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_HEADER = re.compile(r"\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(r"\s*((?:[A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*')"
                  r"(?:\s*\.\s*(?:[A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*'))*)\s*=")
_PART = re.compile(r"[A-Za-z0-9_-]+|\"([^\"\n]*)\"|'([^'\n]*)'")


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(m.group(1) if m.group(1) is not None else
                 m.group(2) if m.group(2) is not None else m.group(0)
                 for m in _PART.finditer(dotted))


class _Scanner:
    """Tracks strings, comments and bracket depth across the text, character by character."""

    def __init__(self) -> None:
        self.string: str | None = None  # '"', "'", '"""' or "'''" while inside one
        self.depth = 0  # open [ and { of a value

    @property
    def at_top(self) -> bool:
        return self.string is None and self.depth == 0

    def feed(self, line: str, start: int = 0) -> None:
        i = start
        while i < len(line):
            c = line[i]
            if self.string is not None:
                if self.string in ('"', '"""') and c == "\\":
                    i += 2
                    continue
                if line.startswith(self.string, i):
                    i += len(self.string)
                    self.string = None
                    continue
                i += 1
                continue
            if c == "#":
                return
            for quote in ('"""', "'''", '"', "'"):
                if line.startswith(quote, i):
                    self.string = quote
                    i += len(quote)
                    break
            else:
                if c in "[{":
                    self.depth += 1
                elif c in "]}":
                    self.depth = max(0, self.depth - 1)
                i += 1
        if self.string in ('"', "'"):  # a one-line string cannot run past its line
            self.string = None


def key_lines(text: str) -> dict[Path, int]:
    """``{path: line}`` (1-based) of every table header and key that starts a line."""
    lines: dict[Path, int] = {}
    counts: dict[tuple[str, ...], int] = {}
    table: Path = ()
    scanner = _Scanner()
    for number, line in enumerate(text.splitlines(), start=1):
        if scanner.at_top:
            header = _HEADER.match(line)
            key = None if header else _KEY.match(line)
            if header:
                names = _parts(header.group(2))
                # a sub-table of an array of tables ([slide.question] after a [[slide]])
                # belongs to that array's last table
                inner: list[str | int] = []
                for i, name in enumerate(names[:-1]):
                    inner.append(name)
                    if names[:i + 1] in counts:
                        inner.append(counts[names[:i + 1]] - 1)
                if header.group(1) == "[[":
                    index = counts.get(names, 0)
                    counts[names] = index + 1
                    table = (*inner, names[-1], index)
                else:
                    table = (*inner, names[-1])
                lines.setdefault(table, number)
                scanner.feed(line, header.end())
                continue
            if key:
                lines.setdefault((*table, *_parts(key.group(1))), number)
                scanner.feed(line, key.end())
                continue
        scanner.feed(line)
    return lines


def line_of(lines: dict[Path, int], path: Path) -> int:
    """The line of ``path``, or of the closest enclosing table or key written in the text
    (line 1 when none is)."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


def inline_items(text: str, line: int) -> list[int]:
    """The line each item of the array whose ``key = [`` is on ``line`` starts on (an
    array of inline tables written one per line, as ``layers = [ {...}, {...} ]``)."""
    items: list[int] = []
    depth = 0
    string: str | None = None
    lines = text.splitlines()
    for number in range(line, len(lines) + 1):
        row = lines[number - 1]
        i = row.index("=") + 1 if number == line and "=" in row else 0
        while i < len(row):
            c = row[i]
            if string is not None:
                if c == "\\" and string == '"':
                    i += 2
                    continue
                if c == string:
                    string = None
            elif c in "\"'":
                string = c
            elif c == "#":
                break
            elif c in "[{":
                depth += 1
                if depth == 2:
                    items.append(number)
            elif c in "]}":
                depth -= 1
                if depth == 0:
                    return items
            elif depth == 1 and not c.isspace() and c != ",":
                items.append(number)  # a bare value: a string or a number
                while i + 1 < len(row) and row[i + 1] not in ",]":
                    i += 1
            i += 1
    return items
