"""Requests (별지 4호), decisions (제33조③), provisions (제32조①), approvals (제32조②③), releases, users and roles."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from redactor.base import Base, UTCDateTime, utcnow


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e], length=32)


class Role(enum.StrEnum):
    """Rights differentiated by role (제31조②③)."""

    clerk = "clerk"  # 민원 담당자: receives requests, prepares notices
    privacy_officer = "privacy_officer"  # 개인영상정보 보호책임자 / 총괄책임관: approves under 제32조②
    center_head = "center_head"  # 통합관제센터의 장: may alone approve item 8 (제32조③)
    operator = "operator"  # 관제요원: control-room operator
    auditor = "auditor"  # reads the ledger
    admin = "admin"  # manages users


class RequestKind(enum.StrEnum):
    """별지 4호 청구 구분."""

    존재확인 = "존재확인"  # existence check
    열람 = "열람"  # viewing
    이용 = "이용"  # use
    제공 = "제공"  # provision (a copy)
    삭제 = "삭제"  # deletion


class Outcome(enum.StrEnum):
    grant = "grant"  # 열람등 허용
    postpone = "postpone"  # 연기
    limit = "limit"  # 일부 제한 (decree 42조①: withhold only what must be withheld)
    refuse = "refuse"  # 거절


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")  # 성명, as printed on approvals and receipts
    # 별지 3호 인계자: the official who hands a package over signs with 소속 (affiliation) and 직급 (rank)
    affiliation: Mapped[str] = mapped_column(String(128), default="")
    rank: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)  # set by the service's auth
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Every token names the version it was issued under; a new password, a disable or an enable moves it on, so no
    # earlier token works again (redactor.auth.tokens, api.deps.account_for_token).
    credential_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DisclosureRequest(Base):
    """One 별지 4호 개인영상정보 청구서, with every field of the form."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # 접수번호
    kind: Mapped[RequestKind] = mapped_column(_enum(RequestKind, "request_kind"))
    # 청구인 requester
    requester_name: Mapped[str] = mapped_column(String(128))
    requester_phone: Mapped[str] = mapped_column(String(32), default="")
    requester_birth: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    requester_relation: Mapped[str] = mapped_column(String(64), default="본인")  # 정보주체와의 관계
    requester_address: Mapped[str] = mapped_column(String(255), default="")
    # 정보주체 data subject (blank where the requester is the subject)
    subject_name: Mapped[str] = mapped_column(String(128), default="")
    subject_phone: Mapped[str] = mapped_column(String(32), default="")
    subject_birth: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    subject_address: Mapped[str] = mapped_column(String(255), default="")
    # 청구내용
    period_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # 영상정보 기록기간
    period_to: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    camera_location: Mapped[str] = mapped_column(String(255))  # 영상정보 처리기기 설치장소
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id"), nullable=True)
    purpose: Mapped[str] = mapped_column(Text)  # 청구 목적 및 사유
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)  # received + 10 days (제33조③)
    received_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    decisions: Mapped[list[Decision]] = relationship(back_populates="request", order_by="Decision.id")

    @property
    def last_decision(self) -> Decision | None:
        return self.decisions[-1] if self.decisions else None


