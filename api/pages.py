"""Paginated lists and the response models shared by the list routes (small JSON for the staff console)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
MAX_PAGE = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class Progress(BaseModel):
    step: str
    frames_done: int
    frames_total: int


class JobOut(BaseModel):
    id: str
    kind: str
    status: str
    step: str
    progress: Progress
    attempts: int
    error: str | None
    result: dict[str, Any]
    params: dict[str, Any]
    recording_id: int | None
    request_id: int | None
    provision_id: int | None
    parent_id: str | None
    created_by: str
    created_at: str | None
    finished_at: str | None


def page(session: Session, query, limit: int, offset: int, to_json: Callable[[Any], dict]) -> dict:
    """One page of `query` (already filtered and ordered) with the total it was cut from."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.limit(limit).offset(offset))
    return {"items": [to_json(r) for r in rows], "total": int(total or 0), "limit": limit, "offset": offset}
