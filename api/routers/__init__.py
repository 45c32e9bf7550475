"""One router per domain, all under /api/v1."""
