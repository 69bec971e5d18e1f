"""The Umbra decision API client for a Python orchestrator such as Alice's.

Two promises shape it. ``decide`` never fails the caller and never makes it wait past its
deadline: on any problem (server down, slow, an error answer, a broken body) it returns the
caller's own rule choice. ``report_outcome`` never blocks a request: outcomes go into a bounded
queue that a background thread sends, with retries, and a full queue drops (and counts) rather
than waits.
"""

from __future__ import annotations

import json
import logging
import math
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, Deque, Dict, Mapping, Optional, Sequence, Union
from urllib.parse import urlsplit

from ._http import ConnectionPool

__all__ = ["ContextValue", "Decision", "OutcomeResult", "UmbraClient", "SERVED_BY"]

log = logging.getLogger("umbra_client")

#: A context value: categories and free text (strings), numbers, booleans, or None.
ContextValue = Union[str, int, float, bool, None]

#: What the service answers in ``servedBy``.
SERVED_BY = ("production", "canary", "control", "fallback")

_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Decision:
    """The action to serve and where it came from.

    ``served_by`` is ``production``, ``canary`` or ``control`` when Umbra chose, and ``fallback``
    when the baseline (the caller's rule choice) is served; ``reason`` then says why, whether the
    service fell back (``deadline``, ``no_policy``, ...) or this client did (``timeout``,
    ``connection``, ``http_503``, ``invalid_body``, ``invalid_action``, ``circuit_open``,
    ``client_error``).
    """

    action: str
    propensity: float
    served_by: str
    stage: str
    policy_version: str
    id: str
    reason: Optional[str] = None
    #: True when the service answered (even with its own fallback); False when this client fell back.
    from_service: bool = True

    @property
    def fallback(self) -> bool:
        """True when the baseline is served."""
        return self.served_by == "fallback"


@dataclass(frozen=True)
class OutcomeResult:
    """What became of one outcome report."""

    ok: bool
    #: HTTP status of the last attempt, when the server answered.
    status: Optional[int]
    attempts: int
    reason: Optional[str] = None


