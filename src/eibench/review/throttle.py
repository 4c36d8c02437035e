"""A limit on failed logins per client address, kept in memory: after `limit` wrong login links
within `window` seconds, the address is refused (HTTP 429) until the oldest of those failures
is `window` seconds old. Memory is bounded: past `max_addresses` the address whose latest
failure is oldest is forgotten first."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class LoginThrottle:
    """Counts failed logins per address. limit: failures allowed per window; window: seconds;
    clock: the time source (monotonic seconds)."""

    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        *,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.max_addresses = limit, window, max_addresses
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, address: str, at: float) -> deque[float]:
        """The failures of `address` still inside the window (older ones are dropped)."""
        found = self._failures.get(address)
        if found is None:
            return deque()
        while found and found[0] <= at - self.window:
            found.popleft()
        if not found:
            del self._failures[address]
        return found

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try again, or None when it may try now."""
        with self._lock:
            at = self.clock()
            recent = self._recent(address, at)
            if len(recent) < self.limit:
                return None
            return max(1, math.ceil(recent[-self.limit] + self.window - at))

    def failed(self, address: str) -> None:
        """Count a failed login from `address`."""
        with self._lock:
            at = self.clock()
            recent = self._recent(address, at)
            recent.append(at)
            if len(recent) > self.limit:
                recent.popleft()
            self._failures[address] = recent
            self._failures.move_to_end(address)
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)
