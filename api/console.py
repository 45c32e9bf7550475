"""The staff console at /console, Korean first: server-rendered Jinja2 pages (api/templates/console) with a small
plain-JavaScript file per page (api/static/console) that calls the /api/v1 routes with the session cookie and the
CSRF header (api.cookies). No build step and nothing loaded from outside the machine; the pages' own CSP says so.

The pages read the database for what they show (the queue, a request, the ledger...); every change goes through the
API's own routes from the page's script, so the API's role checks, logs and rules stay the one place that decides.
A page is shown to the roles that may use the routes it calls (the same Role names as the routes' `x-roles`)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import cookies
from api.deps import STAFF, client_address, current_user, db
from api.routers.requests import mask_name
from redactor.auth import accounts, tokens
from redactor.base import utcnow
from redactor.disclosure.assignment import may_handle
from redactor.disclosure.models import DisclosureRequest, Outcome, Provision, Release, RequestKind, Role, User
from redactor.disclosure.rules import REFUSAL_GROUNDS
from redactor.jobs.models import Job, JobKind, KeepSet
from redactor.registry.models import Camera, Purpose, Recording

HERE = Path(__file__).parent
KST = dt.timezone(dt.timedelta(hours=9), "KST")
router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(directory=str(HERE / "templates"))

# Console pages: scripts, styles, pictures and video from this service only; no inline script, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "private, no-store", "X-Frame-Options": "DENY",
                "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"}

ROLE_KO = {"clerk": "민원 담당자", "privacy_officer": "개인영상정보 보호책임자", "center_head": "통합관제센터장",
           "operator": "관제요원", "auditor": "감사 담당자", "admin": "관리자"}
OUTCOME_KO = {"grant": "허용", "postpone": "연기(마스킹)", "limit": "일부 제한", "refuse": "거절"}
JOB_STATUS_KO = {"queued": "대기", "running": "진행 중", "done": "완료", "failed": "실패", "blocked": "차단(감사 지적)"}
READERS = (*STAFF, Role.auditor)
REVIEWERS = (Role.clerk, Role.privacy_officer)
APPROVERS = (Role.privacy_officer, Role.center_head)
LEDGER = (Role.auditor, Role.privacy_officer, Role.admin)
RECORDS = (Role.privacy_officer, Role.center_head, Role.clerk, Role.auditor)

# (path, label, roles): the menu; every page is reachable from the first one a role sees
MENU = [("/console", "요청 목록", READERS), ("/console/requests/new", "청구 접수", (Role.clerk, Role.privacy_officer)),
        ("/console/footage", "영상 찾기·올리기", READERS), ("/console/cameras", "카메라(별지 1호)", tuple(Role)),
        ("/console/approvals", "결정·승인", APPROVERS), ("/console/provisions", "이용·제공(제32조)", READERS),
        ("/console/ledger", "관리대장(별지 2호)", LEDGER), ("/console/records", "보존·파기 점검", RECORDS)]


def kst(t: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if t is None:
        return ""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(KST).strftime(fmt)


def days_left(due: dt.datetime, now: dt.datetime | None = None) -> int:
    """Calendar days from today (KST) to the due date (KST)."""
    now = now or utcnow()
    if due.tzinfo is None:
        due = due.replace(tzinfo=dt.UTC)
    return (due.astimezone(KST).date() - now.astimezone(KST).date()).days


def d_label(days: int) -> str:
    if days > 0:
        return f"D-{days}"
    if days == 0:
        return "D-day"
    return f"기한 경과 (D+{-days})"


def request_status(r: DisclosureRequest) -> str:
    last = r.last_decision
    if r.closed_at is not None:
        return "종결" + (f" · {OUTCOME_KO.get(last.outcome, last.outcome)}" if last else "")
    if last is not None:
        return OUTCOME_KO.get(last.outcome, last.outcome)
    return "접수"


templates.env.filters["kst"] = kst
templates.env.globals.update(REFUSAL_GROUNDS=REFUSAL_GROUNDS, ROLE_KO=ROLE_KO, OUTCOME_KO=OUTCOME_KO,
                             JOB_STATUS_KO=JOB_STATUS_KO, d_label=d_label, days_left=days_left,
                             request_status=request_status)


def page_user(request: Request, session: Session = Depends(db)) -> User | None:
    """The account behind the console's cookie, by the API's own check (api.deps.current_user: whatever it checks of
    a token and an account holds for the pages too); None sends the page to the login form."""
    if not request.cookies.get(cookies.COOKIE):
        return None
    try:
        return current_user(request, None, session)
    except HTTPException:
        return None


def _deadlines(session: Session) -> dict:
    """The 10-day clock (제33조③) of the open requests: shown on every page."""
    open_ = session.scalars(select(DisclosureRequest.due_at).where(DisclosureRequest.closed_at.is_(None))).all()
    left = [days_left(d) for d in open_]
    return {"open": len(left), "overdue": sum(1 for d in left if d < 0), "soon": sum(1 for d in left if 0 <= d <= 3),
            "next": min(left) if left else None}


def render(request: Request, session: Session, user: User | None, name: str, allowed: tuple, title: str,
           status_code: int = 200, **context: Any) -> Response:
    if user is None:
        return RedirectResponse(f"/console/login?next={request.url.path}", status_code=303)
    role = Role(user.role)
    token = request.cookies.get(cookies.COOKIE, "")
    ctx = {"user": user, "role": role.value, "title": title, "csrf": cookies.csrf_token(token),
           "menu": [(p, label) for p, label, roles in MENU if role in roles], "path": request.url.path}
    if role in READERS:
        ctx["deadlines"] = _deadlines(session)
    # 제31조: a request's personal fields only for its handlers (as the API's listings: api.routers.requests)
    handles = cache(lambda request_id: may_handle(session, user, request_id=request_id))
    ctx["personal"] = lambda req: req is not None and handles(req.id)
    ctx["who"] = lambda name, req: (name if ctx["personal"](req) else mask_name(name or "")) if name else ""
    if role not in allowed:
        names = ", ".join(ROLE_KO[Role(r).value] for r in allowed)
        response = templates.TemplateResponse(request, "console/forbidden.html", ctx | {"allowed": names},
                                              status_code=403, headers=PAGE_HEADERS)
    else:
        response = templates.TemplateResponse(request, f"console/{name}", ctx | context, status_code=status_code,
                                              headers=PAGE_HEADERS)
    _renew(request, response, user, token)
    return response


def _renew(request: Request, response: Response, user: User, token: str) -> None:
    """A page shown renews the session once half its lifetime is gone (a clerk at work is not logged out mid-review;
    an idle tab still is, a lifetime after its last page). The page's CSRF value follows the new token."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        left, life = claims["exp"] - utcnow().timestamp(), claims["exp"] - claims["iat"]
    except (jwt.PyJWTError, KeyError, TypeError):
        return
    if left < life / 2:
        fresh, seconds = tokens.issue(user.id, user.username, version=user.credential_version or 0)
        cookies.set_session(request, response, fresh, seconds)
        body = response.body.replace(cookies.csrf_token(token).encode(), cookies.csrf_token(fresh).encode())
        response.body = body
        response.headers["content-length"] = str(len(body))


