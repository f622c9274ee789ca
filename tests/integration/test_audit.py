# SPDX-License-Identifier: MIT
"""The audit log (issue 6): one row per execution and file operation with
the right fields, the rows of a failed and of a timed-out execution, the
client's context headers, code kept only with audit.store_code,
retention pruning, `sandpool audit` filters, and the writer under 8
concurrent clients."""
import hashlib
import json
import pathlib
import sqlite3
import threading
import time

import pytest

from conftest import Server
from opshelp import (GEN2, audit_rows, cli, files_api, gen2, ident,
                     mcp_api, mcp_session, no_sanitizer, q, tool, upload,
                     wait_rows)

KEY = "audit-key-alice-000000001"
CONFIG = "exec.kill_grace_ms = 300\n"
CTX = {"x-sandpool-agent": "agent-7", "x-sandpool-thread": "thread-42",
       "x-sandpool-run": "run-9"}


@pytest.fixture(scope="module")
def srv():
    s = Server(keys=["alice:" + KEY], config=CONFIG)
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


def row_of(srv, exec_id):
    rows = wait_rows(srv, lambda rs: any(r["exec_id"] == exec_id
                                         for r in rs))
    return [r for r in rows if r["exec_id"] == exec_id][0]


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def test_execution_row(srv):
    s = ident()
    code = "print('hello')\n6 * 7"
    st, _, b = gen2(srv, code, s, headers=CTX)
    assert st == 200 and b["status"] == "Succeeded", b
    r = row_of(srv, b["id"])
    st, _, sess = srv.json("GET", "/session?identifier=" + q(s))
    assert r["principal"] == "alice" and r["pool"] == "default"
    assert r["identifier"] == s and r["sid"] == sess["etag"]
    assert r["op"] == "execute" and r["status"] == "Succeeded"
    assert r["error_code"] is None and r["http_status"] == 200
    assert r["code_sha256"] == sha(code)
    assert r["code_size"] == len(code.encode())
    assert r["code"] is None, "code is kept only with audit.store_code"
    assert r["bytes_in"] == len(code.encode())
    assert r["bytes_out"] >= len("hello\n")
    assert 0 <= r["duration_ms"] < 10000
    assert r["cpu_ms"] is not None and r["cpu_ms"] >= 0
    assert r["peak_mem"] is not None and r["peak_mem"] > 1 << 20
    assert (r["agent"], r["thread"], r["run"]) == ("agent-7", "thread-42",
                                                   "run-9")
    assert isinstance(r["req"], int) and r["req"] > 0
    assert "req=%d " % r["req"] in srv.log_text()
    assert r["files"] is None
    # The time is RFC 3339 UTC and recent.
    assert r["ts"].endswith("Z")


def test_failed_execution_row(srv):
    st, _, b = gen2(srv, "1/0", ident())
    assert st == 200 and b["status"] == "Failed"
    r = row_of(srv, b["id"])
    assert r["status"] == "Failed" and r["error_code"] == "PythonError"
    assert r["http_status"] == 200
    assert r["agent"] is None  # no context headers sent


