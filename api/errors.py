"""Errors as JSON with one clear message: expected failures map to 4xx, never a 500 for bad input. No message shows a
server path (scrubbed here, at the edge, whatever the source put in), and validation errors read Korean first,
English after."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError

from redactor.errors import BadInput, RedactorError, scrub_paths

log = logging.getLogger("redactor.api")

NOT_FOUND = ("ObjectMissing", "JobMissing", "NotFound")
GONE = ("ObjectExpired", "LinkInvalid", "FootageDestroyed")
FORBIDDEN = ("NotAssigned", "MintRefused")  # 제31조: this account does not handle that case


def _status(err: RedactorError) -> int:
    names = {c.__name__ for c in type(err).__mro__}
    if names & set(NOT_FOUND):
        return 404
    if names & set(GONE):
        return 410
    if names & set(FORBIDDEN):
        return 403
    if isinstance(err, BadInput):
        return 400
    if "JobBusy" in names:
        return 409
    return 409  # a rule of the domain refuses the act in the current state (no approval, no grant, held...)


class NotFound(RedactorError):
    exit_code = 6


def error_body(err: RedactorError) -> dict:
    body = {"detail": scrub_paths(str(err)), "error": type(err).__name__}
    # a refusal by a rule of the domain names the rule and the article it rests on, in its fields and its text
    rule, article = getattr(err, "rule", ""), getattr(err, "article", "")
    if rule and article:
        body |= {"rule": rule, "article": article}
        if article not in body["detail"]:
            body["detail"] += f" [{rule}: {article}]"
    return body


# Pydantic's error types, in Korean. `{...}` takes the error's context (limits, expected values).
KOREAN = {
    "missing": "필수 항목입니다",
    "string_too_short": "{min_length}자 이상이어야 합니다",
    "string_too_long": "{max_length}자 이하여야 합니다",
    "string_type": "문자열이어야 합니다",
    "too_short": "항목이 {min_length}개 이상이어야 합니다",
    "too_long": "항목이 {max_length}개 이하여야 합니다",
    "greater_than_equal": "{ge} 이상이어야 합니다",
    "greater_than": "{gt}보다 커야 합니다",
    "less_than_equal": "{le} 이하여야 합니다",
    "less_than": "{lt}보다 작아야 합니다",
    "int_parsing": "정수여야 합니다",
    "int_type": "정수여야 합니다",
    "int_from_float": "소수가 아닌 정수여야 합니다",
    "float_parsing": "숫자여야 합니다",
    "float_type": "숫자여야 합니다",
    "bool_parsing": "true 또는 false여야 합니다",
    "bool_type": "true 또는 false여야 합니다",
    "enum": "다음 중 하나여야 합니다: {expected}",
    "literal_error": "다음 중 하나여야 합니다: {expected}",
    "date_parsing": "날짜 형식(YYYY-MM-DD)이어야 합니다",
    "date_from_datetime_parsing": "날짜 형식(YYYY-MM-DD)이어야 합니다",
    "date_from_datetime_inexact": "시각 없는 날짜(YYYY-MM-DD)여야 합니다",
    "date_type": "날짜여야 합니다",
    "datetime_parsing": "날짜·시각 형식(ISO 8601, 예: 2026-03-02T18:30:00+09:00)이어야 합니다",
    "datetime_from_date_parsing": "날짜·시각 형식(ISO 8601, 예: 2026-03-02T18:30:00+09:00)이어야 합니다",
    "datetime_type": "날짜·시각이어야 합니다",
    "timezone_aware": "시간대(예: +09:00)가 포함된 시각이어야 합니다",
    "json_invalid": "올바른 JSON이 아닙니다",
    "json_type": "JSON이어야 합니다",
    "model_attributes_type": "객체(JSON object)여야 합니다",
    "dict_type": "객체(JSON object)여야 합니다",
    "list_type": "목록(JSON array)이어야 합니다",
    "extra_forbidden": "허용되지 않는 항목입니다",
    "value_error": "값이 올바르지 않습니다",
    "assertion_error": "값이 올바르지 않습니다",
    "uuid_parsing": "UUID 형식이어야 합니다",
    "url_parsing": "URL 형식이어야 합니다",
}
PLACES = {"body": "본문", "query": "쿼리", "path": "경로", "header": "헤더", "cookie": "쿠키"}


def _korean(error: dict) -> str:
    template = KOREAN.get(error.get("type", ""), "값이 올바르지 않습니다")
    try:
        return template.format(**(error.get("ctx") or {}))
    except (KeyError, IndexError, ValueError):
        return "값이 올바르지 않습니다"


def _where(loc) -> str:
    parts = [str(p) for p in loc or ()]
    if parts and parts[0] in PLACES:
        parts[0] = PLACES[parts[0]]
    return ".".join(parts) or "입력"


def validation_body(errors: list[dict]) -> dict:
    """One line per error, the Korean first and the English after: `본문.ground: 8 이하여야 합니다 / body.ground:
    Input should be less than or equal to 8`. The input itself is not echoed (it may be personal data)."""
    items = []
    for e in errors:
        loc = ".".join(str(p) for p in e.get("loc") or ())
        english = scrub_paths(str(e.get("msg", "")))
        korean = _korean(e)
        if e.get("type") == "value_error" and english:
            # a rule of ours (a model validator): its own words follow
            korean = f"{korean} ({english.removeprefix('Value error, ')})"
        items.append({"loc": list(e.get("loc") or ()), "type": e.get("type", ""), "msg_ko": korean, "msg": english,
                      "text": f"{_where(e.get('loc'))}: {korean} / {loc or 'input'}: {english}"})
    detail = "입력값이 올바르지 않습니다 / invalid input: " + "; ".join(i["text"] for i in items)
    return {"detail": detail, "error": "BadInput", "errors": items}


def install(app: FastAPI) -> None:
    @app.exception_handler(RedactorError)
    async def redactor_error(_: Request, err: RedactorError) -> JSONResponse:
        return JSONResponse(error_body(err), status_code=_status(err))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(list(err.errors())), status_code=422)

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
        first = scrub_paths(str(err.orig).splitlines()[0])
        return JSONResponse({"detail": f"a value is out of range or malformed: {first}",
                             "error": "BadInput"}, status_code=400)

    @app.exception_handler(OverflowError)
    async def overflow(_: Request, err: OverflowError) -> JSONResponse:
        # an id or count beyond what the database stores (SQLite raises this before any SQL runs)
        return JSONResponse({"detail": "a number is out of range", "error": "BadInput"}, status_code=400)

    @app.exception_handler(StatementError)
    async def statement_error(_: Request, err: StatementError) -> JSONResponse:
        if isinstance(err.orig, ValueError | TypeError):
            return JSONResponse({"detail": scrub_paths(str(err.orig)), "error": "BadInput"}, status_code=400)
        log.exception("database statement failed")
        return JSONResponse({"detail": "internal error", "error": "Internal"}, status_code=500)
