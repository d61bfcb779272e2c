"""The ``convlens`` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib

import numpy as np

import engine

from . import scale
from .demo import launch
from .listen import bind_problem


def read_network(path: str) -> engine.Network:
    """A network from a file: JSON as the API takes it, or TOML with a [network] table (as
    a lesson holds it) or the same keys at the top. ValueError says what is wrong."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_NETWORK_FILE + 1)
    except OSError as exc:
        raise ValueError(f"--network {path}: {exc.strerror}") from None
    if len(raw) > MAX_NETWORK_FILE:
        raise ValueError(f"--network {path}: larger than {MAX_NETWORK_FILE} bytes")
    try:
        if path.endswith(".toml"):
            spec = tomllib.loads(raw.decode("utf-8"))
            spec = spec.get("network", spec)
        else:
            spec = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"--network {path}: not readable as "
                         f"{'TOML' if path.endswith('.toml') else 'JSON'}: {exc}") from None
    try:
        return engine.network(spec)
    except engine.NetworkError as exc:
        lines = "\n".join(f"  {p}" for p in exc.problems)
        raise ValueError(f"--network {path} does not fit:\n{lines}") from None


MAX_NETWORK_FILE = 64 * 1024  # a network is a few hundred bytes


def _print_trace(args: argparse.Namespace) -> int:
    engine.check_lr(args.lr)  # before anything is printed
    if args.network:
        net = read_network(args.network)
    else:
        net = engine.as_network(engine.Config(
            input_size=args.input_size, kernel_size=args.kernel_size, filters=args.filters,
            pool_size=args.pool_size))
    x, y, params = engine.seed_example(net, seed=args.seed)
    if args.preset:
        x, y = engine.preset(args.preset, net.input_size)
        y = min(y, net.classes - 1)
    t = engine.trace(x, y, params, net)
    np.set_printoptions(precision=4, suppress=True, linewidth=100)
    shapes = net.shapes()

    def show(name: str) -> None:
        value = np.asarray(t[name])
        label = f"{name} {shapes[name]}" if value.ndim else name
        body = np.array2string(value, prefix="    ") if value.ndim else f"{float(value):.6g}"
        print(f"{label}:\n    {body}" if value.ndim else f"{label} = {body}")

    print(f"convlens: {net.n_params} trainable parameters, "
          f"{net.config if net.config is not None else net}")
    print(f"lr = {args.lr}\n\n== inputs and parameters")
    for name in engine.given(net):
        show(name)
    phase = None
    for record in engine.step_records(t, args.lr):
        if record["phase"] != phase:
            phase = record["phase"]
            print(f"\n== {phase}")
        print(f"-- step {record['index'] + 1}: {record['text']}")
        if record["latex_numbers"]:
            print(f"   {record['latex_numbers']}")
        if phase == "update":
            value = engine.step_value(t, record["index"], args.lr)
            print(f"new {record['writes']}:\n    {np.array2string(value, prefix='    ')}")
        else:
            show(record["writes"])
    print("\n== also")
    show("dX")
    new = engine.sgd_step(params, t, args.lr)
    print(f"\nloss on this example: {float(t['L']):.6g} before the update, "
          f"{engine.loss(x, y, new, net):.6g} after")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .serving import fit_connections, serve
    from .settings import Settings

    # a bad CONVLENS_* setting, a connection cap the file limit cannot hold, or --workers
    # without a Redis that answers, fails here, before the banner
    workers = scale.configure(args)
    if workers > 1 and args.reload:
        raise ValueError("--reload runs one worker: drop --workers")
    fit_connections(Settings.from_env())
    problem = bind_problem(args.host, args.port)
    if problem:
        print(f"convlens: {problem}", file=sys.stderr)
        return 2
    shown = f"[{args.host}]" if ":" in args.host else args.host
    kept = (f"{workers} worker{'s' if workers > 1 else ''}, walks and rooms in Redis"
            if os.environ.get(scale.REDIS_ENV) else "walks and rooms in this process")
    print(f"convlens: serving on http://{shown}:{args.port}/ (API docs at /docs; {kept}); "
          "Ctrl+C stops", flush=True)
    serve("app.main:app", host=args.host, port=args.port, reload=args.reload,
          loop="asyncio", log_level="info", workers=workers)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="convlens", description=(
        "See, number by number, how a small convolutional network learns."))
    commands = parser.add_subparsers(dest="command", required=True)

    trace = commands.add_parser("trace", help="print every tensor of one training step")
    for flag, default in (("input-size", 6), ("kernel-size", 3), ("filters", 1),
                          ("pool-size", 2), ("seed", engine.DEFAULT_SEED)):
        trace.add_argument(f"--{flag}", type=int, default=default)
    trace.add_argument("--lr", type=float, default=0.1)
    trace.add_argument("--preset", choices=sorted(engine.PRESETS), default=None)
    trace.add_argument("--network", metavar="FILE", default=None, help=(
        "a network to trace instead of the seed-shaped one the four sizes describe: JSON "
        "as the API takes it, or TOML with a [network] table"))
    trace.set_defaults(run=_print_trace)

    serve = commands.add_parser("serve", help="start the web app and its REST API")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--reload", action="store_true",
                       help="restart when the code changes (for development)")
    scale.add_arguments(serve)
    serve.set_defaults(run=_serve)

    demo = commands.add_parser("demo", help=(
        "present a lesson on the projector; the audience follows live on their laptops"))
    launch.add_arguments(demo)
    demo.set_defaults(run=launch.run)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ValueError as exc:
        print(f"convlens: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
