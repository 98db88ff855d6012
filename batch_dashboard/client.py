"""A small client of the REST API for automation, on the standard library only.

Submitting sends an ``Idempotency-Key``, so a retry after a lost answer or a
429 never makes a second batch. Only http(s) URLs with a host are taken, and an
answer that is not this API's JSON is an error of its own (``NotThisApi``).
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

logger = logging.getLogger(__name__)

TERMINAL = frozenset({"completed", "failed", "cancelled"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
POLL_INTERVAL = (2.0, 3.0)
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0


class ClientError(Exception):
    """The server could not be reached, or refused the request."""


@dataclass
class ApiError(ClientError):
    """An error answer of the API, with the fields of its JSON error shape."""

    status: int
    code: str
    message: str
    field: str | None = None
    request_id: str | None = None
    retry_after: float | None = None

    def __str__(self) -> str:
        where = f" ({self.field})" if self.field else ""
        return f"{self.status} {self.code}: {self.message}{where}"


class Unreachable(ClientError):
    """No answer: the connection failed or timed out."""


class BadUrl(ClientError):
    """The server URL cannot name a server of this API; nothing was sent."""


class NotThisApi(ClientError):
    """Something answered, but not as this API does: not JSON, or not the shape."""

    def __init__(self, url: str, why: str):
        super().__init__(
            f"the server at {url} did not answer as Batch Status Dashboard ({why}); "
            "check the URL"
        )


def _url_fault(url: str) -> str | None:
    """Why ``url`` cannot name a server of this API, or None when it can."""
    if any(char.isspace() or not char.isprintable() for char in url):
        return "it contains spaces or control characters"

    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "it is not a URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "it does not start with http:// or https://"
    if not parts.hostname:
        return "it names no host"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "its port is not a number from 1 to 65535"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "it has a query or fragment"
    return None


def check_url(url: str) -> str:
    """``url`` if it is ``http(s)://HOST[:PORT][/PATH]``; ``BadUrl`` otherwise."""
    fault = _url_fault(url)
    if fault is not None:
        raise BadUrl(
            f"{url!r} is not a server URL: {fault} (e.g. http://127.0.0.1:8050)"
        )
    return url


# What each answer must hold for the client to use it: name -> JSON type.
CREATED_SHAPE: dict[str, type] = {"batchId": str, "status": str}
STATUS_SHAPE: dict[str, type] = {
    **CREATED_SHAPE,
    "total": int,
    "remaining": int,
    "createdIds": list,
    "duplicates": int,
    "failed": int,
    "cancelled": int,
}


class WaitTimeout(ClientError):
    """The batch did not reach a terminal status in time."""

    def __init__(self, batch_id: str, seconds: float, last: dict[str, Any] | None):
        super().__init__(f"batch {batch_id} not finished after {seconds:g}s")
        self.batch_id = batch_id
        self.last = last


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date)."""
    if not value:
        return None

    text = value.strip()
    if text.isdigit():
        return float(text)

    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def backoff_delay(
    attempt: int,
    rng: random.Random,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^n)]."""
    return rng.uniform(0, min(cap, base * 2**attempt))