# --- login -----------------------------------------------------------------------------------------------------

def _next(target: str) -> str:
    return target if target.startswith("/console") and "//" not in target and "\\" not in target else "/console"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/console", error: str = "") -> Response:
    return templates.TemplateResponse(request, "console/login.html",
                                      {"title": "로그인", "next": _next(next), "error": error, "user": None,
                                       "menu": []}, headers=PAGE_HEADERS)


@router.post("/login")
def login(request: Request, username: str = Form("", max_length=64), password: str = Form("", max_length=1024),
          next: str = Form("/console", max_length=512), session: Session = Depends(db)) -> Response:
    def again(message: str, status_code: int, headers: dict | None = None) -> Response:
        return templates.TemplateResponse(request, "console/login.html",
                                          {"title": "로그인", "next": _next(next), "error": message, "user": None,
                                           "menu": [], "username": username}, status_code=status_code,
                                          headers=PAGE_HEADERS | (headers or {}))

    if not cookies.same_origin(request):  # login CSRF: a form posted from another site
        return again("다른 사이트에서 보낸 로그인 요청은 받지 않습니다. 이 화면에서 다시 로그인하십시오.", 403)
    if not username or not password:
        return again("사용자 이름과 비밀번호를 모두 입력하십시오.", 400)
    limiter = request.app.state.login_limiter
    client = client_address(request)
    wait = limiter.retry_after(username, client)
    if wait:
        return again(f"로그인 실패가 너무 많습니다. {int(wait)}초 뒤에 다시 시도하십시오.", 429,
                     {"Retry-After": str(int(wait))})
    user = accounts.authenticate(session, username, password)
    if user is None:
        limiter.failed(username, client)
        return again("사용자 이름 또는 비밀번호가 맞지 않습니다.", 401)
    limiter.succeeded(username, client)
    token, seconds = tokens.issue(user.id, user.username, version=user.credential_version or 0)
    target = _next(next)
    if Role(user.role) not in READERS and target == "/console":
        target = "/console/ledger" if Role(user.role) in LEDGER else "/console/cameras"
    response = RedirectResponse(target, status_code=303)
    cookies.set_session(request, response, token, seconds)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("", max_length=128)) -> Response:
    token = request.cookies.get(cookies.COOKIE)
    if token:
        cookies.check_csrf(request, token, csrf_token)
    response = RedirectResponse("/console/login", status_code=303)
    cookies.clear_session(request, response)
    return response


