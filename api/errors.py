"""Errors as JSON with one clear message: expected failures map to 4xx, never a 500 for bad input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError

from redactor.errors import BadInput, RedactorError

log = logging.getLogger("redactor.api")

NOT_FOUND = ("ObjectMissing", "JobMissing", "NotFound")
GONE = ("ObjectExpired", "LinkInvalid")


def _status(err: RedactorError) -> int:
    names = {c.__name__ for c in type(err).__mro__}
    if names & set(NOT_FOUND):
        return 404
    if names & set(GONE):
        return 410
    if isinstance(err, BadInput):
        return 400
    if "JobBusy" in names:
        return 409
    return 409  # a rule of the domain refuses the act in the current state (no approval, no grant, held...)


class NotFound(RedactorError):
    exit_code = 6


def install(app: FastAPI) -> None:
    @app.exception_handler(RedactorError)
    async def redactor_error(_: Request, err: RedactorError) -> JSONResponse:
        return JSONResponse({"detail": str(err), "error": type(err).__name__}, status_code=_status(err))

    @app.exception_handler(IntegrityError)
    async def integrity(_: Request, err: IntegrityError) -> JSONResponse:
        return JSONResponse({"detail": "conflicts with stored data (duplicate or missing reference)",
                             "error": "Conflict"}, status_code=409)

    @app.exception_handler(OperationalError)
    async def unavailable(_: Request, err: OperationalError) -> JSONResponse:
        # the database busy past its wait, or unreachable, during the route or at its commit: nothing was stored
        log.error("database unavailable: %s", str(err.orig).splitlines()[0] if err.orig else type(err).__name__)
        return JSONResponse({"detail": "the database is busy or unreachable: nothing was stored, try again",
                             "error": "Unavailable"}, status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(DataError)
    async def data_error(_: Request, err: DataError) -> JSONResponse:
        return JSONResponse({"detail": f"a value is out of range or malformed: {str(err.orig).splitlines()[0]}",
                             "error": "BadInput"}, status_code=400)

    @app.exception_handler(OverflowError)
    async def overflow(_: Request, err: OverflowError) -> JSONResponse:
        # an id or count beyond what the database stores (SQLite raises this before any SQL runs)
        return JSONResponse({"detail": "a number is out of range", "error": "BadInput"}, status_code=400)

    @app.exception_handler(StatementError)
    async def statement_error(_: Request, err: StatementError) -> JSONResponse:
        if isinstance(err.orig, ValueError | TypeError):
            return JSONResponse({"detail": str(err.orig), "error": "BadInput"}, status_code=400)
        log.exception("database statement failed")
        return JSONResponse({"detail": "internal error", "error": "Internal"}, status_code=500)
