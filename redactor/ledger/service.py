"""`Ledger`: append a 별지 2호 row, sign a checkpoint, erase personal fields, give proofs.

Every 이용·제공·열람·파기 calls `append` in the same transaction as the act it records, so either both are stored or
neither. A checkpoint is signed at every append (Ed25519 costs microseconds), which lets `verify` name the exact entry
that changed even when whoever changed it also recomputed its stored hash.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from redactor.base import utcnow
from redactor.errors import RedactorError
from redactor.ledger import merkle
from redactor.ledger.entry import Kind, canonical, checkpoint_text, entry_dict, iso
from redactor.ledger.keys import key_id, load_signing_key
from redactor.ledger.models import LedgerCheckpoint, LedgerEntry, LedgerPersonal


class LedgerError(RedactorError):
    exit_code = 2


@dataclass(frozen=True)
class Personal:
    """The personal part of 이용·제공받는 제3자/열람등 요구자: erasable, committed to by the entry."""

    name: str = ""
    phone: str = ""

    def encode(self) -> bytes:
        return canonical({"name": self.name, "phone": self.phone})


def commitment(salt_hex: str, personal: Personal) -> str:
    return hashlib.sha256(bytes.fromhex(salt_hex) + personal.encode()).hexdigest()


class Ledger:
    def __init__(self, key: Ed25519PrivateKey | None = None) -> None:
        self._key = key

    @property
    def key(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = load_signing_key()
        return self._key

    def append(self, session: Session, kind: Kind | str, *, file: str, officer: str, purpose: str, party: str = "",
               basis: str = "", form: str = "", period: str = "", approval: str = "", ref: str = "",
               personal: Personal | None = None, occurred_at: dt.datetime | None = None) -> int:
        """Add one row and its signed checkpoint; returns the entry number (번호). Nothing is committed here."""
        kind = Kind(kind)
        occurred_at = (occurred_at or utcnow()).astimezone(dt.UTC)
        self._lock(session)
        last = session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(1))
        size = last.tree_size if last else 0
        count = session.scalar(select(func.count()).select_from(LedgerEntry))
        if count != size:
            raise LedgerError(f"ledger has {count} entries but its last checkpoint covers {size}: run ledger verify")
        frontier = [bytes.fromhex(h) for h in json.loads(last.frontier)] if last else []

        number = size + 1
        salt = commitment_hex = ""
        if personal and (personal.name or personal.phone):
            salt = secrets.token_hex(16)
            commitment_hex = commitment(salt, personal)
        entry = LedgerEntry(number=number, kind=kind.value, occurred_at=occurred_at, file=file, officer=officer,
                            purpose=purpose, party=party, personal_commitment=commitment_hex, basis=basis, form=form,
                            period=period, approval=approval, ref=ref, leaf_hash="")
        leaf = merkle.leaf_hash(canonical(entry_dict(entry)))
        entry.leaf_hash = leaf.hex()
        session.add(entry)
        session.flush()
        if salt:
            session.add(LedgerPersonal(entry_number=number, salt=salt, name=personal.name, phone=personal.phone))

        frontier = merkle.frontier_append(frontier, size, leaf)
        root_hex = merkle.frontier_root(frontier).hex()
        signed_at = utcnow()
        signature = self.key.sign(checkpoint_text(number, root_hex, iso(signed_at)))
        session.add(LedgerCheckpoint(tree_size=number, root_hash=root_hex, signed_at=signed_at, key_id=key_id(self.key),
                                     signature=base64.b64encode(signature).decode(),
                                     frontier=json.dumps([h.hex() for h in frontier])))
        session.flush()
        return number

    @staticmethod
    def _lock(session: Session) -> None:
        # Numbers and checkpoints must form one sequence: appends are serialised until the caller commits.
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(text("LOCK TABLE ledger_checkpoints IN EXCLUSIVE MODE"))
        elif dialect == "sqlite":
            # A write statement (matching no row) takes SQLite's write lock before the last checkpoint is read, so a
            # second writer waits (busy_timeout) instead of computing the same number.
            session.execute(text("UPDATE ledger_checkpoints SET tree_size = tree_size WHERE 0 = 1"))

    # Personal fields ------------------------------------------------------------------------------------------------

    @staticmethod
    def personal(session: Session, number: int) -> Personal | None:
        """The party's personal fields, checked against the entry's commitment; None once erased or absent."""
        row = session.get(LedgerPersonal, number)
        if row is None or row.erased_at is not None:
            return None
        p = Personal(name=row.name or "", phone=row.phone or "")
        entry = session.get(LedgerEntry, number)
        if commitment(row.salt, p) != entry.personal_commitment:
            raise LedgerError(f"entry {number}: personal fields do not match the entry's commitment")
        return p

    @staticmethod
    def erase_personal(session: Session, number: int) -> bool:
        """Erase name, phone and salt: the entry's commitment then binds nothing recoverable; the log stays valid."""
        row = session.get(LedgerPersonal, number)
        if row is None or row.erased_at is not None:
            return False
        row.name = row.phone = row.salt = None
        row.erased_at = utcnow()
        session.flush()
        return True

    # Proofs ---------------------------------------------------------------------------------------------------------

    @staticmethod
    def leaves(session: Session, upto: int | None = None) -> list[bytes]:
        q = select(LedgerEntry.leaf_hash).order_by(LedgerEntry.number)
        if upto is not None:
            q = q.where(LedgerEntry.number <= upto)
        return [bytes.fromhex(h) for h in session.scalars(q)]

    def inclusion_proof(self, session: Session, number: int, tree_size: int | None = None) -> dict:
        cp = self._checkpoint(session, tree_size)
        leaves = self.leaves(session, cp.tree_size)
        proof = merkle.inclusion_proof(number - 1, leaves)
        return {"number": number, "tree_size": cp.tree_size, "leaf_hash": leaves[number - 1].hex(),
                "root_hash": cp.root_hash, "proof": [p.hex() for p in proof]}

    def consistency_proof(self, session: Session, old_size: int, new_size: int | None = None) -> dict:
        old = self._checkpoint(session, old_size)
        new = self._checkpoint(session, new_size)
        proof = merkle.consistency_proof(old.tree_size, self.leaves(session, new.tree_size))
        return {"old_size": old.tree_size, "old_root": old.root_hash, "new_size": new.tree_size,
                "new_root": new.root_hash, "proof": [p.hex() for p in proof]}

    @staticmethod
    def _checkpoint(session: Session, size: int | None) -> LedgerCheckpoint:
        if size is None:
            cp = session.scalar(select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(1))
        else:
            cp = session.get(LedgerCheckpoint, size)
        if cp is None:
            raise LedgerError(f"no checkpoint of size {size}" if size else "the ledger is empty")
        return cp


def append(session: Session, kind: Kind | str, **fields) -> int:
    """`Ledger.append` with the configured key (read at each call, so a changed configuration takes effect)."""
    return Ledger().append(session, kind, **fields)