# --- 1. the queue ----------------------------------------------------------------------------------------------

STATUS_FILTERS = {"open": "처리 중", "overdue": "기한 경과", "soon": "기한 3일 이내", "closed": "종결", "all": "전체"}


@router.get("", response_class=HTMLResponse)
def queue(request: Request, status: str = "open", kind: str = "", q: str = "", user: User | None = Depends(page_user),
          session: Session = Depends(db)) -> Response:
    rows = list(session.scalars(select(DisclosureRequest).order_by(DisclosureRequest.due_at, DisclosureRequest.id)
                                .limit(1000)))
    status = status if status in STATUS_FILTERS else "open"
    out = []
    for r in rows:
        left = days_left(r.due_at)
        closed = r.closed_at is not None
        if status == "open" and closed or status == "closed" and not closed:
            continue
        if status == "overdue" and (closed or left >= 0) or status == "soon" and (closed or not 0 <= left <= 3):
            continue
        if kind and r.kind != kind:
            continue
        if q and q not in f"{r.number} {r.requester_name} {r.camera_location}":
            continue
        out.append({"r": r, "left": left, "closed": closed})
    return render(request, session, user, "queue.html", READERS, "요청 목록", rows=out, status=status, kind=kind,
                  q=q, filters=STATUS_FILTERS, kinds=[k.value for k in RequestKind])


# --- 2. intake and the camera register -------------------------------------------------------------------------

@router.get("/requests/new", response_class=HTMLResponse)
def intake(request: Request, user: User | None = Depends(page_user), session: Session = Depends(db)) -> Response:
    cameras = list(session.scalars(select(Camera).order_by(Camera.code)))
    return render(request, session, user, "intake.html", (Role.clerk, Role.privacy_officer), "청구 접수 (별지 4호)",
                  cameras=cameras, kinds=[k.value for k in RequestKind], now=kst(utcnow(), "%Y-%m-%dT%H:%M"))


@router.get("/cameras", response_class=HTMLResponse)
def cameras(request: Request, user: User | None = Depends(page_user), session: Session = Depends(db)) -> Response:
    rows = list(session.scalars(select(Camera).order_by(Camera.code)))
    can_add = user is not None and Role(user.role) in (Role.admin, Role.privacy_officer)
    can_export = user is not None and Role(user.role) in (Role.admin, Role.privacy_officer, Role.center_head,
                                                          Role.auditor)
    return render(request, session, user, "cameras.html", tuple(Role), "카메라 설치현황 (별지 1호)", cameras=rows,
                  can_add=can_add, can_export=can_export, purposes=[p.value for p in Purpose])


# --- 3. footage ------------------------------------------------------------------------------------------------

def _parse_local(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=KST) if value else None
    except ValueError:
        return None


@router.get("/footage", response_class=HTMLResponse)
def footage(request: Request, camera_id: int | None = None, start: str = "", end: str = "",
            request_id: int | None = None, user: User | None = Depends(page_user),
            session: Session = Depends(db)) -> Response:
    cams = list(session.scalars(select(Camera).order_by(Camera.code)))
    req = session.get(DisclosureRequest, request_id) if request_id else None
    if req is not None:
        camera_id = camera_id or req.camera_id
        start = start or kst(req.period_from, "%Y-%m-%dT%H:%M")
        end = end or kst(req.period_to, "%Y-%m-%dT%H:%M")
    q = select(Recording).where(Recording.destroyed_at.is_(None)).order_by(Recording.start_at.desc()).limit(200)
    if camera_id:
        q = q.where(Recording.camera_id == camera_id)
    s, e = _parse_local(start), _parse_local(end)
    if s:
        q = q.where(Recording.end_at >= s)
    if e:
        q = q.where(Recording.start_at <= e)
    can_upload = user is not None and Role(user.role) in (Role.clerk, Role.operator, Role.privacy_officer)
    return render(request, session, user, "footage.html", READERS, "영상 찾기·올리기", cameras=cams,
                  recordings=list(session.scalars(q)), camera_id=camera_id, start=start, end=end, req=req,
                  can_upload=can_upload, bad_span=bool(start and not s or end and not e),
                  can_hold=user is not None and Role(user.role) in APPROVERS)


