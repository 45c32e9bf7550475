"""The staff console's session: the bearer token of POST /api/v1/auth/token carried in an HttpOnly, SameSite=Strict
cookie (JavaScript never reads it), and the CSRF check every unsafe request authenticated by that cookie passes.

CSRF, two locks: (1) the page's JavaScript sends `X-CSRF-Token`, a value derived from the session token (a hash no
other site can compute without the HttpOnly cookie); (2) the `Origin` (else `Referer`) of the request must be this
service itself. A request with a bearer header is not checked here: a browser never adds that header by itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, Response

COOKIE = "redactor_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"  # the same value in a plain HTML form (the console's logout)
SAFE = ("GET", "HEAD", "OPTIONS")


def csrf_token(session_token: str) -> str:
    return hashlib.sha256(b"redactor-csrf\0" + session_token.encode()).hexdigest()


def _secure(request: Request) -> bool:
    """Secure when the service is reached over https (directly or behind a proxy that says so)."""
    public = os.environ.get("REDACTOR_PUBLIC_URL", "")
    return request.url.scheme == "https" or public.startswith("https:")


def set_session(request: Request, response: Response, token: str, seconds: int) -> None:
    response.set_cookie(COOKIE, token, max_age=int(seconds), path="/", httponly=True, samesite="strict",
                        secure=_secure(request))


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))


def same_origin(request: Request) -> bool:
    """The request's Origin (or, where a browser sends none, its Referer) is this service."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return False
    got = urlsplit(origin)
    host = request.headers.get("host", "")
    return got.netloc == host and got.scheme in ("http", "https")


def refuse(detail: str) -> HTTPException:
    return HTTPException(403, detail=detail)


def check_csrf(request: Request, token: str, sent: str | None) -> None:
    if not same_origin(request):
        raise refuse("요청 출처(Origin)가 이 서비스가 아닙니다: 콘솔 화면에서 다시 시도하십시오 "
                     "(cross-site request refused)")
    if not sent or not hmac.compare_digest(sent, csrf_token(token)):
        raise refuse("CSRF 토큰이 없거나 맞지 않습니다: 화면을 새로 고친 뒤 다시 시도하십시오 (CSRF token missing "
                     "or wrong)")


def session_token(request: Request) -> str | None:
    """The token of the console's cookie (None without one); an unsafe method must pass the CSRF check."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    if request.method not in SAFE:
        check_csrf(request, token, request.headers.get(CSRF_HEADER))
    return token
