"""The service's settings, from the environment (the same variables the CLI and the workers read)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from redactor.registry.inplace import import_dirs


@dataclass(frozen=True)
class ServiceSettings:
    # REDACTOR_BROKER set: jobs go to Celery workers; unset: the embedded in-process worker runs them.
    broker: str | None = field(default_factory=lambda: os.environ.get("REDACTOR_BROKER") or None)
    max_upload_bytes: int = field(default_factory=lambda: int(float(os.environ.get("REDACTOR_MAX_UPLOAD_MB", "2048"))
                                                              * 1024 * 1024))
    # Server folders from which footage may be registered in place (none: registration by path is off).
    import_dirs: tuple[Path, ...] = field(default_factory=import_dirs)
    link_hours_max: int = field(default_factory=lambda: int(os.environ.get("REDACTOR_LINK_HOURS_MAX", "168")))
    login_attempts: int = field(default_factory=lambda: int(os.environ.get("REDACTOR_LOGIN_ATTEMPTS", "5")))
    login_window_s: float = field(default_factory=lambda: float(os.environ.get("REDACTOR_LOGIN_WINDOW_S", "300")))
    # failed logins per address across all names in the window (password spraying); 0: no such limit
    login_address_attempts: int = field(default_factory=lambda: int(os.environ.get("REDACTOR_LOGIN_ADDRESS_ATTEMPTS",
                                                                                   "20")))
    # requests per minute per client address, every route but the health probes (0: off)
    rate_per_minute: int = field(default_factory=lambda: int(os.environ.get("REDACTOR_RATE_PER_MINUTE", "1200")))
    # where recipients reach this service: the base of every download link, never taken from a request's Host
    public_url: str = field(default_factory=lambda: os.environ.get("REDACTOR_PUBLIC_URL", "").rstrip("/"))
    # /docs and /openapi.json: "login" (the schema for a logged-in account), "open", or "off"
    docs: str = field(default_factory=lambda: os.environ.get("REDACTOR_DOCS", "login"))
    embedded_workers: int = 1

    @property
    def embedded(self) -> bool:
        return self.broker is None
