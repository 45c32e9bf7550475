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
from redactor.base import utcnow
from redactor.disclosure.models import (
    Approval,
    Decision,
    DisclosureRequest,
    HandoverPackage,
    Outcome,
    Provision,
    Release,
    RequestKind,
    Role,
    User,
)
from redactor.disclosure.package import PackageRecord, Party, overdue_packages
from redactor.disclosure.rules import (
    ANSWER_WITHIN,
    CLOCK_TOLERANCE,
    DEFAULT_APPEAL_ROUTE,
    GROUND_TECHNICALLY_HARD,
    MASKING_POSTPONEMENT_REASON,
    PROVISION_GROUNDS,
    REFUSAL_GROUNDS,
    URGENT_PUBLIC_INTEREST,
    ReleaseRule,
    is_anonymised,
    provision_basis,
    visible_mark,
)
from redactor.documents.notice import kst, render_decision_notice
from redactor.errors import BadInput, FootageDestroyed, RedactorError
from redactor.ledger.entry import Kind
from redactor.ledger.service import Ledger, Personal
from redactor.registry.models import Camera, Recording
from redactor.registry.service import RecordingHeld, active_holds, recordings_overlapping
from redactor.retention.service import Destroyer, destroy_recording

log = logging.getLogger(__name__)

ROLE_TITLES = {Role.privacy_officer: "총괄책임관", Role.center_head: "통합관제센터의 장", Role.clerk: "민원담당자",
               Role.operator: "관제요원", Role.auditor: "감사", Role.admin: "관리자"}


class DisclosureError(RedactorError):
    """A rule of the disclosure domain refuses the act; `rule` and `article` name which (the API answers 409)."""

    exit_code = 2
    rule = ""
    article = ""


class ApprovalMissing(DisclosureError):
    """No approval of the right role (제32조②③): nothing is provided."""

    rule, article = ReleaseRule.APPROVAL


class ApprovalRejected(DisclosureError):
    """The approver's role may not approve this provision."""

    rule, article = "approver-role", "지침 제32조②③"


class ApprovalRepeated(DisclosureError):
    """The same approver approves a provision once."""

    rule, article = "approve-once", "지침 제32조②"


class RequestClosed(DisclosureError):
    """A closed request (refused, released, deleted, answered) takes no new decision."""

    rule, article = "request-closed", "지침 제33조③"


class ReleaseRefused(DisclosureError):
    """A release the law or the request does not allow, refused before anything is queued."""

    def __init__(self, rule: tuple[str, str], message: str) -> None:
        self.rule, self.article = rule
        super().__init__(f"{message} [{self.rule}: {self.article}]")


class ReceiptIncomplete(DisclosureError):
    """The 별지 3호 인수증 needs 소속, 직급 and 성명 of both sides."""

    rule, article = "receipt-fields", "지침 제32조④ (별지 3호)"


class DestructionAlreadyConfirmed(DisclosureError):
    rule, article = "destruction-once", "지침 제35조③"


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
    if request.closed_at is not None:
        last = request.last_decision
        raise RequestClosed(f"request {request.number} was closed at {kst(request.closed_at)}"
                            + (f" ({last.outcome} by {last.decided_by})" if last else "")
                            + ": it takes no new decision; a new matter is a new request")
    if outcome == Outcome.refuse:
        if refusal_ground not in REFUSAL_GROUNDS:
            raise DisclosureError(f"a refusal needs a ground of 제33조③ (1-4), got {refusal_ground}")
        if (refusal_ground == GROUND_TECHNICALLY_HARD and redaction_available
                and request.kind in (RequestKind.열람, RequestKind.제공, RequestKind.존재확인)):
            log.info("request %s: refusal on ground 2 replaced by a postponement for masking", request.number)
            decision = postpone_for_masking(session, request, decided_by=decided_by, now=now)
            decision.converted_from = f"{Outcome.refuse}:{GROUND_TECHNICALLY_HARD}"
            session.flush()
            return decision
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
                      recipient_rank: str = "", camera_id: int | None = None, use: bool = False,
                      request: DisclosureRequest | None = None, now: dt.datetime | None = None) -> Provision:
    if ground not in PROVISION_GROUNDS:
        raise DisclosureError(f"제32조① has grounds 1-8, got {ground}")
    if not purpose.strip():
        raise DisclosureError("a provision needs its purpose")
    if ground == 4 and "비식별" not in form:
        # Item 4 allows provision only in a form where no individual can be recognised.
        raise DisclosureError("제32조①4 (press, statistics, research) allows only a 비식별 (fully masked) form")
    if period_to <= period_from:
        raise DisclosureError("the provision's period ends before it starts")
    if camera_id is None and request is not None:
        camera_id = request.camera_id  # the footage the data subject's request names
    if camera_id is not None and session.get(Camera, camera_id) is None:
        raise DisclosureError(f"no camera {camera_id}")
    prov = Provision(ground=ground, use=use, recipient_agency=recipient_agency, recipient_officer=recipient_officer,
                     recipient_rank=recipient_rank, recipient_phone=recipient_phone, purpose=purpose,
                     period_from=period_from, period_to=period_to, use_until=use_until, form=form,
                     camera_id=camera_id, request_id=request.id if request else None,
                     created_at=now or utcnow(), created_by=created_by)
    session.add(prov)
    session.flush()
    return prov


