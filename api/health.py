"""GET /healthz (the process answers) and GET /readyz (database, broker and object store reachable)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from redactor import db as database

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Alive")
def healthz() -> dict:
    return {"status": "alive"}


@router.get("/readyz", summary="Ready: database, broker and object store reachable (503 naming what is not)")
def readyz(request: Request) -> JSONResponse:
    failing: dict[str, str] = {}
    try:
        with database.get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        database.require_current()
    except Exception as err:
        failing["database"] = str(err).splitlines()[0][:300]
    dispatch = request.app.state.dispatch
    if hasattr(dispatch, "ping"):
        try:
            dispatch.ping()
        except Exception as err:
            failing["broker"] = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
    try:
        request.app.state.store().exists("readyz-probe")
    except Exception as err:
        failing["object_store"] = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
    if failing:
        return JSONResponse({"status": "unready", "failing": failing}, status_code=503)
    return JSONResponse({"status": "ready", "broker": "celery" if hasattr(dispatch, "ping") else "embedded"})
