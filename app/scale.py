"""``--workers N``, ``--redis URL`` and ``--forwarded-allow-ips IPS``, shared by ``convlens
serve`` and ``convlens demo``.

One process keeps walks, exercises and rooms in its memory: that is the default and needs
nothing installed. Several workers (or hosts) must share them, so ``--workers`` above 1
needs a Redis (``--redis URL`` or ``CONVLENS_REDIS_URL``); the URL is checked, and Redis
asked to answer, before anything is printed or started.

Behind a reverse proxy every request comes from the proxy's address; ``--forwarded-allow-ips``
(or ``CONVLENS_FORWARDED_ALLOW_IPS``) names the proxies whose ``X-Forwarded-For`` tells the
client's own. Without it that header is ignored, whoever sends it (see :mod:`app.serving`).
"""

from __future__ import annotations

import argparse
import os

from .settings import ENV_PREFIX, Settings, check_forwarded_allow_ips, parse_forwarded_allow_ips

REDIS_ENV = ENV_PREFIX + "REDIS_URL"
FORWARDED_ENV = ENV_PREFIX + "FORWARDED_ALLOW_IPS"
MAX_WORKERS = 64


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=1, metavar="N", help=(
        "worker processes on one port (default 1); more than one needs --redis"))
    parser.add_argument("--redis", default=None, metavar="URL", help=(
        f"keep walks, exercises and rooms in this Redis (redis://host:port/db), shared by "
        f"every worker and host (default: ${REDIS_ENV}, else this process's memory)"))
    parser.add_argument("--forwarded-allow-ips", default=None, metavar="IPS", help=(
        "behind a reverse proxy: believe X-Forwarded-For and X-Forwarded-Proto from these "
        "addresses only (comma-separated addresses or networks, such as 127.0.0.1 or "
        f"10.0.0.0/8; * for any). Default: ${FORWARDED_ENV}, else from none: every "
        "client is the address it connects from"))


def configure(args: argparse.Namespace) -> int:
    """Check ``--workers``, ``--redis`` and ``--forwarded-allow-ips``, put the URL and the
    proxies where every worker reads them (the environment), and return the number of
    workers. ValueError says what is wrong."""
    trust_proxies(getattr(args, "forwarded_allow_ips", None))
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


def trust_proxies(given: str | None) -> None:
    """Check the proxies to trust (``given``, else the environment's) and put them in the
    environment; ValueError names a malformed one."""
    text = os.environ.get(FORWARDED_ENV, "") if given is None else given
    items = parse_forwarded_allow_ips(text)
    if items is None:
        if given is not None:
            raise ValueError("--forwarded-allow-ips needs at least one address (or *)")
        return
    try:
        check_forwarded_allow_ips(items)
    except ValueError as exc:
        where = "--forwarded-allow-ips" if given is not None else FORWARDED_ENV
        raise ValueError(f"{where}: {exc}") from None
    os.environ[FORWARDED_ENV] = ",".join(items)


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
