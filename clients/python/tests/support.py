"""What the client's tests run against: a real ``umbra serve`` (the built CLI, in a throwaway data
directory, on a free loopback port) and a small HTTP proxy in front of it that delays requests
or answers them with errors on demand, so every failure the client must survive is real traffic.
"""

from __future__ import annotations

import http.client
import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[3]
CLI = Path(os.environ.get("UMBRA_CLI", str(REPO / "dist" / "src" / "cli" / "main.js")))
NODE = os.environ.get("UMBRA_NODE", "node")


class LiveUmbra:
    """``umbra serve`` as a child process; ``url`` once started."""

    def __init__(self) -> None:
        self.url = ""
        self.proc: Optional[subprocess.Popen] = None  # type: ignore[type-arg]
        self.data_dir = ""
        self._log: Any = None

    def start(self, timeout: float = 60.0) -> "LiveUmbra":
        if not CLI.exists():
            raise RuntimeError(f"{CLI} is missing: run `npm run build` first")
        self.data_dir = tempfile.mkdtemp(prefix="umbra-py-")
        self._log = open(os.path.join(self.data_dir, "serve.log"), "w+")
        self.proc = subprocess.Popen(
            [NODE, str(CLI), "--data-dir", os.path.join(self.data_dir, "data"), "--json", "serve", "--port", "0", "--host", "127.0.0.1"],
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        end = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            left = end - time.monotonic()
            if left <= 0 or not sel.select(left):
                self.stop()
                raise RuntimeError("umbra serve did not start in time")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self._log.seek(0)
                raise RuntimeError(f"umbra serve exited: {self._log.read()[-2000:]}")
            line += chunk
        sel.close()
        self.url = json.loads(line.decode("utf-8").splitlines()[0])["url"]
        return self

    def get_json(self, path: str) -> Dict[str, Any]:
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def outcomes_received(self) -> int:
        return int(self.get_json("/v1/status")["outcomes"]["received"])

    def freeze(self) -> None:
        """Stop the process (SIGSTOP): connections are accepted by the kernel, nothing answers."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.thaw()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._log is not None:
            self._log.close()
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


class FaultProxy:
    """An HTTP/1.1 proxy to ``upstream`` that misbehaves per path on demand.

    Modes: ``pass``; ``delay:S`` (wait S seconds, then pass); ``status:N`` (answer N with an
    error body); ``garbage`` (200 with a body that is not JSON); ``json:TEXT`` (200 with TEXT);
    ``close`` (pass, then close the kept-alive connection without saying so).
    ``script(path, modes)`` queues modes for the next requests; ``mode(path, m)`` sets the one
    used when the script is empty.
    """

    def __init__(self, upstream: str) -> None:
        u = urlsplit(upstream)
        self._up = (u.hostname or "127.0.0.1", u.port or 80)
        self._lock = threading.Lock()
        self._scripts: Dict[str, List[str]] = {}
        self._modes: Dict[str, str] = {}
        self.counts: Dict[str, int] = {}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def _reply(self, status: int, data: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            def _handle(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                mode = proxy._next(self.path)
                if mode.startswith("delay:"):
                    time.sleep(float(mode[6:]))
                    mode = "pass"
                if mode.startswith("status:"):
                    self._reply(int(mode[7:]), b'{"error":{"code":"E_OVERLOADED","message":"injected by the test proxy"}}')
                elif mode == "garbage":
                    self._reply(200, b"<html>not json</html>", "text/html")
                elif mode.startswith("json:"):
                    self._reply(200, mode[5:].encode("utf-8"))
                else:
                    conn = http.client.HTTPConnection(*proxy._up, timeout=10)
                    try:
                        conn.request(method, self.path, body=body or None, headers={"Content-Type": "application/json"} if body else {})
                        resp = conn.getresponse()
                        self._reply(resp.status, resp.read(), resp.getheader("Content-Type") or "application/json")
                    finally:
                        conn.close()
                    if mode == "close":
                        self.close_connection = True

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up on a delayed answer is expected here

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    def _next(self, path: str) -> str:
        with self._lock:
            self.counts[path] = self.counts.get(path, 0) + 1
            script = self._scripts.get(path)
            if script:
                return script.pop(0)
            return self._modes.get(path, "pass")

    def script(self, path: str, modes: List[str]) -> None:
        with self._lock:
            self._scripts.setdefault(path, []).extend(modes)

    def mode(self, path: str, mode: str) -> None:
        with self._lock:
            self._modes[path] = mode

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self._modes.clear()
            self.counts.clear()

    def start(self) -> "FaultProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def wait_until(predicate: Any, timeout: float = 10.0, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
