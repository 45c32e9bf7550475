"""Police / court handover package (제32조① 6, 7): a ZIP of the clip(s), `manifest.json` (sha256 of every file and the
provision's facts), `manifest.sig` (Ed25519 over the manifest's exact bytes), `signer.pub`, and the filled
별지 3호 영상정보 인수증 (`receipt.pdf`). Also the recipient's signed destruction return slip (제35조③) and the list of
packages past their period whose destruction is not yet confirmed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from redactor.errors import BadInput, RedactorError
from redactor.hashing import sha256_file, sha256_stream
from redactor.keys import public_pem

MANIFEST, SIGNATURE, PUBLIC, RECEIPT = "manifest.json", "manifest.sig", "signer.pub", "receipt.pdf"
CLIPS = "clips/"
BASES = {
    "32-1-6": "지침 제32조제1항제6호 (범죄의 수사와 공소의 제기 및 유지)",
    "32-1-7": "지침 제32조제1항제7호 (법원의 재판업무 수행)",
}


class PackageInvalid(RedactorError):
    """A handover package fails verification; the message names the file."""

    exit_code = 3


@dataclass(frozen=True)
class Party:
    affiliation: str = ""
    rank: str = ""
    name: str = ""


@dataclass
class Handover:
    """The facts of one provision, as the manifest and the 인수증 carry them."""

    recipient: Party
    basis: str  # "32-1-6" or "32-1-7"
    purpose: str = ""
    camera: str = ""  # equipment (장비) and installation place (설치장소), as in the camera register
    place: str = ""
    span: str = ""  # recording time span, e.g. "2026-03-02 18:30 ~ 19:00"
    approver: str = ""
    handed_over_by: Party = field(default_factory=Party)
    entry: int | None = None  # 관리대장 번호 of the 제공 row
    expires: date | None = None  # destroy by (제35조③)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def check(self) -> None:
        if self.basis not in BASES:
            raise BadInput(f"legal basis {self.basis!r}: a handover package is for {', '.join(BASES)}")
        if not self.recipient.name:
            raise BadInput("the recipient's name is required")



def receipt_pdf(h: Handover, files: list[tuple[str, int]]) -> bytes:
    """별지 3호 영상정보 인수증, filled."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    from redactor.documents.fonts import register

    register()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle("영상정보 인수증")
    width, height = A4
    y = height - 25 * mm
    c.setFont("NanumGothic", 9)
    c.drawString(20 * mm, y + 8 * mm, "[별지 제3호 서식]")
    c.setFont("NanumGothic", 18)
    c.drawCentredString(width / 2, y, "영상정보 인수증")
    total = sum(size for _, size in files)
    rows = [
        ("장비", h.camera or "-"),
        ("설치장소", h.place or "-"),
        ("파일 수 / 녹화 시간", f"{len(files)}개 파일 ({total:,} bytes) / {h.span or '-'}"),
        ("파일", ", ".join(name for name, _ in files)),
        ("목적", h.purpose or BASES[h.basis]),
        ("근거", BASES[h.basis]),
        ("관리대장 번호", str(h.entry) if h.entry is not None else "-"),
        ("인수일자", h.created_at.astimezone(UTC).date().isoformat()),
        ("파기 기한", h.expires.isoformat() if h.expires else "목적 달성 시"),
    ]
    c.setFont("NanumGothic", 11)
    y -= 15 * mm
    for label, value in rows:
        c.rect(20 * mm, y - 3 * mm, 45 * mm, 9 * mm)
        c.rect(65 * mm, y - 3 * mm, 125 * mm, 9 * mm)
        c.drawString(23 * mm, y, label)
        c.drawString(68 * mm, y, value[:70])
        y -= 9 * mm
    y -= 8 * mm
    pledge = [
        "본인은 위 영상정보를 인수하면서 다음 사항을 준수할 것을 서약합니다.",
        "1. 위 영상정보를 제공받은 목적 외의 용도로 이용하지 않겠습니다.",
        "2. 위 영상정보를 제3자에게 제공하거나 유출하지 않겠습니다.",
        "3. 목적이 달성되면 지체 없이 파기하고 그 결과를 통보하겠습니다.",
    ]
    for line in pledge:
        c.drawString(20 * mm, y, line)
        y -= 7 * mm
    y -= 8 * mm
    for title, p in (("인수자", h.recipient), ("인계자", h.handed_over_by)):
        c.drawString(20 * mm, y, f"{title}  소속: {p.affiliation or '            '}   직급: {p.rank or '        '}"
                                 f"   성명: {p.name or '          '}   (서명)")
        c.line(160 * mm, y - 1 * mm, 190 * mm, y - 1 * mm)
        y -= 12 * mm
    c.setFont("NanumGothic", 8)
    c.drawString(20 * mm, 15 * mm,
                 "파일의 무결성은 같은 꾸러미의 manifest.json(sha256)과 manifest.sig(Ed25519)로 확인합니다.")
    c.showPage()
    c.save()
    return buf.getvalue()


