"""Where the server keeps what outlives one request: walks (sessions), exercises, rooms and
the room's live state.

Two backends behind one interface each: in this process's memory (the default; nothing to
install) and Redis (``CONVLENS_REDIS_URL`` or ``--redis URL``), which lets several workers
and hosts serve one course. :mod:`.backplane` holds the Redis connection every Redis-backed
store shares: the client, this worker's id and heartbeat, and the pub/sub listener that
re-reads the shared state after every reconnection.
"""
