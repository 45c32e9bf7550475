"""Settings from the environment, with embedded defaults (one machine, nothing to install but Python packages).

Two folders: the data folder (REDACTOR_HOME, default ~/.redactor: database, objects, keys; personal data, so it is
made owner-only) and the per-machine cache (REDACTOR_CACHE, default $XDG_CACHE_HOME/redactor or ~/.cache/redactor:
model weights and fonts, the same for every data folder on the machine, fetched once).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from redactor.errors import RedactorError


class DataFolderError(RedactorError):
    """The data folder cannot be made or used: the message says which folder and why."""

    exit_code = 5


def _home() -> Path:
    return Path(os.environ.get("REDACTOR_HOME", Path.home() / ".redactor")).expanduser()


def cache_dir() -> Path:
    """The per-machine cache: REDACTOR_CACHE, else $XDG_CACHE_HOME/redactor, else ~/.cache/redactor."""
    if os.environ.get("REDACTOR_CACHE"):
        return Path(os.environ["REDACTOR_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "redactor"


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=_home)
    # Longest side we accept; a 16k "video" is a decompression bomb, not CCTV.
    max_width: int = int(os.environ.get("REDACTOR_MAX_WIDTH", "4096"))
    max_height: int = int(os.environ.get("REDACTOR_MAX_HEIGHT", "4096"))
    max_frames: int = int(os.environ.get("REDACTOR_MAX_FRAMES", str(25 * 60 * 60 * 4)))

    @property
    def models_dir(self) -> Path:
        """The fetched weights: REDACTOR_MODELS, else the machine's cache (not the data folder: a second data folder,
        a test's or a second city's, uses the weights already fetched)."""
        return Path(os.environ.get("REDACTOR_MODELS") or cache_dir() / "models").expanduser()

    @property
    def db_url(self) -> str:
        return os.environ.get("REDACTOR_DB", f"sqlite:///{self.home / 'redactor.db'}")


def settings() -> Settings:
    return Settings()


def data_home() -> Path:
    """REDACTOR_HOME, made on first use with owner-only permissions (0700: it holds footage, keys and personal data).
    A folder that cannot be made is refused in one line naming it and why."""
    home = settings().home
    if home.is_dir():
        return home
    try:
        home.mkdir(parents=True, mode=0o700)
    except FileExistsError:
        if not home.is_dir():
            raise DataFolderError(f"data folder {home} (REDACTOR_HOME) exists and is not a folder") from None
    except OSError as err:
        raise DataFolderError(f"cannot make the data folder {home} (REDACTOR_HOME): "
                              f"{err.strerror or err}") from None
    return home


def private_dir(path: Path) -> Path:
    """A folder for the service's own files (0700), made with the data folder it lies in."""
    home = settings().home
    if path == home or home in path.parents:
        data_home()
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as err:
        raise DataFolderError(f"cannot make the folder {path}: {err.strerror or err}") from None
    return path
