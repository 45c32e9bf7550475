"""Login attempts limited twice: per (user name, client address), so someone guessing at one account from their
address cannot lock its owner out from another (the owner's own address keeps its own count); and per address
across all names, so spraying one password over many accounts from one address is bounded too. After the limit of
failures in the window: 429 until it passes. A success clears its (name, address) count.

In memory: one API process is the embedded default; behind several processes each keeps its own count, which
still bounds guessing to N per process per window (a shared Redis counter would be the next step)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class LoginLimiter:
    def __init__(self, attempts: int, window_s: float, address_attempts: int | None = None) -> None:
        self.attempts, self.window = attempts, window_s
        self.address_attempts = address_attempts if address_attempts is not None else 4 * attempts
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._by_address: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, q: deque[float], now: float) -> deque[float]:
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def retry_after(self, username: str, client: str) -> float:
        """Seconds to wait, 0 when an attempt is allowed."""
        now = time.monotonic()
        with self._lock:
            waits = []
            q = self._trim(self._failures[(username.lower(), client)], now)
            if len(q) >= self.attempts:
                waits.append(self.window - (now - q[0]))
            a = self._trim(self._by_address[client], now)
            if self.address_attempts and len(a) >= self.address_attempts:
                waits.append(self.window - (now - a[-self.address_attempts]))
            return max(1.0, max(waits)) if waits else 0.0

    def failed(self, username: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._failures[(username.lower(), client)].append(now)
            self._by_address[client].append(now)
            if len(self._failures) > 100_000:  # forget the windows that have passed
                for key in [k for k, q in self._failures.items() if not self._trim(q, now)]:
                    del self._failures[key]
                for key in [k for k, q in self._by_address.items() if not self._trim(q, now)]:
                    del self._by_address[key]

    def succeeded(self, username: str, client: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), client), None)
