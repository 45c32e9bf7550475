"""The legal texts the rules and notices cite (Osan guideline 제32조, 제33조; PIPA 35조)."""

from __future__ import annotations

import datetime as dt

# 제33조③: within 10 days of receipt, access or a notice of postponement, limitation or refusal with reasons.
ANSWER_WITHIN = dt.timedelta(days=10)

# 제33조③ 1-4: grounds on which a request may be refused.
REFUSAL_GROUNDS: dict[int, str] = {
    1: "범죄수사·공소유지·재판수행에 중대한 지장을 초래하는 경우",
    2: "특정 정보주체의 영상정보만을 삭제하는 것이 기술적으로 곤란한 경우",
    3: "요청에 필요한 조치를 취함으로써 타인의 사생활권이 침해될 우려가 큰 경우",
    4: "기타 열람 등의 요청을 거절할 만한 정당한 공익적 사유가 있는 경우",
}
# The one ground that redaction removes (PIPC 2025: mask and postpone, never refuse for it).
GROUND_TECHNICALLY_HARD = 2

# 제32조① 1-8: grounds for use or provision beyond the installation purpose.
PROVISION_GROUNDS: dict[int, str] = {
    1: "정보주체의 동의가 있는 경우",
    2: "정보주체에게 열람·제공되는 경우",
    3: "다른 법률에 특별한 규정이 있는 경우",
    4: "언론보도·통계작성·학술연구 등의 목적으로 특정개인을 알아볼 수 없는 형태로 제공하는 경우",
    5: "정보주체의 권익이 침해될 위험이 명백하고 현존하며 동의를 얻지 못할 급박한 사유가 있는 경우",
    6: "범인검거 등 범죄의 수사와 공소의 제기 및 유지에 필요한 경우",
    7: "법원의 재판업무수행을 위하여 필요한 경우",
    8: "급박한 재난상황, 피해자 구호 등 공익목적의 신속을 요하는 경우",
}
URGENT_PUBLIC_INTEREST = 8  # 제32조③: the head of the control centre may approve alone

DEFAULT_APPEAL_ROUTE = (
    "이 결정에 이의가 있는 경우 통지를 받은 날부터 90일 이내에 「행정심판법」에 따른 행정심판 또는 "
    "「행정소송법」에 따른 행정소송을 제기할 수 있으며, 개인정보침해 신고센터(국번 없이 118) 또는 "
    "개인정보 분쟁조정위원회(1833-6972)에 신고·조정을 신청할 수 있습니다."
)

MASKING_POSTPONEMENT_REASON = (
    "청구하신 영상에 다른 사람이 함께 촬영되어 있어, 「개인정보 보호법」에 따라 다른 사람의 얼굴과 차량번호를 "
    "알아볼 수 없도록 처리(마스킹)한 후 열람하실 수 있도록 열람을 연기합니다. 이 사유로 열람을 거절하지 않습니다."
)


def provision_basis(ground: int) -> str:
    return f"영상정보처리기기 운영 지침 제32조제1항제{ground}호 ({PROVISION_GROUNDS[ground]})"

GROUND_2_CONVERTED_MESSAGE = (
    "제33조③2호(특정 정보주체의 영상만 삭제하기 기술적으로 곤란)를 사유로 한 거절은 받아들여지지 않아, 다른 사람을 "
    "마스킹한 뒤 열람하도록 연기 통지로 바뀌었습니다. / A refusal on ground 2 of 제33조③ (technically hard to remove "
    "only the subject's footage) is not allowed while redaction is available (PIPC 2025): it was stored as a "
    "postponement for masking instead."
)

# 제32조①4: press, statistics, research get footage only in a form in which no individual can be recognised.
ANONYMISED_GROUND = 4
POLICE_GROUNDS = (6, 7)  # investigation and prosecution; court

# The camera's clock and the time an upload is stamped with are not the same clock: a recording whose stated span
# overruns the asked period by less than this still counts as inside it.
CLOCK_TOLERANCE = dt.timedelta(minutes=1)


class ReleaseRule:
    """The rules a release is checked against before anything is queued, each with the article it rests on."""

    AUDITED = ("audited-render", "지침 제36조, 표준지침 제44조")  # only an audited, finished render leaves
    GRANT = ("grant", "지침 제33조③, 개인정보 보호법 제35조")  # a request is answered with a grant or limitation
    KIND = ("request-kind", "지침 제33조①")  # 존재확인 and 삭제 release no footage
    APPROVAL = ("approval", "지침 제32조②③")  # the 총괄책임관 (item 8: also the 통합관제센터의 장) approved
    CAMERA = ("camera", "지침 제32조①, 제33조① (별지 4호 청구내용)")  # footage of the camera asked for
    PERIOD = ("period", "지침 제32조①, 제33조① (별지 4호 청구내용)")  # footage of the period asked for
    ANONYMISED = ("anonymised", "지침 제32조제1항제4호")  # nobody kept for press and research
    OTHERS_MASKED = ("others-masked", "표준지침 제44조")  # the people kept visible were chosen for this request


def is_anonymised(ground: int, form: str) -> bool:
    """A provision for press, statistics or research, or any provision in a 비식별 (fully masked) form."""
    return ground == ANONYMISED_GROUND or "비식별" in form


# The visible mark's last line follows the legal basis of the copy (제36조: it names what the copy may be used for).
VIEWING_MARK = "열람용 · 복제·배포 금지"
POLICE_MARK = "수사 제공용 · 목적 외 이용 금지"
COURT_MARK = "재판 제공용 · 목적 외 이용 금지"
ANONYMISED_MARK = "비식별 보도·연구용 · 재식별 금지"
PROVISION_MARK = "제공용 · 목적 외 이용·제3자 제공 금지"


def visible_mark(*, ground: int | None = None, form: str = "") -> str:
    """The notice burned into a released copy: `ground` None is a data subject's own request (제33조)."""
    if ground is None:
        return VIEWING_MARK
    if is_anonymised(ground, form):
        return ANONYMISED_MARK
    if ground == 6:
        return POLICE_MARK
    if ground == 7:
        return COURT_MARK
    if ground == 2:  # 정보주체에게 열람·제공
        return VIEWING_MARK
    return PROVISION_MARK