# --- a request, its analyses and renders -----------------------------------------------------------------------

def _jobs(session: Session, kind: JobKind, **where) -> list[Job]:
    q = select(Job).where(Job.kind == kind).order_by(Job.created_at.desc())
    for k, v in where.items():
        q = q.where(getattr(Job, k) == v)
    return list(session.scalars(q.limit(100)))


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, request_id: int, user: User | None = Depends(page_user),
                 session: Session = Depends(db)) -> Response:
    req = session.get(DisclosureRequest, request_id)
    if req is None and user is not None:
        return render(request, session, user, "missing.html", READERS, "찾을 수 없음", status_code=404,
                      what=f"청구 {request_id}")
    recs = []
    if req is not None and req.camera_id:
        recs = list(session.scalars(select(Recording).where(Recording.camera_id == req.camera_id,
                                                            Recording.destroyed_at.is_(None),
                                                            Recording.end_at >= req.period_from,
                                                            Recording.start_at <= req.period_to)
                                    .order_by(Recording.start_at)))
    analyses = _jobs(session, JobKind.analyze, request_id=request_id) if req else []
    renders = _jobs(session, JobKind.render, request_id=request_id) if req else []
    releases = list(session.scalars(select(Release).where(Release.request_id == request_id)
                                    .order_by(Release.id.desc()))) if req else []
    return render(request, session, user, "request.html", READERS, f"청구 {req.number}" if req else "청구", req=req,
                  recordings=recs, analyses=analyses, renders=renders, releases=releases,
                  outcomes=[o.value for o in Outcome])


def _case_job(session: Session, job_id: str, kind: JobKind) -> tuple[Job | None, DisclosureRequest | None]:
    """The job of `kind` (None for no such job, or one of another kind) and the request it serves."""
    job = session.get(Job, job_id)
    if job is None or job.kind != kind:
        return None, None
    return job, session.get(DisclosureRequest, job.request_id) if job.request_id else None


@router.get("/analyses/{job_id}", response_class=HTMLResponse)
def review(request: Request, job_id: str, user: User | None = Depends(page_user),
           session: Session = Depends(db)) -> Response:
    job, req = _case_job(session, job_id, JobKind.analyze)
    if job is None and user is not None:
        return render(request, session, user, "missing.html", READERS, "찾을 수 없음", status_code=404,
                      what=f"분석 {job_id}")
    renders = _jobs(session, JobKind.render, parent_id=job_id) if job is not None else []
    last = session.scalar(select(KeepSet).where(KeepSet.analysis_id == job_id).order_by(KeepSet.id.desc()).limit(1))
    return render(request, session, user, "review.html", (Role.clerk, Role.privacy_officer, Role.operator),
                  "분석 검토", job=job, req=req, renders=renders, keep=",".join(map(str, last.tracks)) if last else "",
                  keep_set_id=last.id if last else "",
                  can_edit=user is not None and Role(user.role) in REVIEWERS)


@router.get("/renders/{job_id}", response_class=HTMLResponse)
def render_page(request: Request, job_id: str, user: User | None = Depends(page_user),
                session: Session = Depends(db)) -> Response:
    job, req = _case_job(session, job_id, JobKind.render)
    if job is None and user is not None:
        return render(request, session, user, "missing.html", READERS, "찾을 수 없음", status_code=404,
                      what=f"렌더 {job_id}")
    releases = list(session.scalars(select(Job).where(Job.kind == JobKind.release, Job.parent_id == job_id)
                                    .order_by(Job.created_at.desc()))) if job is not None else []
    return render(request, session, user, "render.html", READERS, "미리보기와 감사 결과", job=job, req=req,
                  releases=releases, can_watch=user is not None and Role(user.role) in REVIEWERS,
                  can_release=user is not None and Role(user.role) in APPROVERS,
                  can_link=user is not None and Role(user.role) in (*APPROVERS, Role.clerk))


# --- decisions, approvals, release -----------------------------------------------------------------------------

