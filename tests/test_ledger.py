"""The ledger on SQLite and PostgreSQL: append, checkpoints, proofs, erasure, tamper detection, append-only trigger."""

from __future__ import annotations

import base64
import datetime as dt
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from dbsupport import *  # noqa: F403
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from redactor.ledger import merkle
from redactor.ledger.keys import default_key_path, load_signing_key, verify_signature
from redactor.ledger.models import LedgerEntry, LedgerPersonal
from redactor.ledger.service import Ledger, Personal, commitment
from redactor.ledger.verify import verify_database

T0 = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def fill(session, n: int, ledger: Ledger | None = None) -> Ledger:
    ledger = ledger or Ledger()
    for i in range(n):
        kind = ["열람", "제공", "이용", "파기"][i % 4]
        got = ledger.append(session, kind, occurred_at=T0 + dt.timedelta(hours=i), file=f"OS-001_{i}.mp4 / MP4",
                            officer="clerk.kim", purpose=f"목적 {i}", party="정보주체 본인",
                            personal=Personal("김하늘", "010-0123-4567") if kind == "열람" else None,
                            basis="지침 제33조", form="열람(마스킹)", period="당일", approval="officer.park",
                            ref=f"request:{i}")
        assert got == i + 1
    session.commit()
    return ledger


def test_append_numbers_and_verifies(session):
    ledger = fill(session, 9)
    report = verify_database(session, ledger.key.public_key())
    assert report.ok, report.problems
    assert report.checkpoints_ok == list(range(1, 10))
    e = session.get(LedgerEntry, 3)
    assert (e.kind, e.occurred_at) == ("이용", T0 + dt.timedelta(hours=2))  # times come back aware and equal


def test_personal_fields_are_committed_and_erasable(session):
    ledger = fill(session, 4)
    row = session.get(LedgerPersonal, 1)
    entry = session.get(LedgerEntry, 1)
    assert entry.personal_commitment == commitment(row.salt, Personal("김하늘", "010-0123-4567"))
    assert "김하늘" not in entry.party and "김하늘" not in entry.personal_commitment
    assert Ledger.personal(session, 1) == Personal("김하늘", "010-0123-4567")
    assert session.get(LedgerPersonal, 2) is None  # a 제공 row without personal fields has none
    assert Ledger.erase_personal(session, 1)
    session.commit()
    assert Ledger.personal(session, 1) is None
    assert session.get(LedgerPersonal, 1).name is None
    assert verify_database(session, ledger.key.public_key()).ok  # erasure leaves the log valid


def test_inclusion_and_consistency_proofs(session):
    ledger = fill(session, 11)
    pub = ledger.key.public_key()
    p = ledger.inclusion_proof(session, 6)
    assert p["tree_size"] == 11
    assert merkle.verify_inclusion(5, 11, bytes.fromhex(p["leaf_hash"]), [bytes.fromhex(h) for h in p["proof"]],
                                   bytes.fromhex(p["root_hash"]))
    c = ledger.consistency_proof(session, 5, 11)
    assert merkle.verify_consistency(5, 11, bytes.fromhex(c["old_root"]), bytes.fromhex(c["new_root"]),
                                     [bytes.fromhex(h) for h in c["proof"]])
    # The old root is the one signed at size 5.
    from redactor.ledger.entry import checkpoint_text, iso
    from redactor.ledger.models import LedgerCheckpoint

    cp = session.get(LedgerCheckpoint, 5)
    assert cp.root_hash == c["old_root"]
    assert verify_signature(pub, cp.signature, checkpoint_text(5, cp.root_hash, iso(cp.signed_at)))


def test_tampered_row_is_named_and_earlier_checkpoint_still_verifies(session, db_url):
    ledger = fill(session, 12)
    pub = ledger.key.public_key()
    if db_url.startswith("postgresql"):
        # Behind the trigger's back: only a superuser disabling it can change a row; verify must still catch it.
        session.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
    session.execute(text("UPDATE ledger_entries SET purpose = '위조된 목적' WHERE number = 7"))
    session.commit()
    report = verify_database(session, pub)
    assert not report.ok and report.first_bad_entry == 7
    assert "entry 7" in report.problems[0]
    assert report.checkpoints_ok == list(range(1, 7))
    assert verify_database(session, pub, upto=6).ok
    assert not verify_database(session, pub, upto=7).ok