@dataclass
class Client:
    """Talks to one server: ``Client("http://127.0.0.1:8050", token=...)``."""

    url: str
    token: str | None = None
    timeout: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        check_url(self.url)

    def _shaped(self, payload: Any, shape: dict[str, type]) -> dict[str, Any]:
        """``payload`` when it has every field of ``shape`` with its JSON type."""
        for name, kind in shape.items():
            value = payload.get(name)
            if not isinstance(value, kind) or (kind is int and type(value) is bool):
                raise NotThisApi(self.url, f"no {kind.__name__} '{name}' in the answer")
        return payload

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        url = self.url.rstrip("/") + path
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        request = urllib.request.Request(url, method=method)
        request.add_header("Accept", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            request.add_header("Content-Type", "application/json")

        try:
            with urllib.request.urlopen(request, data, timeout=self.timeout) as answer:
                raw, headers = answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as exc:
            raise _api_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"cannot reach {self.url}: {reason}") from None
        except (http.client.HTTPException, ValueError) as exc:
            raise NotThisApi(self.url, f"not HTTP: {type(exc).__name__}") from None

        try:
            payload = json.loads(raw)
        except (ValueError, RecursionError):
            raise NotThisApi(self.url, "the answer is not JSON") from None
        if not isinstance(payload, dict):
            raise NotThisApi(self.url, "the answer is not a JSON object")
        return payload, headers

    def _retrying(self, call: Callable[[], Any], deadline: float, what: str) -> Any:
        """Run ``call``, retrying what may pass (no answer, 429, 5xx gateway)
        with backoff and jitter, or after ``Retry-After``, until ``deadline``."""
        attempt = 0
        while True:
            try:
                return call()
            except (ApiError, Unreachable) as exc:
                if isinstance(exc, ApiError) and exc.status not in RETRY_STATUSES:
                    raise
                delay = backoff_delay(attempt, self.rng)
                if isinstance(exc, ApiError) and exc.retry_after is not None:
                    delay = exc.retry_after
                left = deadline - self.clock()
                if left <= 0:
                    raise
                delay = min(delay, left)
                logger.warning("%s: %s; retrying in %.1fs", what, exc, delay)
                self.sleep(delay)
                attempt += 1

    # -- the API --------------------------------------------------------------

    def submit(
        self,
        size: int | None = None,
        prompts: Sequence[str] = (),
        idempotency_key: str | None = None,
        retry_for: float = 0.0,
    ) -> dict[str, Any]:
        """Create a batch: ``{"batchId", "status"}``; retries for ``retry_for`` s."""
        body: dict[str, Any] = {"prompts": list(prompts)}
        if size is not None:
            body["batchSize"] = size
        key = idempotency_key or str(uuid.uuid4())

        def call() -> dict[str, Any]:
            payload, _ = self._request(
                "POST", "/api/jokes/batches", body, headers={"Idempotency-Key": key}
            )
            return self._shaped(payload, CREATED_SHAPE)

        return dict(self._retrying(call, self.clock() + retry_for, "submit"))

    def status(self, batch_id: str, created_after: int = 0) -> dict[str, Any]:
        query = {"createdAfter": created_after} if created_after else None
        path = f"/api/jokes/batches/{urllib.parse.quote(batch_id, safe='')}/status"
        return self._status(self._request("GET", path, query=query)[0])

    def cancel(self, batch_id: str) -> dict[str, Any]:
        path = f"/api/jokes/batches/{urllib.parse.quote(batch_id, safe='')}/cancel"
        return self._status(self._request("POST", path)[0])

    def _status(self, payload: dict[str, Any]) -> dict[str, Any]:
        status = self._shaped(payload, STATUS_SHAPE)
        if not all(isinstance(joke_id, str) for joke_id in status["createdIds"]):
            raise NotThisApi(self.url, "'createdIds' is not a list of ids")
        return status

    def list(self, **query: Any) -> dict[str, Any]:
        """A page of batches; keywords are the query parameters (status, sort...)."""
        given = {name: value for name, value in query.items() if value is not None}
        return self._request("GET", "/api/jokes/batches", query=given)[0]

    def joke(self, joke_id: str) -> dict[str, Any]:
        return self._request("GET", f"/api/jokes/{urllib.parse.quote(joke_id)}")[0]

    def wait(
        self,
        batch_id: str,
        timeout: float = 60.0,
        on_status: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll every 2-3 s until the batch is terminal; ``WaitTimeout`` after
        ``timeout`` s. Each poll asks only for the ids created since the last."""
        deadline = self.clock() + timeout
        ids: list[str] = []
        last: dict[str, Any] | None = None
        while True:
            try:
                status = self._retrying(
                    lambda: self.status(batch_id, created_after=len(ids)),
                    deadline,
                    f"status of {batch_id}",
                )
            except (ApiError, Unreachable) as exc:
                if isinstance(exc, ApiError) and exc.status not in RETRY_STATUSES:
                    raise
                raise WaitTimeout(batch_id, timeout, last) from exc

            ids.extend(status["createdIds"])
            last = {**status, "createdIds": list(ids), "createdAfter": 0}
            if on_status is not None:
                on_status(last)
            if last["status"] in TERMINAL:
                return last

            left = deadline - self.clock()
            if left <= 0:
                raise WaitTimeout(batch_id, timeout, last)
            self.sleep(min(self.rng.uniform(*POLL_INTERVAL), left))


def _api_error(exc: urllib.error.HTTPError) -> ApiError:
    retry_after = parse_retry_after(exc.headers.get("Retry-After"))
    try:
        error = json.loads(exc.read() or b"{}")["error"]
        return ApiError(
            exc.code,
            str(error.get("code")),
            str(error.get("message")),
            error.get("field"),
            error.get("requestId"),
            retry_after,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return ApiError(
            exc.code, "http_error", str(exc.reason), None, None, retry_after
        )
