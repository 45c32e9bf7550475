"""Login attempts limited per (user name, client address): after N failures in a window, 429 until it passes.

In memory: one API process is the embedded default; behind several processes each keeps its own count, which
still bounds guessing to N per process per window (a shared Redis counter would be the next step)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginLimiter:
    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts, self.window = attempts, window_s
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._failures[key]
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def retry_after(self, username: str, client: str) -> float:
        """Seconds to wait, 0 when an attempt is allowed."""
        key, now = (username.lower(), client), time.monotonic()
        with self._lock:
            q = self._trim(key, now)
            if len(q) < self.attempts:
                return 0.0
            return max(1.0, self.window - (now - q[0]))

    def failed(self, username: str, client: str) -> None:
        with self._lock:
            self._failures[(username.lower(), client)].append(time.monotonic())

    def succeeded(self, username: str, client: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), client), None)
