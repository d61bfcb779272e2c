"""``convlens demo``: check the lesson, make the key and the room, print both links, serve.

The lesson is checked before anything starts: a malformed one is refused with each problem
on its own line (``FILE:LINE: problem``) and exit status 2. The server binds to 127.0.0.1
unless told otherwise; with ``--host 0.0.0.0`` the links name this machine's address on
the local network, the one the audience's laptops can reach.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from ..listen import bind_problem
from .lesson import DEFAULT_LESSON, LessonError, load_lesson
from .rooms import check_key_format, new_key, new_room_id

WILDCARDS = ("0.0.0.0", "::", "")
WS_MAX_SIZE = 16 * 1024  # frames over this are refused by the server before the app sees them


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help=(
        "address to bind (default 127.0.0.1: this machine only; 0.0.0.0 lets every machine "
        "on the network open the pages)"))
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--script", type=Path, default=None, metavar="FILE", help=(
        f"the lesson to present (default: {DEFAULT_LESSON.name}, shipped with convlens)"))
    parser.add_argument("--key", default=None, help=(
        "the presenter key (default: a new random one); whoever has it moves the lesson"))


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


def run(args: argparse.Namespace) -> int:
    try:
        lesson = load_lesson(args.script)
    except LessonError as exc:
        count = len(exc.problems)
        print(f"convlens: the lesson {exc.source} was refused ({count} problem"
              f"{'s' if count != 1 else ''}); nothing was started:\n{exc}", file=sys.stderr)
        return 2
    key = check_key_format(args.key) if args.key is not None else new_key()
    problem = bind_problem(args.host, args.port)
    if problem:  # before the links are printed: they would lead nowhere
        print(f"convlens: {problem}", file=sys.stderr)
        return 2
    room = new_room_id()
    url = base_url(args.host, args.port)

    from ..main import create_app
    from ..serving import serve
    from .mode import DemoSettings

    settings = DemoSettings(key=key, script=args.script, room=room, public_url=url)
    app = create_app(demo_settings=settings)
    print(f"convlens demo: {lesson.title!r}, {len(lesson.slides)} slides\n"
          f"  presenter (keep this link to yourself): {url}/demo?key={key}\n"
          f"  audience:                               {url}/follow/{room}", flush=True)
    if args.host in WILDCARDS:
        print("  listening on every network interface: anyone on this network can open the "
              "pages and follow; only the presenter link moves the lesson", flush=True)
    print("Ctrl+C stops", flush=True)
    serve(app, host=args.host, port=args.port, loop="auto", ws="auto",
          ws_max_size=WS_MAX_SIZE, ws_per_message_deflate=False, log_level="warning",
          access_log=False)
    return 0
