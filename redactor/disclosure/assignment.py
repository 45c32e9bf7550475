"""Who may reach the footage of a request or a provision (제31조: least privilege, rights by role AND by case).

The one rule: the footage of a request (its analyses, keep-sets, proposals, frames, tracks, renders, releases,
links, downloads) is reachable by the staff assigned to that request, by the privacy officer (총괄책임관) and by
the centre head (통합관제센터의 장); a provision's likewise, where the assignees of the request it answers count too.
The role check of each route comes first (api.deps.roles); this is the second, per case. Work that serves no
request and no provision is reachable by the two overseers alone.

Callers commit."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from redactor.base import utcnow
from redactor.disclosure.models import Assignment, DisclosureRequest, Provision, Role, User
from redactor.errors import RedactorError
from redactor.jobs.models import Job

OVERSEERS = (Role.privacy_officer, Role.center_head)  # see every case: they approve and release
ASSIGNABLE = (Role.clerk, Role.operator, Role.privacy_officer, Role.center_head)


class NotAssigned(RedactorError):
    """The account does not handle the request or provision the footage serves (answered 403)."""

    exit_code = 2
    rule = "assignment"
    article = "제31조"


class AssignmentError(RedactorError):
    exit_code = 2


def is_overseer(user: User) -> bool:
    return Role(user.role) in OVERSEERS


def _active(q):
    return q.where(Assignment.removed_at.is_(None))


def assignees(session: Session, *, request_id: int | None = None, provision_id: int | None = None) -> list[Assignment]:
    q = _active(select(Assignment)).order_by(Assignment.id)
    q = q.where(Assignment.request_id == request_id) if request_id is not None else q.where(
        Assignment.provision_id == provision_id)
    return list(session.scalars(q))


def assign(session: Session, user: User, *, by: str, request: DisclosureRequest | None = None,
           provision: Provision | None = None) -> Assignment:
    """Make `user` a handler of the request or the provision (once: a second call returns the same row)."""
    if (request is None) == (provision is None):
        raise AssignmentError("assign to exactly one request or one provision")
    if Role(user.role) not in ASSIGNABLE:
        raise AssignmentError(f"a {user.role} does not handle requests (assignable: "
                              f"{', '.join(r.value for r in ASSIGNABLE)})")
    if user.disabled:
        raise AssignmentError(f"account {user.username} is disabled")
    rid, pid = (request.id, None) if request is not None else (None, provision.id)
    for row in assignees(session, request_id=rid, provision_id=pid):
        if row.user_id == user.id:
            return row
    row = Assignment(request_id=rid, provision_id=pid, user_id=user.id, assigned_by=by, assigned_at=utcnow())
    session.add(row)
    session.flush()
    return row


def unassign(session: Session, user: User, *, by: str, request_id: int | None = None,
             provision_id: int | None = None) -> Assignment:
    for row in assignees(session, request_id=request_id, provision_id=provision_id):
        if row.user_id == user.id:
            row.removed_at, row.removed_by = utcnow(), by
            session.flush()
            return row
    case = f"request {request_id}" if request_id is not None else f"provision {provision_id}"
    raise AssignmentError(f"{user.username} is not assigned to {case}")


def _assigned(session: Session, user: User, request_id: int | None, provision_id: int | None) -> bool:
    cases = []
    if request_id is not None:
        cases.append(Assignment.request_id == request_id)
    if provision_id is not None:
        cases.append(Assignment.provision_id == provision_id)
        prov = session.get(Provision, provision_id)
        if prov is not None and prov.request_id is not None:  # the request this provision answers
            cases.append(Assignment.request_id == prov.request_id)
    if not cases:
        return False
    q = _active(select(Assignment.id)).where(Assignment.user_id == user.id, or_(*cases)).limit(1)
    return session.scalar(q) is not None


def may_handle(session: Session, user: User, *, request_id: int | None = None,
               provision_id: int | None = None) -> bool:
    return is_overseer(user) or _assigned(session, user, request_id, provision_id)


def require_handler(session: Session, user: User, request_id: int | None = None,
                    provision_id: int | None = None) -> None:
    """NotAssigned unless `user` may reach the footage of this request or provision."""
    if may_handle(session, user, request_id=request_id, provision_id=provision_id):
        return
    if request_id is None and provision_id is None:
        raise NotAssigned("this work serves no request or provision: only the privacy officer or the centre head "
                          "may reach it (제31조)")
    case = f"request {request_id}" if request_id is not None else f"provision {provision_id}"
    raise NotAssigned(f"{user.username} is not assigned to {case}: the privacy officer or the centre head assigns "
                      "its handlers (제31조)")


def job_case(job: Job) -> tuple[int | None, int | None]:
    """(request id, provision id) a job serves. Renders and releases carry their analysis's case (copied when they
    are made), packages their provision's."""
    return job.request_id, job.provision_id


def require_job_handler(session: Session, user: User, job: Job) -> None:
    request_id, provision_id = job_case(job)
    require_handler(session, user, request_id, provision_id)


def handled_cases(session: Session, user: User) -> tuple[set[int], set[int]]:
    """(request ids, provision ids) `user` is assigned to, with the provisions answering those requests."""
    rows = session.execute(_active(select(Assignment.request_id, Assignment.provision_id))
                           .where(Assignment.user_id == user.id)).all()
    requests = {r for r, _ in rows if r is not None}
    provisions = {p for _, p in rows if p is not None}
    if requests:
        provisions |= set(session.scalars(select(Provision.id).where(Provision.request_id.in_(requests))))
    return requests, provisions


def handled_clause(session: Session, user: User, request_column, provision_column) -> ColumnElement[bool]:
    """A WHERE clause over any table with a request and a provision column: the rows of the cases `user` may
    reach (all of them for the overseers)."""
    if is_overseer(user):
        return true()
    requests, provisions = handled_cases(session, user)
    clauses = []
    if requests:
        clauses.append(request_column.in_(requests))
    if provisions:
        clauses.append(provision_column.in_(provisions))
    return or_(*clauses) if clauses else false()


def handled_jobs(session: Session, user: User) -> ColumnElement[bool]:
    """A WHERE clause on Job: the jobs `user` may see in a listing."""
    return handled_clause(session, user, Job.request_id, Job.provision_id)


def handled_request_ids(session: Session, user: User) -> set[int]:
    return handled_cases(session, user)[0]
