"""Recompute the whole log and check every signed checkpoint, from the database or from an exported JSONL file.

The first entry that no longer matches is named: by its stored leaf hash when only the row was changed, or by the
first checkpoint that fails when the hash was changed too (a checkpoint is signed at every append, so the first
failing checkpoint of size n points at entry n). Checkpoints below the change still verify: their prefix is intact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from redactor.ledger import merkle
from redactor.ledger.entry import (
    CHECKPOINT_FIELDS,
    ENTRY_FIELDS,
    canonical,
    checkpoint_dict,
    checkpoint_text,
    entry_dict,
)
from redactor.ledger.keys import key_id, verify_signature
from redactor.ledger.models import LedgerCheckpoint, LedgerEntry


@dataclass
class Item:
    """One entry or checkpoint as read, with where it came from (`entry 12` or `line 23`)."""

    where: str
    data: dict
    stored_leaf: str | None = None  # the database's leaf_hash column; absent in a JSONL file


@dataclass
class Report:
    entries: int = 0
    checkpoints_ok: list[int] = field(default_factory=list)
    checkpoints_bad: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # first problem first
    first_bad_entry: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [f"{self.entries} entries, {len(self.checkpoints_ok)} checkpoints verify"
                 + (f" (largest good prefix: {max(self.checkpoints_ok)} entries)" if self.checkpoints_ok else "")]
        if self.checkpoints_bad:
            lines.append(f"{len(self.checkpoints_bad)} checkpoints fail, from size {min(self.checkpoints_bad)}")
        lines += [f"FAIL {p}" for p in self.problems]
        return "\n".join(lines)


def verify_items(entries: list[Item], checkpoints: list[Item], public_key: Ed25519PublicKey,
                 upto: int | None = None) -> Report:
    """The check itself, the same for both sources. `upto` checks only the prefix of that checkpoint."""
    rep = Report(entries=len(entries))
    kid = key_id(public_key)
    if upto is not None:
        entries = entries[:upto]
        checkpoints = [c for c in checkpoints if c.data["tree_size"] == upto]
        if not checkpoints:
            rep.problems.append(f"no checkpoint of size {upto}")
            return rep
    by_size: dict[int, list[Item]] = {}
    for c in checkpoints:
        size = c.data["tree_size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            rep.problems.append(f"{c.where}: checkpoint size {size!r} is not a positive integer")
        else:
            by_size.setdefault(size, []).append(c)
    bad_entry: tuple[int, str] | None = None  # (number, message)

    frontier: list[bytes] = []
    for i, item in enumerate(entries):
        number = i + 1
        d = item.data
        if d.get("number") != number:
            bad_entry = bad_entry or (number, f"{item.where}: expected entry number {number}, found {d.get('number')}")
        leaf = merkle.leaf_hash(canonical(d))
        if item.stored_leaf is not None and item.stored_leaf != leaf.hex():
            bad_entry = bad_entry or (number, f"{item.where} does not match its stored hash (changed after it was "
                                              "written)")
        frontier = merkle.frontier_append(frontier, i, leaf)
        good = 0
        for cp in by_size.get(number, []):
            c = cp.data
            text = checkpoint_text(c["tree_size"], c["root_hash"], c["signed_at"])
            if c["key_id"] != kid or not verify_signature(public_key, c["signature"], text):
                rep.checkpoints_bad.append(number)
                rep.problems.append(f"{cp.where}: checkpoint {number} signature does not verify with key {kid}")
            elif merkle.frontier_root(frontier).hex() != c["root_hash"]:
                rep.checkpoints_bad.append(number)
                bad_entry = bad_entry or (number, f"{item.where} does not match the checkpoint signed after it "
                                                  f"(changed after signing)")
            elif good:
                rep.problems.append(f"{cp.where}: a second copy of checkpoint {number}")
            else:
                good += 1
                rep.checkpoints_ok.append(number)
    if bad_entry:
        rep.first_bad_entry = bad_entry[0]
        rep.problems.insert(0, bad_entry[1])
    for size in sorted(s for s in by_size if s > len(entries)):
        rep.problems += [f"{c.where}: checkpoint of size {size} but only {len(entries)} entries (entries removed?)"
                         for c in by_size[size]]
    if upto is None:
        covered = max(by_size, default=0)
        if covered < len(entries):
            rep.problems.append(f"entries {covered + 1}..{len(entries)} are not covered by a signed checkpoint")
    return rep


def verify_database(session: Session, public_key: Ed25519PublicKey, upto: int | None = None) -> Report:
    entries = [Item(f"entry {row.number}", entry_dict(row), row.leaf_hash)
               for row in session.scalars(select(LedgerEntry).order_by(LedgerEntry.number))]
    checkpoints = [Item(f"checkpoint {cp.tree_size}", checkpoint_dict(cp))
                   for cp in session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size))]
    return verify_items(entries, checkpoints, public_key, upto)


def read_jsonl(lines: Iterable[bytes]) -> tuple[list[Item], list[Item], list[str]]:
    """Parse an export strictly: each line must be exactly the canonical encoding of what it says."""
    entries: list[Item] = []
    checkpoints: list[Item] = []
    problems: list[str] = []
    for n, raw in enumerate(lines, start=1):
        raw = raw.rstrip(b"\n")
        where = f"line {n}"
        try:
            d = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            problems.append(f"{where}: not JSON ({err.__class__.__name__})")
            continue
        if not isinstance(d, dict) or canonical(d) != raw:
            problems.append(f"{where}: not in canonical form (altered)")
            continue
        if d.get("type") == "entry" and set(d) == ENTRY_FIELDS:
            entries.append(Item(f"{where} (entry {d['number']})", d))
        elif d.get("type") == "checkpoint" and set(d) == CHECKPOINT_FIELDS:
            checkpoints.append(Item(where, d))
        else:
            problems.append(f"{where}: neither an entry nor a checkpoint")
    return entries, checkpoints, problems


def verify_file(path: Path, public_key: Ed25519PublicKey, upto: int | None = None) -> Report:
    with open(path, "rb") as f:
        entries, checkpoints, problems = read_jsonl(f)
    rep = verify_items(entries, checkpoints, public_key, upto)
    rep.problems = problems + rep.problems
    return rep
