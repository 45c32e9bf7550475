"""Disclosure rules: requests and their 10-day clock, decisions under 제33조③, provisions and approvals under 제32조,
releases recorded in the 관리대장.

Callers (the API, the CLI, workers) pass a session and commit; nothing here commits, so an act and its ledger row are
stored together or not at all.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from redactor import counters
from redactor.db import utcnow
from redactor.disclosure.models import (
    Approval,
    Decision,
    DisclosureRequest,
    Outcome,
    Provision,
    Release,
    RequestKind,
    Role,
    User,
)
from redactor.disclosure.rules import (
    ANSWER_WITHIN,
    DEFAULT_APPEAL_ROUTE,
    GROUND_TECHNICALLY_HARD,
    MASKING_POSTPONEMENT_REASON,
    PROVISION_GROUNDS,
    REFUSAL_GROUNDS,
    URGENT_PUBLIC_INTEREST,
    provision_basis,
)
from redactor.documents.notice import render_decision_notice
from redactor.errors import RedactorError
from redactor.ledger.entry import Kind
from redactor.ledger.service import Ledger, Personal
from redactor.registry.models import Recording
from redactor.registry.service import RecordingHeld, active_holds, recordings_overlapping
from redactor.retention.service import Destroyer, destroy_recording

log = logging.getLogger(__name__)

ROLE_TITLES = {Role.privacy_officer: "총괄책임관", Role.center_head: "통합관제센터의 장", Role.clerk: "민원담당자",
               Role.operator: "관제요원", Role.auditor: "감사", Role.admin: "관리자"}


class DisclosureError(RedactorError):
    exit_code = 2


class ApprovalMissing(DisclosureError):
    """No approval of the right role (제32조②③): nothing is provided."""


class ApprovalRejected(DisclosureError):
    """The approver's role may not approve this provision."""


# Users ----------------------------------------------------------------------------------------------------------------


def add_user(session: Session, username: str, role: Role | str, display_name: str = "") -> User:
    user = User(username=username, role=Role(role), display_name=display_name)
    session.add(user)
    session.flush()
    return user


# Requests -------------------------------------------------------------------------------------------------------------


def due_date(received_at: dt.datetime) -> dt.datetime:
    """제33조③ / PIPA 35조③: answer within 10 days of receipt."""
    return received_at + ANSWER_WITHIN


def receive_request(session: Session, *, kind: RequestKind | str, requester_name: str, period_from: dt.datetime,
                    period_to: dt.datetime, camera_location: str, purpose: str, received_by: str,
                    received_at: dt.datetime | None = None, camera_id: int | None = None, **form) -> DisclosureRequest:
    """Register a 별지 4호 request. `form` takes the other fields of the form (requester_phone, subject_name, ...)."""
    if not requester_name.strip():
        raise DisclosureError("the request form needs the requester's name")
    if period_to <= period_from:
        raise DisclosureError("the recording period ends before it starts")
    if not purpose.strip():
        raise DisclosureError("the request form needs its purpose and reason (청구 목적 및 사유)")
    received_at = received_at or utcnow()
    req = DisclosureRequest(number=request_number(session, received_at.year), kind=RequestKind(kind),
                            requester_name=requester_name, period_from=period_from, period_to=period_to,
                            camera_location=camera_location, camera_id=camera_id, purpose=purpose,
                            received_at=received_at,
                            due_at=due_date(received_at), received_by=received_by, **form)
    session.add(req)
    session.flush()
    return req


def request_number(session: Session, year: int) -> str:
    """The next 접수번호 of the year, "2026-00042": taken from the year's counter under its lock, so staff filing at
    the same moment never get the same number (counting the year's requests would give it twice)."""

    def highest_given() -> int:  # a year whose counter is not made yet: carry on from any number already given
        numbers = session.scalars(select(DisclosureRequest.number).where(DisclosureRequest.number.like(f"{year}-%")))
        return max((int(n.split("-", 1)[1]) for n in numbers if n.split("-", 1)[1].isdigit()), default=0)

    return f"{year}-{counters.take(session, f'request:{year}', highest_given):05d}"


def overdue_requests(session: Session, now: dt.datetime | None = None) -> list[DisclosureRequest]:
    """Open requests past their answer date: never answered by the due date, or past the end of a postponement."""
    now = now or utcnow()
    out = []
    q = select(DisclosureRequest).where(DisclosureRequest.closed_at.is_(None),
                                        or_(DisclosureRequest.due_at < now, DisclosureRequest.decisions.any()))
    for req in session.scalars(q.order_by(DisclosureRequest.due_at)):
        last = req.last_decision
        if last is None:
            if req.due_at < now:
                out.append(req)
        elif last.outcome == Outcome.postpone and (last.postponed_until or req.due_at) < now:
            out.append(req)
    return out


# Decisions ------------------------------------------------------------------------------------------------------------


