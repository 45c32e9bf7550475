"""`redactor package create|verify|confirm-destruction`: police / court handover packages (제32조① 6, 7)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from redactor.errors import BadInput


def _party(text: str | None) -> object:
    from redactor.disclosure.package import Party

    # "소속/직급/성명" or just a name
    parts = [p.strip() for p in (text or "").split("/")]
    if len(parts) == 3:
        return Party(*parts)
    return Party(name=(text or "").strip())


def _create(args: argparse.Namespace) -> int:
    from redactor.disclosure.package import Handover, create_package
    from redactor.keys import load_private_key

    try:
        expires = date.fromisoformat(args.expires) if args.expires else None
    except ValueError:
        raise BadInput(f"--expires {args.expires!r}: use YYYY-MM-DD") from None
    h = Handover(recipient=_party(args.recipient), basis=args.basis, purpose=args.purpose or "",
                 camera=args.camera or "", place=args.place or "", span=args.span or "", approver=args.approver or "",
                 handed_over_by=_party(args.handed_over_by), entry=args.entry, expires=expires)
    manifest = create_package(args.clips, args.output, h, load_private_key(args.key))
    print(f"{args.output}: {len(manifest['files']) - 1} clip(s), manifest signed, 인수증 receipt.pdf")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from redactor.disclosure.package import verify_package
    from redactor.keys import load_public_key

    v = verify_package(args.package, load_public_key(args.key) if args.key else None)
    print(f"{args.package}: valid ({len(v.manifest['files'])} files; signature checked with the {v.key_source})")
    return 0


def _confirm(args: argparse.Namespace) -> int:
    from redactor.disclosure.package import destruction_ledger_fields, destruction_slip
    from redactor.keys import load_private_key

    signed = destruction_slip(args.package, _party(args.by), load_private_key(args.key), method=args.method or "")
    Path(args.output).write_text(json.dumps(signed, ensure_ascii=False, indent=2))
    fields = destruction_ledger_fields(signed, officer=args.officer or "")
    fields["occurred_at"] = fields["occurred_at"].isoformat()
    print(json.dumps({"slip": args.output, "ledger_fields": fields}, ensure_ascii=False))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("package", help="police / court handover packages (별지 3호 인수증)")
    verbs = p.add_subparsers(dest="verb", required=True)
    c = verbs.add_parser("create", help="ZIP of clips + signed manifest + 인수증 PDF")
    c.add_argument("clips", nargs="+", metavar="CLIP")
    c.add_argument("--recipient", required=True, help='"소속/직급/성명" or a name')
    c.add_argument("--basis", required=True, choices=["32-1-6", "32-1-7"], help="지침 제32조제1항 6호 or 7호")
    c.add_argument("--key", required=True, metavar="SIGNING_KEY", help="Ed25519 private key (PEM)")
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--camera", help="equipment (장비)")
    c.add_argument("--place", help="installation place (설치장소)")
    c.add_argument("--span", help='recording time span, e.g. "2026-03-02 18:30 ~ 19:00"')
    c.add_argument("--purpose")
    c.add_argument("--approver")
    c.add_argument("--handed-over-by", help='"소속/직급/성명" of the official handing over')
    c.add_argument("--entry", type=int, help="관리대장 number of the 제공 row")
    c.add_argument("--expires", help="destroy by (YYYY-MM-DD)")
    c.set_defaults(handler=_create)
    v = verbs.add_parser("verify", help="check signature and every hash; names the file that is wrong")
    v.add_argument("package")
    v.add_argument("--key", metavar="PUBLIC_KEY", help="the issuer's public key (else the one inside: integrity only)")
    v.set_defaults(handler=_verify)
    d = verbs.add_parser("confirm-destruction", help="the recipient's signed destruction return slip")
    d.add_argument("package")
    d.add_argument("--by", required=True, help='"소속/직급/성명" of who destroyed it')
    d.add_argument("--key", required=True, help="the recipient's Ed25519 private key (PEM)")
    d.add_argument("-o", "--output", required=True, help="where to write the signed slip (JSON)")
    d.add_argument("--method")
    d.add_argument("--officer", help="the official recording the 파기 row")
    d.set_defaults(handler=_confirm)
