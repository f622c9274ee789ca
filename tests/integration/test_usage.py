# SPDX-License-Identifier: MIT
"""`sandpool usage` (issue 6): session-seconds and CPU-seconds per
principal and per pool, for cost.  Sessions count from their first request
to their end (or to now while they live); CPU seconds and execution
counts come from the audit rows."""
import json
import pathlib
import sqlite3
import time

import pytest

from conftest import Server
from opshelp import audit_rows, cli, gen2, ident, no_sanitizer, q, wait_rows

A = "usage-key-alice-00000001"
B = "usage-key-bob-0000000002"
CONFIG = "[pool.small]\nready = 0\n"


def usage(srv, *args):
    p = cli("usage", "--json", "--state-dir", srv.state, *args)
    no_sanitizer(p)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def by(rows, key):
    return {r[key]: r for r in rows}


def ended(srv, sid):
    db = sqlite3.connect(str(pathlib.Path(srv.state) / "sandpool.db"))
    try:
        row = db.execute("SELECT ended_at FROM sessions WHERE sid = ?",
                         (sid,)).fetchone()
    finally:
        db.close()
    return row is not None and row[0] is not None


@pytest.fixture(scope="module")
def run():
    srv = Server(keys=["alice:" + A, "bob:" + B], config=CONFIG)
    t0 = time.time()
    s1, s2, s3, s4 = ident("u1"), ident("u2"), ident("u3"), ident("u4")
    for code, s, key in (("1", s1, A), ("2", s1, A), ("3", s2, A),
                         ("sum(range(20_000_000))", s3, B),
                         ("1/0", s3, B)):
        assert gen2(srv, code, s, key=key)[0] == 200
    st, _, b = srv.json("POST", "/pools/small/executions?identifier=%s"
                        "&api-version=2025-02-02-preview" % q(s4),
                        {"code": "4"}, key=B)
    assert st == 200, b
    sid1 = srv.json("GET", "/session?identifier=" + s1, key=A)[2]["etag"]
    sid3 = srv.json("GET", "/session?identifier=" + s3, key=B)[2]["etag"]
    for s, key in ((s1, A), (s3, B)):
        assert srv.request("DELETE", "/session?identifier=" + s,
                           key=key)[0] == 204
    wait_rows(srv, lambda rs: len([r for r in rs if r["op"] ==
                                   "execute"]) >= 6)
    deadline = time.time() + 10
    while not (ended(srv, sid1) and ended(srv, sid3)):
        assert time.time() < deadline, "sessions never ended"
        time.sleep(0.05)
    yield srv, t0
    try:
        srv.stop()
    finally:
        srv.cleanup()


def test_by_principal(run):
    srv, t0 = run
    u = by(usage(srv), "principal")
    assert set(u) == {"alice", "bob"}
    a, b = u["alice"], u["bob"]
    assert (a["sessions"], a["executions"], a["failed"]) == (2, 3, 0)
    assert (b["sessions"], b["executions"], b["failed"]) == (2, 3, 1)
    elapsed = time.time() - t0
    assert 0 < a["session_seconds"] <= 2 * elapsed + 1
    assert 0 < b["session_seconds"] <= 2 * elapsed + 1
    # bob summed 20 million integers: measurable CPU time.
    assert b["cpu_seconds"] >= 0.1, b
    assert a["cpu_seconds"] < b["cpu_seconds"]


def test_cpu_matches_audit_rows(run):
    srv, _ = run
    u = by(usage(srv), "principal")
    for p in ("alice", "bob"):
        rows = [r for r in audit_rows(srv, "--principal", p)
                if r["op"] in ("execute", "shell")]
        assert len(rows) == u[p]["executions"]
        cpu = sum(r["cpu_ms"] or 0 for r in rows) / 1000.0
        assert abs(cpu - u[p]["cpu_seconds"]) < 1e-6


def test_open_sessions_count_until_now(run):
    srv, _ = run
    before = by(usage(srv), "principal")
    time.sleep(1.0)
    after = by(usage(srv), "principal")
    # alice's u2 is open: it keeps counting; bob's u3 ended, u4 is open.
    assert after["alice"]["session_seconds"] - \
        before["alice"]["session_seconds"] >= 0.9
    assert after["bob"]["session_seconds"] - \
        before["bob"]["session_seconds"] >= 0.9
    assert after["bob"]["session_seconds"] - \
        before["bob"]["session_seconds"] < 1.9


def test_by_pool_and_since(run):
    srv, _ = run
    u = by(usage(srv, "--by", "pool"), "pool")
    assert set(u) == {"default", "small"}
    assert u["small"]["sessions"] == 1 and u["small"]["executions"] == 1
    assert u["default"]["executions"] == 5
    total = by(usage(srv), "principal")
    assert sum(r["executions"] for r in total.values()) == 6
    assert usage(srv, "--since", "2999-01-01T00:00:00Z") == [] or all(
        r["executions"] == 0 and r["session_seconds"] == 0
        for r in usage(srv, "--since", "2999-01-01T00:00:00Z"))
    recent = by(usage(srv, "--since", "1h"), "principal")
    assert recent["alice"]["executions"] == 3
    # A window that starts now counts only the open sessions' remainder.
    now = by(usage(srv, "--since", "1s"), "principal")
    assert now["alice"]["session_seconds"] <= 2.5


def test_text_and_errors(run):
    srv, _ = run
    p = cli("usage", "--state-dir", srv.state)
    no_sanitizer(p)
    lines = p.stdout.strip().split("\n")
    assert p.returncode == 0 and lines[0].split()[0] == "PRINCIPAL"
    assert {ln.split()[0] for ln in lines[1:]} == {"alice", "bob"}
    p = cli("usage", "--by", "color", "--state-dir", srv.state)
    assert p.returncode == 2
    p = cli("usage", "--since", "tomorrow", "--state-dir", srv.state)
    assert p.returncode == 2
