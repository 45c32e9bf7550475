"""Footage as a local file for a step to read: a stored object fetched (decrypted) to a file, or a recording
registered in place opened where it lies, after its checks. The one way the steps, the review and the frame viewer
get at footage bytes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redactor.errors import BadInput
from redactor.registry.inplace import open_registered, registered_path


def fetch(store, key: str, dest: Path) -> Path:
    """The plaintext of a stored object as a local file. Footage registered in place is opened through
    `recording_file` only, never here."""
    if registered_path(key) is not None:
        raise BadInput(f"{Path(key).name}: footage registered in place is opened with its checks (recording_file)")
    with open(dest, "wb") as out:
        for chunk in store.get(key):
            out.write(chunk)
    return dest


@contextmanager
def recording_file(store, rec, dest: Path) -> Iterator[Path]:
    """A recording's footage as a local file: fetched from the store, or, registered in place, used where it lies
    after the checks of redactor.registry.inplace (allowed folder, no link, same size and sha256)."""
    local = registered_path(rec.object_key)
    if local is None:
        yield fetch(store, rec.object_key, dest)
        return
    with open_registered(local, rec.size_bytes, rec.sha256) as path:
        yield path