def decide(session: Session, request: DisclosureRequest, *, outcome: Outcome | str, decided_by: str,
           reasons: str = "", refusal_ground: int | None = None, appeal_route: str | None = None,
           postponed_until: dt.datetime | None = None, withheld: str = "", redaction_available: bool = True,
           destroyer: Destroyer | None = None, now: dt.datetime | None = None) -> Decision:
    """Answer a request under 제33조③. Returns the stored decision with its notice PDF.

    A refusal of a viewing on ground 2 (technically hard to remove only the subject's footage) while redaction is
    available becomes a postponement for masking (PIPC 2025). A granted 삭제 destroys the footage, unless held.
    """
    now = now or utcnow()
    outcome = Outcome(outcome)
    if outcome == Outcome.refuse:
        if refusal_ground not in REFUSAL_GROUNDS:
            raise DisclosureError(f"a refusal needs a ground of 제33조③ (1-4), got {refusal_ground}")
        if (refusal_ground == GROUND_TECHNICALLY_HARD and redaction_available
                and request.kind in (RequestKind.열람, RequestKind.제공, RequestKind.존재확인)):
            log.info("request %s: refusal on ground 2 replaced by a postponement for masking", request.number)
            return postpone_for_masking(session, request, decided_by=decided_by, now=now)
    elif refusal_ground is not None:
        raise DisclosureError("a refusal ground belongs only to a refusal")
    if outcome != Outcome.grant and not reasons.strip():
        raise DisclosureError(f"a {outcome} decision needs its reasons (제33조③)")
    if outcome == Outcome.limit and not withheld.strip():
        raise DisclosureError("a limitation says which part is withheld (decree 42조①)")
    if outcome == Outcome.postpone and postponed_until is None:
        postponed_until = now + ANSWER_WITHIN
    if request.kind == RequestKind.삭제 and outcome in (Outcome.grant, Outcome.limit):
        _delete_for_request(session, request, decided_by, limit=outcome == Outcome.limit, destroyer=destroyer,
                            now=now)
    decision = Decision(request=request, outcome=outcome, refusal_ground=refusal_ground, reasons=reasons,
                        appeal_route=DEFAULT_APPEAL_ROUTE if appeal_route is None and outcome != Outcome.grant
                        else (appeal_route or ""),
                        postponed_until=postponed_until, withheld=withheld, decided_at=now, decided_by=decided_by)
    session.add(decision)
    session.flush()
    decision.notice_pdf = render_decision_notice(request, decision)
    if outcome == Outcome.refuse or (outcome != Outcome.postpone and request.kind in (RequestKind.존재확인,
                                                                                      RequestKind.삭제)):
        request.closed_at = now
    session.flush()
    return decision


def postpone_for_masking(session: Session, request: DisclosureRequest, *, decided_by: str,
                         now: dt.datetime | None = None) -> Decision:
    """The notice the clerk sends instead of a ground-2 refusal: the viewing waits for the masking, not refused."""
    now = now or utcnow()
    return decide(session, request, outcome=Outcome.postpone, decided_by=decided_by,
                  reasons=MASKING_POSTPONEMENT_REASON, postponed_until=now + ANSWER_WITHIN, now=now)


def _delete_for_request(session: Session, request: DisclosureRequest, decided_by: str, *, limit: bool,
                        destroyer: Destroyer | None, now: dt.datetime) -> list[int]:
    if request.camera_id is None:
        raise DisclosureError(f"request {request.number}: deletion needs the camera (camera_id) to find the footage")
    recordings = recordings_overlapping(session, request.camera_id, request.period_from, request.period_to)
    held = [r for r in recordings if active_holds(r, now)]
    if held and not limit:
        raise RecordingHeld(f"request {request.number}: recording {held[0].id} is held "
                            f"({active_holds(held[0], now)[0].reason}); it is not deleted. Limit or refuse the "
                            "request with its 제33조③ ground instead")
    numbers = []
    for rec in recordings:
        if rec in held:
            continue
        numbers.append(destroy_recording(session, rec, responsible=decided_by, reason="정보주체의 삭제 청구",
                                         basis="개인정보 보호법 제36조, 지침 제33조", destroyer=destroyer, now=now,
                                         ref=f"request:{request.id}"))
    return numbers


# Provisions and approvals ---------------------------------------------------------------------------------------------


def propose_provision(session: Session, *, ground: int, recipient_agency: str, recipient_officer: str, purpose: str,
                      period_from: dt.datetime, period_to: dt.datetime, created_by: str,
                      use_until: dt.date | None = None, form: str = "사본(마스킹)", recipient_phone: str = "",
                      use: bool = False, request: DisclosureRequest | None = None,
                      now: dt.datetime | None = None) -> Provision:
    if ground not in PROVISION_GROUNDS:
        raise DisclosureError(f"제32조① has grounds 1-8, got {ground}")
    if not purpose.strip():
        raise DisclosureError("a provision needs its purpose")
    if ground == 4 and "비식별" not in form:
        # Item 4 allows provision only in a form where no individual can be recognised.
        raise DisclosureError("제32조①4 (press, statistics, research) allows only a 비식별 (fully masked) form")
    prov = Provision(ground=ground, use=use, recipient_agency=recipient_agency, recipient_officer=recipient_officer,
                     recipient_phone=recipient_phone, purpose=purpose, period_from=period_from, period_to=period_to,
                     use_until=use_until, form=form, request_id=request.id if request else None,
                     created_at=now or utcnow(), created_by=created_by)
    session.add(prov)
    session.flush()
    return prov


