"""`redactor retention run [--dry-run]`: destroy recordings past their expiry unless held; each is a 파기 row."""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    from redactor import db
    from redactor.retention.service import run

    db.require_current()
    with db.session_scope() as session:
        result = run(session, dry_run=args.dry_run, responsible=args.responsible)
        for rec in result.due:
            verb = "would destroy" if args.dry_run else "destroyed"
            print(f"{verb} recording {rec.id} ({rec.camera.code} {rec.start_at:%Y-%m-%d %H:%M}, "
                  f"expired {rec.expires_at:%Y-%m-%d})")
        for rid in result.held:
            print(f"kept recording {rid}: held")
    n = len(result.due)
    print(f"{n} recordings {'would be destroyed' if args.dry_run else 'destroyed'}, {len(result.held)} held")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retention", help="retention (제35조): destroy expired recordings")
    verbs = p.add_subparsers(dest="verb", required=True)
    r = verbs.add_parser("run", help="destroy recordings past their expiry (unless held) and record 파기")
    r.add_argument("--dry-run", action="store_true", help="list what would be destroyed, change nothing")
    r.add_argument("--responsible", default="system", help="the responsible role recorded in the 파기 rows")
    r.set_defaults(handler=_run)
