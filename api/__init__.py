"""The HTTP API: FastAPI, one router per domain, thin over `redactor` (a route parses, authorizes, calls one
function, records)."""
