"""`redactor users add|passwd|disable|enable|list`: the service's accounts and their roles (제31조)."""

from __future__ import annotations

import argparse
import getpass
import sys

from redactor.disclosure.models import Role
from redactor.errors import BadInput


def _read_password(confirm: bool = True) -> str:
    """From standard input when it is not a terminal (scripts, `echo pw | redactor users add`), else prompted."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadInput("no password on standard input")
        return password
    password = getpass.getpass("password: ")
    if confirm and getpass.getpass("again: ") != password:
        raise BadInput("the two passwords differ")
    return password


def _user(session, name: str):
    from redactor.auth.accounts import AccountError, by_name

    user = by_name(session, name)
    if user is None:
        raise AccountError(f"no user {name}")
    return user


def _add(args: argparse.Namespace) -> int:
    from redactor import db
    from redactor.auth.accounts import create

    db.require_current()
    password = _read_password()
    with db.session_scope() as session:
        user = create(session, args.name, args.role, password, args.display_name or "",
                      affiliation=args.affiliation or "", rank=args.rank or "")
        print(f"user {user.username} ({user.role}) created")
    return 0


def _passwd(args: argparse.Namespace) -> int:
    from redactor import db
    from redactor.auth.accounts import set_password

    db.require_current()
    password = _read_password()
    with db.session_scope() as session:
        set_password(session, _user(session, args.name), password)
    print(f"password of {args.name} changed")
    return 0


def _set_disabled(disabled: bool):
    def handler(args: argparse.Namespace) -> int:
        from redactor import db
        from redactor.auth.accounts import set_disabled

        db.require_current()
        with db.session_scope() as session:
            set_disabled(session, _user(session, args.name), disabled)
        print(f"user {args.name} {'disabled' if disabled else 'enabled'}")
        return 0

    return handler


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from redactor import db
    from redactor.disclosure.models import User

    db.require_current()
    with db.session_scope() as session:
        for u in session.scalars(select(User).order_by(User.username)):
            print(f"{u.username}\t{u.role}\t{'disabled' if u.disabled else 'active'}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="service accounts and roles")
    verbs = p.add_subparsers(dest="verb", required=True)
    a = verbs.add_parser("add", help="create an account (password from stdin when it is not a terminal)")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=[r.value for r in Role])
    a.add_argument("--display-name", help="name shown on approvals (e.g. 총괄책임관's name)")
    a.add_argument("--affiliation", help="소속, as the 별지 3호 인수증 prints it (e.g. 오산시 안전정책과)")
    a.add_argument("--rank", help="직급, as the 별지 3호 인수증 prints it (e.g. 행정6급)")
    a.set_defaults(handler=_add)
    pw = verbs.add_parser("passwd", help="set a new password (stdin when it is not a terminal)")
    pw.add_argument("name")
    pw.set_defaults(handler=_passwd)
    d = verbs.add_parser("disable", help="disable an account at once (its tokens stop working)")
    d.add_argument("name")
    d.set_defaults(handler=_set_disabled(True))
    e = verbs.add_parser("enable", help="enable a disabled account")
    e.add_argument("name")
    e.set_defaults(handler=_set_disabled(False))
    ls = verbs.add_parser("list", help="list accounts")
    ls.set_defaults(handler=_list)
