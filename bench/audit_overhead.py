#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Throughput of trivial executions with the audit log on and off, in the
same run (issue 6: "a burst of 1,000 executions must not slow the
executions").

Two servers run side by side from the same build: one with
audit.enabled = true (the default), one with audit.enabled = false.  For
each round, C client processes (one keep-alive connection and one session
each) run `1+1` against one server for T seconds, then against the other;
the order alternates between rounds, so drift hits both alike.  Prints
executions per second per round, the medians and the overhead of audit
(1 - on/off), then checks that the audited server wrote one row per
execution and dropped none.

  bench/audit_overhead.py [--build DIR] [--clients C] [--seconds T]
                          [--rounds R]
"""
import argparse
import http.client
import json
import multiprocessing as mp
import pathlib
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
V = "2025-02-02-preview"


def start(build, audit, ready):
    d = pathlib.Path(tempfile.mkdtemp(prefix="sp-bench-audit-"))
    conf = d / "sandpool.conf"
    conf.write_text("ready = %d\nmax_starting = 4\npreload =\n"
                    "log_level = warn\naudit.enabled = %s\n"
                    % (ready, "true" if audit else "false"))
    log = open(d / "server.log", "wb")
    p = subprocess.Popen([str(build / "sandpool"), "serve", "--config",
                          str(conf), "--state-dir", str(d / "state"),
                          "--listen", "127.0.0.1:0",
                          "--log-level", "info"],
                         stderr=log, stdout=subprocess.DEVNULL)
    for _ in range(600):
        m = re.search(r"port (\d+)\)", (d / "server.log").read_text())
        if m:
            break
        time.sleep(0.05)
    else:
        raise SystemExit("server did not start:\n"
                         + (d / "server.log").read_text())
    port = int(m.group(1))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(1200):
        c.request("GET", "/health/startup")
        r = c.getresponse()
        r.read()
        if r.status == 200:
            break
        time.sleep(0.05)
    c.close()
    return {"proc": p, "port": port, "dir": d, "audit": audit}


def stop(s):
    s["proc"].send_signal(signal.SIGTERM)
    s["proc"].wait(60)


def client(port, ident, seconds, start_at, out):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    body = json.dumps({"code": "1+1"})
    path = "/executions?identifier=%s&api-version=%s" % (ident, V)
    hdr = {"Content-Type": "application/json"}
    # Warm the session before the clock starts.
    c.request("POST", path, body, hdr)
    c.getresponse().read()
    while time.time() < start_at:
        time.sleep(0.001)
    n, end = 0, start_at + seconds
    while time.time() < end:
        c.request("POST", path, body, hdr)
        r = c.getresponse()
        data = r.read()
        if r.status != 200 or b'"Succeeded"' not in data:
            raise SystemExit("bad reply %d %r" % (r.status, data[:200]))
        n += 1
    c.close()
    out.put(n)


def measure(s, clients, seconds, tag):
    out = mp.Queue()
    start_at = time.time() + 1.0
    ps = [mp.Process(target=client,
                     args=(s["port"], "%s-%d" % (tag, i), seconds, start_at,
                           out))
          for i in range(clients)]
    for p in ps:
        p.start()
    total = sum(out.get(timeout=seconds + 120) for _ in ps)
    for p in ps:
        p.join()
        if p.exitcode != 0:
            raise SystemExit("a client failed")
    return total, total / seconds


def audit_rows(s):
    db = sqlite3.connect(str(s["dir"] / "state" / "sandpool.db"))
    try:
        return db.execute("SELECT count(*) FROM audit WHERE op = "
                          "'execute'").fetchone()[0]
    finally:
        db.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=4)
    a = ap.parse_args()
    build = pathlib.Path(a.build)
    on = start(build, True, a.clients)
    off = start(build, False, a.clients)
    rates = {True: [], False: []}
    counts = {True: 0, False: 0}  # executions sent, warm-ups included
    try:
        for r in range(a.rounds):
            order = (on, off) if r % 2 == 0 else (off, on)
            for s in order:
                n, rate = measure(s, a.clients, a.seconds,
                                  "r%d-%s" % (r, "on" if s["audit"]
                                              else "off"))
                counts[s["audit"]] += n + a.clients
                rates[s["audit"]].append(rate)
                print("round %d  audit %-3s  %8.0f executions/s"
                      % (r + 1, "on" if s["audit"] else "off", rate),
                      flush=True)
    finally:
        stop(on)
        stop(off)
    med_on = statistics.median(rates[True])
    med_off = statistics.median(rates[False])
    print()
    print("clients %d, %g s x %d rounds per mode, trivial `1+1` (Gen2)"
          % (a.clients, a.seconds, a.rounds))
    print("audit off: %8.0f executions/s (median)" % med_off)
    print("audit on:  %8.0f executions/s (median)" % med_on)
    print("overhead:  %+7.1f %%  (1 - on/off)"
          % (100.0 * (1 - med_on / med_off)))
    rows = audit_rows(on)
    log = (on["dir"] / "server.log").read_text()
    print("audit rows written: %d of %d executions; queue-full drops: %s"
          % (rows, counts[True], "yes" if "audit queue full" in log
             else "none"))
    ok = rows == counts[True]
    for s in (on, off):
        shutil.rmtree(s["dir"], ignore_errors=True)
    if not ok:
        print("MISMATCH: every execution should have exactly one row")
        sys.exit(1)


if __name__ == "__main__":
    main()