@router.get("/approvals", response_class=HTMLResponse)
def approvals(request: Request, user: User | None = Depends(page_user), session: Session = Depends(db)) -> Response:
    open_reqs = [r for r in session.scalars(select(DisclosureRequest).where(DisclosureRequest.closed_at.is_(None))
                                            .order_by(DisclosureRequest.due_at))]
    waiting = []
    for r in open_reqs:
        last = r.last_decision
        if last is None or last.outcome == Outcome.postpone:
            done = [j for j in _jobs(session, JobKind.render, request_id=r.id) if j.status == "done"]
            waiting.append({"r": r, "renders": done})
    provisions = [p for p in session.scalars(select(Provision).order_by(Provision.id.desc()).limit(200))
                  if not p.approvals]
    return render(request, session, user, "approvals.html", APPROVERS, "결정·승인", waiting=waiting,
                  provisions=provisions)


@router.get("/provisions", response_class=HTMLResponse)
def provisions(request: Request, user: User | None = Depends(page_user), session: Session = Depends(db)) -> Response:
    from redactor.disclosure.rules import PROVISION_GROUNDS

    rows = list(session.scalars(select(Provision).order_by(Provision.id.desc()).limit(200)))
    cams = list(session.scalars(select(Camera).order_by(Camera.code)))
    can_propose = user is not None and Role(user.role) in (Role.clerk, Role.operator, Role.privacy_officer)
    return render(request, session, user, "provisions.html", READERS, "이용·제공 (제32조)", rows=rows, cameras=cams,
                  grounds=PROVISION_GROUNDS, can_propose=can_propose)


@router.get("/provisions/{provision_id}", response_class=HTMLResponse)
def provision_page(request: Request, provision_id: int, user: User | None = Depends(page_user),
                   session: Session = Depends(db)) -> Response:
    from redactor.disclosure.models import HandoverPackage
    from redactor.disclosure.rules import POLICE_GROUNDS, PROVISION_GROUNDS

    prov = session.get(Provision, provision_id)
    if prov is None and user is not None:
        return render(request, session, user, "missing.html", READERS, "찾을 수 없음", status_code=404,
                      what=f"제공 {provision_id}")
    releases = list(session.scalars(select(Release).where(Release.provision_id == provision_id)
                                    .order_by(Release.id.desc()))) if prov else []
    packages = _jobs(session, JobKind.package, provision_id=provision_id) if prov else []
    records = {p.job_id: p for p in session.scalars(select(HandoverPackage)
                                                   .where(HandoverPackage.provision_id == provision_id))}
    renders = [j for j in session.scalars(select(Job).where(Job.kind == JobKind.render, Job.status == "done")
                                          .order_by(Job.created_at.desc()).limit(50))] if prov else []
    officer = user is not None and Role(user.role) in APPROVERS
    return render(request, session, user, "provision.html", READERS, f"제공 {provision_id}", prov=prov,
                  releases=releases, packages=packages, records=records, renders=renders, can_approve=officer,
                  grounds=PROVISION_GROUNDS, police=prov is not None and prov.ground in POLICE_GROUNDS)


# --- records ---------------------------------------------------------------------------------------------------

@router.get("/ledger", response_class=HTMLResponse)
def ledger(request: Request, after: int = 0, user: User | None = Depends(page_user),
           session: Session = Depends(db)) -> Response:
    from redactor.ledger.entry import entry_dict
    from redactor.ledger.models import LedgerEntry

    rows = [entry_dict(e) for e in session.scalars(select(LedgerEntry).where(LedgerEntry.number > max(0, after))
                                                    .order_by(LedgerEntry.number).limit(200))]
    return render(request, session, user, "ledger.html", LEDGER, "관리대장 (별지 2호)", rows=rows, after=after,
                  can_export=user is not None and Role(user.role) in (Role.auditor, Role.privacy_officer))


@router.get("/records", response_class=HTMLResponse)
def records(request: Request, user: User | None = Depends(page_user), session: Session = Depends(db)) -> Response:
    from redactor.disclosure.service import overdue_destructions
    from redactor.registry.models import Hold

    now = utcnow()
    soon = list(session.scalars(select(Recording).where(Recording.destroyed_at.is_(None),
                                                        Recording.expires_at <= now + dt.timedelta(days=7))
                                .order_by(Recording.expires_at).limit(200)))
    holds = list(session.scalars(select(Hold).where(Hold.released_at.is_(None)).order_by(Hold.id.desc()).limit(200)))
    return render(request, session, user, "records.html", RECORDS, "보존·파기 점검", expiring=soon, holds=holds,
                  packages=overdue_destructions(session), now=now,
                  can_hold=user is not None and Role(user.role) in APPROVERS)


def install(app) -> None:
    """The console's pages and its static files (scripts, styles; the vendored parts with their licences)."""
    from fastapi.staticfiles import StaticFiles

    app.mount("/console/static", StaticFiles(directory=str(HERE / "static" / "console")), name="console-static")
    app.include_router(router)
