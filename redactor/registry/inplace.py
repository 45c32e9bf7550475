"""Footage registered in place: a file in a server folder allowed by REDACTOR_IMPORT_DIRS, used where it lies.

Checked when registered (its resolved path inside an allowed folder, a regular file; its size and sha256 recorded)
and again every time it is opened: a file can be swapped for a symbolic link, or a folder above it for one, after
registration (issue 20), and would then be read, or destroyed, outside the allowed folder. `open_registered` opens it
without following a final link, asks the kernel where the open file really lies, compares it with the path
registered, and hands out `/proc/self/fd/N`: whatever happens to the path afterwards, the bytes read are those of
the file checked.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redactor.errors import BadInput
from redactor.hashing import sha256_fd

_READ = 1 << 20


def import_dirs() -> tuple[Path, ...]:
    """REDACTOR_IMPORT_DIRS (os.pathsep-separated), resolved; read when used. None: registration by path is off."""
    value = os.environ.get("REDACTOR_IMPORT_DIRS", "")
    return tuple(Path(p).expanduser().resolve() for p in value.split(os.pathsep) if p.strip())


def registered_path(key: str) -> Path | None:
    """The path of footage registered in place (its object key is an absolute path), else None (a store key)."""
    local = Path(key[len("file://"):] if key.startswith("file://") else key)
    return local if local.is_absolute() else None


def _inside(path: Path, allowed: tuple[Path, ...]) -> bool:
    return any(path.is_relative_to(d) for d in allowed)


def check_registrable(path: str | Path, allowed: tuple[Path, ...]) -> Path:
    """The resolved path of a file that may be registered in place."""
    if not allowed:
        raise BadInput("registration from a server path is off: set REDACTOR_IMPORT_DIRS")
    resolved = Path(path).expanduser().resolve()
    if not _inside(resolved, allowed):
        raise BadInput(f"{path}: not inside an allowed import folder")
    if not resolved.is_file():
        raise BadInput(f"{path}: no such file")
    return resolved


def fingerprint(path: Path) -> tuple[int, str]:
    """(size, sha256) of a file, as recorded at registration."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        return os.fstat(fd).st_size, sha256_fd(fd)
    finally:
        os.close(fd)


@contextmanager
def open_registered(path: Path, size: int | None = None, sha256: str | None = None,
                    allowed: tuple[Path, ...] | None = None) -> Iterator[Path]:
    """The registered file, re-checked, as a path to the open file itself (valid inside the `with`)."""
    allowed = import_dirs() if allowed is None else allowed
    if not allowed:
        raise BadInput(f"{path.name}: footage registered in place cannot be opened here (REDACTOR_IMPORT_DIRS is not "
                       f"set in this process)")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise BadInput(f"{path}: the registered footage is gone") from None
    except OSError as err:  # ELOOP: the file itself was replaced by a symbolic link
        raise BadInput(f"{path}: the registered footage cannot be opened safely ({err.strerror}: a symbolic link "
                       f"where the file was?): refused") from None
    try:
        real = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if real != path or not _inside(real, allowed):
            raise BadInput(f"{path}: the registered footage is now reached through a symbolic link or lies outside "
                           f"the allowed import folders: refused")
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BadInput(f"{path}: the registered footage is no longer a regular file: refused")
        if size is not None and st.st_size != size:
            raise BadInput(f"{path}: the registered footage changed since it was registered ({st.st_size} bytes, "
                           f"{size} registered): refused")
        if sha256 and sha256_fd(fd) != sha256:
            raise BadInput(f"{path}: the registered footage changed since it was registered (sha256 differs): refused")
        yield Path(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def unlink_registered(path: Path) -> None:
    """Destroy footage registered in place (retention). A symbolic link in the file's place is removed itself, never
    followed; a folder above it that now leads elsewhere would make the unlink delete another file there: refused."""
    if Path(os.path.realpath(path.parent)) != path.parent:
        raise BadInput(f"{path}: a folder above the registered footage is now a symbolic link: not deleted (check "
                       f"the import folder)")
    path.unlink(missing_ok=True)
