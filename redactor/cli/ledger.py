"""`redactor ledger verify|export|public-key|proof`: the 관리대장 (별지 2호) and its checks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from redactor.errors import RedactorError


class LedgerInvalid(RedactorError):
    exit_code = 1


def _public_key(path: str | None):
    from redactor.ledger.keys import load_public_key, load_signing_key

    return load_public_key(Path(path)) if path else load_signing_key().public_key()


def _verify(args: argparse.Namespace) -> int:
    from redactor.ledger.verify import verify_database, verify_file

    key = _public_key(args.key)
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise RedactorError(f"{path}: no such file")
        report = verify_file(path, key, upto=args.checkpoint)
    else:
        from redactor import db

        db.require_current()
        with db.session_scope() as session:
            report = verify_database(session, key, upto=args.checkpoint)
    shown = report.summary().splitlines()
    for line in shown[:12]:
        print(line)
    if len(shown) > 12:
        print(f"... {len(shown) - 12} more problems")
    if not report.ok:
        raise LedgerInvalid(report.problems[0])
    scope = f"prefix of checkpoint {args.checkpoint}" if args.checkpoint else "ledger"
    print(f"OK: the {scope} verifies")
    return 0


def _export(args: argparse.Namespace) -> int:
    from redactor import db
    from redactor.ledger.export import export

    db.require_current()
    with db.session_scope() as session:
        n = export(session, args.format, Path(args.output), with_personal=args.with_personal)
    print(f"{n} entries written to {args.output}", file=sys.stderr)
    return 0


def _public_key_cmd(args: argparse.Namespace) -> int:
    from redactor.ledger.keys import load_signing_key, public_pem

    sys.stdout.write(public_pem(load_signing_key()).decode())
    return 0


def _proof(args: argparse.Namespace) -> int:
    from redactor import db
    from redactor.ledger.service import Ledger

    db.require_current()
    ledger = Ledger(key=None)
    with db.session_scope() as session:
        if args.kind == "inclusion":
            out = ledger.inclusion_proof(session, args.a, args.b)
        else:
            out = ledger.consistency_proof(session, args.a, args.b)
    print(json.dumps(out, indent=1))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ledger", help="the 관리대장: verify, export, public-key, proof")
    verbs = p.add_subparsers(dest="verb", required=True)
    v = verbs.add_parser("verify", help="recompute the log and check its signed checkpoints; names the first bad entry")
    v.add_argument("--file", help="verify an exported JSONL file instead of the database (offline)")
    v.add_argument("--key", help="the verifying public key (PEM); default: the configured ledger key")
    v.add_argument("--checkpoint", type=int, metavar="SIZE", help="verify only the prefix signed by this checkpoint")
    v.set_defaults(handler=_verify)
    e = verbs.add_parser("export", help="write the ledger as jsonl, xlsx or pdf (별지 2호 columns)")
    e.add_argument("--format", required=True, choices=["jsonl", "xlsx", "pdf"])
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--with-personal", action="store_true",
                   help="xlsx/pdf: add the requester's or officer's name where not erased (internal copies only)")
    e.set_defaults(handler=_export)
    k = verbs.add_parser("public-key", help="print the ledger's verifying key (PEM) for auditors")
    k.set_defaults(handler=_public_key_cmd)
    pr = verbs.add_parser("proof", help="inclusion proof of entry A (in checkpoint B), or consistency from A to B")
    pr.add_argument("kind", choices=["inclusion", "consistency"])
    pr.add_argument("a", type=int)
    pr.add_argument("b", type=int, nargs="?")
    pr.set_defaults(handler=_proof)