def test_recomputed_hash_does_not_hide_the_change(session, db_url):
    ledger = fill(session, 8)
    if db_url.startswith("postgresql"):
        session.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
    e = session.get(LedgerEntry, 4)
    e.officer = "someone.else"
    from redactor.ledger.entry import canonical, entry_dict

    e.leaf_hash = merkle.leaf_hash(canonical(entry_dict(e))).hex()
    session.commit()
    report = verify_database(session, ledger.key.public_key())
    assert report.first_bad_entry == 4 and "entry 4" in report.problems[0]


def test_deleted_entry_is_detected(session, db_url):
    ledger = fill(session, 5)
    if db_url.startswith("postgresql"):
        session.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER USER"))
        session.execute(text("ALTER TABLE ledger_checkpoints DISABLE TRIGGER USER"))
    session.execute(text("DELETE FROM ledger_personal WHERE entry_number = 5"))
    session.execute(text("DELETE FROM ledger_entries WHERE number = 5"))
    session.commit()
    report = verify_database(session, ledger.key.public_key())
    assert not report.ok and "only 4 entries" in " ".join(report.problems)


def test_wrong_key_fails(session):
    fill(session, 3)
    report = verify_database(session, Ed25519PrivateKey.generate().public_key())
    assert not report.ok and "signature" in report.problems[0]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgres_refuses_update_delete_truncate(session):
    fill(session, 3)
    for sql in ["UPDATE ledger_entries SET purpose = 'x' WHERE number = 2",
                "DELETE FROM ledger_entries WHERE number = 3",
                "UPDATE ledger_checkpoints SET root_hash = 'x' WHERE tree_size = 1",
                "DELETE FROM ledger_checkpoints",
                "TRUNCATE ledger_entries CASCADE"]:
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(sql))
        session.rollback()
    # Personal fields stay erasable.
    assert Ledger.erase_personal(session, 1)
    session.commit()


def test_key_file_generated_once_with_0600(ledger_home):
    k1 = load_signing_key()
    path = default_key_path()
    assert path.parent == ledger_home / "keys"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    k2 = load_signing_key()
    assert k1.private_bytes_raw() == k2.private_bytes_raw()


def test_key_from_environment(ledger_home, monkeypatch, tmp_path):
    key = Ed25519PrivateKey.generate()
    monkeypatch.setenv("REDACTOR_LEDGER_KEY", base64.b64encode(key.private_bytes_raw()).decode())
    assert load_signing_key().private_bytes_raw() == key.private_bytes_raw()
    pem = tmp_path / "k.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    monkeypatch.setenv("REDACTOR_LEDGER_KEY", str(pem))
    assert load_signing_key().private_bytes_raw() == key.private_bytes_raw()
    monkeypatch.setenv("REDACTOR_LEDGER_KEY", "not a key!")
    from redactor.ledger.keys import LedgerKeyError

    with pytest.raises(LedgerKeyError):
        load_signing_key()
    assert not default_key_path().exists()  # a configured key never falls back to generating one


def test_concurrent_appends_form_one_sequence(db_url, ledger_home):
    """Four writers at once (as the API and the reaper would be): numbers have no gaps, every checkpoint verifies."""
    import threading

    from redactor import db

    errors: list[str] = []

    def writer(i: int) -> None:
        for j in range(8):
            try:
                with db.session_scope(db_url) as s:
                    Ledger().append(s, "이용", file=f"f{i}-{j}", officer="op", purpose="확인")
            except Exception as err:  # collected: an assertion in a thread would be lost
                errors.append(repr(err))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session_scope(db_url) as s:
        report = verify_database(s, load_signing_key().public_key())
    assert report.ok and report.entries == 32 and report.checkpoints_ok == list(range(1, 33))
