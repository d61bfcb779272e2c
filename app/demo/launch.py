"""``convlens demo``: check the lesson, make the key and the room, print both links, serve.

The lesson is checked before anything starts: a malformed one is refused with each problem
on its own line (``FILE:LINE: problem``) and exit status 2 (``--check FILE`` only checks).
The server binds to 127.0.0.1 unless told otherwise; with ``--host 0.0.0.0`` the links name
this machine's address on the local network, the one the audience's laptops can reach.

The key comes from ``--key-file FILE``, the ``CONVLENS_DEMO_KEY`` environment variable or
``--key`` (which every user of the machine can read in ``ps``); else it is the *kept* key,
in a file beside the rooms (:func:`kept_key_path`, owner-only), made on the first start and
used again by every later one, so that a plain ``convlens demo`` after a crash or a
``kill -9`` finds its room; ``--new-key`` makes a new one (the old rooms are forgotten). A
kept key file that other users can read, or that another user owns, is refused. The rooms
are kept in ``--state FILE``, so that a restart with the same key finds them again.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import stat
import sys
from dataclasses import replace
from pathlib import Path

from .. import scale
from ..listen import bind_problem
from .answers import default_path as results_path
from .lesson import DEFAULT_LESSON, Lesson, LessonError, load_lesson
from .rooms import MAX_FOLLOWERS, MAX_PER_CLIENT, ROOM_ID, check_key_format, new_key
from .store import default_path

RESULTS_ENV = "CONVLENS_DEMO_RESULTS"

KEY_ENV = "CONVLENS_DEMO_KEY"

WILDCARDS = ("0.0.0.0", "::", "")
WS_MAX_SIZE = 16 * 1024  # frames over this are refused by the server before the app sees them


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help=(
        "address to bind (default 127.0.0.1: this machine only; 0.0.0.0 lets every machine "
        "on the network open the pages)"))
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--script", type=Path, default=None, metavar="FILE", help=(
        f"the lesson to present (default: {DEFAULT_LESSON.name}, shipped with convlens)"))
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--key-file", type=Path, default=None, metavar="FILE", help=(
        f"read the presenter key from FILE (its first line); or set {KEY_ENV}. Default: the "
        "key kept beside the rooms (made on the first start; see --new-key). Whoever has it "
        "moves the lesson"))
    keys.add_argument("--key", default=None, help=(
        "the presenter key itself: every user of this machine can read it in `ps`, so "
        f"prefer --key-file or {KEY_ENV}"))
    keys.add_argument("--new-key", action="store_true", help=(
        "start afresh: a new random key, kept for the next starts in place of the old one "
        "(whose rooms are forgotten). Without a key given, the kept one is used, so a "
        "restart finds the room again"))
    parser.add_argument("--room", default=None, metavar="NAME", help=(
        "the room's code, in the audience's link (4 to 32 letters, digits, - or _; "
        "default: the room of the last run with this key, or a new short code)"))
    parser.add_argument("--state", type=Path, default=None, metavar="FILE", help=(
        f"where the rooms are kept across restarts (default: {default_path()})"))
    parser.add_argument("--results", type=Path, default=None, metavar="FILE", help=(
        "the SQLite file the room's answers are kept in, for the gradebook (default: "
        f"{results_path()}, or {RESULTS_ENV}; created on first use)"))
    parser.add_argument("--canvas-assignment", default=None, metavar="ID", help=(
        "the Canvas assignment's ID (the number at the end of its address): the Canvas "
        "export's total column is then 'Title (ID)', so that a second import updates the "
        "same assignment instead of creating another"))
    parser.add_argument("--per-client", type=int, default=MAX_PER_CLIENT, metavar="N", help=(
        f"audience pages one address may open (default {MAX_PER_CLIENT}; raise it when the "
        "whole class reaches the server through one address, a proxy or a NAT)"))
    parser.add_argument("--followers", type=int, default=MAX_FOLLOWERS, metavar="N", help=(
        f"audience pages one room may hold (default {MAX_FOLLOWERS}; with --workers, "
        "counted across all of them)"))
    parser.add_argument("--check", type=Path, default=None, metavar="FILE", help=(
        "only check the lesson FILE, report every problem, and exit (0: it is fine)"))
    scale.add_arguments(parser)


def kept_key_path(state: Path) -> Path:
    """Where the kept key lives: beside the rooms' file, named after it
    (``demo-rooms.sqlite3`` → ``demo-rooms.key``), never the rooms' file itself."""
    path = state.with_name(state.stem + ".key")
    return state.with_name(state.name + ".key") if path == state else path