def create_package(clips: Iterable[str | Path], out: str | Path, handover: Handover, key: Ed25519PrivateKey) -> dict:
    """Write the package ZIP (atomically); returns the manifest."""
    from redactor.media import atomic_output

    handover.check()
    paths = [Path(p) for p in clips]
    if not paths:
        raise BadInput("no clip given")
    names = set()
    for p in paths:
        if not p.is_file():
            raise BadInput(f"{p}: no such file")
        if not expected_name(CLIPS + p.name):
            raise BadInput(f"{ascii(p.name)}: not a file name a package may hold (no control characters, \\ or :, "
                           f"not starting with a dot)")
        folded = unicodedata.normalize("NFC", p.name).casefold()
        if folded in names:
            raise BadInput(f"{p.name}: two clips with the same name")
        names.add(folded)
    files = [(p.name, p.stat().st_size) for p in paths]
    pdf = receipt_pdf(handover, files)
    manifest = {
        "format": "redactor-handover/1",
        "created_at": handover.created_at.astimezone(UTC).isoformat(),
        "basis": handover.basis,
        "basis_text": BASES[handover.basis],
        "purpose": handover.purpose,
        "recipient": asdict(handover.recipient),
        "handed_over_by": asdict(handover.handed_over_by),
        "approver": handover.approver,
        "camera": handover.camera,
        "place": handover.place,
        "span": handover.span,
        "ledger_entry": handover.entry,
        "expires": handover.expires.isoformat() if handover.expires else None,
        "files": {CLIPS + p.name: {"sha256": sha256_file(p), "size": p.stat().st_size} for p in paths}
        | {RECEIPT: {"sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf)}},
    }
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
    with atomic_output(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
        z.writestr(MANIFEST, body)
        z.writestr(SIGNATURE, base64.b64encode(key.sign(body)) + b"\n")
        z.writestr(PUBLIC, public_pem(key.public_key()))
        z.writestr(RECEIPT, pdf)
        for p in paths:
            z.write(p, CLIPS + p.name)  # streamed from disk by zipfile
    return manifest


@dataclass(frozen=True)
class Verification:
    manifest: dict
    key_source: str  # "given key" or "key inside the package (integrity only)"


def _read_member(z: zipfile.ZipFile, name: str) -> bytes:
    try:
        return z.read(name)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
        raise PackageInvalid(f"{name}: damaged inside the ZIP (its bytes no longer match the ZIP's checksum)") from None


def _member_sha256(z: zipfile.ZipFile, name: str) -> str:
    try:
        with z.open(name) as fh:
            return sha256_stream(fh)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
        raise PackageInvalid(f"{name}: damaged inside the ZIP (its bytes no longer match the ZIP's checksum)") from None


def expected_name(name: str) -> bool:
    """The names a package may hold: its four documents, and clips as `clips/<file name>` (no folder, no `..`, no
    drive or stream, no control character), so that every unzip puts every entry where it is meant to be."""
    if name in (MANIFEST, SIGNATURE, PUBLIC, RECEIPT):
        return True
    clip = name.removeprefix(CLIPS)
    return (name.startswith(CLIPS) and clip not in ("", ".", "..") and not clip.startswith(".")
            and not any(c in clip for c in '/\\:') and all(ord(c) >= 32 and ord(c) != 127 for c in clip))


def check_names(names: Iterable[str]) -> None:
    """Every entry of an expected name, each once. Names that an unzip would write to one file count as one: equal
    after Unicode normalisation and case folding (a police PC's file system may fold case)."""
    seen: dict[str, str] = {}
    for name in names:
        if not expected_name(name):
            raise PackageInvalid(f"{ascii(name)}: an unexpected name in the package (it holds only {MANIFEST}, "
                                 f"{SIGNATURE}, {PUBLIC}, {RECEIPT} and {CLIPS}<file>)")
        key = unicodedata.normalize("NFC", name).casefold()
        if key in seen:
            same = "twice" if seen[key] == name else f"again as {seen[key]}"
            raise PackageInvalid(f"{name}: in the ZIP {same} (two entries of one name: an unzip may take either "
                                 f"copy, so the package is refused)")
        seen[key] = name


def verify_package(path: str | Path, public_key: Ed25519PublicKey | None = None) -> Verification:
    """Names (expected ones, each once), signature, then every file's hash; PackageInvalid names the first file
    that is wrong."""
    try:
        z = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise PackageInvalid(f"{path}: not a readable ZIP ({err})") from None
    with z:
        # zipfile keeps the last of two entries of one name; an unzip may take the first: check every entry
        check_names(info.filename for info in z.infolist())
        members = set(z.namelist())
        for needed in (MANIFEST, SIGNATURE):
            if needed not in members:
                raise PackageInvalid(f"{needed}: missing from the package")
        body = _read_member(z, MANIFEST)
        source = "given key"
        if public_key is None:
            if PUBLIC not in members:
                raise PackageInvalid(f"{PUBLIC}: missing, and no --key given")
            try:
                public_key = serialization.load_pem_public_key(_read_member(z, PUBLIC))
            except ValueError:
                raise PackageInvalid(f"{PUBLIC}: not a public key") from None
            if not isinstance(public_key, Ed25519PublicKey):
                raise PackageInvalid(f"{PUBLIC}: not an Ed25519 key")
            source = "key inside the package (integrity only: pass --key to check who signed)"
        try:
            public_key.verify(base64.b64decode(_read_member(z, SIGNATURE)), body)
        except (InvalidSignature, ValueError):
            raise PackageInvalid(f"{MANIFEST}: the signature does not match (manifest altered or another signer)") \
                from None
        manifest = json.loads(body)
        listed = manifest.get("files", {})
        check_names(listed)
        for name, meta in sorted(listed.items()):
            if name not in members:
                raise PackageInvalid(f"{name}: listed in the manifest but missing")
            if _member_sha256(z, name) != meta["sha256"]:
                raise PackageInvalid(f"{name}: sha256 differs from the manifest (file altered)")
        extra = members - set(listed) - {MANIFEST, SIGNATURE, PUBLIC}
        if extra:
            raise PackageInvalid(f"{sorted(extra)[0]}: in the package but not in the manifest")
    return Verification(manifest, source)


# ---- destruction (제35조③): the recipient's signed return slip, and what is overdue ----

def manifest_digest(path: str | Path) -> str:
    with zipfile.ZipFile(path) as z:
        return hashlib.sha256(z.read(MANIFEST)).hexdigest()


def destruction_slip(package: str | Path, destroyed_by: Party, key: Ed25519PrivateKey, method: str = "",
                     destroyed_at: datetime | None = None) -> dict:
    """The recipient's signed statement that every copy of the package is destroyed."""
    manifest = verify_package(package).manifest
    slip = {
        "format": "redactor-destruction/1",
        "package_manifest_sha256": manifest_digest(package),
        "ledger_entry": manifest.get("ledger_entry"),
        "files": sorted(manifest["files"]),
        "destroyed_at": (destroyed_at or datetime.now(UTC)).astimezone(UTC).isoformat(),
        "destroyed_by": asdict(destroyed_by),
        "method": method or "모든 사본 삭제",
        "signer_public_key": public_pem(key.public_key()).decode(),
    }
    body = json.dumps(slip, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return {"slip": slip, "signature": base64.b64encode(key.sign(body)).decode()}


def verify_slip(signed: dict, expected_key: Ed25519PublicKey | None = None) -> dict:
    slip = signed["slip"]
    body = json.dumps(slip, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    key = expected_key or serialization.load_pem_public_key(slip["signer_public_key"].encode())
    try:
        key.verify(base64.b64decode(signed["signature"]), body)
    except (InvalidSignature, ValueError):
        raise PackageInvalid("destruction slip: the signature does not match") from None
    return slip


def destruction_ledger_fields(signed: dict, officer: str) -> dict:
    """Keyword arguments for `Ledger.append(session, "파기", **fields)` recording a confirmed destruction."""
    slip = verify_slip(signed)
    who = slip["destroyed_by"]
    return {
        "file": ", ".join(f.removeprefix(CLIPS) for f in slip["files"] if f.startswith(CLIPS)),
        "officer": officer,
        "purpose": "제공 목적 달성에 따른 파기 확인 (지침 제35조③)",
        "party": " ".join(x for x in (who.get("affiliation"), who.get("rank")) if x),
        "form": slip["method"],
        "ref": f"package:{slip['package_manifest_sha256'][:16]}"
               + (f" 제공:{slip['ledger_entry']}" if slip.get("ledger_entry") else ""),
        "occurred_at": datetime.fromisoformat(slip["destroyed_at"]),
    }


@dataclass(frozen=True)
class PackageRecord:
    """What the service keeps about a package it handed over."""

    manifest_sha256: str
    recipient: str
    expires: date | None
    destruction_confirmed: bool = False
    ledger_entry: int | None = None


def overdue_packages(records: Iterable[PackageRecord], today: date | None = None) -> list[PackageRecord]:
    """Packages past their period whose destruction the recipient has not confirmed: to chase (제35조③)."""
    today = today or datetime.now(UTC).date()
    return sorted((r for r in records if not r.destruction_confirmed and r.expires is not None and r.expires < today),
                  key=lambda r: r.expires)