class _Breaker:
    """Skip calls for a while after repeated connection failures, so a dead service costs nothing.

    After ``threshold`` failures in a row the breaker opens for ``cooldown`` seconds; then one
    call is let through, and its success closes the breaker again.
    """

    def __init__(self, threshold: int, cooldown: float) -> None:
        self._threshold = threshold
        self._cooldown = cooldown
        self._failures = 0
        self._open_until = 0.0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        if self._threshold <= 0:
            return True
        with self._lock:
            now = time.monotonic()
            if self._failures < self._threshold or now >= self._open_until:
                if self._failures >= self._threshold:
                    self._open_until = now + self._cooldown  # one trial per cooldown
                return True
            return False

    def record(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self._failures = 0
            else:
                self._failures += 1
                if self._failures >= self._threshold:
                    self._open_until = max(self._open_until, time.monotonic() + self._cooldown)


class UmbraClient:
    """A client of one Umbra decision service.

    Thread-safe: one instance is meant to be shared by the whole orchestrator. Construction only
    checks the arguments (and raises ``ValueError`` for a wrong one); no call after it raises.

    Args:
        base_url: the service, e.g. ``http://127.0.0.1:8787`` (plain HTTP, usually loopback).
        decide_timeout: seconds ``decide`` may take in all, connection included.
        outcome_timeout: seconds one outcome attempt may take.
        outcome_retries: further attempts after a failed one (connection errors, timeouts, 408,
            429 and 5xx; a 4xx answer is final).
        retry_backoff: first wait between attempts in seconds; doubles each time, with jitter.
        max_backoff: longest wait between attempts.
        queue_size: outcomes waiting to be sent; when full, new ones are dropped and counted.
        breaker_threshold: connection failures or timeouts of ``decide`` in a row after which it
            stops trying for ``breaker_cooldown`` seconds and serves the baseline at once
            (0 disables this).
        breaker_cooldown: seconds the breaker stays open before one call tries again.
        pool_size: kept-alive connections kept for reuse.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8787",
        *,
        decide_timeout: float = 0.05,
        outcome_timeout: float = 1.0,
        outcome_retries: int = 3,
        retry_backoff: float = 0.2,
        max_backoff: float = 5.0,
        queue_size: int = 10000,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 1.0,
        pool_size: int = 8,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"base_url must be http://host[:port], got {base_url!r}")
        for name, value in (("decide_timeout", decide_timeout), ("outcome_timeout", outcome_timeout)):
            if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        if outcome_retries < 0 or queue_size < 1 or pool_size < 1:
            raise ValueError("outcome_retries must be >= 0, queue_size and pool_size >= 1")
        self.base_url = base_url.rstrip("/")
        self._prefix = parts.path.rstrip("/")
        self._pool = ConnectionPool(parts.hostname, parts.port or 80, pool_size)
        self.decide_timeout = float(decide_timeout)
        self.outcome_timeout = float(outcome_timeout)
        self.outcome_retries = int(outcome_retries)
        self.retry_backoff = float(retry_backoff)
        self.max_backoff = float(max_backoff)
        self._breaker = _Breaker(breaker_threshold, breaker_cooldown)
        self._queue: Deque[Dict[str, Any]] = deque()
        self._queue_size = int(queue_size)
        self._cond = threading.Condition()
        self._pending = 0  # queued plus being sent
        self._closed = False
        self._stop = threading.Event()
        self._worker: Optional[threading.Thread] = None
        self._stats_lock = threading.Lock()
        self._stats: Dict[str, Any] = {
            "decides": 0,
            "fallbacks": 0,
            "reasons": {},
            "outcomes_queued": 0,
            "outcomes_sent": 0,
            "outcomes_failed": 0,
            "outcomes_dropped": 0,
            "outcome_retries": 0,
        }

    # -- decisions -----------------------------------------------------------------------------

    def decide(
        self,
        actions: Sequence[str],
        baseline_action: str,
        context: Optional[Mapping[str, ContextValue]] = None,
        *,
        point: str = "route",
        sticky_key: Optional[str] = None,
        id: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> Decision:
        """Which of ``actions`` to serve. Never raises; never takes longer than the timeout.

        Args:
            actions: the eligible actions for this request.
            baseline_action: what the caller's own rules chose; served on any problem.
            context: what was known before deciding (raw text under ``text``; the service
                hashes it and never stores it).
            point: the decision point (``route``, ``tool``, ``cache``, ...).
            sticky_key: keeps a user in one slice; without it the request is never experimented on.
            id: the caller's trace id, echoed back; joins the outcome.
            timeout: seconds for this call instead of ``decide_timeout``.
        """
        start = time.monotonic()
        self._count("decides")
        try:
            if not self._breaker.allow():
                return self._fallback(baseline_action, id, "circuit_open")
            payload: Dict[str, Any] = {
                "point": point,
                "context": dict(context or {}),
                "actions": list(actions),
                "baselineAction": baseline_action,
            }
            if sticky_key is not None:
                payload["stickyKey"] = sticky_key
            if id is not None:
                payload["id"] = id
            body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        except Exception:  # a context that is not JSON, actions that are not a list, ...
            log.debug("umbra decide: request could not be built", exc_info=True)
            return self._fallback(baseline_action, id, "client_error")
        deadline = start + (self.decide_timeout if timeout is None else timeout)
        try:
            status, data = self._pool.post(self._prefix + "/v1/decide", body, deadline)
        except socket.timeout:
            self._breaker.record(False)
            return self._fallback(baseline_action, id, "timeout")
        except (OSError, HTTPException):
            self._breaker.record(False)
            return self._fallback(baseline_action, id, "connection")
        except Exception:
            log.debug("umbra decide: unexpected failure", exc_info=True)
            self._breaker.record(False)
            return self._fallback(baseline_action, id, "client_error")
        self._breaker.record(True)
        try:
            return self._read_decision(status, data, payload["actions"], baseline_action, id)
        except Exception:
            log.debug("umbra decide: unexpected answer", exc_info=True)
            return self._fallback(baseline_action, id, "invalid_body")

    def _read_decision(self, status: int, data: bytes, actions: Sequence[str], baseline_action: str, id: Optional[str]) -> Decision:
        if status != 200:
            return self._fallback(baseline_action, id, f"http_{status}")
        try:
            answer = json.loads(data.decode("utf-8"))
        except ValueError:
            return self._fallback(baseline_action, id, "invalid_body")
        if not isinstance(answer, dict):
            return self._fallback(baseline_action, id, "invalid_body")
        action = answer.get("action")
        propensity = answer.get("propensity")
        served_by = answer.get("servedBy")
        if (
            not isinstance(action, str)
            or isinstance(propensity, bool)
            or not isinstance(propensity, (int, float))
            or not 0 < propensity <= 1
            or served_by not in SERVED_BY
        ):
            return self._fallback(baseline_action, id, "invalid_body")
        if action not in actions:
            return self._fallback(baseline_action, id, "invalid_action")
        decision = Decision(
            action=action,
            propensity=float(propensity),
            served_by=served_by,
            stage=str(answer.get("stage", "unknown")),
            policy_version=str(answer.get("policyVersion", "unknown")),
            id=str(answer.get("id", id or "")),
            reason=answer.get("reason") if isinstance(answer.get("reason"), str) else None,
            from_service=True,
        )
        if decision.fallback:
            self._count_fallback(f"service_{decision.reason or 'fallback'}")
        return decision

    def _fallback(self, baseline_action: Any, id: Optional[str], reason: str) -> Decision:
        self._count_fallback(reason)
        return Decision(
            action=baseline_action if isinstance(baseline_action, str) else str(baseline_action),
            propensity=1.0,
            served_by="fallback",
            stage="unknown",
            policy_version="baseline",
            id=id if isinstance(id, str) else "",
            reason=reason,
            from_service=False,
        )

    # -- outcomes ------------------------------------------------------------------------------

    def report_outcome(self, id: str, *, reward: Optional[float] = None, outcome: Optional[Mapping[str, Any]] = None) -> bool:
        """Queue an outcome for the background sender. Never blocks, never raises.

        Give ``reward`` in [0, 1], raw ``outcome`` signals (``success``, ``latency_ms``,
        ``cost_usd``, ``cache_hit``, ``tool_ok``, ``guard_flag``, ``feedback``), or both.
        Returns False when the outcome was dropped (queue full, or the client is closed).
        """
        try:
            item: Dict[str, Any] = {"id": id}
            if reward is not None:
                item["reward"] = reward
            if outcome is not None:
                item["outcome"] = dict(outcome)
            with self._cond:
                if self._closed or len(self._queue) >= self._queue_size:
                    self._count("outcomes_dropped")
                    return False
                self._queue.append(item)
                self._pending += 1
                self._cond.notify()
            self._count("outcomes_queued")
            self._ensure_worker()
            return True
        except Exception:
            log.debug("umbra report_outcome: could not queue", exc_info=True)
            self._count("outcomes_dropped")
            return False

    def send_outcome(self, id: str, *, reward: Optional[float] = None, outcome: Optional[Mapping[str, Any]] = None) -> OutcomeResult:
        """Send one outcome now, with retries, in the calling thread. Never raises.

        This is what the background sender does for each queued outcome; call it directly only
        off the request path.
        """
        item: Dict[str, Any] = {"id": id}
        if reward is not None:
            item["reward"] = reward
        if outcome is not None:
            item["outcome"] = dict(outcome)
        return self._send(item)

    def _send(self, item: Dict[str, Any]) -> OutcomeResult:
        try:
            body = json.dumps(item, separators=(",", ":"), allow_nan=False).encode("utf-8")
        except Exception:
            self._count("outcomes_failed")
            return OutcomeResult(ok=False, status=None, attempts=0, reason="client_error")
        status: Optional[int] = None
        reason: Optional[str] = None
        attempts = 0
        while True:
            attempts += 1
            retryable = True
            try:
                status, _ = self._pool.post(self._prefix + "/v1/outcome", body, time.monotonic() + self.outcome_timeout)
                if 200 <= status < 300:
                    self._count("outcomes_sent")
                    return OutcomeResult(ok=True, status=status, attempts=attempts)
                reason = f"http_{status}"
                retryable = status in _RETRYABLE_STATUSES
            except socket.timeout:
                status, reason = None, "timeout"
            except (OSError, HTTPException):
                status, reason = None, "connection"
            except Exception:
                log.debug("umbra outcome: unexpected failure", exc_info=True)
                status, reason, retryable = None, "client_error", False
            if not retryable or attempts > self.outcome_retries:
                break
            self._count("outcome_retries")
            delay = min(self.max_backoff, self.retry_backoff * (2 ** (attempts - 1))) * (0.5 + random.random() / 2)
            if self._stop.wait(delay):
                break
        self._count("outcomes_failed")
        log.debug("umbra outcome for %s not delivered after %d attempts: %s", item.get("id"), attempts, reason)
        return OutcomeResult(ok=False, status=status, attempts=attempts, reason=reason)

    def _ensure_worker(self) -> None:
        if self._worker is not None:
            return
        with self._cond:
            if self._worker is None and not self._closed:
                self._worker = threading.Thread(target=self._run, name="umbra-outcomes", daemon=True)
                self._worker.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop.is_set():
                    self._cond.wait()
                if not self._queue:
                    return
                item = self._queue.popleft()
            try:
                self._send(item)
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Wait until every queued outcome was sent or given up on; False on timeout."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._pending > 0:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 2.0) -> bool:
        """Send what is queued (for at most ``timeout`` seconds), then stop. Returns what ``flush`` returned.

        Outcomes still queued after the timeout are dropped and counted.
        """
        with self._cond:
            self._closed = True
        flushed = self.flush(timeout)
        self._stop.set()
        with self._cond:
            dropped = len(self._queue)
            self._queue.clear()
            self._pending -= dropped
            self._cond.notify_all()
        if dropped:
            self._count("outcomes_dropped", dropped)
        worker = self._worker
        if worker is not None:
            worker.join(timeout=max(0.1, self.outcome_timeout))
        self._pool.close()
        return flushed

    def __enter__(self) -> "UmbraClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- counters ------------------------------------------------------------------------------

    def _count(self, key: str, n: int = 1) -> None:
        with self._stats_lock:
            self._stats[key] += n

    def _count_fallback(self, reason: str) -> None:
        with self._stats_lock:
            self._stats["fallbacks"] += 1
            reasons = self._stats["reasons"]
            reasons[reason] = reasons.get(reason, 0) + 1

    def stats(self) -> Dict[str, Any]:
        """Counters since creation: decides, fallbacks (with reasons), and what became of outcomes."""
        with self._stats_lock:
            out = dict(self._stats)
            out["reasons"] = dict(self._stats["reasons"])
        with self._cond:
            out["outcomes_pending"] = self._pending
        return out