def _load_kept(path: Path) -> str | None:
    """The kept key in ``path``, or None when there is none; a file other users could read
    or write, one another user owns, or a link, is refused."""
    try:
        # non-blocking: a FIFO put there must not hang the start (it is refused below)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK
                     | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(f"cannot read the kept presenter key {path}: {exc.strerror} "
                         "(or start afresh with --new-key)") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ValueError(f"the kept presenter key {path} is not a regular file: remove it, "
                         "or start afresh with --new-key")
    with os.fdopen(fd, encoding="utf-8") as file:
        if info.st_uid != os.getuid():
            raise ValueError(f"the kept presenter key {path} belongs to another user: it is "
                             "not used; remove it, or start afresh with --new-key")
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ValueError(f"the kept presenter key {path} can be read by other users "
                             f"(mode {stat.S_IMODE(info.st_mode):o}): it is not used. Run "
                             f"chmod 600 {path} to keep it, or start afresh with --new-key")
        try:
            lines = file.read(4096).splitlines()
        except UnicodeDecodeError:
            lines = []
    key = lines[0].strip() if lines else ""
    try:
        return check_key_format(key)
    except ValueError:
        raise ValueError(f"the kept presenter key {path} is not a key convlens made: remove "
                         "it, or start afresh with --new-key") from None


def _keep(path: Path, key: str) -> None:
    """Write ``key`` to ``path``, owner-only (0600) from its first byte, in place of any
    file there (written aside and renamed, so a crash leaves the old key or the new)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(key + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(aside, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            aside.unlink()
        raise ValueError(f"cannot keep the presenter key in {path}: {exc.strerror} (give "
                         "one with --key-file, or choose another --state)") from None


def read_key(args: argparse.Namespace, state: Path | None = None) -> tuple[str, str]:
    """The presenter key and where it came from: ``file``, ``command line``,
    ``environment``, ``kept`` (from the file beside ``state``), ``new`` (made here: the
    caller keeps it with :func:`keep_key` once nothing stops the start)."""
    if args.key_file is not None:
        try:
            info = args.key_file.stat()
            text = args.key_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the key file {args.key_file}: {exc}") from None
        lines = text.splitlines()
        key = lines[0].strip() if lines else ""
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            print(f"convlens: warning: other users can read {args.key_file}; "
                  f"chmod 600 {args.key_file}", file=sys.stderr)
        return check_key_format(key), "file"
    if args.key is not None:
        return check_key_format(args.key), "command line"
    if os.environ.get(KEY_ENV):
        if getattr(args, "new_key", False):
            raise ValueError(f"--new-key makes a new key, but {KEY_ENV} gives one: unset it "
                             "to start afresh")
        return check_key_format(os.environ[KEY_ENV]), "environment"
    path = kept_key_path(state or default_path())
    if not getattr(args, "new_key", False):
        kept = _load_kept(path)
        if kept is not None:
            return kept, "kept"
    return new_key(), "new"  # kept by run() once the server can start (keep_key)


def keep_key(state: Path, key: str) -> None:
    """Keep a new key beside the rooms in ``state``, for the next starts."""
    _keep(kept_key_path(state), key)


def lan_address() -> str:
    """This machine's address on its local network, as the audience will reach it (a UDP
    socket is pointed at a private address; nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def base_url(host: str, port: int) -> str:
    shown = lan_address() if host in WILDCARDS else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def say_warnings(lesson: Lesson) -> None:
    """The slides whose point the lesson's numbers do not show: it runs, but the words may
    need changing."""
    for warning in lesson.warnings:
        print(f"convlens: check before class: {warning}", file=sys.stderr)


