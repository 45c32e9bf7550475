"""Notices and the 별지 4호 form as PDF with the Korean font: rendered to PNG by poppler (not blank), text extracted."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from redactor.disclosure.models import Decision, DisclosureRequest, Outcome, RequestKind
from redactor.disclosure.rules import DEFAULT_APPEAL_ROUTE, MASKING_POSTPONEMENT_REASON
from redactor.documents.notice import NOTICE_TITLE, render_decision_notice
from redactor.documents.request_form import FORM_TITLE, render_request_form

T0 = dt.datetime(2026, 5, 4, 1, 0, tzinfo=dt.UTC)


def request() -> DisclosureRequest:
    return DisclosureRequest(number="2026-00007", kind=RequestKind.열람, requester_name="김하늘",
                             requester_phone="010-0123-4567", requester_birth=dt.date(1990, 1, 2),
                             requester_relation="본인", requester_address="경기도 오산시 원동 1", subject_name="",
                             subject_phone="", subject_birth=None, subject_address="",
                             period_from=T0 - dt.timedelta(hours=5), period_to=T0 - dt.timedelta(hours=4),
                             camera_location="오산시 원동 오산초등학교 정문", purpose="차량 파손 경위 확인",
                             received_at=T0, due_at=T0 + dt.timedelta(days=10), received_by="clerk")


def rendered(pdf: bytes, tmp_path: Path) -> tuple[np.ndarray, str]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", str(path), str(tmp_path / "page")],
                   check=True)
    png = next(tmp_path.glob("page*.png"))
    image = np.asarray(Image.open(png).convert("L"))
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return image, text


def assert_not_blank(image: np.ndarray) -> None:
    ink = (image < 128).mean()
    assert 0.005 < ink < 0.5, f"page ink fraction {ink:.4f}"


@pytest.mark.parametrize("outcome,extra,expect", [
    (Outcome.grant, {}, "열람등 허용"),
    (Outcome.postpone, {"reasons": MASKING_POSTPONEMENT_REASON, "postponed_until": T0 + dt.timedelta(days=12)},
     "마스킹"),
    (Outcome.limit, {"reasons": "수사 관련 구간 제외", "withheld": "22:10~22:20 구간"}, "제한되는 부분"),
    (Outcome.refuse, {"refusal_ground": 1, "reasons": "수사에 중대한 지장"}, "제33조제3항제1호"),
])
def test_decision_notice(outcome, extra, expect, tmp_path):
    d = Decision(outcome=outcome, decided_at=T0 + dt.timedelta(days=2), decided_by="officer",
                 appeal_route="" if outcome == Outcome.grant else DEFAULT_APPEAL_ROUTE,
                 **{"reasons": "", "withheld": "", "refusal_ground": None, **extra})
    image, text = rendered(render_decision_notice(request(), d), tmp_path)
    assert_not_blank(image)
    flat = "".join(text.split())
    assert "".join(NOTICE_TITLE.split()) in flat
    assert "".join(expect.split()) in flat
    assert "2026-00007" in flat and "김하늘" in flat
    if outcome != Outcome.grant:
        assert "불복방법" in flat and "행정심판" in flat


def test_request_form(tmp_path):
    image, text = rendered(render_request_form(request()), tmp_path)
    assert_not_blank(image)
    flat = "".join(text.split())
    for needle in (FORM_TITLE, "별지4호서식", "■열람", "□삭제", "청구목적및사유", "차량파손경위확인", "2026.05.14"):
        assert "".join(needle.split()) in flat, needle
