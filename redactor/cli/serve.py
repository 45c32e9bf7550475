"""`redactor serve`: the HTTP API with an in-process worker (embedded default: SQLite, the local object store, the
CPU; no broker). With REDACTOR_BROKER set, jobs go to Celery workers instead."""

from __future__ import annotations

import argparse
import dataclasses


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.settings import ServiceSettings
    from redactor import db

    db.require_current()  # one clear line (`redactor db upgrade`) instead of SQL errors on the first request
    settings = ServiceSettings()
    if not settings.public_url:  # download links name this address, never a request's Host header
        settings = dataclasses.replace(settings, public_url=f"http://{args.host}:{args.port}")
    mode = "embedded worker" if settings.embedded else f"Celery workers via {settings.broker}"
    print(f"redactor API on http://{args.host}:{args.port} ({mode}); OpenAPI at /docs")
    # No per-request access log: download links carry their credential in the path, and who touched which footage
    # is recorded in the access_log table instead.
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level,
                proxy_headers=args.proxy_headers, access_log=args.http_log)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the HTTP API (with an in-process worker unless REDACTOR_BROKER is set)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-* from a reverse proxy")
    p.add_argument("--http-log", action="store_true", help="log every HTTP request line (off: links are secrets)")
    p.set_defaults(handler=_serve)