def approve_provision(session: Session, provision: Provision, approver: User, *, note: str = "",
                      now: dt.datetime | None = None) -> Approval:
    """제32조②: the 총괄책임관 approves; 제32조③: for item 8 the 통합관제센터의 장 may approve alone."""
    if approver.disabled:
        raise ApprovalRejected(f"user {approver.username} is disabled")
    earlier = next((a for a in provision.approvals if a.approver_id == approver.id), None)
    if earlier is not None:
        raise ApprovalRepeated(f"{approver.username} already approved provision {provision.id} "
                               f"(approval {earlier.id}, {kst(earlier.approved_at)}): each approver approves once")
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


# What may be released ------------------------------------------------------------------------------------------------


def _same_place(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _check_scope(recording: Recording, *, camera_id: int | None, location: str | None, period_from: dt.datetime,
                 period_to: dt.datetime, what: str) -> None:
    """The recording's camera and span must lie within what was asked for (the request's or the provision's)."""
    cam = recording.camera
    if camera_id is not None:
        if recording.camera_id != camera_id:
            raise ReleaseRefused(ReleaseRule.CAMERA, f"the render shows camera {cam.code} ({cam.location}); {what} "
                                                     f"asks for camera {camera_id}: nothing is released")
    elif location is not None and not _same_place(cam.location, location):
        raise ReleaseRefused(ReleaseRule.CAMERA, f"the render shows camera {cam.code} ({cam.location}); {what} asks "
                                                 f"for footage at {location}: nothing is released")
    if recording.start_at < period_from - CLOCK_TOLERANCE or recording.end_at > period_to + CLOCK_TOLERANCE:
        raise ReleaseRefused(ReleaseRule.PERIOD, f"the render's footage spans {kst(recording.start_at)} ~ "
                                                 f"{kst(recording.end_at)}, outside the period {what} asks for "
                                                 f"({kst(period_from)} ~ {kst(period_to)}): nothing is released")


def check_release(session: Session, render, *, request: DisclosureRequest | None = None,
                  provision: Provision | None = None) -> str:
    """Whether the audited `render` (a render Job) may go to `request` (a data subject's) or `provision` (제32조);
    raises ReleaseRefused naming the rule and its article, else returns the visible mark its copy carries.

    Called when the release is asked for (so a refusal comes at once, before any job is queued) and again by the
    release job (the state may have changed meanwhile: an approver disabled, a hold, a deletion)."""
    from redactor.jobs.models import JobKind, JobStatus, KeepSet

    if (request is None) == (provision is None):
        raise DisclosureError("a release is for exactly one request or one provision")
    if render.kind != JobKind.render or render.status != JobStatus.done or not render.result.get("object_key"):
        raise ReleaseRefused(ReleaseRule.AUDITED, f"render {render.id} is {render.status}: only a finished render that "
                                                  "passed the audit is released")
    recording = session.get(Recording, render.recording_id) if render.recording_id is not None else None
    if render.destroyed_at is not None or recording is None or recording.destroyed_at is not None:
        raise FootageDestroyed(f"render {render.id}: its footage was destroyed; nothing is released")
    keep_set = session.get(KeepSet, render.params.get("keep_set_id"))
    kept = keep_set.tracks if keep_set is not None else [int(t) for t in render.result.get("kept") or []]
    if request is not None:
        last = request.last_decision
        if last is None or last.outcome not in (Outcome.grant, Outcome.limit):
            state = f"its last decision is {last.outcome}" if last else "it has no decision yet"
            raise ReleaseRefused(ReleaseRule.GRANT, f"request {request.number} is not granted ({state}): nothing is "
                                                    "released before a grant or limitation")
        if request.kind not in (RequestKind.열람, RequestKind.제공, RequestKind.이용):
            raise ReleaseRefused(ReleaseRule.KIND, f"a {request.kind} request releases no footage")
        _check_scope(recording, camera_id=request.camera_id, location=request.camera_location,
                     period_from=request.period_from, period_to=request.period_to, what=f"request {request.number}")
        if kept and render.request_id != request.id:
            raise ReleaseRefused(ReleaseRule.OTHERS_MASKED, f"render {render.id} keeps track(s) {kept} visible, chosen "
                                 + (f"for request {render.request_id}" if render.request_id else "for no request")
                                 + f", not for request {request.number}: render again with this requester's keep-set")
        return visible_mark()
    if valid_approval(provision) is None:
        raise ReleaseRefused(ReleaseRule.APPROVAL, f"provision {provision.id} (제32조①{provision.ground}) has no "
                                                   "approval of the right role: nothing is provided")
    camera_id = provision.camera_id
    _check_scope(recording, camera_id=camera_id, location=None, period_from=provision.period_from,
                 period_to=provision.period_to, what=f"provision {provision.id}")
    if kept and is_anonymised(provision.ground, provision.form):
        raise ReleaseRefused(ReleaseRule.ANONYMISED, f"provision {provision.id} is for a form in which no individual "
                                                     f"can be recognised, but render {render.id} keeps track(s) "
                                                     f"{kept} visible: render with an empty keep-set")
    if kept and provision.ground == 2 and render.request_id != provision.request_id:
        raise ReleaseRefused(ReleaseRule.OTHERS_MASKED, f"render {render.id} keeps track(s) {kept} chosen for another "
                                                        "request than this provision's")
    return visible_mark(ground=provision.ground, form=provision.form)


# Handover packages and their destruction (제35조③) -------------------------------------------------------------------


def receipt_parties(provision: Provision, official: User, *, recipient_affiliation: str = "",
                    recipient_rank: str = "", recipient_name: str = "") -> tuple[Party, Party]:
    """(인수자, 인계자) of the 별지 3호 인수증: the recipient from the package request, else from the provision; the
    official handing over from their account. Every field is required: a receipt with a blank is no receipt."""
    recipient = Party(recipient_affiliation.strip() or provision.recipient_agency,
                      recipient_rank.strip() or provision.recipient_rank,
                      recipient_name.strip() or provision.recipient_officer)
    official_party = Party(official.affiliation, official.rank, official.display_name)
    missing = [f"인수자 {label}" for label, v in zip(("소속", "직급", "성명"), (recipient.affiliation, recipient.rank,
                                                                            recipient.name), strict=True) if not v]
    if missing:
        raise ReceiptIncomplete(f"the 별지 3호 인수증 needs {', '.join(missing)}: give recipient_affiliation, "
                                "recipient_rank and recipient_name with the package (or on the provision)")
    missing = [f"인계자 {label}" for label, v in zip(("소속", "직급", "성명"), (official_party.affiliation,
                                                                            official_party.rank, official_party.name),
                                                   strict=True) if not v]
    if missing:
        raise ReceiptIncomplete(f"the 별지 3호 인수증 needs {', '.join(missing)} of the official handing over: the "
                                f"account {official.username} lacks them (an admin sets affiliation, rank and "
                                "display_name: PATCH /api/v1/users/{id})")
    return recipient, official_party


def record_package(session: Session, *, job_id: str, provision: Provision, release: Release, object_key: str,
                   manifest_sha256: str, recipient: Party, handed_over_by: Party,
                   now: dt.datetime | None = None) -> HandoverPackage:
    pkg = HandoverPackage(job_id=job_id, provision_id=provision.id, release_id=release.id, object_key=object_key,
                          manifest_sha256=manifest_sha256, ledger_entry=release.ledger_number,
                          recipient_affiliation=recipient.affiliation, recipient_rank=recipient.rank,
                          recipient_name=recipient.name, handed_over_by_affiliation=handed_over_by.affiliation,
                          handed_over_by_rank=handed_over_by.rank, handed_over_by_name=handed_over_by.name,
                          destroy_by=provision.use_until, created_at=now or utcnow(), destruction_method="",
                          destruction_recorded_by="", destroyed_by="", slip_sha256="")
    session.add(pkg)
    session.flush()
    return pkg


def mark_handed_over(session: Session, object_key: str, now: dt.datetime | None = None) -> HandoverPackage | None:
    """The recipient's first download of a package is its handover: from then on its destruction is tracked."""
    pkg = session.scalar(select(HandoverPackage).where(HandoverPackage.object_key == object_key))
    if pkg is not None and pkg.handed_over_at is None:
        pkg.handed_over_at = now or utcnow()
        session.flush()
    return pkg


def _slip_fields(slip_bytes: bytes, pkg: HandoverPackage, officer: str) -> tuple[dict, dict]:
    import json

    from redactor.disclosure.package import PackageInvalid, destruction_ledger_fields

    try:
        signed = json.loads(slip_bytes)
        fields = destruction_ledger_fields(signed, officer=officer)
        slip = signed["slip"]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadInput("the slip is not a signed destruction slip (the JSON that `redactor package "
                       "confirm-destruction` writes); for a paper slip, send officer_confirmation=true with the "
                       "scan as the attachment") from None
    except PackageInvalid as err:
        raise BadInput(str(err)) from None
    if slip.get("package_manifest_sha256") != pkg.manifest_sha256:
        raise BadInput(f"the slip confirms another package (manifest {str(slip.get('package_manifest_sha256'))[:16]}"
                       f"…), not package {pkg.job_id}")
    return fields, slip.get("destroyed_by") or {}


def confirm_package_destruction(session: Session, pkg: HandoverPackage, *, recorded_by: str,
                                slip: bytes | None = None, officer_confirmed: bool = False,
                                destroyed_by: Party | None = None, method: str = "", note: str = "",
                                now: dt.datetime | None = None, ledger: Ledger | None = None) -> HandoverPackage:
    """The recipient destroyed every copy of a handover package (제35조③): by their signed slip (verified against
    this package's manifest) or by the officer's confirmation (a paper slip, a witnessed deletion; `slip` is then the
    scan, kept only as its hash). Writes the 파기 row; a package's destruction is confirmed once."""
    import hashlib

    if pkg.destruction_confirmed_at is not None:
        raise DestructionAlreadyConfirmed(f"package {pkg.job_id}: destruction already confirmed at "
                                          f"{kst(pkg.destruction_confirmed_at)} (관리대장 "
                                          f"{pkg.destruction_ledger_number})")
    now = now or utcnow()
    if not officer_confirmed:
        if not slip:
            raise BadInput("confirm a destruction with the recipient's signed slip (slip), or with the officer's "
                           "confirmation (officer_confirmation=true and destroyed_by_affiliation, _rank, _name)")
        fields, who = _slip_fields(slip, pkg, recorded_by)
        method_used = "slip"
        who = Party(who.get("affiliation", ""), who.get("rank", ""), who.get("name", ""))
    else:
        who = destroyed_by or Party()
        if not (who.affiliation.strip() and who.name.strip()):
            raise BadInput("the officer's confirmation names who destroyed the copies: destroyed_by_affiliation and "
                           "destroyed_by_name (and destroyed_by_rank)")
        method_used = "officer"
        fields = {"file": pkg.object_key.rsplit("/", 1)[-1], "officer": recorded_by,
                  "purpose": "제공 목적 달성에 따른 파기 확인 (지침 제35조③)",
                  "party": " ".join(x for x in (who.affiliation, who.rank) if x),
                  "form": method or "모든 사본 삭제 (담당자 확인)", "occurred_at": now}
    fields["ref"] = f"package:{pkg.job_id} provision:{pkg.provision_id}" + (
        f" 제공:{pkg.ledger_entry}" if pkg.ledger_entry else "")
    purpose = fields.pop("purpose") + (f" - {note.strip()}" if note.strip() else "")
    number = (ledger or Ledger()).append(
        session, Kind.파기, purpose=purpose, basis="영상정보처리기기 운영 지침 제35조제3항",
        period=f"인수 {kst(pkg.handed_over_at)}" if pkg.handed_over_at else "", approval=recorded_by,
        personal=Personal(name=who.name), **fields)
    pkg.destruction_confirmed_at = now
    pkg.destruction_method = method_used
    pkg.destruction_recorded_by = recorded_by
    pkg.destroyed_by = " ".join(x for x in (who.affiliation, who.rank) if x)
    pkg.slip_sha256 = hashlib.sha256(slip).hexdigest() if slip else ""
    pkg.destruction_ledger_number = number
    session.flush()
    return pkg


def overdue_destructions(session: Session, today: dt.date | None = None) -> list[HandoverPackage]:
    """Packages handed over, past their period, whose destruction is not confirmed: to chase (제35조③)."""
    rows = {p.manifest_sha256: p for p in session.scalars(
        select(HandoverPackage).where(HandoverPackage.handed_over_at.is_not(None)))}
    records = [PackageRecord(p.manifest_sha256, p.recipient_affiliation, p.destroy_by,
                             p.destruction_confirmed_at is not None, p.ledger_entry) for p in rows.values()]
    return [rows[r.manifest_sha256] for r in overdue_packages(records, today=today)]
