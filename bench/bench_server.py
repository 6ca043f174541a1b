"""Load figures for ``cptrules serve``: requests/s and latency of POST /v1/check.

Run by hand (not in CI); loopback only, bounded in count and time, stops by itself:

    .venv/bin/python bench/bench_server.py [--workers 1] [--requests 3000] [--seconds 15]

It starts ``python -m cptrules serve`` on 127.0.0.1 (a free port), waits for
``/healthz``, then for 1, 8 and 64 concurrent clients (threads, each on its own
keep-alive connection, real HTTP over loopback) sends a 4-line Medicare visit to
``POST /v1/check`` until ``--requests`` answers or ``--seconds`` have passed,
whichever comes first, after a short warm-up. It prints requests/s, p50 and p99
latency in milliseconds and the number of non-200 answers, then the resident
memory (VmRSS) of each server process, and stops the server with SIGTERM.

The clients run in this process on the same machine as the server: on 2 cores
they take CPU from it, so the figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

VISIT = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT"},
    "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-05"},
    "total_treatment_minutes": 60,
    "lines": [
        {"code": "97110", "minutes": 23, "modifiers": ["GP"]},
        {"code": "97112", "minutes": 15, "modifiers": ["GP"]},
        {
            "code": "97140",
            "minutes": 10,
            "modifiers": ["GP"],
            "regions": ["lumbar"],
            "techniques": ["joint_mobilization"],
        },
        {"code": "97530", "minutes": 8, "modifiers": ["GP"]},
    ],
}
BODY = json.dumps(VISIT).encode()
HEADERS = {"Content-Type": "application/json"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _is_worker(pid: int) -> bool:
    """True for a process that serves (uvicorn's workers are spawned children; a
    multiprocessing helper such as the resource tracker is not one)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"resource_tracker" not in cmd


def _load(port: int, clients: int, requests: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    budget = [requests]
    deadline = time.monotonic() + seconds

    def client() -> None:
        nonlocal failures
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        own: list[float] = []
        bad = 0
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/v1/check", BODY, HEADERS)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            own.append(time.perf_counter() - t0)
            bad += not ok
        conn.close()
        with lock:
            latencies.extend(own)
            failures += bad

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "rps": n / elapsed if elapsed else 0.0,
        "p50": latencies[n // 2] * 1000 if n else 0.0,
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        "failures": failures,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--requests", type=int, default=3000, help="most requests per level")
    ap.add_argument("--seconds", type=float, default=15.0, help="most seconds per level")
    args = ap.parse_args()
    if not (1 <= args.workers <= 16 and 1 <= args.requests <= 100_000 and args.seconds <= 120):
        ap.error("bounded on purpose: workers 1-16, requests 1-100000, seconds <= 120")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cptrules",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/healthz") == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                print("the server did not start", file=sys.stderr)
                return 1
            time.sleep(0.1)
        _load(port, 4, 200, 10)  # warm-up: every worker's engine and memos
        print(f"POST /v1/check, 4-line visit, {args.workers} worker(s)")
        heads = ("clients", "requests", "req/s", "p50 ms", "p99 ms", "non-200")
        print(" ".join(f"{h:>9}" for h in heads))
        for clients in (1, 8, 64):
            r = _load(port, clients, args.requests, args.seconds)
            print(
                f"{clients:>9} {r['requests']:>9.0f} {r['rps']:>9.0f} {r['p50']:>9.2f} "
                f"{r['p99']:>9.2f} {r['failures']:>9.0f}"
            )
        pids = _children(server.pid) if args.workers > 1 else [server.pid]
        for pid in pids or [server.pid]:
            rss = _rss_kib(pid)
            if rss is not None:
                what = "worker" if _is_worker(pid) else "helper process"
                print(f"memory of {what} {pid}: {rss / 1024:.1f} MiB resident")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
