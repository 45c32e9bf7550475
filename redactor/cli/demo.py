"""`redactor demo-data`: a fresh database filled with a realistic month of a city's CCTV paperwork.

Cameras, daily recordings (with the 30-day reaper running every night), 별지 4호 requests of every kind with their
decisions and notices, provisions to police, a court, the press and an emergency with their approvals, and every
이용·제공·열람·파기 in the ledger, in the order it happened. Every name and phone number is fictitious.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import itertools
import random
from collections.abc import Callable

from redactor.errors import RedactorError

KST = dt.timezone(dt.timedelta(hours=9))

CAMERAS = [  # code, location, department, purpose, detail
    ("OS-001", "오산시 원동 오산초등학교 정문", "안전정책과", "사회안정", "방범"),
    ("OS-002", "오산시 궐동 중앙공원 산책로", "공원녹지과", "시설관리", "공원"),
    ("OS-003", "오산시 오산동 오산역 환승센터", "교통행정과", "교통안전", "교통정보"),
    ("OS-004", "오산시 세교동 세교사거리", "교통행정과", "교통안전", "과속"),
    ("OS-005", "오산시 은계동 하천변 쓰레기 집하장", "자원순환과", "환경개선", "쓰레기투기"),
    ("OS-006", "오산시 부산동 공영주차장 입구", "교통행정과", "시설관리", "주차"),
    ("OS-007", "오산시 갈곶동 오산천 둔치", "안전정책과", "특수지역", "재난·화재"),
    ("OS-008", "오산시 대원동 주택가 골목", "안전정책과", "사회안정", "방범"),
    ("OS-009", "오산시 청호동 시청 정문", "총무과", "시설관리", "출입통제"),
    ("OS-010", "오산시 누읍동 국도1호선 진입로", "세정과", "문제차량", "체납"),
    ("OS-011", "오산시 수청동 어린이공원", "안전정책과", "사회안정", "방범"),
    ("OS-012", "오산시 양산동 버스정류장", "교통행정과", "교통안전", "주정차"),
]
NAMES = ["김하늘", "이서준", "박지우", "최민서", "정도윤", "강예린", "조현우", "윤서아", "장지호", "임수빈",
         "한유진", "오태양", "서다온", "신가람", "권나래", "황보람"]
STAFF = [("clerk.kim", "clerk", "김민원"), ("clerk.lee", "clerk", "이접수"),
         ("officer.park", "privacy_officer", "박총괄"), ("head.choi", "center_head", "최센터"),
         ("op.jung", "operator", "정관제"), ("op.han", "operator", "한관제"),
         ("audit.yoon", "auditor", "윤감사"), ("admin", "admin", "관리자")]


class NotEmpty(RedactorError):
    exit_code = 2


def _phone(rng: random.Random) -> str:
    return f"010-0{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"  # 010-0xxx: not issued to subscribers


def fill(session, now: dt.datetime, seed: int = 5) -> dict[str, int]:
    """Fill an empty schema with a month ending at `now`. Returns counts of what was made."""
    from redactor.disclosure import service as ds
    from redactor.disclosure.models import Outcome, RequestKind
    from redactor.ledger.entry import Kind
    from redactor.ledger.service import Ledger
    from redactor.registry import service as rs
    from redactor.registry.models import Camera
    from redactor.retention.service import run as retention_run

    if session.query(Camera).count():
        raise NotEmpty("the database already holds cameras: demo-data fills only a fresh database")
    rng = random.Random(seed)

    def no_footage(_recording) -> None:
        """The demo registers recordings without footage: there is no object to delete."""

    ledger = Ledger()
    local_midnight = now.astimezone(KST).replace(hour=0, minute=0, second=0, microsecond=0)
    start = local_midnight - dt.timedelta(days=40)

    users = {u: ds.add_user(session, u, role, name) for u, role, name in STAFF}
    cams = [rs.add_camera(session, code=c, location=loc, department=dep, officer=f"{dep}장", staff=f"{dep} 주무관",
                          purpose=p, purpose_detail=d, count=rng.randint(1, 4),
                          installed_on=dt.datetime(2019 + i % 5, 3, 1, tzinfo=KST)) for i, (c, loc, dep, p, d)
            in enumerate(CAMERAS)]
    recs = {}
    for day in range(41):
        t0 = start + dt.timedelta(days=day)
        if t0 >= local_midnight:
            break
        for cam in cams:
            recs[cam.code, day] = rs.add_recording(
                session, cam, start_at=t0, end_at=t0 + dt.timedelta(days=1),
                object_key=f"recordings/{cam.code}/{t0:%Y%m%d}.mp4", collected_at=t0 + dt.timedelta(days=1))

    # Events run in time order; an event may schedule later ones (a decision after a receipt), hence a heap.
    events: list[tuple[dt.datetime, int, Callable[[dt.datetime], None]]] = []
    order = itertools.count()

    def at(t: dt.datetime, fn: Callable[[dt.datetime], None]) -> None:
        if t <= now:
            heapq.heappush(events, (t, next(order), fn))

    def day_time(day: int, hour: int, minute: int = 0) -> dt.datetime:
        return start + dt.timedelta(days=day, hours=hour, minutes=minute)

    # The reaper runs every night at 03:00 and destroys what expired (those on hold stay).
    for day in range(31, 41):
        at(day_time(day, 3), lambda t: retention_run(session, now=t, ledger=ledger, commit_each=False,
                                                        destroyer=no_footage))

    # Two recordings are held for an investigation before they expire.
    held = [recs["OS-008", 9], recs["OS-003", 12]]
    for rec in held:
        at(day_time(14, 10), lambda t, r=rec: rs.place_hold(
            session, r, reason="오산경찰서 수사 자료 요청(제35조①2)", approved_by="officer.park"))

    counts = {"requests": 0, "provisions": 0}

    def request(day: int, kind: str, cam_i: int, follow: Callable | None = None, relation: str = "본인") -> None:
        name = rng.choice(NAMES)
        cam = cams[cam_i]
        rec_day = max(0, day - rng.randint(1, 5))
        p_from = day_time(rec_day, rng.randint(7, 20), rng.choice([0, 30]))
        address = f"경기도 오산시 {cam.location.split()[1]} {rng.randint(1, 300)}"
        received = day_time(day, rng.randint(9, 16), rng.randint(0, 59))

        def _receive(t: dt.datetime) -> None:
            req = ds.receive_request(
                session, kind=kind, requester_name=name, requester_phone=_phone(rng),
                requester_birth=dt.date(rng.randint(1955, 2004), rng.randint(1, 12), rng.randint(1, 28)),
                requester_relation=relation, requester_address=address,
                subject_name="" if relation == "본인" else rng.choice(NAMES),
                period_from=p_from, period_to=p_from + dt.timedelta(minutes=30), camera_location=cam.location,
                camera_id=cam.id, purpose=rng.choice(PURPOSES[kind]), received_by="clerk.kim", received_at=t)
            counts["requests"] += 1
            if follow:
                follow(req, t)

        at(received, _receive)

    def release_later(days: float):
        def _f(req, t):
            at(t + dt.timedelta(days=days), lambda t2: ds.release_to_requester(
                session, req, released_by="clerk.lee", object_key=f"releases/{req.number}.mp4",
                file=f"{req.number}_masked.mp4 / MP4(마스킹)", expires_at=t2 + dt.timedelta(days=7), now=t2,
                ledger=ledger))
        return _f

    def grant(after_days: float, then=None):
        def _f(req, t):
            def _d(t2):
                ds.decide(session, req, outcome=Outcome.grant, decided_by="officer.park", now=t2,
                          destroyer=no_footage)
                if then:
                    then(req, t2)
            at(t + dt.timedelta(days=after_days), _d)
        return _f

    def refuse_ground2_then_grant(req, t):
        # The clerk tries a ground-2 refusal; the rules turn it into a postponement for masking, then the grant.
        at(t + dt.timedelta(days=2), lambda t2: ds.decide(
            session, req, outcome=Outcome.refuse, refusal_ground=2, reasons="다른 사람이 함께 촬영됨",
            decided_by="clerk.kim", now=t2))
        grant(6, release_later(1))(req, t)

    def refuse(ground: int, reasons: str):
        return lambda req, t: at(t + dt.timedelta(days=3), lambda t2: ds.decide(
            session, req, outcome=Outcome.refuse, refusal_ground=ground, reasons=reasons, decided_by="officer.park",
            now=t2))

    def limit(withheld: str, then=None):
        def _f(req, t):
            def _d(t2):
                ds.decide(session, req, outcome=Outcome.limit, reasons="수사 중인 사건과 관련된 구간은 제외",
                          withheld=withheld, decided_by="officer.park", now=t2)
                if then:
                    then(req, t2)
            at(t + dt.timedelta(days=4), _d)
        return _f

    # 열람 viewings
    for day, cam_i in [(2, 0), (5, 1), (8, 2), (11, 3), (15, 7), (19, 10), (23, 11), (26, 5)]:
        request(day, RequestKind.열람, cam_i, grant(rng.randint(1, 5), release_later(1)))
    request(12, RequestKind.열람, 7, refuse_ground2_then_grant)
    request(20, RequestKind.열람, 2, refuse_ground2_then_grant)
    request(17, RequestKind.열람, 7, refuse(1, "해당 영상은 진행 중인 형사사건의 증거로 수사에 중대한 지장 우려"))
    request(21, RequestKind.열람, 2, limit("22:10~22:20 구간(수사 관련)", release_later(1)))
    # 존재확인
    for day, cam_i in [(3, 4), (9, 8), (16, 9), (24, 6)]:
        request(day, RequestKind.존재확인, cam_i, grant(2))
    # 제공 (a copy to the subject) and 이용
    for day, cam_i in [(6, 5), (18, 11), (27, 0)]:
        request(day, RequestKind.제공, cam_i, grant(3, release_later(1)), relation="대리인(위임장)")
    request(13, RequestKind.이용, 1, grant(4, release_later(1)))
    # 삭제
    request(4, RequestKind.삭제, 4, grant(2))
    request(22, RequestKind.삭제, 7, refuse(1, "해당 영상은 수사기관의 요청으로 보존 중(제35조①2)"))
    # Open requests: two overdue, one within its 10 days.
    request(10, RequestKind.열람, 9)
    request(14, RequestKind.존재확인, 11)
    request(38, RequestKind.열람, 0)

    def provision(day: int, ground: int, agency: str, officer: str, purpose: str, form: str, approver: str,
                  cam_i: int, use: bool = False) -> None:
        def _p(t: dt.datetime) -> None:
            rec_day = max(0, day - rng.randint(1, 6))
            rec = recs[cams[cam_i].code, rec_day]
            prov = ds.propose_provision(
                session, ground=ground, recipient_agency=agency, recipient_officer=officer,
                recipient_phone=_phone(rng), purpose=purpose, period_from=rec.start_at, period_to=rec.end_at,
                use_until=(t + dt.timedelta(days=60)).date(), form=form, use=use, created_by="clerk.lee", now=t)
            ds.approve_provision(session, prov, users[approver], note="검토 완료", now=t + dt.timedelta(hours=1))
            t2 = t + dt.timedelta(hours=2)
            ds.provide(session, prov, released_by="op.jung", object_key=f"packages/P{prov.id:04d}.zip",
                       file=f"{rec.file_name} / {form}", recording=rec, expires_at=t2 + dt.timedelta(days=60), now=t2,
                       ledger=ledger)
            counts["provisions"] += 1
        at(day_time(day, 14), _p)

    provision(7, 6, "오산경찰서 형사과", "경위 홍길동", "절도 사건 피의자 확인", "사본(원본, 인수증 별지 3호)",
              "officer.park", 7)
    provision(13, 6, "오산경찰서 교통조사계", "경사 이순신", "뺑소니 교통사고 수사", "사본(원본, 인수증 별지 3호)",
              "officer.park", 2)
    provision(18, 7, "수원지방법원 평택지원", "법원주사 김재판", "민사소송 증거조사(문서송부촉탁)", "사본(마스킹)",
              "officer.park", 3)
    provision(21, 4, "경기일보 사회부", "기자 박보도", "보행자 안전 기획기사", "비식별 사본(전체 마스킹)",
              "officer.park", 11)
    provision(25, 8, "오산소방서 구조대", "소방장 최구조", "실종 아동 긴급 수색", "열람(관제센터 내)",
              "head.choi", 10)
    provision(28, 3, "오산시 교통행정과", "주무관 정교통", "「도로교통법」에 따른 불법주정차 과태료 부과",
              "사본(마스킹)", "officer.park", 11, use=True)
    provision(33, 6, "화성동부경찰서 강력팀", "경위 강수사", "폭행 사건 수사", "사본(원본, 인수증 별지 3호)",
              "officer.park", 0)

    # Internal use within the installation purpose by a control-room operator.
    for day in (5, 16, 29):
        at(day_time(day, 11), lambda t, d=day: ledger.append(
            session, Kind.이용, occurred_at=t, file=f"{cams[d % 12].code} 실시간 영상 / 관제화면", officer="op.han",
            purpose="시설물 파손 신고 확인", party="오산시 안전정책과", basis="지침 제32조 (설치목적 내 이용)",
            form="관제센터 내 열람", period="당일", approval="officer.park", ref=f"camera:{cams[d % 12].id}"))

    while events:
        t, _, fn = heapq.heappop(events)
        fn(t)
    session.flush()
    from redactor.ledger.models import LedgerEntry

    counts.update(cameras=len(cams), recordings=len(recs), ledger_entries=session.query(LedgerEntry).count(),
                  overdue=len(ds.overdue_requests(session, now)))
    return counts


PURPOSES = {
    "열람": ["주차된 차량 파손 경위 확인", "분실물(지갑) 행방 확인", "자녀 하교길 폭행 피해 확인", "자전거 도난 확인",
             "접촉사고 경위 확인"],
    "존재확인": ["본인 촬영 여부 확인", "출입 기록 확인을 위한 영상 존재 여부"],
    "제공": ["보험사 제출용 사고 영상", "소송 준비를 위한 본인 영상 사본"],
    "이용": ["본인 민원 처리를 위한 영상 이용"],
    "삭제": ["본인 영상의 삭제 요청", "사생활 보호를 위한 삭제 요청"],
}


def _run(args: argparse.Namespace) -> int:
    from redactor import db
    from redactor.base import utcnow

    db.require_current()
    with db.session_scope() as session:
        counts = fill(session, utcnow(), seed=args.seed)
    print(", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo-data", help="fill a fresh database with a realistic month of work (fictitious people)")
    p.add_argument("--seed", type=int, default=5, help="random seed (same seed, same month)")
    p.set_defaults(handler=_run)
