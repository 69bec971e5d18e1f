"""Decide round trips through the Umbra Python client and through a bare ``http.client`` call,
against the same live server, interleaved in rounds so that drift of the machine hits both alike.

Reads a JSON spec on stdin: {"url", "calls", "rounds", "warmup", "request": {...}, "client_path"}.
Writes one JSON object on stdout: per-call latencies in microseconds for each way, and counts.
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from typing import Any, Dict, List
from urllib.parse import urlsplit


def main() -> None:
    spec: Dict[str, Any] = json.load(sys.stdin)
    sys.path.insert(0, spec["client_path"])
    from umbra_client import UmbraClient

    req = spec["request"]
    body = json.dumps(req, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    u = urlsplit(spec["url"])
    bare = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    client = UmbraClient(spec["url"], decide_timeout=5.0, breaker_threshold=0)

    def bare_call() -> str:
        bare.request("POST", "/v1/decide", body=body, headers={"Content-Type": "application/json"})
        resp = bare.getresponse()
        answer = json.loads(resp.read())
        if resp.status != 200:
            raise RuntimeError(f"bare call answered {resp.status}")
        return str(answer["action"])

    def client_call() -> str:
        d = client.decide(req["actions"], req["baselineAction"], req["context"], point=req["point"], sticky_key=req["stickyKey"], id=req["id"])
        return d.action if d.from_service else ""

    ways = {"bare": bare_call, "client": client_call}
    out: Dict[str, List[float]] = {"bare": [], "client": []}
    not_served = 0
    for _ in range(spec["warmup"]):
        bare_call()
        client_call()
    for r in range(spec["rounds"]):
        order = ["bare", "client"] if r % 2 == 0 else ["client", "bare"]
        for name in order:
            call = ways[name]
            for _ in range(spec["calls"]):
                t0 = time.perf_counter_ns()
                action = call()
                out[name].append((time.perf_counter_ns() - t0) / 1000)
                if action == "":
                    not_served += 1
    client.close()
    bare.close()
    json.dump({"latencyUs": out, "notServed": not_served, "python": sys.version.split()[0]}, sys.stdout)


if __name__ == "__main__":
    main()
