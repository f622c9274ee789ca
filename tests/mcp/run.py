#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make mcp-test: the official MCP conformance suite and the official
TypeScript SDK against a real sandpool.

It starts `sandpool serve` on loopback (no API key: the suite cannot send
headers), runs each conformance scenario that applies to a server without
the suite's fixture tools against /mcp, reads every checks.json and fails
on any FAILURE check or non-zero exit; then runs sdk_client.mjs over HTTP
and over stdio (`sandpool mcp`).  Node 22 and the pinned packages come from
tests/mcp/node_modules (npm ci); nothing here needs the network.
"""
import json
import os
import pathlib
import random
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import conftest  # noqa: E402

SCENARIOS = ["server-initialize", "ping", "tools-list", "logging-set-level",
             "server-sse-multiple-streams", "server-sse-polling",
             "dns-rebinding-protection"]
BIN = HERE / "node_modules" / ".bin"


def node_env():
    e = dict(os.environ)
    e["PATH"] = str(BIN) + os.pathsep + e.get("PATH", "")
    return e


def run_scenario(url, name, out):
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    p = subprocess.run([str(BIN / "conformance"), "server", "--url", url,
                        "--scenario", name, "-o", str(d)],
                       env=node_env(), capture_output=True, text=True,
                       timeout=300)
    checks = []
    for f in d.rglob("checks.json"):
        checks += json.loads(f.read_text())
    count = {}
    for c in checks:
        count[c["status"]] = count.get(c["status"], 0) + 1
    failed = [c for c in checks if c["status"] == "FAILURE"]
    ok = p.returncode == 0 and not failed and checks
    summary = ", ".join("%d %s" % (n, s) for s, n in sorted(count.items()))
    print("%-4s %-30s %s" % ("PASS" if ok else "FAIL", name, summary))
    for c in failed:
        print("     FAILURE %s: %s" % (c["id"], c.get("errorMessage")))
    for c in checks:
        if c["status"] == "WARNING":
            print("     warning %s: %s" % (c["id"], c.get("errorMessage")))
    if not ok and not failed:
        print(p.stdout[-3000:], p.stderr[-3000:])
    return bool(ok)


def sdk(args):
    p = subprocess.run([str(BIN / "node"), str(HERE / "sdk_client.mjs")]
                       + args, env=node_env(), capture_output=True,
                       text=True, timeout=300, cwd=str(HERE))
    print(p.stdout, end="")
    if p.returncode != 0:
        print(p.stderr[-4000:])
    return p.returncode == 0


def main():
    results = []
    v = subprocess.run([str(BIN / "node"), "--version"], env=node_env(),
                       capture_output=True, text=True)
    print("node", v.stdout.strip())
    out = pathlib.Path(tempfile.mkdtemp(prefix="sp-conformance-"))
    srv = conftest.Server()
    try:
        url = "http://127.0.0.1:%d/mcp" % srv.port
        for name in SCENARIOS:
            results.append(run_scenario(url, name, out))
        results.append(sdk(["http", url]))
        conf = out / "stdio.conf"
        conf.write_text("ready = 1\nsandbox.uid_base = %d\n" % (
            1000000000 + random.randrange(0, 20) * 134217728))
        results.append(sdk(["stdio", str(conftest.SANDPOOL), "mcp",
                            "--config", str(conf)]))
    finally:
        srv.stop()
        srv.cleanup()
    ok = all(results)
    print("mcp-test: %d passed, %d failed" % (
        results.count(True), results.count(False)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
