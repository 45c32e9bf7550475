"""The reaper: destroys objects past their expiry (제35조①④) and has each destruction recorded as a 파기 row.

Order per object: destroy the data key (from then on no copy opens), delete the bytes, then record. A record that
fails (database down) is kept in a pending journal (REDACTOR_HOME/reaper-pending.jsonl) and retried first on the next
run, so a destruction is never left unrecorded and never recorded twice.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from redactor.config import private_dir, settings
from redactor.storage.base import ObjectStore, utcnow

log = logging.getLogger(__name__)

RecordDestruction = Callable[[str, datetime, str], object]
ROLE = "system:reaper"


@dataclass(frozen=True)
class Reaped:
    key: str
    destroyed_at: datetime
    recorded: bool


def _journal() -> Path:
    return settings().home / "reaper-pending.jsonl"


def _pending() -> list[dict]:
    path = _journal()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_pending(items: list[dict]) -> None:
    path = _journal()
    private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items))
    os.replace(tmp, path)


def reap(store: ObjectStore, record_destruction: RecordDestruction | None = None, now: datetime | None = None,
         role: str = ROLE) -> list[Reaped]:
    """Destroy every expired object of `store`; `record_destruction(key, when, role)` writes the 파기 row."""
    now = now or utcnow()
    record = record_destruction or default_recorder()
    left: list[dict] = []
    for item in _pending():
        try:
            record(item["key"], datetime.fromisoformat(item["when"]), item["role"])
        except Exception:  # still failing: keep it for the next run
            log.exception("recording a pending destruction failed again")
            left.append(item)
    done = []
    for key in store.list_expired(now):
        store.delete(key)
        when = utcnow()
        try:
            record(key, when, role)
            done.append(Reaped(key, when, True))
        except Exception:
            log.exception("destroyed an object but could not record it; kept in the pending journal")
            left.append({"key": key, "when": when.isoformat(), "role": role})
            done.append(Reaped(key, when, False))
    _write_pending(left)
    return done


def ledger_recorder(db_url: str | None = None) -> RecordDestruction:
    """Records each destruction as a 파기 row of the 관리대장 (redactor.ledger), one transaction per row."""

    def record(key: str, when: datetime, role: str) -> int:
        from redactor.db import session_scope
        from redactor.ledger.service import append

        with session_scope(db_url) as session:
            return append(session, "파기", file=key, officer=role, purpose="보존기간 경과에 따른 파기 (지침 제35조)",
                          form="복구 불가능한 방법으로 삭제 (데이터 키 파기)", occurred_at=when)

    return record


def default_recorder() -> RecordDestruction:
    return ledger_recorder()
