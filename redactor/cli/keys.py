"""`redactor keys generate`: an Ed25519 key pair for signing handover packages and destruction slips."""

from __future__ import annotations

import argparse


def _generate(args: argparse.Namespace) -> int:
    from redactor.keys import generate_keypair

    priv, pub = generate_keypair(args.out)
    print(f"private key: {priv} (mode 0600, keep it secret)\npublic key:  {pub} (give it to whoever verifies)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="signing keys for handover packages")
    verbs = p.add_subparsers(dest="verb", required=True)
    g = verbs.add_parser("generate", help="write PREFIX.key (private, PEM) and PREFIX.pub")
    g.add_argument("--out", required=True, metavar="PREFIX")
    g.set_defaults(handler=_generate)
