"""`redactor db upgrade|current`: the schema, by Alembic migrations run in-process."""

from __future__ import annotations

import argparse


def _upgrade(args: argparse.Namespace) -> int:
    from redactor import db

    db.upgrade(revision=args.revision)
    print(f"database at {db.head_revision() if args.revision == 'head' else args.revision}: "
          f"{db.get_engine().url.render_as_string()}")
    return 0


def _current(args: argparse.Namespace) -> int:
    from redactor import db

    db.require_current()
    print(f"database is current ({db.head_revision()})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="database schema: upgrade, current")
    verbs = p.add_subparsers(dest="verb", required=True)
    u = verbs.add_parser("upgrade", help="run the migrations (creates the schema on a new database)")
    u.add_argument("--revision", default="head", help="target revision (default: head)")
    u.set_defaults(handler=_upgrade)
    c = verbs.add_parser("current", help="exit 0 when the schema is current, 5 when it needs `db upgrade`")
    c.set_defaults(handler=_current)
