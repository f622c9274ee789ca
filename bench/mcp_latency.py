#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Round trip of `tools/call execute_python` for `1+1` over MCP, beside the
REST execute measured in the same run on the same machine.

  rest   Gen1 POST code/execute `1+1` on a live session, one HTTP
         keep-alive connection (the peer: what MCP adds on top of it)
  http   MCP Streamable HTTP: tools/call on an initialized MCP session,
         one keep-alive connection, JSON answers
  stdio  `sandpool mcp` (embedded pool): one line in, one line out

Prints median and p99 in ms and the ratios to REST.  Usage:
  bench/mcp_latency.py [--build DIR] [--n N]
"""
import argparse
import http.client
import json
import pathlib
import random
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def uid_base():
    return 1000000000 + random.randrange(0, 20) * 134217728


def start_server(build, d):
    conf = d / "serve.conf"
    conf.write_text("ready = 1\nmax_starting = 2\nsandbox.uid_base = %d\n"
                    % uid_base())
    log = open(d / "server.log", "wb")
    p = subprocess.Popen([str(build / "sandpool"), "serve", "--config",
                          str(conf), "--state-dir", str(d / "state"),
                          "--listen", "127.0.0.1:0"],
                         stderr=log, stdout=subprocess.DEVNULL)
    for _ in range(600):
        m = re.search(r"port (\d+)\)", (d / "server.log").read_text())
        if m:
            return p, int(m.group(1))
        time.sleep(0.05)
    raise SystemExit("server did not start: "
                     + (d / "server.log").read_text())


def timed(fn, n, warm=20):
    for _ in range(warm):
        fn()
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t) * 1000.0)
    return xs


def bench_rest(port, n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"properties": {"codeInputType": "inline",
                                      "executionType": "synchronous",
                                      "code": "1+1"}})

    def one():
        c.request("POST", "/code/execute?identifier=bench-rest&api-version="
                  "2024-02-02-preview", body=body,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        out = json.loads(r.read())
        assert out["properties"]["result"] == 2, out
    return timed(one, n)


def bench_http(port, n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Content-Type": "application/json",
         "Accept": "application/json, text/event-stream"}
    c.request("POST", "/mcp", body=json.dumps(
        {"jsonrpc": "2.0", "id": 0, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "bench", "version": "1"}}}),
        headers=h)
    r = c.getresponse()
    r.read()
    h["Mcp-Session-Id"] = r.getheader("Mcp-Session-Id")
    h["MCP-Protocol-Version"] = "2025-11-25"
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "execute_python",
                                  "arguments": {"code": "1+1"}}})

    def one():
        c.request("POST", "/mcp", body=body, headers=h)
        r = c.getresponse()
        out = json.loads(r.read())
        assert out["result"]["structuredContent"]["result"] == "2", out
    return timed(one, n)


def bench_stdio(build, d, n):
    conf = d / "mcp.conf"
    conf.write_text("ready = 1\nmax_starting = 2\nsandbox.uid_base = %d\n"
                    % uid_base())
    p = subprocess.Popen([str(build / "sandpool"), "mcp", "--config",
                          str(conf), "--log-level", "warn"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=open(d / "mcp.log", "wb"))

    def rpc(msg):
        p.stdin.write(json.dumps(msg).encode() + b"\n")
        p.stdin.flush()
        return json.loads(p.stdout.readline())
    rpc({"jsonrpc": "2.0", "id": 0, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "bench", "version": "1"}}})
    msg = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": "execute_python",
                      "arguments": {"code": "1+1"}}}

    def one():
        out = rpc(msg)
        assert out["result"]["structuredContent"]["result"] == "2", out
    xs = timed(one, n)
    p.stdin.close()
    p.wait(60)
    return xs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--n", type=int, default=300)
    a = ap.parse_args()
    build = pathlib.Path(a.build)
    d = pathlib.Path(tempfile.mkdtemp(prefix="sp-bench-mcp-"))
    p, port = start_server(build, d)
    try:
        res = {"rest": bench_rest(port, a.n), "http": bench_http(port, a.n),
               "stdio": bench_stdio(build, d, a.n)}
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(60)
        shutil.rmtree(d, ignore_errors=True)
    base = statistics.median(res["rest"])
    print("`1+1` round trip, n=%d each (ms)" % a.n)
    print("%-6s %8s %8s %10s" % ("", "median", "p99", "vs REST"))
    for k in ("rest", "http", "stdio"):
        m = statistics.median(res[k])
        print("%-6s %8.3f %8.3f %9.2fx" % (k, m, pct(res[k], 99), m / base))


if __name__ == "__main__":
    main()