def approve_provision(session: Session, provision: Provision, approver: User, *, note: str = "",
                      now: dt.datetime | None = None) -> Approval:
    """제32조②: the 총괄책임관 approves; 제32조③: for item 8 the 통합관제센터의 장 may approve alone."""
    if approver.disabled:
        raise ApprovalRejected(f"user {approver.username} is disabled")
    if approver.role == Role.privacy_officer:
        article = "32-2"
    elif approver.role == Role.center_head and provision.ground == URGENT_PUBLIC_INTEREST:
        article = "32-3"
    else:
        raise ApprovalRejected(f"{approver.username} ({approver.role}) may not approve a provision under "
                               f"제32조①{provision.ground}: the 총괄책임관 approves (제32조②), "
                               "the 통합관제센터의 장 only item 8 (제32조③)")
    appr = Approval(provision=provision, approver=approver, role=approver.role, article=article, note=note,
                    approved_at=now or utcnow())
    session.add(appr)
    session.flush()
    return appr


def valid_approval(provision: Provision) -> Approval | None:
    for appr in provision.approvals:
        if appr.approver.disabled:
            continue
        if appr.role == Role.privacy_officer:
            return appr
        if appr.role == Role.center_head and provision.ground == URGENT_PUBLIC_INTEREST:
            return appr
    return None


def _approval_text(appr: Approval) -> str:
    who = appr.approver.display_name or appr.approver.username
    return f"{ROLE_TITLES[Role(appr.role)]} {who} (제{appr.article.replace('-', '조제')}항)"


def provide(session: Session, provision: Provision, *, released_by: str, object_key: str, file: str,
            recording: Recording | None = None, expires_at: dt.datetime | None = None,
            now: dt.datetime | None = None, ledger: Ledger | None = None) -> Release:
    """Hand out footage under a provision: rejected without an approval of the right role; records 이용 or 제공."""
    appr = valid_approval(provision)
    if appr is None:
        raise ApprovalMissing(f"provision {provision.id} (제32조①{provision.ground}) has no approval of the right "
                              "role: nothing is provided")
    now = now or utcnow()
    period = provision.use_until.isoformat() if provision.use_until else "목적 달성 시까지"
    number = (ledger or Ledger()).append(
        session, Kind.이용 if provision.use else Kind.제공, occurred_at=now, file=file, officer=released_by,
        purpose=provision.purpose, party=provision.recipient_agency,
        personal=Personal(name=provision.recipient_officer, phone=provision.recipient_phone),
        basis=provision_basis(provision.ground), form=provision.form, period=f"~{period}",
        approval=_approval_text(appr), ref=f"provision:{provision.id}")
    rel = Release(provision_id=provision.id, recording_id=recording.id if recording else None, object_key=object_key,
                  form=provision.form, released_at=now, released_by=released_by, expires_at=expires_at,
                  ledger_number=number)
    session.add(rel)
    session.flush()
    return rel


def release_to_requester(session: Session, request: DisclosureRequest, *, released_by: str, object_key: str,
                         file: str, form: str = "열람(다른 사람 마스킹)", recording: Recording | None = None,
                         expires_at: dt.datetime | None = None, now: dt.datetime | None = None,
                         ledger: Ledger | None = None) -> Release:
    """Give the data subject their (masked) footage after a grant or a limitation; records 열람 (or 제공 of a copy)."""
    last = request.last_decision
    if last is None or last.outcome not in (Outcome.grant, Outcome.limit):
        raise DisclosureError(f"request {request.number} has no grant or limitation: nothing is released")
    if request.kind not in (RequestKind.열람, RequestKind.제공, RequestKind.이용):
        raise DisclosureError(f"a {request.kind} request releases no footage")
    now = now or utcnow()
    kind = Kind.열람 if request.kind == RequestKind.열람 else Kind.제공
    relation = request.requester_relation or "본인"
    number = (ledger or Ledger()).append(
        session, kind, occurred_at=now, file=file, officer=released_by, purpose=request.purpose,
        party=f"정보주체 {relation}" if relation == "본인" else f"정보주체의 {relation}",
        personal=Personal(name=request.requester_name, phone=request.requester_phone),
        basis="개인정보 보호법 제35조, 지침 제33조 (별지 4호 청구 " + request.number + ")", form=form,
        period=f"~{expires_at.date().isoformat()}" if expires_at else "당일", approval=last.decided_by,
        ref=f"request:{request.id}")
    rel = Release(request_id=request.id, recording_id=recording.id if recording else None, object_key=object_key,
                  form=form, released_at=now, released_by=released_by, expires_at=expires_at, ledger_number=number)
    session.add(rel)
    request.closed_at = now
    session.flush()
    return rel
