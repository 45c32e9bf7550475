"""The 별지 2호 columns and the canonical bytes of an entry (what the Merkle leaf hashes, and one JSONL line)."""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Any


class Kind(enum.StrEnum):
    """구분: the four acts that make a row (제32조④)."""

    이용 = "이용"  # use
    제공 = "제공"  # provision
    열람 = "열람"  # viewing
    파기 = "파기"  # destruction


# (field in the entry, the form's header) in the form's order. 번호 comes first.
COLUMNS: list[tuple[str, str]] = [
    ("number", "번호"),
    ("kind", "구분"),
    ("occurred_at", "일시"),
    ("file", "파일명/형태"),
    ("officer", "담당자"),
    ("purpose", "목적/사유"),
    ("party", "이용·제공받는 제3자/열람등 요구자"),
    ("basis", "이용·제공근거"),
    ("form", "이용·제공 형태"),
    ("period", "기간"),
    ("approval", "결재"),
]
HEADERS = [h for _, h in COLUMNS]

# Every key of an entry line, in no particular order (the encoding sorts them).
ENTRY_FIELDS = {"type", "number", "kind", "occurred_at", "file", "officer", "purpose", "party", "personal", "basis",
                "form", "period", "approval", "ref"}
CHECKPOINT_FIELDS = {"type", "tree_size", "root_hash", "signed_at", "key_id", "signature"}


def canonical(obj: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8 as is: one byte string per value, so any change of content changes the bytes."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def iso(t: dt.datetime) -> str:
    if t.tzinfo is None:
        raise ValueError("naive datetime in the ledger")
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(s: str) -> dt.datetime:
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def entry_dict(row) -> dict[str, Any]:
    """The canonical content of a `LedgerEntry` row (or anything with the same attributes)."""
    return {
        "type": "entry",
        "number": int(row.number),
        "kind": str(row.kind),
        "occurred_at": iso(row.occurred_at),
        "file": row.file,
        "officer": row.officer,
        "purpose": row.purpose,
        "party": row.party,
        "personal": row.personal_commitment,
        "basis": row.basis,
        "form": row.form,
        "period": row.period,
        "approval": row.approval,
        "ref": row.ref,
    }


def checkpoint_text(tree_size: int, root_hex: str, signed_at: str) -> bytes:
    """What the Ed25519 signature covers: a small text in the spirit of C2SP signed notes."""
    return f"redactor-ledger/v1\n{tree_size}\n{root_hex}\n{signed_at}\n".encode()


def checkpoint_dict(cp) -> dict[str, Any]:
    return {"type": "checkpoint", "tree_size": int(cp.tree_size), "root_hash": cp.root_hash,
            "signed_at": iso(cp.signed_at), "key_id": cp.key_id, "signature": cp.signature}
