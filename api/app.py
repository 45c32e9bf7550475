"""`create_app(settings)`: the FastAPI application. Routes under /api/v1, OpenAPI at /openapi.json, health at /healthz
and /readyz, recipients' downloads at /objects/{token}, `/` leading to the start page (api.home)."""

from __future__ import annotations

import logging
import re
import threading
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse

from api import console, errors, health, home, links
from api.deps import credential_verifies, current_user
from api.middleware import PHOTO_BODY, SMALL_BODY, BodyLimit, RateLimit, SecurityHeaders
from api.ratelimit import LoginLimiter
from api.routers import (
    analyses,
    auth,
    cameras,
    confirmations,
    decisions,
    edits,
    frames,
    ledger,
    proposals,
    provisions,
    recordings,
    releases,
    renders,
    requests,
    reviews,
    users,
)
from api.settings import ServiceSettings

log = logging.getLogger("redactor.api")
API = "/api/v1"


def body_limit_for(upload_limit: int):
    """Each route's body limit: the recordings upload gets the configured size, a requester's photo and a paper
    slip's scan 16 MiB, every other route (JSON, small forms) 1 MiB."""
    destruction = re.compile(rf"^{API}/provisions/[^/]+/packages/[^/]+/destruction/?$")
    photo = re.compile(rf"^{API}/analyses/[^/]+/proposals/?$")

    def limit_for(method: str, path: str) -> int:
        if method == "POST":
            if path.rstrip("/") == f"{API}/recordings":
                return upload_limit
            if photo.match(path) or destruction.match(path):
                return PHOTO_BODY
        return SMALL_BODY

    return limit_for


def _store_factory():
    lock, holder = threading.Lock(), []

    def store():
        with lock:
            if not holder:
                from redactor.storage import open_store

                holder.append(open_store())
            return holder[0]

    return store


DOCS_PAGE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>redactor API</title>
<link rel="stylesheet" type="text/css" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png"></head>
<body>
<form id="login" style="font-family:sans-serif;margin:1em">
 <b>redactor API</b> &mdash; 로그인 (log in) to read the schema:
 <input name="username" placeholder="user name" autocomplete="username" required>
 <input name="password" type="password" placeholder="password" autocomplete="current-password" required>
 <button type="submit">log in</button> <span id="message"></span>
</form>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>
const NEEDS_LOGIN = __NEEDS_LOGIN__;
function show(token) {
  document.getElementById("login").style.display = "none";
  window.ui = SwaggerUIBundle({
    url: "/openapi.json", dom_id: "#swagger-ui", layout: "BaseLayout", deepLinking: true,
    showExtensions: true, showCommonExtensions: true, oauth2RedirectUrl: "/docs/oauth2-redirect",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    requestInterceptor: function (req) { if (token) { req.headers["Authorization"] = "Bearer " + token; } return req; }
  });
}
document.getElementById("login").addEventListener("submit", async function (event) {
  event.preventDefault();
  const answer = await fetch("/api/v1/auth/token", {method: "POST", body: new URLSearchParams(new FormData(this))});
  const body = await answer.json();
  if (answer.ok) { sessionStorage.setItem("redactor-token", body.access_token); show(body.access_token); }
  else { document.getElementById("message").textContent = body.detail || answer.status; }
});
const kept = sessionStorage.getItem("redactor-token");
if (!NEEDS_LOGIN || kept) { show(kept); }
</script>
</body></html>
"""


def offline_docs(app: FastAPI, mode: str) -> None:
    """/docs from Swagger UI's files in the swagger-ui-bundle package, served here: a city's closed network reaches
    no CDN. (ReDoc has no packaged copy, so it is off.)

    `mode` "login" (the default): /openapi.json answers a logged-in account only, and the page logs in first (the
    token lives in the tab's sessionStorage and is sent by "Try it out" too); "open": no login for either; "off":
    neither is served."""
    from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    if mode == "off":
        return
    if mode not in ("login", "open"):
        raise ValueError(f"REDACTOR_DOCS={mode!r}: one of login, open, off")
    guard = [Depends(current_user)] if mode == "login" else []

    @app.get("/openapi.json", include_in_schema=False, dependencies=guard)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    app.mount("/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")
    page = DOCS_PAGE.replace("__NEEDS_LOGIN__", "true" if mode == "login" else "false")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        resumed = app.state.dispatch.resume()
        if resumed:
            log.info("resumed %d unfinished jobs", resumed)
        yield
        app.state.dispatch.shutdown()

    app = FastAPI(title="redactor", version="1", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  description="Lawful release of CCTV footage (오산시 영상정보처리기기 운영 지침, 개인정보 보호법). "
                              "Log in at POST /api/v1/auth/token; each operation lists the roles it allows in "
                              "`x-roles`.")
    app.state.settings = settings
    app.state.store = _store_factory()
    app.state.login_limiter = LoginLimiter(settings.login_attempts, settings.login_window_s,
                                           settings.login_address_attempts)
    if settings.embedded:
        from api.dispatch import EmbeddedWorker

        app.state.dispatch = EmbeddedWorker(settings.embedded_workers)
    else:
        from api.dispatch import CeleryDispatch

        app.state.dispatch = CeleryDispatch(settings.broker)
    errors.install(app)
    # added innermost first: a request meets SecurityHeaders, then RateLimit, then BodyLimit, then GZip
    # (pictures and video are compressed already, and a gzipped body could not answer a byte range)
    app.add_middleware(GZipMiddleware, minimum_size=4096,
                       exclude_content_types=("text/event-stream", "video/*", "image/*", "application/zip"))
    app.add_middleware(BodyLimit, limit_for=body_limit_for(settings.max_upload_bytes),
                       credential_ok=credential_verifies)
    app.add_middleware(RateLimit, per_minute=settings.rate_per_minute)
    app.add_middleware(SecurityHeaders)
    app.include_router(home.router)
    app.include_router(health.router)
    offline_docs(app, settings.docs)
    app.include_router(links.router)
    app.include_router(links.staff_router, prefix=API)
    console.install(app)
    for module in (auth, users, cameras, recordings, requests, decisions, analyses, frames, proposals, edits,
                   reviews, confirmations, renders, provisions, releases, ledger):
        app.include_router(module.router, prefix=API)
    return app

