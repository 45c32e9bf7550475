"""`redactor` command line.

Each module in this package owns one group of verbs and exposes `register(subparsers)`; modules are found by name,
so a new domain adds a file here and touches nothing else. A handler returns an exit status.
Expected failures (RedactorError) print one line on stderr and exit with their own status, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from redactor.errors import RedactorError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="redactor", description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: REDACTOR_DB, else a SQLite file in REDACTOR_HOME)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.db:
        # One place decides the database: everything below reads REDACTOR_DB through redactor.config.
        os.environ["REDACTOR_DB"] = args.db
    try:
        code = args.handler(args)
    except RedactorError as err:
        print(f"redactor: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("redactor: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        # a database that cannot be opened or reached is the operator's to fix: one line, not a traceback
        exc = sys.modules.get("sqlalchemy.exc")
        if exc is None or not isinstance(err, exc.OperationalError | exc.InterfaceError):
            raise
        print(f"redactor: the database cannot be used: {str(err.orig or err).strip().splitlines()[0]}",
              file=sys.stderr)
        return 5
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