def lesson_questions(lesson: Lesson) -> str:
    """One line on what the room answers: the questions (two rounds named), the check."""
    two = [q.id for q in lesson.questions if q.rounds > 1]
    check = len(lesson.check.get("pre", ()))
    return (f"{len(lesson.questions)} question{'s' if len(lesson.questions) != 1 else ''}"
            + (f" ({', '.join(two)} in two rounds)" if two else "")
            + (f"; a concept check of {check} before and after" if check else "; no check")
            + (", then the SUS items" if lesson.sus else ""))



def run(args: argparse.Namespace) -> int:
    if args.check is not None:
        try:
            lesson = load_lesson(args.check)
        except LessonError as exc:
            count = len(exc.problems)
            print(f"convlens: the lesson {exc.source} has {count} problem"
                  f"{'s' if count != 1 else ''}:\n{exc}", file=sys.stderr)
            return 2
        print(f"convlens: the lesson {args.check} is fine: {lesson.title!r}, "
              f"{len(lesson.slides)} slides, {len(lesson.beats)} presses")
        print("  " + lesson_questions(lesson))
        say_warnings(lesson)
        return 0
    try:
        lesson = load_lesson(args.script)
    except LessonError as exc:
        count = len(exc.problems)
        print(f"convlens: the lesson {exc.source} was refused ({count} problem"
              f"{'s' if count != 1 else ''}); nothing was started:\n{exc}", file=sys.stderr)
        return 2
    say_warnings(lesson)
    state = args.state or default_path()
    key, origin = read_key(args, state)
    workers = scale.configure(args)
    if args.room is not None and not ROOM_ID.match(args.room):
        raise ValueError(f"--room must be 4 to 32 letters, digits, - or _, got {args.room!r}")
    problem = bind_problem(args.host, args.port)
    if problem:  # before the links are printed: they would lead nowhere
        print(f"convlens: {problem}", file=sys.stderr)
        return 2
    if origin == "new":  # only now: a start refused above leaves the kept key alone
        keep_key(state, key)
    url = base_url(args.host, args.port)

    from ..main import create_app
    from ..serving import serve
    from .mode import DemoSettings

    settings = DemoSettings(key=key, script=args.script, room=args.room, public_url=url,
                            state=state, per_client=args.per_client,
                            followers=args.followers,
                            canvas_assignment=args.canvas_assignment,
                            results=args.results or Path(os.environ.get(RESULTS_ENV) or
                                                         results_path()))
    if workers == 1:
        app: object = create_app(demo_settings=settings)
        hub = app.state.demo.hub  # type: ignore[attr-defined]
    else:  # every worker builds the app from the environment, in the same room
        from .mode import DemoMode

        demo = DemoMode(settings)  # for the room of the last run, from --state
        demo.close()  # (the workers open the files themselves)
        hub = demo.hub
        settings = replace(settings, room=settings.room or hub.primary)
        os.environ.update(settings.environment())
        app = "app.main:app"
    room = hub.primary
    print(f"convlens demo: {lesson.title!r}, {len(lesson.slides)} slides\n"
          f"  presenter (keep this link to yourself): {url}/demo?key={key}\n"
          f"  audience:                               {url}/follow/{room}", flush=True)
    if hub.rooms[room].beat or hub.rooms[room].seq:
        slide, _ = lesson.beats[hub.rooms[room].beat]
        print(f"  room {room} carries on from slide {slide + 1} of {len(lesson.slides)}",
              flush=True)
    kept = f"  rooms are kept in {settings.state}"
    if origin in ("kept", "new"):
        kept += (f"; the key in {kept_key_path(state)} (owner only), so a restart finds "
                 "this room again; --new-key starts afresh")
    else:
        kept += ": a restart with the same key finds them again"
    print(kept, flush=True)
    print(f"  answers are kept in {settings.results}", flush=True)
    if args.host in WILDCARDS:
        print("  listening on every network interface: anyone on this network can open the "
              "pages and follow; only the presenter link moves the lesson", flush=True)
    if workers > 1:
        print(f"  {workers} workers share the room through Redis", flush=True)
    print("Ctrl+C stops", flush=True)
    serve(app, host=args.host, port=args.port, workers=workers, loop="auto", ws="auto",
          ws_max_size=WS_MAX_SIZE, ws_per_message_deflate=False, log_level="warning",
          access_log=False)
    return 0
