"""별지 4호 개인영상정보 청구서, filled in from a stored request (for the file and for the requester's copy)."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from redactor.documents.fonts import styles
from redactor.documents.notice import form_table, kst

FORM_TITLE = "개인영상정보 청구서"
KINDS = ["존재확인", "열람", "이용", "제공", "삭제"]


def _date(d) -> str:
    return d.strftime("%Y.%m.%d") if d else ""


def render_request_form(request) -> bytes:
    st = styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=FORM_TITLE, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm)
    kind = str(request.kind)
    marks = "  ".join(f"{'■' if k == kind else '□'} {k}" for k in KINDS)
    requester = [
        ("청구 구분", marks),
        ("접수번호", request.number),
        ("접수일시", kst(request.received_at)),
        ("처리기한", kst(request.due_at, with_time=False)),
        ("청구인 성명", request.requester_name),
        ("청구인 전화번호", request.requester_phone),
        ("청구인 생년월일", _date(request.requester_birth)),
        ("정보주체와의 관계", request.requester_relation),
        ("청구인 주소", request.requester_address),
    ]
    subject = [
        ("정보주체 성명", request.subject_name or "(청구인과 같음)"),
        ("정보주체 전화번호", request.subject_phone),
        ("정보주체 생년월일", _date(request.subject_birth)),
        ("정보주체 주소", request.subject_address),
    ]
    content = [
        ("영상정보 기록기간", f"{kst(request.period_from)} ~ {kst(request.period_to)}"),
        ("영상정보 처리기기 설치장소", request.camera_location),
        ("청구 목적 및 사유", request.purpose),
    ]
    story = [
        Paragraph("[별지 4호서식]", st["small"]),
        Paragraph(FORM_TITLE, st["title"]),
        Paragraph("청구인", st["heading"]), form_table(requester, st),
        Paragraph("정보주체", st["heading"]), form_table(subject, st),
        Paragraph("청구내용", st["heading"]), form_table(content, st),
        Spacer(1, 8 * mm),
        Paragraph("「개인정보 보호법」 제35조·제36조 및 「오산시 영상정보처리기기 설치 및 운영 지침」 제33조에 따라 "
                  "위와 같이 개인영상정보의 존재확인·열람·삭제 등을 청구합니다.", st["body"]),
        Spacer(1, 8 * mm),
        Paragraph(f"{kst(request.received_at, with_time=False)}      청구인 {request.requester_name} (서명 또는 인)",
                  st["body"]),
        Paragraph("오산시장 귀하", st["heading"]),
    ]
    doc.build(story)
    return buf.getvalue()
