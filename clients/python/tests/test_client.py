"""The Python client against a live ``umbra serve``: served decisions and delivered outcomes, and
every failure Alice must never feel: the service down, frozen or slow, answering errors or
nonsense, a kept-alive connection closed under it, a full outcome queue, bad input."""

from __future__ import annotations

import ast
import socket
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from umbra_client import Decision, UmbraClient  # noqa: E402

from support import FaultProxy, LiveUmbra, wait_until  # noqa: E402

ACTIONS = ["micro", "planner", "deep"]
CONTEXT = {"text": "Vad blir vädret i Göteborg?", "lang": "sv", "user_tier": "free"}


def free_port() -> int:
    """A loopback port nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class AgainstLiveServer(unittest.TestCase):
    """One live server and a fault proxy in front of it for the whole class."""

    server: LiveUmbra
    proxy: FaultProxy

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = LiveUmbra().start()
        cls.proxy = FaultProxy(cls.server.url).start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.proxy.stop()
        cls.server.stop()

    def setUp(self) -> None:
        self.proxy.reset()
        self.clients: list = []

    def tearDown(self) -> None:
        for c in self.clients:
            c.close(timeout=5)

    def client(self, url: str = "", **kw: object) -> UmbraClient:
        c = UmbraClient(url or self.server.url, **kw)  # type: ignore[arg-type]
        self.clients.append(c)
        return c

    def test_decide_is_served_by_the_service(self) -> None:
        c = self.client(decide_timeout=2.0)
        d = c.decide(ACTIONS, "planner", CONTEXT, point="route", sticky_key="user-1", id="req-1")
        self.assertIsInstance(d, Decision)
        self.assertTrue(d.from_service)
        self.assertIn(d.action, ACTIONS)
        self.assertIn(d.served_by, ("production", "canary", "control", "fallback"))
        self.assertEqual(d.id, "req-1")
        self.assertTrue(0 < d.propensity <= 1)
        # kept-alive connections are reused: many decisions, all answered by the service
        for i in range(20):
            self.assertTrue(c.decide(ACTIONS, "micro", {"lang": "en"}, id=f"req-k{i}", timeout=2.0).from_service)
        self.assertEqual(c.stats()["decides"], 21)

    def test_outcomes_reach_the_service_in_the_background(self) -> None:
        c = self.client()
        before = self.server.outcomes_received()
        for i in range(25):
            self.assertTrue(c.report_outcome(f"req-o{i}", outcome={"success": True, "latency_ms": 800 + i}))
        self.assertTrue(c.report_outcome("req-o-r", reward=0.8))
        self.assertTrue(c.flush(timeout=20))
        self.assertEqual(c.stats()["outcomes_sent"], 26)
        self.assertEqual(self.server.outcomes_received() - before, 26)

    def test_outcome_is_retried_through_server_errors(self) -> None:
        c = self.client(self.proxy.url, retry_backoff=0.01)
        before = self.server.outcomes_received()
        self.proxy.script("/v1/outcome", ["status:503", "status:500"])
        r = c.send_outcome("req-retry", reward=0.5)
        self.assertTrue(r.ok)
        self.assertEqual(r.attempts, 3)
        self.assertEqual(self.proxy.counts["/v1/outcome"], 3)
        self.assertEqual(c.stats()["outcome_retries"], 2)
        self.assertEqual(self.server.outcomes_received() - before, 1)

    def test_outcome_refused_by_the_service_is_not_retried(self) -> None:
        c = self.client(retry_backoff=0.01)
        r = c.send_outcome("req-bad", reward=1.5)  # outside [0, 1]: the service answers 400
        self.assertFalse(r.ok)
        self.assertEqual((r.status, r.attempts, r.reason), (400, 1, "http_400"))
        self.assertEqual(c.stats()["outcomes_failed"], 1)
        self.assertEqual(c.stats()["outcome_retries"], 0)

    def test_error_answers_fall_back_to_the_rule_choice(self) -> None:
        c = self.client(decide_timeout=2.0)
        # the service itself refuses a baseline that is not eligible: 400, and the rules serve
        d = c.decide(["micro", "planner"], "deep", {"lang": "en"})
        self.assertEqual((d.action, d.served_by, d.reason, d.from_service), ("deep", "fallback", "http_400", False))
        p = self.client(self.proxy.url, decide_timeout=2.0, breaker_threshold=0)
        for mode, reason in (
            ("status:503", "http_503"),
            ("status:500", "http_500"),
            ("garbage", "invalid_body"),
            ('json:{"action": 3}', "invalid_body"),
            ('json:{"id":"x","action":"gpu","propensity":1,"servedBy":"production","stage":"production","policyVersion":"v"}', "invalid_action"),
        ):
            self.proxy.script("/v1/decide", [mode])
            d = p.decide(ACTIONS, "planner", CONTEXT)
            self.assertEqual((d.action, d.reason, d.propensity, d.policy_version), ("planner", reason, 1.0, "baseline"), mode)
        self.assertTrue(p.decide(ACTIONS, "planner", CONTEXT).from_service)  # and served again once it behaves

    def test_a_slow_service_costs_at_most_the_deadline(self) -> None:
        c = self.client(self.proxy.url, decide_timeout=0.1, breaker_threshold=0)
        self.proxy.mode("/v1/decide", "delay:1.5")
        t0 = time.monotonic()
        d = c.decide(ACTIONS, "deep", CONTEXT, id="req-slow")
        elapsed = time.monotonic() - t0
        self.assertEqual((d.action, d.reason, d.id), ("deep", "timeout", "req-slow"))
        self.assertLess(elapsed, 1.0)  # the proxy held the answer for 1.5 s
        self.proxy.mode("/v1/decide", "delay:0.01")
        self.assertTrue(c.decide(ACTIONS, "deep", CONTEXT, timeout=2.0).from_service)

    def test_a_connection_closed_while_kept_alive_is_replaced(self) -> None:
        c = self.client(self.proxy.url, decide_timeout=2.0, breaker_threshold=0)
        self.proxy.mode("/v1/decide", "close")  # every answer closes the connection behind it
        for _ in range(5):
            d = c.decide(ACTIONS, "micro", CONTEXT)
            self.assertTrue(d.from_service, d)
        self.assertEqual(c.stats()["fallbacks"], 0)

    def test_a_full_queue_drops_instead_of_blocking(self) -> None:
        c = self.client(self.proxy.url, queue_size=5, outcome_timeout=2.0, outcome_retries=0)
        self.proxy.mode("/v1/outcome", "delay:1.0")
        t0 = time.monotonic()
        results = [c.report_outcome(f"req-q{i}", reward=0.1) for i in range(50)]
        self.assertLess(time.monotonic() - t0, 0.5)
        self.assertGreaterEqual(results.count(False), 44)  # one may be in flight, five queued
        self.assertEqual(c.stats()["outcomes_dropped"], results.count(False))
        self.proxy.mode("/v1/outcome", "pass")
        self.assertTrue(c.flush(timeout=20))
        self.assertEqual(c.stats()["outcomes_sent"], results.count(True))

    def test_bad_input_never_raises(self) -> None:
        c = self.client(decide_timeout=2.0)
        d = c.decide(ACTIONS, "planner", {"when": object()})  # not JSON
        self.assertEqual((d.action, d.reason), ("planner", "client_error"))
        d = c.decide(ACTIONS, "planner", {"x": float("nan")})
        self.assertEqual((d.action, d.reason), ("planner", "client_error"))
        d = c.decide(None, "planner")  # type: ignore[arg-type]
        self.assertEqual(d.action, "planner")
        self.assertTrue(c.report_outcome("x", outcome={"when": object()}))  # queued; fails in the sender
        self.assertTrue(c.flush(timeout=5))
        self.assertEqual((c.stats()["outcomes_failed"], c.stats()["outcome_retries"]), (1, 0))

    def test_close_sends_what_is_queued(self) -> None:
        c = UmbraClient(self.server.url)
        before = self.server.outcomes_received()
        for i in range(10):
            c.report_outcome(f"req-c{i}", reward=0.3)
        self.assertTrue(c.close(timeout=20))
        self.assertEqual(self.server.outcomes_received() - before, 10)
        self.assertFalse(c.report_outcome("after-close", reward=0.3))  # closed: dropped, not raised


class WhenTheServiceIsDownOrFrozen(unittest.TestCase):
    """A server of its own: this class stops it (SIGSTOP) and lets it go again."""

    def setUp(self) -> None:
        self.clients: list = []

    def tearDown(self) -> None:
        for c in self.clients:
            c.close(timeout=5)

    def test_down_service_serves_the_rules_at_once_then_opens_the_breaker(self) -> None:
        c = UmbraClient(f"http://127.0.0.1:{free_port()}", decide_timeout=0.5, breaker_threshold=3, breaker_cooldown=60, retry_backoff=0.01, outcome_retries=2)
        self.clients.append(c)
        reasons = [c.decide(ACTIONS, "micro", CONTEXT).reason for _ in range(6)]
        self.assertEqual(reasons, ["connection"] * 3 + ["circuit_open"] * 3)
        self.assertTrue(c.report_outcome("req-down", reward=1.0))  # queued, not raised
        self.assertTrue(c.flush(timeout=10))
        s = c.stats()
        self.assertEqual((s["outcomes_failed"], s["outcome_retries"], s["fallbacks"]), (1, 2, 6))

    def test_frozen_service_costs_the_deadline_and_outcomes_wait_for_it(self) -> None:
        server = LiveUmbra().start()
        try:
            c = UmbraClient(server.url, decide_timeout=0.1, outcome_timeout=1.0, outcome_retries=20, retry_backoff=0.05, max_backoff=0.2, breaker_threshold=2, breaker_cooldown=0.2)
            self.clients.append(c)
            self.assertTrue(c.decide(ACTIONS, "deep", CONTEXT, timeout=5.0).from_service)
            before = server.outcomes_received()
            server.freeze()
            try:
                t0 = time.monotonic()
                d = c.decide(ACTIONS, "deep", CONTEXT)
                self.assertLess(time.monotonic() - t0, 0.6)
                self.assertEqual((d.action, d.reason), ("deep", "timeout"))
                t0 = time.monotonic()
                for i in range(100):
                    self.assertTrue(c.report_outcome(f"req-f{i}", outcome={"success": i % 2 == 0}))
                self.assertLess(time.monotonic() - t0, 0.5)  # never waits for the frozen service
                self.assertFalse(c.flush(timeout=0.3))
            finally:
                server.thaw()
            self.assertTrue(c.flush(timeout=30))
            self.assertEqual(c.stats()["outcomes_sent"], 100)
            # an outcome that timed out may still have arrived: at least every one, maybe twice
            self.assertTrue(wait_until(lambda: server.outcomes_received() - before >= 100))
            self.assertTrue(wait_until(lambda: c.decide(ACTIONS, "deep", CONTEXT, timeout=2.0).from_service, timeout=5))
        finally:
            server.stop()


class SourceCompatibility(unittest.TestCase):
    def test_parses_as_python_3_9(self) -> None:
        pkg = Path(__file__).resolve().parents[1] / "umbra_client"
        files = sorted(pkg.glob("*.py"))
        self.assertGreaterEqual(len(files), 3)
        for f in files:
            ast.parse(f.read_text(encoding="utf-8"), filename=str(f), feature_version=(3, 9))
        with self.assertRaises(SyntaxError):
            ast.parse("match x:\n    case 1:\n        pass\n", feature_version=(3, 9))


if __name__ == "__main__":
    unittest.main()
