"""Security middleware: response security headers and a per-caller request rate limit.

Both are pure ASGI middleware (no buffering of bodies) and are added in ``create_app``.

* :class:`SecurityHeadersMiddleware` adds ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Content-Security-Policy: frame-ancestors 'none'``, ``Referrer-Policy: no-referrer`` and
  ``Cache-Control: no-store`` to every response that does not set that header itself (the web pages and
  the simulation report send their own, stricter Content-Security-Policy).
* :class:`RateLimitMiddleware` is a token bucket per caller, kept in the worker's memory: the caller is the
  SHA-256 of the bearer token once this worker has verified that token (service/api/authfirst.py),
  otherwise the client address, so made-up tokens are limited by the address that sends them. ``per_minute`` requests a
  minute are refilled continuously, up to ``burst`` at once; over the limit the answer is 429
  ``rate_limited`` with ``Retry-After``. ``per_minute = 0`` disables it. ``/healthz`` and ``/readyz``
  are never limited. At most ``max_callers`` buckets are kept (least recently used dropped first), so a
  flood of made-up tokens cannot exhaust memory. With N worker processes the effective limit is N times
  the setting; a shared limit belongs in the reverse proxy (see SECURITY.md).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.authfirst import VerifiedTokens, bearer_token, token_digest
from service.api.errors import envelope

SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (*SECURITY_HEADERS.items(), ("Cache-Control", "no-store")):
                    if name.lower() not in headers:  # a page's own, stricter policy (e.g. the web UI's CSP) wins
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TokenBuckets:
    """Token buckets by key; thread-safe; bounded to ``max_keys`` keys (least recently used dropped)."""

    def __init__(
        self, per_minute: int, burst: int, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(burst, 1))
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go ahead, otherwise the seconds until it could."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate if self.rate > 0 else 60.0
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait

    def __len__(self) -> int:
        return len(self._buckets)


def caller_key(scope: Scope, verified: VerifiedTokens | None = None) -> str:
    """The token's SHA-256 once that token has been verified by this worker, else the client address."""
    token = bearer_token(scope)
    if token is not None and verified is not None:
        digest = token_digest(token)
        if digest in verified:
            return "token:" + digest
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        per_minute: int,
        burst: int | None = None,
        max_callers: int = 10_000,
        verified: VerifiedTokens | None = None,
    ) -> None:
        self.app = app
        self.enabled = per_minute > 0
        self.buckets = TokenBuckets(per_minute, burst or per_minute, max_callers)
        self.verified = verified
        if verified is not None:
            verified.on_first_sight = lambda digest: self.buckets.take("token:" + digest)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.enabled or scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(caller_key(scope, self.verified))
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            response = envelope(
                429,
                "rate_limited",
                f"too many requests from this caller; try again in {retry} s",
                headers={"Retry-After": retry},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
