"""GET /healthz (the process answers) and GET /readyz (everything a job needs is there: 503 naming each missing part
and how to get it, so a first job never fails on something the service could have said at start)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from redactor import db as database

router = APIRouter(tags=["health"])


def _line(err: Exception) -> str:
    return str(err).splitlines()[0][:300] if str(err) else type(err).__name__


@router.get("/healthz", summary="Alive")
def healthz() -> dict:
    return {"status": "alive"}


def missing_parts(request: Request) -> dict[str, str]:
    """Each part the service cannot work without that is missing now, with how to get it."""
    failing: dict[str, str] = {}
    try:
        with database.get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        database.require_current()
    except Exception as err:
        failing["database"] = _line(err)
    dispatch = request.app.state.dispatch
    if hasattr(dispatch, "ping"):
        try:
            dispatch.ping()
        except Exception as err:
            failing["broker"] = f"{_line(err)}: start the broker named by REDACTOR_BROKER, or unset it to run jobs " \
                                "in this process"
    try:
        request.app.state.store().exists("readyz-probe")
    except Exception as err:
        failing["object_store"] = _line(err)
    from redactor.documents.fonts import FontMissing, font_files

    try:  # every decision notice is made in the request that decides, whatever runs the jobs
        font_files()
    except FontMissing as err:
        failing["font"] = str(err)
    if request.app.state.settings.embedded:  # the jobs run here: their weights and encoder must be here too
        failing.update(_engine_parts())
    return failing


def _engine_parts() -> dict[str, str]:
    from redactor.config import settings
    from redactor.weights.manifest import FETCH_HINT, missing_models

    failing = {}
    missing = missing_models()
    if missing:
        failing["models"] = (f"{len(missing)} model file(s) missing or altered in {settings().models_dir} "
                             f"({', '.join(missing)}): {FETCH_HINT}")
    try:
        import av

        av.codec.Codec("libx264", "w")
    except Exception:
        failing["video_encoder"] = "PyAV has no H.264 (libx264) encoder to write releases: pip install av (its " \
                                   "wheels bundle FFmpeg with x264)"
    return failing


@router.get("/readyz", summary="Ready: database, broker, object store, model weights, Korean font, video encoder "
                               "(503 naming what is missing and how to get it)")
def readyz(request: Request) -> JSONResponse:
    failing = missing_parts(request)
    if failing:
        return JSONResponse({"status": "unready", "failing": failing}, status_code=503)
    dispatch = request.app.state.dispatch
    return JSONResponse({"status": "ready", "broker": "celery" if hasattr(dispatch, "ping") else "embedded"})
