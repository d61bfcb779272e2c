"""The REST API: ``/api/...``, one router per resource in ``routes/``."""
