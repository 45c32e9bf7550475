"""Pure ASGI middleware, outermost first: security headers on every answer, a per-address rate limit, and request
bodies counted as they arrive (chunked or not) against the route's limit, refused before any route, and so any
authentication, reads them.

Pure ASGI rather than BaseHTTPMiddleware: they wrap `receive` and `send` and never buffer a body or an answer
(a render streams through them by byte range)."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SMALL_BODY = 1 << 20  # JSON and small forms: every route but the uploads
PHOTO_BODY = 16 << 20  # a phone's photo of the requester (POST .../proposals), a paper slip's scan


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail, "error": "BadInput" if status in (400, 413) else "Refused"}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
           (b"connection", b"close")]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the bytes so far pass the limit: FastAPI passes an HTTPException raised while it
    reads a body through unchanged, so the route never runs and the answer is this 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"the body is larger than the limit of {limit} bytes",
                         headers={"Connection": "close"})


class BodyLimit:
    """Count each request's body against `limit_for(method, path)` as its chunks arrive.

    - A declared Content-Length over the limit: 413 before a byte is read.
    - Bytes past the limit, declared or not (chunked): 413 at the first chunk over it; the rest is never read.
    - A route whose limit is large (the uploads): the body is let in only behind a credential that verifies
      (`credential_ok(scope)`: a bearer token with a good signature, not expired); without one, 401 before a byte is
      read. The route's own dependency checks the account in the database as for every route.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int],
                 credential_ok: Callable[[Scope], bool]) -> None:
        self.app, self.limit_for, self.credential_ok = app, limit_for, credential_ok

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["method"], scope["path"])
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return await _answer(send, 400, "malformed Content-Length")
            if declared > limit:
                return await _answer(send, 413, f"the body is larger than the limit of {limit} bytes")
        has_body = (length is not None and length.strip() != b"0") or b"transfer-encoding" in headers
        if has_body and limit > SMALL_BODY and not self.credential_ok(scope):
            return await _answer(send, 401, "not authenticated: send a bearer token from POST /api/v1/auth/token "
                                            "before the body", {"WWW-Authenticate": "Bearer"})
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as err:  # raised where nothing turned it into an answer (a route reading the stream)
            if started:
                raise
            await _answer(send, 413, err.detail)


class RateLimit:
    """A token bucket per client address: `per_minute` requests, refilled evenly, bursts up to the same number.
    Health probes are not counted. 0 turns it off. In memory, per process (as the login limiter)."""

    EXEMPT = ("/healthz", "/readyz")
    MAX_ADDRESSES = 50_000

    def __init__(self, app: ASGIApp, per_minute: int) -> None:
        self.app, self.capacity = app, float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _take(self, address: str) -> float:
        """0 when a request may pass now, else the seconds until one may."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(address, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[address] = (tokens - 1, now)
                wait = 0.0
            else:
                self._buckets[address] = (tokens, now)
                wait = (1 - tokens) / self.rate
            if len(self._buckets) > self.MAX_ADDRESSES:  # forget the addresses whose buckets are full again
                full = [a for a, (t, when) in self._buckets.items() if t + (now - when) * self.rate >= self.capacity]
                for a in full:
                    del self._buckets[a]
        return wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.capacity <= 0 or scope["path"] in self.EXEMPT:
            return await self.app(scope, receive, send)
        address = (scope.get("client") or ("", 0))[0] or ""
        wait = self._take(address)
        if wait:
            seconds = str(max(1, math.ceil(wait)))
            return await _answer(send, 429, f"too many requests from this address: try again in {seconds} s",
                                 {"Retry-After": seconds})
        return await self.app(scope, receive, send)


SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",  # a download link is a credential: never sent on as a Referer
    b"x-frame-options": b"DENY",
    b"content-security-policy": b"frame-ancestors 'none'; object-src 'none'; base-uri 'none'",
    b"cross-origin-opener-policy": b"same-origin",
}
CACHEABLE = ("/docs/assets/", "/static/", "/console/static/")  # packaged files, no personal data


class SecurityHeaders:
    """On every answer: nosniff, no referrer, no framing; `Cache-Control: no-store` on everything but packaged
    static files (API answers carry personal data, footage and downloads must not stay in a shared browser's
    cache); HSTS when the request came over HTTPS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cacheable = scope["path"].startswith(CACHEABLE)
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS.items() if k not in present]
                if not cacheable and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                if https and b"strict-transport-security" not in present:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
