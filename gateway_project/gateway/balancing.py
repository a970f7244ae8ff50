"""Spreading an upstream's requests over its addresses, and skipping one that does not take connections.

An upstream (``users``, say) may be served at several base URLs
(``USERS_SERVICE_URL=http://users-1:8000,http://users-2:8000``). Each gateway
worker process sends one request to each in turn (round robin). An address that
refuses a connection, or does not accept one within the connect timeout, is
skipped for ``GATEWAY_UPSTREAM_COOLDOWN`` seconds; after that, the next request
tries it again (a trial), and a trial that connects brings it back. Nothing runs
in the background: what the worker learns from its own requests is all it knows.

When every address is being skipped, a request still tries the one whose
cooldown ends first, so a service that restarted entirely is found again at
once rather than after a full cooldown.

Which failures may be retried at the next address is the proxy's decision
(``gateway.proxy``): the balancer only orders the addresses and keeps their state.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Address:
    """One base URL of an upstream, and until when it is skipped."""

    url: str
    # The balancer's clock (time.monotonic) until which requests skip it; 0.0: in use.
    skipped_until: float = 0.0


class Balancer:
    """Round robin over one upstream's addresses, skipping those that failed to connect for a while.

    Shared by the threads of a worker: the round-robin counter is an
    ``itertools.count`` (one atomic step under the GIL), and changes of an
    address's state are made under a lock, so one thread alone claims a trial.
    """

    def __init__(self, upstream: str, urls: tuple[str, ...], *, cooldown: float, clock=time.monotonic):
        self.upstream = upstream
        self.addresses = tuple(Address(url) for url in urls)
        self.cooldown = cooldown
        self._clock = clock
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def attempt_order(self) -> tuple[Address, ...]:
        """The addresses one request may try, in order: at least one, each at most once."""
        addresses = self.addresses
        if len(addresses) == 1:
            return addresses
        start = next(self._turn) % len(addresses)
        now = self._clock()
        trials, in_use, resting = [], [], []
        for address in addresses[start:] + addresses[:start]:
            if address.skipped_until == 0.0:
                in_use.append(address)
            elif self._claim_trial(address, now):
                trials.append(address)  # first: the request that claimed a trial must make it
            else:
                resting.append(address)
        if trials or in_use:
            return (*trials, *in_use)
        return (min(resting, key=lambda address: address.skipped_until),)

    def _claim_trial(self, address: Address, now: float) -> bool:
        """Whether this request is the one to try ``address`` again, its cooldown being over.

        Claiming it skips it for another cooldown, so no other request tries it
        meanwhile; ``connected`` ends that at once if the trial connects.
        """
        if address.skipped_until > now:
            return False
        with self._lock:
            if not 0.0 < address.skipped_until <= now:  # another request claimed it, or brought it back
                return False
            address.skipped_until = now + self.cooldown
        return True

    def connected(self, address: Address) -> None:
        """A request reached ``address``: use it again if it was being skipped."""
        if address.skipped_until and len(self.addresses) > 1:
            with self._lock:
                address.skipped_until = 0.0
            logger.info("upstream address back in use", extra={"upstream": self.upstream, "url": address.url})

    def connect_failed(self, address: Address, error: Exception) -> None:
        """A connection to ``address`` could not be made: skip it for a cooldown (if there is another)."""
        if len(self.addresses) == 1:
            return
        with self._lock:
            first = address.skipped_until == 0.0
            address.skipped_until = self._clock() + self.cooldown
        if first:
            logger.warning(
                "upstream address skipped",
                extra={
                    "upstream": self.upstream,
                    "url": address.url,
                    "error": type(error).__name__,
                    "cooldown_s": self.cooldown,
                },
            )
