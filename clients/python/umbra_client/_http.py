"""HTTP/1.1 keep-alive connections whose every socket operation respects one wall-clock deadline.

``http.client`` alone bounds each connect, send and receive by the socket timeout, so a server
that answers slowly, a little at a time, could hold a caller far past its timeout. Here the
socket re-arms its timeout before every operation with what is left until the deadline, so the
whole exchange (connect, send, status line, headers, body) ends by the deadline.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

# Idle connections older than this are not reused: the server closes idle keep-alive
# connections after 65 s, and reusing one it is closing costs a failed attempt.
_MAX_IDLE_S = 30.0

# Failures that mean "the server closed this kept-alive connection before reading our request".
_STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class DeadlineExceeded(socket.timeout):
    """Raised when the deadline passed before an operation could start."""


class _DeadlineSocket(socket.socket):
    """A socket whose timeout before each operation is the time left until ``deadline``."""

    deadline: float = float("inf")

    def _arm(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("deadline passed")
        self.settimeout(left)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:  # type: ignore[override]
        self._arm()
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._arm()
        return super().recv(bufsize, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:  # type: ignore[override]
        self._arm()
        super().sendall(data, flags)

    def send(self, data: Any, flags: int = 0) -> int:  # type: ignore[override]
        self._arm()
        return super().send(data, flags)


class _Connection(http.client.HTTPConnection):
    """An HTTPConnection that connects within the deadline and keeps it on its socket."""

    deadline: float = float("inf")
    idle_since: float = 0.0

    def set_deadline(self, deadline: float) -> None:
        self.deadline = deadline
        if isinstance(self.sock, _DeadlineSocket):
            self.sock.deadline = deadline

    def connect(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("deadline passed before connecting")
        raw = socket.create_connection((self.host, self.port), timeout=left)
        sock = _DeadlineSocket(raw.family, raw.type, raw.proto, fileno=raw.detach())
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.deadline = self.deadline
        self.sock = sock


class ConnectionPool:
    """A few kept-alive connections to one server, shared by the caller's threads."""

    def __init__(self, host: str, port: int, size: int = 8) -> None:
        self._host = host
        self._port = port
        self._size = size
        self._idle: List[_Connection] = []
        self._lock = threading.Lock()

    def _take(self) -> Tuple[_Connection, bool]:
        now = time.monotonic()
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if now - conn.idle_since < _MAX_IDLE_S:
                    return conn, True
                conn.close()
        return _Connection(self._host, self._port), False

    def _give(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def post(self, path: str, body: bytes, deadline: float, headers: Optional[Dict[str, str]] = None) -> Tuple[int, bytes]:
        """POST ``body`` and return (status, response body), all within ``deadline`` (monotonic).

        Raises ``socket.timeout`` (including ``DeadlineExceeded``) or ``OSError`` /
        ``http.client.HTTPException`` on failure. A kept-alive connection that the server had
        already closed is replaced once by a fresh one, deadline permitting.
        """
        all_headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if headers:
            all_headers.update(headers)
        for _attempt in range(2):
            conn, reused = self._take()
            keep = False
            try:
                conn.set_deadline(deadline)
                conn.request("POST", path, body=body, headers=all_headers)
                resp = conn.getresponse()
                data = resp.read()
                keep = not resp.will_close
                return resp.status, data
            except _STALE_CONNECTION_ERRORS:
                if not reused:
                    raise
                # the server went away or restarted: the other idle connections are stale too
                self.close()
            finally:
                if keep:
                    self._give(conn)
                else:
                    conn.close()
        raise http.client.RemoteDisconnected("the server closed the connection")
