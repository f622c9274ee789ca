#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Latency of executions, with peers measured in the same run.

  live   `1+1` on a live session over one HTTP keep-alive connection
         peer: GET /health on the same connection (the HTTP floor)
  new    first `1+1` on a new identifier (warm pool as configured)
         peer: a cold `python3 -c 'import numpy, pandas, matplotlib'`
               (what a session without sandpool's pool would pay)

Prints medians and p99 in ms and the ratios.  Usage:
  bench/exec_latency.py [--build DIR] [--n N] [--ready R]
"""
import argparse
import http.client
import json
import os
import pathlib
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def start_server(build, ready):
    d = pathlib.Path(tempfile.mkdtemp(prefix="sp-bench-"))
    conf = d / "sandpool.conf"
    conf.write_text("ready = %d\nmax_starting = 2\n" % ready)
    log = open(d / "server.log", "wb")
    p = subprocess.Popen([str(build / "sandpool"), "serve", "--config",
                          str(conf), "--state-dir", str(d / "state"),
                          "--listen", "127.0.0.1:0"],
                         stderr=log, stdout=subprocess.DEVNULL)
    port = None
    for _ in range(600):
        m = re.search(r"port (\d+)\)", (d / "server.log").read_text())
        if m:
            port = int(m.group(1))
            break
        time.sleep(0.05)
    if port is None:
        raise SystemExit("server did not start: " + (d / "server.log").read_text())
    return p, port, d


def wait_ready(conn):
    for _ in range(1200):
        conn.request("GET", "/health/startup")
        r = conn.getresponse()
        r.read()
        if r.status == 200:
            return
        time.sleep(0.05)
    raise SystemExit("pool never became ready")


def wait_refilled(conn, ready):
    """Until /metrics shows `ready` warm sandboxes in the default pool."""
    pat = re.compile(r'sandpool_sessions\{pool="default",state="ready"\} (\d+)')
    for _ in range(2400):
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        text = r.read().decode()
        m = pat.search(text)
        if r.status != 200 or m is None:
            time.sleep(3)          # no metrics: give the refill time
            return
        if int(m.group(1)) >= ready:
            return
        time.sleep(0.02)
    raise SystemExit("pool never refilled")


def execute(conn, ident, code="1+1"):
    body = json.dumps({"properties": {"codeInputType": "inline",
                                      "executionType": "synchronous",
                                      "code": code}})
    conn.request("POST", "/code/execute?identifier=%s&api-version="
                 "2024-02-02-preview" % ident, body=body,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    assert r.status == 200, data
    out = json.loads(data)["properties"]
    assert out["result"] == 2, out
    return out


def timed(fn, n):
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t) * 1000.0)
    return xs


def row(name, xs, peer_name, peer):
    m, pm = statistics.median(xs), statistics.median(peer)
    print("%-34s p50 %8.3f ms  p99 %8.3f ms" % (name, m, pct(xs, 99)))
    print("%-34s p50 %8.3f ms  p99 %8.3f ms" % ("  peer: " + peer_name, pm,
                                                pct(peer, 99)))
    print("%-34s %.2fx" % ("  ratio (p50 / peer p50)", m / pm))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--new", type=int, default=20)
    ap.add_argument("--ready", type=int, default=2)
    a = ap.parse_args()
    build = pathlib.Path(a.build)
    p, port, d = start_server(build, a.ready)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        wait_ready(c)
        execute(c, "bench-live")
        for _ in range(20):
            execute(c, "bench-live")

        def health():
            c.request("GET", "/health")
            r = c.getresponse()
            r.read()
        live = timed(lambda: execute(c, "bench-live"), a.n)
        floor = timed(health, a.n)
        print("sandpool exec latency, n=%d live, %d new, ready=%d" %
              (a.n, a.new, a.ready))
        row("live session 1+1 (HTTP keep-alive)", live, "GET /health",
            floor)

        new = []
        for i in range(a.new):
            wait_refilled(c, a.ready)  # measure with the pool refilled
            t = time.perf_counter()
            execute(c, "bench-new-%d" % i)
            new.append((time.perf_counter() - t) * 1000.0)
        cold = timed(lambda: subprocess.run(
            ["/usr/bin/python3", "-c",
             "import numpy, pandas, matplotlib; 1+1"], check=True),
            max(5, a.new // 2))
        row("new identifier -> first 1+1", new,
            "cold python3 with numpy/pandas/mpl", cold)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(60)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
