"""별지 1호 영상정보처리기기 설치현황(총괄): the camera register as xlsx or PDF, for the 운영 실태 점검 (제34조).

One row per camera, in the form's order: 연번, 부서명, 책임관, 담당자, 설치 수량, 설치목적 (별표 1: 1차·2차 분류); the
register also says where (설치장소), under which number, and how long its footage is kept (제35조①)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from redactor.registry.models import Camera

FORM_TITLE = "영상정보처리기기 설치현황(총괄)"
FORMATS = ("xlsx", "pdf")
HEADERS = ["연번", "부서명", "책임관", "담당자", "설치 수량 (대)", "설치목적 1차분류", "설치목적 2차분류", "설치장소",
           "관리번호", "보존기간 (일)"]


def register_rows(session: Session) -> list[list]:
    cams = session.scalars(select(Camera).order_by(Camera.department, Camera.code))
    return [[i, c.department, c.officer, c.staff, c.count, str(c.purpose), c.purpose_detail, c.location, c.code,
             c.retention_days] for i, c in enumerate(cams, start=1)]


def register_export(session: Session, fmt: str) -> bytes:
    from redactor.documents.sheets import pdf_table, xlsx_table

    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    rows = register_rows(session)
    if fmt == "xlsx":
        return xlsx_table("설치현황", HEADERS, rows)
    return pdf_table(FORM_TITLE, "[별지 제1호서식]", HEADERS, rows, (12, 30, 30, 30, 18, 22, 28, 60, 24, 18))
