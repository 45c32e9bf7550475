"""`create_app(settings)`: the FastAPI application. Routes under /api/v1, OpenAPI at /openapi.json, health at /healthz
and /readyz, recipients' downloads at /objects/{token}, `/` leading to the start page (api.home)."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from api import console, errors, health, home, links
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
SMALL_BODY = 1 << 20  # every route but the uploads takes small JSON or forms
PHOTO_BODY = 16 << 20  # POST .../proposals: a phone's photo of the requester


class BodyLimit:
    """Refuse a body over the limit before reading it: the upload route gets the configured size, others 1 MiB.
    An upload must say its length (Content-Length), so the refusal comes before any byte is spooled."""

    def __init__(self, app: ASGIApp, upload_limit: int) -> None:
        self.app, self.upload_limit = app, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        upload = scope["path"].rstrip("/") == f"{API}/recordings"
        photo = scope["path"].startswith(f"{API}/analyses/") and scope["path"].rstrip("/").endswith("/proposals")
        limit = self.upload_limit if upload else PHOTO_BODY if photo else SMALL_BODY
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        status, message = 0, ""
        if length is None and upload and b"chunked" in headers.get(b"transfer-encoding", b""):
            status, message = 411, "an upload must send Content-Length"
        elif length is not None:
            try:
                if int(length) > limit:
                    status, message = 413, f"the body is larger than the limit of {limit} bytes"
            except ValueError:
                status, message = 400, "malformed Content-Length"
        if status:
            from fastapi.responses import JSONResponse

            return await JSONResponse({"detail": message, "error": "BadInput"}, status_code=status)(scope, receive,
                                                                                                  send)
        return await self.app(scope, receive, send)


def _store_factory():
    lock, holder = threading.Lock(), []

    def store():
        with lock:
            if not holder:
                from redactor.storage import open_store

                holder.append(open_store())
            return holder[0]

    return store


def offline_docs(app: FastAPI) -> None:
    """/docs from Swagger UI's files in the swagger-ui-bundle package, served here: a city's closed network reaches
    no CDN. (ReDoc has no packaged copy, so it is off.)"""
    from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} API",
                                   swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/assets/swagger-ui.css",
                                   swagger_favicon_url="/docs/assets/favicon-32x32.png",
                                   oauth2_redirect_url="/docs/oauth2-redirect")

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

    app = FastAPI(title="redactor", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Lawful release of CCTV footage (오산시 영상정보처리기기 운영 지침, 개인정보 보호법). "
                              "Log in at POST /api/v1/auth/token; each operation lists the roles it allows in "
                              "`x-roles`.")
    app.state.settings = settings
    app.state.store = _store_factory()
    app.state.login_limiter = LoginLimiter(settings.login_attempts, settings.login_window_s)
    if settings.embedded:
        from api.dispatch import EmbeddedWorker

        app.state.dispatch = EmbeddedWorker(settings.embedded_workers)
    else:
        from api.dispatch import CeleryDispatch

        app.state.dispatch = CeleryDispatch(settings.broker)
    errors.install(app)
    app.add_middleware(BodyLimit, upload_limit=settings.max_upload_bytes)
    # pictures and video are compressed already, and a gzipped body could not answer a byte range
    app.add_middleware(GZipMiddleware, minimum_size=4096,
                       exclude_content_types=("text/event-stream", "video/*", "image/*", "application/zip"))
    app.include_router(home.router)
    app.include_router(health.router)
    offline_docs(app)
    app.include_router(links.router)
    console.install(app)
    for module in (auth, users, cameras, recordings, requests, decisions, analyses, frames, proposals, edits,
                   reviews, confirmations, renders, provisions, releases, ledger):
        app.include_router(module.router, prefix=API)
    return app

