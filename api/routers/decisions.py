"""Decisions on requests under 제33조③, with their notices. Granting, limiting or refusing is the privacy officer's
(총괄책임관) act; a clerk may send the postponement for masking."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import current_user, db, roles
from api.errors import NotFound
from api.routers.requests import get_request
from redactor.disclosure.assignment import require_handler
from redactor.disclosure.models import Decision, Outcome, Role, User
from redactor.disclosure.rules import GROUND_2_CONVERTED_MESSAGE
from redactor.disclosure.service import decide

router = APIRouter(prefix="/requests/{request_id}/decisions", tags=["decisions"])


class NewDecision(BaseModel):
    outcome: Outcome
    reasons: str = Field("", max_length=4000)
    refusal_ground: int | None = Field(None, ge=1, le=4)
    postponed_until: AwareDatetime | None = None
    withheld: str = Field("", max_length=4000)


def decision_json(d: Decision) -> dict:
    out = {"id": d.id, "request_id": d.request_id, "outcome": d.outcome, "refusal_ground": d.refusal_ground,
           "reasons": d.reasons, "appeal_route": d.appeal_route, "withheld": d.withheld,
           "postponed_until": d.postponed_until.isoformat() if d.postponed_until else None,
           "decided_at": d.decided_at.isoformat(), "decided_by": d.decided_by,
           "notice": f"/api/v1/requests/{d.request_id}/decisions/{d.id}/notice",
           "converted_from": None, "message": None}
    if d.converted_from:
        outcome, _, ground = d.converted_from.partition(":")
        out["converted_from"] = {"outcome": outcome, "refusal_ground": int(ground) if ground else None}
        out["message"] = GROUND_2_CONVERTED_MESSAGE
    return out


@router.post("", status_code=201, summary="Decide a request (grant, postpone, limit, refuse) and make its notice",
             description="A refusal on ground 2 of 제33조③ is stored as a postponement for masking (the answer says "
                         "so: `converted_from` and `message`). A closed request takes no new decision (409).",
             **roles(Role.clerk, Role.privacy_officer))
def create_decision(request_id: int, body: NewDecision, user: User = Depends(current_user),
                    session: Session = Depends(db)) -> dict:
    if body.outcome != Outcome.postpone and Role(user.role) != Role.privacy_officer:
        raise HTTPException(403, detail="only the privacy officer (총괄책임관) grants, limits or refuses a request")
    req = get_request(session, request_id)
    require_handler(session, user, req.id)
    name = user.display_name or user.username
    d = decide(session, req, outcome=body.outcome, decided_by=name, reasons=body.reasons,
               refusal_ground=body.refusal_ground, postponed_until=body.postponed_until, withheld=body.withheld)
    return decision_json(d)


@router.get("", summary="The decisions on a request", **roles(Role.clerk, Role.privacy_officer, Role.center_head,
                                                              Role.auditor))
def list_decisions(request_id: int, user: User = Depends(current_user), session: Session = Depends(db)) -> list[dict]:
    if Role(user.role) == Role.clerk:
        require_handler(session, user, request_id)
    return [decision_json(d) for d in get_request(session, request_id).decisions]


@router.get("/{decision_id}/notice", summary="The decision's notice (PDF)", response_class=Response,
            **roles(Role.clerk, Role.privacy_officer))
def notice(request_id: int, decision_id: int, user: User = Depends(current_user),
           session: Session = Depends(db)) -> Response:
    require_handler(session, user, request_id)  # the notice names the requester
    d = session.get(Decision, decision_id)
    if d is None or d.request_id != request_id or not d.notice_pdf:
        raise NotFound(f"no notice for decision {decision_id} of request {request_id}")
    return Response(d.notice_pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="notice-{decision_id}.pdf"'})
