"""Settings from the environment, with embedded defaults (one machine, nothing to install but Python packages).

Every value is read when `settings()` is called, never once at import: a worker, a test or an operator that sets a
variable sees it take effect on the next job.

Two folders: the data folder (REDACTOR_HOME, default ~/.redactor: database, objects, keys; personal data, so it is
made owner-only) and the per-machine cache (REDACTOR_CACHE, default $XDG_CACHE_HOME/redactor or ~/.cache/redactor:
model weights and fonts, the same for every data folder on the machine, fetched once).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from redactor.errors import RedactorError

HOUR = 3600


class ConfigError(RedactorError):
    """A setting in the environment is malformed: the message names the variable."""

    exit_code = 4


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


def _number(name: str, default: float, kind: type = int):
    def read():
        raw = os.environ.get(name, "").strip()
        if not raw:
            return kind(default)
        try:
            value = kind(float(raw)) if kind is int else kind(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r}: not a number") from None
        if value < 0:
            raise ConfigError(f"{name}={raw!r}: must not be negative")
        return value

    return field(default_factory=read)


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=_home)
    # Limits on what is decoded, checked on every frame (redactor.media.limits), not on what the container declares.
    # Longest sides: a 16k "video" is a decompression bomb, not CCTV.
    max_width: int = _number("REDACTOR_MAX_WIDTH", 4096)
    max_height: int = _number("REDACTOR_MAX_HEIGHT", 4096)
    # Pixels of one frame: 4096x2160 (DCI 4K, above UHD 3840x2160). Detection of one UHD frame takes 3.6 GB and a
    # 4096x4096 clip took 12 GB in analysis (docs/decisions.md, issue 20).
    max_pixels: int = _number("REDACTOR_MAX_PIXELS", 4096 * 2160)
    # A day of footage at 30 fps: frames counted as decoded, seconds by the decoded timestamps.
    max_frames: int = _number("REDACTOR_MAX_FRAMES", 24 * HOUR * 30)
    max_seconds: float = _number("REDACTOR_MAX_SECONDS", 24 * HOUR, float)
    # Pixels decoded per second of video: 4096x2160 at 60 fps. Also catches timestamps that do not advance.
    max_pixel_rate: float = _number("REDACTOR_MAX_PIXEL_RATE", 4096 * 2160 * 60, float)

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


def private_path(path: Path, mode: int) -> None:
    """Tighten a path of ours to `mode` (a folder or file made earlier, or under a loose umask, may be wider)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_uid == os.getuid() and st.st_mode & 0o777 & ~mode:
        path.chmod(mode)


def data_home() -> Path:
    """REDACTOR_HOME, made on first use with owner-only permissions (0700: it holds footage, keys and personal data),
    and tightened to 0700 if it was made wider earlier. A folder that cannot be made is refused in one line naming
    it and why."""
    home = settings().home
    if not home.is_dir():
        try:
            home.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            if not home.is_dir():
                raise DataFolderError(f"data folder {home} (REDACTOR_HOME) exists and is not a folder") from None
        except OSError as err:
            raise DataFolderError(f"cannot make the data folder {home} (REDACTOR_HOME): "
                                  f"{err.strerror or err}") from None
    private_path(home, 0o700)
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
    private_path(path, 0o700)
    return path
