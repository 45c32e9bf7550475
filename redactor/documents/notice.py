"""The decision notice (결정 통지서) for a 별지 4호 request: grant, postponement, limitation or refusal.

A postponement, limitation or refusal states its reasons and how to appeal (제33조③, PIPA 35조, decree 42조②).
"""

from __future__ import annotations

import datetime as dt
import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from redactor.documents.fonts import styles

NOTICE_TITLE = "개인영상정보 청구 결정 통지서"
KST = dt.timezone(dt.timedelta(hours=9), "KST")

OUTCOME_WORDS = {"grant": "열람등 허용", "postpone": "열람등 연기", "limit": "열람등 일부 제한",
                 "refuse": "열람등 거절"}


def kst(t: dt.datetime | None, with_time: bool = True) -> str:
    if t is None:
        return ""
    t = t.astimezone(KST)
    return t.strftime("%Y.%m.%d %H:%M") if with_time else t.strftime("%Y.%m.%d")


def _p(text: str, style) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def form_table(rows: list[tuple[str, str]], st: dict, widths=(45 * mm, 125 * mm)) -> Table:
    t = Table([[_p(k, st["body"]), _p(v, st["body"])] for k, v in rows], colWidths=list(widths))
    t.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    return t


def render_decision_notice(request, decision, *, issuer: str = "오산시장") -> bytes:
    """PDF bytes of the notice for `decision` on `request` (models from redactor.disclosure.models)."""
    st = styles()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, title=NOTICE_TITLE, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=20 * mm, bottomMargin=20 * mm)
    outcome = str(decision.outcome)
    rows = [
        ("접수번호", request.number),
        ("접수일", kst(request.received_at)),
        ("청구인", request.requester_name),
        ("청구 구분", str(request.kind)),
        ("영상정보 기록기간", f"{kst(request.period_from)} ~ {kst(request.period_to)}"),
        ("설치장소", request.camera_location),
        ("결정", OUTCOME_WORDS[outcome]),
        ("결정일", kst(decision.decided_at)),
    ]
    if outcome == "postpone" and decision.postponed_until:
        rows.append(("연기 기한", kst(decision.postponed_until, with_time=False)))
    if outcome == "limit" and decision.withheld:
        rows.append(("제한되는 부분", decision.withheld))
    if outcome == "refuse" and decision.refusal_ground:
        from redactor.disclosure.rules import REFUSAL_GROUNDS

        ground = decision.refusal_ground
        rows.append(("거절 근거", f"제33조제3항제{ground}호: {REFUSAL_GROUNDS[ground]}"))
    if decision.reasons:
        rows.append(("사유", decision.reasons))
    story = [_p(NOTICE_TITLE, st["title"]), form_table(rows, st), Spacer(1, 6 * mm)]
    if outcome == "grant":
        story.append(_p("귀하의 청구에 따라 개인영상정보의 열람등을 허용합니다. 다른 사람의 얼굴과 차량번호는 "
                        "알아볼 수 없도록 처리된 영상이 제공됩니다.", st["body"]))
    if outcome != "grant" or decision.appeal_route:
        story += [_p("불복 방법", st["heading"]), _p(decision.appeal_route, st["body"])]
    story += [Spacer(1, 12 * mm), _p(f"{kst(decision.decided_at, with_time=False)}", st["body"]),
              _p(issuer, st["heading"])]
    doc.build(story)
    return buf.getvalue()
