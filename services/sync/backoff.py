"""When to try a backend again: jittered back-off and the circuit breaker the worker keeps per backend.

The adapters' HTTP plumbing (services.adapters.http) classifies each answer; how long to wait and when to
stop asking a backend that keeps failing is the worker's decision, and lives here.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 5 * 60.0


def full_jitter_backoff(
    failures: int, *, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S, rng=random
) -> float:
    """AWS "full jitter": uniform(0, min(cap, base * 2**(failures-1)))."""
    exp = min(cap, base * (2 ** max(failures - 1, 0)))
    return rng.uniform(0, exp)


def retry_delay(
    failures: int, server_asks: float | None, *, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S
) -> float:
    """What the server asked for, but never less than our own jittered back-off."""
    return max(server_asks or 0.0, full_jitter_backoff(failures, base=base, cap=cap))


# -- circuit breaker -----------------------------------------------------------------------
class CircuitBreaker:
    """closed -> open after `threshold` consecutive failures -> half-open probe after `cooldown` s.

    A failed probe opens it again for twice as long (up to `max_cooldown`); a success closes it.
    Thread-safe: the worker changes it, the GUI reads it.
    """

    def __init__(
        self,
        threshold: int = 5,
        cooldown: float = 30.0,
        max_cooldown: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self.failures = 0
        self._opened_at: float | None = None
        self._cooldown = cooldown
        self._probing = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._cooldown:
            return "half_open"
        return "open"

    def seconds_until_probe(self) -> float:
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._cooldown - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a request go now? In half-open, only one probe at a time."""
        with self._lock:
            st = self._state()
            if st == "closed":
                return True
            if st == "half_open" and not self._probing:
                self._probing = True
                return True
            return False

    def record_success(self) -> bool:
        """Returns True when this success closed an open breaker."""
        with self._lock:
            was_open = self._opened_at is not None
            self.failures = 0
            self._opened_at = None
            self._cooldown = self.base_cooldown
            self._probing = False
            return was_open

    def record_failure(self) -> bool:
        """Returns True when this failure opened (or re-opened) the breaker."""
        with self._lock:
            self.failures += 1
            if self._probing:
                self._probing = False
                self._cooldown = min(self._cooldown * 2, self.max_cooldown)
                self._opened_at = self._clock()
                return True
            if self._opened_at is None and self.failures >= self.threshold:
                self._opened_at = self._clock()
                return True
            return False

    def reset(self) -> None:
        self.record_success()

    def probe_now(self) -> None:
        """A person asked to try now: an open breaker lets its one probe through at once (a failed
        probe opens it again, for longer, as usual)."""
        with self._lock:
            if self._opened_at is not None:
                self._opened_at = self._clock() - self._cooldown