def test_timed_out_execution_rows(srv):
    s = ident()
    # Interrupted at the deadline: KeyboardInterrupt, state kept.
    st, _, b = gen2(srv, "import time\ntime.sleep(30)", s,
                    timeoutInSeconds=1)
    assert st == 200 and b["error"]["code"] == "Timeout", b
    r = row_of(srv, b["id"])
    assert r["status"] == "Failed" and r["error_code"] == "Timeout"
    assert 900 <= r["duration_ms"] < 10000
    # Ignores the interrupt: killed after the grace period, restarted.
    code = ("import signal, time\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "while True: pass")
    st, _, b = gen2(srv, code, s, timeoutInSeconds=1)
    assert st == 200 and b["error"]["code"] == "Timeout", b
    r = row_of(srv, b["id"])
    assert r["status"] == "Failed" and r["error_code"] == "Timeout"
    assert r["duration_ms"] >= 1200
    # It spun a core for about a second: the CPU time shows it.
    assert r["cpu_ms"] is not None and r["cpu_ms"] > 0, r


def test_shell_gen1_and_session_delete_rows(srv):
    s = ident()
    st, _, b = gen2(srv, None, s, shellCommand="echo hi; exit 3")
    assert st == 200 and b["exitCode"] == 3, b
    r = row_of(srv, b["id"])
    assert r["op"] == "shell" and r["status"] == "Failed"
    assert r["error_code"] == "NonZeroExit"
    assert r["code_sha256"] == sha("echo hi; exit 3")
    st, _, b = srv.json("POST", "/code/execute?identifier=" + q(s),
                        {"properties": {"code": "2+2"}})
    assert st == 200 and b["properties"]["result"] == 4
    st, _, _ = srv.request("DELETE", "/session?identifier=" + q(s),
                           headers=CTX)
    assert st == 204
    st, _, _ = srv.request("DELETE", "/session?identifier=" + q(s))
    assert st == 404
    rows = wait_rows(srv, lambda rs: len([r for r in rs if r["op"]
                                          == "session.delete"]) >= 2,
                     "--session", s)
    ops = [(r["op"], r["status"]) for r in rows]
    assert ops.count(("execute", "Succeeded")) == 1  # the Gen1 one
    dels = [r for r in rows if r["op"] == "session.delete"]
    assert dels[0]["status"] == "Succeeded" and dels[0]["agent"] == "agent-7"
    assert dels[1]["status"] == "Failed"
    assert dels[1]["error_code"] == "SessionNotFound"


def test_file_operation_rows(srv):
    if not files_api(srv):
        print("SKIP files: this build does not serve the files API")
        pytest.skip("the files API (issue 3) is not served by this build")
    s = ident()
    data = b"a,b\n1,2\n"
    st, b = upload(srv, s, "data.csv", data, headers=CTX)[0::2]
    assert st == 200, b
    base = "identifier=%s&api-version=%s" % (q(s), GEN2)
    st, _, got = srv.request("GET", "/files/data.csv/content?" + base)
    assert st == 200 and got == data
    assert srv.request("GET", "/files?" + base)[0] == 200
    assert srv.request("GET", "/files/nope.txt/content?" + base)[0] == 404
    assert srv.request("DELETE", "/files/data.csv?" + base)[0] == 204
    rows = wait_rows(srv, lambda rs: len(rs) >= 5, "--session", s)
    by = {}
    for r in rows:
        by.setdefault(r["op"], []).append(r)
    up = by["file.upload"][0]
    assert up["status"] == "Succeeded" and up["files"] == ["data.csv"]
    assert up["bytes_in"] == len(data) and up["agent"] == "agent-7"
    assert up["principal"] == "alice" and up["sid"]
    down = by["file.download"]
    assert down[0]["files"] == ["data.csv"]
    assert down[0]["bytes_out"] == len(data)
    assert down[1]["status"] == "Failed" and down[1]["http_status"] == 404
    assert down[1]["files"] == ["nope.txt"] and down[1]["error_code"]
    assert by["file.list"][0]["status"] == "Succeeded"
    assert by["file.delete"][0]["files"] == ["data.csv"]


def test_mcp_rows_carry_the_client(srv):
    if not mcp_api(srv):
        print("SKIP mcp: this build does not serve /mcp")
        pytest.skip("MCP (issue 5) is not served by this build")
    sid = mcp_session(srv, KEY, client=("audit-agent", "1.2"))
    s = ident("mcp")
    r = tool(srv, KEY, sid, "execute_python",
             {"code": "print(40 + 2)", "session_id": s})
    assert "42" in json.dumps(r), r
    rows = wait_rows(srv, lambda rs: len(rs) >= 1, "--session", s)
    assert rows[0]["op"] == "execute" and rows[0]["status"] == "Succeeded"
    assert rows[0]["client"] == "audit-agent/1.2"
    assert rows[0]["principal"] == "alice"
    assert rows[0]["code_sha256"] == sha("print(40 + 2)")


def test_audit_cli_filters(srv):
    s = ident("flt")
    ok = gen2(srv, "1", s)[2]["id"]
    bad = gen2(srv, "raise ValueError('x')", s)[2]["id"]
    wait_rows(srv, lambda rs: {ok, bad} <= {r["exec_id"] for r in rs})
    rows = audit_rows(srv, "--session", s)
    assert [r["exec_id"] for r in rows] == [ok, bad]
    rows = audit_rows(srv, "--session", s, "--status", "Failed")
    assert [r["exec_id"] for r in rows] == [bad]
    assert audit_rows(srv, "--principal", "nobody") == []
    assert audit_rows(srv, "--since", "2999-01-01") == []
    assert len(audit_rows(srv, "--session", s, "--since", "1h")) == 2
    assert len(audit_rows(srv, "--limit", "1")) == 1
    p = cli("audit", "--session", s, "--state-dir", srv.state)
    no_sanitizer(p)
    lines = p.stdout.strip().split("\n")
    assert p.returncode == 0 and len(lines) == 2
    assert "execute" in lines[1] and "ValueError" not in p.stdout
    assert "PythonError" in lines[1]
    p = cli("audit", "--since", "yesterday-ish", "--state-dir", srv.state)
    assert p.returncode == 2 and "--since" in p.stderr


def test_eight_concurrent_clients(srv):
    """8 clients, each with its own connection and session, 25
    executions each: every execution has exactly one row."""
    ids, errors = [], []
    lock = threading.Lock()

    def client(n):
        import http.client
        c = http.client.HTTPConnection(srv.host, srv.port, timeout=120)
        s = ident("c%d" % n)
        try:
            for i in range(25):
                body = json.dumps({"code": "%d + %d" % (n, i)})
                c.request("POST", "/executions?identifier=%s&api-version="
                          "%s" % (s, GEN2), body,
                          {"Authorization": "Bearer " + KEY,
                           "Content-Type": "application/json",
                           "x-sandpool-agent": "client-%d" % n})
                r = c.getresponse()
                out = json.loads(r.read())
                assert r.status == 200, out
                with lock:
                    ids.append((out["id"], n))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(ids) == 200
    want = dict(ids)
    rows = wait_rows(srv, lambda rs: set(want) <= {r["exec_id"] for r in rs},
                     "--limit", "100000")
    mine = [r for r in rows if r["exec_id"] in want]
    assert len(mine) == 200, "one row per execution, no duplicates"
    for r in mine:
        assert r["agent"] == "client-%d" % want[r["exec_id"]]
        assert r["status"] == "Succeeded" and r["principal"] == "alice"
    assert "audit queue full" not in srv.log_text()


def test_store_code(make_server):
    srv = make_server(config="audit.store_code = true\n")
    code = "x = 'kept'\nx"
    st, _, b = gen2(srv, code, ident())
    assert st == 200
    r = row_of(srv, b["id"])
    assert r["code"] == code and r["code_sha256"] == sha(code)


def test_code_never_in_log(make_server):
    srv = make_server(config="log_level = debug\n")
    marker = "very_secret_marker_%d" % time.time_ns()
    st, _, b = gen2(srv, "%s = 1" % marker, ident())
    assert st == 200
    row_of(srv, b["id"])
    assert marker not in srv.log_text()


def test_audit_disabled(make_server):
    srv = make_server(config="audit.enabled = false\n")
    assert gen2(srv, "1", ident())[0] == 200
    time.sleep(0.3)
    assert audit_rows(srv) == []


def test_retention_pruning(make_server):
    srv = make_server(config="audit.retention_days = 7\n")
    st, _, b = gen2(srv, "1", ident())
    recent = b["id"]
    row_of(srv, recent)
    state = srv.state
    srv.stop()
    db = sqlite3.connect(str(pathlib.Path(state) / "sandpool.db"))
    now = int(time.time() * 1000)
    day = 86400 * 1000
    for age, name in ((30, "old"), (8, "older-than-7"), (6, "young")):
        db.execute("INSERT INTO audit (ts, principal, pool, op, status, "
                   "exec_id) VALUES (?, 'p', 'default', 'execute', "
                   "'Succeeded', ?)", (now - age * day, name))
        db.execute("INSERT INTO sessions (sid, principal, pool, identifier,"
                   " started_at, last_active_at, ended_at) VALUES (?, 'p', "
                   "'default', ?, ?, ?, ?)",
                   (name, name, now - age * day - 1000, now - age * day,
                    now - age * day))
    db.commit()
    db.close()
    # A new server on the same state directory prunes at start.
    srv2 = make_server(config="audit.retention_days = 7\n",
                       args=["--state-dir", str(state)])
    srv2.state = state
    ids = {r["exec_id"] for r in wait_rows(
        srv2, lambda rs: "old" not in {r["exec_id"] for r in rs})}
    assert "young" in ids and recent in ids
    assert "older-than-7" not in ids and "old" not in ids
    db = sqlite3.connect(str(pathlib.Path(state) / "sandpool.db"))
    sids = {r[0] for r in db.execute("SELECT sid FROM sessions")}
    db.close()
    assert "young" in sids and "old" not in sids
    assert "older-than-7" not in sids
    assert "pruned 2 rows" in srv2.log_text()
