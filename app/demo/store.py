"""Rooms that outlive the process: each room's id and position in a small SQLite file.

``convlens demo`` keeps its rooms in ``--state FILE`` (default :func:`default_path`,
created on first use, readable by its owner only), so that after a crash, a kill -9 or a
restart with the same key and lesson the audience's links still lead to the same room, on
the same slide. A row is written on every move (one small transaction; in WAL mode a
commit survives the process being killed).

The key is not stored, only a salted scrypt fingerprint of it: a restart with another key
starts afresh (the old rooms are forgotten), and a restart with another lesson keeps the
rooms but starts them from the first slide.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY,
    beat INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    is_primary INTEGER NOT NULL DEFAULT 0,
    lesson TEXT NOT NULL,
    opened REAL NOT NULL
);
"""


def default_path() -> Path:
    """``$XDG_STATE_HOME/convlens/demo-rooms.sqlite3`` (``~/.local/state`` without it)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "convlens" / "demo-rooms.sqlite3"


@dataclass(frozen=True)
class SavedRoom:
    id: str
    beat: int
    seq: int
    primary: bool


class RoomStore:
    """The rooms of one key and one lesson in ``path``."""

    def __init__(self, path: str | Path, *, key: str, lesson: str) -> None:
        self.path = Path(path)
        self.lesson = lesson
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fresh = not self.path.exists()
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=2.0,
                                      check_same_thread=False)
            if fresh:
                os.chmod(self.path, 0o600)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ValueError(f"cannot keep the rooms in {self.path}: {exc} (choose another "
                             "file with --state)") from None
        self.key_matches = self._claim(key)

    def _meta(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, name: str, value: str) -> None:
        self.db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET "
                        "value = excluded.value", (name, value))

    def _claim(self, key: str) -> bool:
        """Whether the file's rooms were the same key's; if not, forget them. One
        transaction: workers starting together on a new file agree on one salt."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            same = self._claim_in(key)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return same

    def _claim_in(self, key: str) -> bool:
        salt = self._meta("salt")
        if salt is None:
            salt = secrets.token_hex(16)
            self._set_meta("salt", salt)
        mark = hashlib.scrypt(key.encode(), salt=bytes.fromhex(salt), n=2**14, r=8, p=1,
                              dklen=32).hex()
        same = self._meta("key") == mark
        if not same:
            self.db.execute("DELETE FROM rooms")
            self._set_meta("key", mark)
        return same

    def load(self) -> list[SavedRoom]:
        """The saved rooms, oldest first; those of another lesson back on the first beat."""
        rows = self.db.execute(
            "SELECT id, beat, seq, is_primary, lesson FROM rooms ORDER BY opened").fetchall()
        return [SavedRoom(id=r[0], beat=int(r[1]) if r[4] == self.lesson else 0,
                          seq=int(r[2]), primary=bool(r[3])) for r in rows]

    def save(self, room_id: str, beat: int, seq: int, *, primary: bool = False,
             opened: float = 0.0) -> None:
        self.db.execute(
            "INSERT INTO rooms (id, beat, seq, is_primary, lesson, opened) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET beat = excluded.beat, "
            "seq = excluded.seq, lesson = excluded.lesson",
            (room_id, beat, seq, int(primary), self.lesson, opened))

    def set_primary(self, room_id: str) -> None:
        self.db.execute("UPDATE rooms SET is_primary = (id = ?)", (room_id,))

    def forget(self, room_id: str) -> None:
        self.db.execute("DELETE FROM rooms WHERE id = ?", (room_id,))

    def close(self) -> None:
        self.db.close()
