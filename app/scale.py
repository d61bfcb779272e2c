"""``--workers N`` and ``--redis URL``, shared by ``convlens serve`` and ``convlens demo``.

One process keeps walks, exercises and rooms in its memory: that is the default and needs
nothing installed. Several workers (or hosts) must share them, so ``--workers`` above 1
needs a Redis (``--redis URL`` or ``CONVLENS_REDIS_URL``); the URL is checked, and Redis
asked to answer, before anything is printed or started.
"""

from __future__ import annotations

import argparse
import os

from .settings import ENV_PREFIX, Settings

REDIS_ENV = ENV_PREFIX + "REDIS_URL"
MAX_WORKERS = 64


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=1, metavar="N", help=(
        "worker processes on one port (default 1); more than one needs --redis"))
    parser.add_argument("--redis", default=None, metavar="URL", help=(
        f"keep walks, exercises and rooms in this Redis (redis://host:port/db), shared by "
        f"every worker and host (default: ${REDIS_ENV}, else this process's memory)"))


def configure(args: argparse.Namespace) -> int:
    """Check ``--workers`` and ``--redis``, put the URL where every worker reads it (the
    environment), and return the number of workers. ValueError says what is wrong."""
    workers = args.workers
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"--workers must be from 1 to {MAX_WORKERS}, got {workers}")
    url = args.redis or os.environ.get(REDIS_ENV) or None
    if workers > 1 and url is None:
        raise ValueError(f"--workers {workers} needs --redis URL (or {REDIS_ENV}): without "
                         "it every worker would keep its own walks and rooms, and a "
                         "student's next request could reach one that never saw theirs")
    if url is not None:
        Settings(redis_url=url)  # the scheme, checked
        reach(url)
        os.environ[REDIS_ENV] = url
    return workers


def reach(url: str) -> None:
    """ValueError unless the Redis at ``url`` answers a PING within two seconds."""
    import redis

    from .store.backplane import redacted

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ValueError(f"cannot reach Redis at {redacted(url)}: {exc}") from None
    finally:
        client.close()