class Decision(Base):
    """The answer to a request, with its notice. Postpone, limit and refuse carry reasons and the appeal route."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome, "decision_outcome"))
    refusal_ground: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 제33조③ 1-4
    reasons: Mapped[str] = mapped_column(Text, default="")
    appeal_route: Mapped[str] = mapped_column(Text, default="")
    postponed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withheld: Mapped[str] = mapped_column(Text, default="")  # what a limitation withholds
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(64))
    notice_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # What was asked when the stored outcome differs from it: "refuse:2" for a ground-2 refusal stored as a
    # postponement for masking (PIPC 2025)
    converted_from: Mapped[str | None] = mapped_column(String(32), nullable=True)

    request: Mapped[DisclosureRequest] = relationship(back_populates="decisions")


class Provision(Base):
    """이용·제공 beyond the installation purpose under 제32조① (grounds 1-8), to a named agency and officer."""

    __tablename__ = "provisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ground: Mapped[int] = mapped_column(Integer)  # 제32조① 1-8
    use: Mapped[bool] = mapped_column(Boolean, default=False)  # True: 이용 (inside the city), False: 제공
    recipient_agency: Mapped[str] = mapped_column(String(255))  # 소속 of the receiving side
    recipient_officer: Mapped[str] = mapped_column(String(128))  # 성명 (older rows: rank and name together)
    recipient_rank: Mapped[str] = mapped_column(String(64), default="")  # 직급
    recipient_phone: Mapped[str] = mapped_column(String(32), default="")
    purpose: Mapped[str] = mapped_column(Text)
    period_from: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # footage asked for
    period_to: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    use_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # 기간: how long the recipient may keep it
    form: Mapped[str] = mapped_column(String(128), default="사본(마스킹)")  # 이용·제공 형태
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id"), nullable=True)  # the footage asked for
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))

    approvals: Mapped[list[Approval]] = relationship(back_populates="provision", order_by="Approval.id")


class Approval(Base):
    """결재: who approved a provision, in which role, under which paragraph."""

    __tablename__ = "approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provision_id: Mapped[int] = mapped_column(ForeignKey("provisions.id"), index=True)
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[Role] = mapped_column(_enum(Role, "approval_role"))
    article: Mapped[str] = mapped_column(String(16))  # "32-2" (총괄책임관) or "32-3" (통합관제센터의 장, item 8)
    note: Mapped[str] = mapped_column(Text, default="")
    approved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    provision: Mapped[Provision] = relationship(back_populates="approvals")
    approver: Mapped[User] = relationship()


class Release(Base):
    """Footage actually handed out (a viewing, a copy, a package), with the ledger entry that records it."""

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), nullable=True)
    provision_id: Mapped[int | None] = mapped_column(ForeignKey("provisions.id"), nullable=True)
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("recordings.id"), nullable=True)
    object_key: Mapped[str] = mapped_column(String(512))
    form: Mapped[str] = mapped_column(String(128))
    released_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_by: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ledger_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)  # the stored copy's 파기


class HandoverPackage(Base):
    """A handover package (제32조① 6, 7) the service made, tracked from its making until the recipient's
    destruction is confirmed (제35조③), with both sides of the 별지 3호 인수증."""

    __tablename__ = "handover_packages"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    provision_id: Mapped[int] = mapped_column(ForeignKey("provisions.id"), index=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    object_key: Mapped[str] = mapped_column(String(512), index=True)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    ledger_entry: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the 제공 row
    # 인수자 (recipient) and 인계자 (the official handing over): 소속, 직급, 성명
    recipient_affiliation: Mapped[str] = mapped_column(String(255))
    recipient_rank: Mapped[str] = mapped_column(String(64))
    recipient_name: Mapped[str] = mapped_column(String(128))
    handed_over_by_affiliation: Mapped[str] = mapped_column(String(128))
    handed_over_by_rank: Mapped[str] = mapped_column(String(64))
    handed_over_by_name: Mapped[str] = mapped_column(String(128))
    destroy_by: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # the provision's 기간
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)  # first download
    stored_copy_destroyed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the recipient's destruction, confirmed by their signed slip or by the officer (제35조③)
    destruction_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    destruction_method: Mapped[str] = mapped_column(String(16), default="")  # "slip" or "officer"
    destruction_recorded_by: Mapped[str] = mapped_column(String(64), default="")
    destroyed_by: Mapped[str] = mapped_column(String(255), default="")  # 소속 직급 of who destroyed it
    slip_sha256: Mapped[str] = mapped_column(String(64), default="")
    destruction_ledger_number: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Assignment(Base):
    """Who handles a request or a provision (제31조: least privilege). The clerk who files a request (or proposes a
    provision) is its first handler; the privacy officer or the centre head assigns others and takes them off. A
    row taken off keeps who and when (`removed_at`), so the record of who could see which footage stays."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), nullable=True, index=True)
    provision_id: Mapped[int | None] = mapped_column(ForeignKey("provisions.id"), nullable=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by: Mapped[str] = mapped_column(String(64))
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship()


class DownloadLink(Base):
    """A recipient's download link, stored: who minted it, for what, until when, whether it was revoked, how often it
    was used. The URL carries a random secret; only its sha256 is kept here."""

    __tablename__ = "download_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    object_key: Mapped[str] = mapped_column(String(512))
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"), nullable=True, index=True)
    package_job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"), nullable=True, index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), nullable=True)
    provision_id: Mapped[int | None] = mapped_column(ForeignKey("provisions.id"), nullable=True)
    minted_by: Mapped[str] = mapped_column(String(64))
    minted_role: Mapped[str] = mapped_column(String(32))
    minted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    uses: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
