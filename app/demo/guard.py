"""Wrong presenter keys, throttled per client: a token bucket for each address.

Every wrong key — over a socket, in a REST header or in the presenter link — takes one
token from its client's bucket; a client whose bucket is empty is not even checked until a
token has come back (a REST call gets 429 with Retry-After, a socket is closed with
:data:`CLOSE_THROTTLED`). Reconnecting does not help: the bucket belongs to the address,
not the connection. A right key costs nothing.

==================  =========  ===============================================
KEY_BURST           10         wrong keys a client may give in a row
KEY_REFILL          30 s       one more wrong key allowed every this long
MAX_CLIENTS         10,000     addresses remembered (the fullest buckets go
                               first: they are the ones that have done no harm)
==================  =========  ===============================================

Behind a reverse proxy every client has the proxy's address, so they share one bucket:
see the README for what to do there.

This guard keeps its buckets in the process. With Redis the same buckets live there, for
every worker together (:class:`app.store.rooms.RedisRooms`), and this one is the fallback
while Redis cannot be reached.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

KEY_BURST = 10
KEY_REFILL = 30.0
MAX_CLIENTS = 10_000
CLOSE_THROTTLED = 4429  # (private range) too many wrong keys from this address


class ThrottledError(Exception):
    """The client gave too many wrong keys; ``retry_after`` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many wrong presenter keys from this address: try again in "
                         f"{retry_after} s")


class KeyGuard:
    def __init__(self, *, burst: int = KEY_BURST, refill: float = KEY_REFILL,
                 max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if burst < 1 or refill <= 0:
            raise ValueError("a key guard needs a burst of at least 1 and a refill time")
        self.burst, self.refill, self.max_clients = burst, refill, max_clients
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)

    def _tokens(self, client: str) -> float:
        tokens, at = self._buckets.get(client, (float(self.burst), self.clock()))
        return min(float(self.burst), tokens + (self.clock() - at) / self.refill)

    def check(self, client: str) -> None:
        """Raise :class:`ThrottledError` if ``client`` may not try a key now."""
        tokens = self._tokens(client)
        if tokens < 1:
            raise ThrottledError(max(1, math.ceil((1 - tokens) * self.refill)))

    def failed(self, client: str) -> None:
        """``client`` gave a wrong key: one token less."""
        tokens = self._tokens(client) - 1
        self._buckets[client] = (tokens, self.clock())
        if len(self._buckets) > self.max_clients:
            fullest = max(self._buckets, key=lambda c: self._tokens(c))
            del self._buckets[fullest]
