"""JSON over HTTP with the standard library, retried with backoff on transient failures.

Retried: 429 (after its ``Retry-After``), 502, 503, 504 and connection errors (refused,
reset, closed before the answer, timed out). A create is only safe to retry because it
carries an ``Idempotency-Key``; every other call of the API is safe to repeat as it is.
"""

import email.utils
import http.client
import json
import random
import socket
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

RETRY_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = "runwarden-client/0.1"


class RunwardenError(Exception):
    """Base of the client's errors."""


class ApiError(RunwardenError):
    """The server answered an error: ``status``, ``code``, ``message``, ``fields``."""

    def __init__(self, status, code, message, fields=None, body=None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.body = body


class Unavailable(RunwardenError):
    """The server could not be reached (or kept answering 429/503) within the retries."""


def retry_after_seconds(value, now=None):
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


class Backoff:
    """Exponential backoff with jitter: attempt ``n`` waits between half and all of
    ``min(cap, base * 2**n)``; a server's ``Retry-After`` is honoured (plus jitter)."""

    def __init__(self, base=0.5, cap=30.0, rng=random.random):
        self.base = base
        self.cap = cap
        self.rng = rng

    def delay(self, attempt, retry_after=None):
        """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * (2**attempt))
        jittered = ceiling / 2 + self.rng() * ceiling / 2
        if retry_after is not None:
            return retry_after + self.rng() * min(1.0, ceiling / 2)
        return jittered


CONNECTION_ERRORS = (
    ConnectionError,
    TimeoutError,
    socket.timeout,
    http.client.HTTPException,
    urllib.error.URLError,
)


class Transport:
    """Sends JSON requests to ``url`` with the bearer ``token``."""

    def __init__(self, url, token, *, timeout=10.0, retries=5, backoff=None, sleep=time.sleep):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff or Backoff()
        self.sleep = sleep

    def _once(self, method, path, body, headers):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", USER_AGENT)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read()

    def request(self, method, path, body=None, headers=None):
        """The decoded JSON answer of a 2xx; ApiError for other answers; Unavailable when
        every attempt failed to connect or was answered 429/502/503/504."""
        last = None
        for attempt in range(self.retries + 1):
            retry_after = None
            try:
                status, response_headers, raw = self._once(method, path, body, headers)
            except CONNECTION_ERRORS as exc:
                last = Unavailable(f"{method} {path}: {exc}")
            else:
                if status not in RETRY_STATUSES:
                    return _decode(status, raw)
                last = _error(status, raw)
                retry_after = retry_after_seconds(response_headers.get("Retry-After"))
            if attempt < self.retries:
                self.sleep(self.backoff.delay(attempt, retry_after))
        if isinstance(last, ApiError):
            raise Unavailable(f"{method} {path}: {last}") from last
        raise last


def _decode(status, raw):
    if 200 <= status < 300:
        return json.loads(raw) if raw else None
    raise _error(status, raw)


def _error(status, raw):
    try:
        error = json.loads(raw)["error"]
        return ApiError(status, error["code"], error["message"], error.get("fields"), raw)
    except (ValueError, KeyError, TypeError):
        text = raw.decode("utf-8", "replace")[:200] if raw else ""
        return ApiError(status, "http_error", text or f"HTTP {status}", body=raw)
