# SPDX-License-Identifier: MIT
"""GET /metrics (issue 6): the Prometheus text format parsed strictly
(and checked by `promtool check metrics` when promtool is installed, or
named by $PROMTOOL), the families the issue lists, and counters moving as
executions, timeouts, kernel deaths, file transfers and requests
happen."""
import os
import shutil
import subprocess

import pytest

from conftest import Server
from opshelp import (GEN2, create_key, files_api, gen2, ident, metrics, q,
                     upload, value)

CONFIG = "exec.kill_grace_ms = 300\n[pool.small]\nready = 0\n"

FAMILIES = {
    "sandpool_sessions": "gauge",
    "sandpool_sessions_max": "gauge",
    "sandpool_sessions_created_total": "counter",
    "sandpool_sandbox_starts_total": "counter",
    "sandpool_executions_total": "counter",
    "sandpool_execution_duration_seconds": "histogram",
    "sandpool_session_new_seconds": "histogram",
    "sandpool_sandbox_start_seconds": "histogram",
    "sandpool_timeouts_total": "counter",
    "sandpool_oom_kills_total": "counter",
    "sandpool_kernel_restarts_total": "counter",
    "sandpool_file_bytes_total": "counter",
    "sandpool_http_requests_total": "counter",
    "sandpool_audit_rows_total": "counter",
    "sandpool_audit_dropped_total": "counter",
}


@pytest.fixture(scope="module")
def srv():
    s = Server(config=CONFIG)
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


def promtool():
    env = os.environ.get("PROMTOOL")
    if env and os.access(env, os.X_OK):
        return env
    return shutil.which("promtool")


def test_format_and_families(srv):
    fams = metrics(srv)
    for name, typ in FAMILIES.items():
        assert name in fams, name
        assert fams[name]["type"] == typ, name
        assert fams[name]["help"], name
    # Sessions per pool, for every configured pool and state.
    for pool in ("default", "small"):
        for state in ("active", "ready", "starting"):
            assert ("sandpool_sessions", (("pool", pool), ("state", state))) \
                in fams["sandpool_sessions"]["samples"]
    assert value(fams, "sandpool_sessions", pool="default",
                 state="ready") == 1
    # The default max_sessions (docs/CONFIG.md).
    assert value(fams, "sandpool_sessions_max", pool="small") == 1000


def test_promtool(srv):
    tool = promtool()
    if not tool:
        print("SKIP promtool: not installed (Debian's prometheus package "
              "provides it); the strict parser above still ran")
        pytest.skip("promtool is not installed")
    gen2(srv, "1", ident())  # some series with values
    st, _, body = srv.request("GET", "/metrics")
    assert st == 200
    p = subprocess.run([tool, "check", "metrics"], input=body,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert not p.stdout.strip() and not p.stderr.strip(), (p.stdout,
                                                           p.stderr)


def test_counters_move(srv):
    before = metrics(srv)
    s = ident()
    for i in range(3):
        assert gen2(srv, str(i), s)[0] == 200
    assert gen2(srv, "1/0", s)[0] == 200
    after = metrics(srv)

    def delta(family, name=None, **labels):
        return value(after, family, name, **labels) - \
            value(before, family, name, **labels)
    assert delta("sandpool_executions_total", status="Succeeded",
                 code="none") == 3
    assert delta("sandpool_executions_total", status="Failed",
                 code="PythonError") == 1
    assert delta("sandpool_execution_duration_seconds",
                 "sandpool_execution_duration_seconds_count") == 4
    assert delta("sandpool_sessions_created_total", pool="default") == 1
    assert delta("sandpool_session_new_seconds",
                 "sandpool_session_new_seconds_count") == 1
    assert delta("sandpool_http_requests_total", route="executions",
                 code="200") == 4
    assert value(after, "sandpool_sessions", pool="default",
                 state="active") >= 1
    # The warm pool refilled behind the new session: a sandbox started.
    assert value(after, "sandpool_sandbox_starts_total", pool="default",
                 result="ok") >= 2
    assert delta("sandpool_audit_rows_total") >= 0
    assert value(after, "sandpool_audit_dropped_total") == 0


def test_http_errors_are_counted(srv):
    before = metrics(srv)
    assert srv.request("GET", "/nope/nothing")[0] == 404
    assert srv.request("POST", "/executions?identifier=x",
                       b"{not json")[0] == 400
    assert srv.request("GET", "/session?identifier=" +
                       ident("none"))[0] == 404
    after = metrics(srv)

    def delta(**labels):
        return value(after, "sandpool_http_requests_total", **labels) - \
            value(before, "sandpool_http_requests_total", **labels)
    assert delta(route="none", code="404") == 1
    assert delta(route="executions", code="400") == 1
    assert delta(route="session", code="404") == 1


def test_timeouts_and_restarts(srv):
    before = metrics(srv)
    s = ident()
    st, _, b = gen2(srv, "import time\ntime.sleep(10)", s,
                    timeoutInSeconds=1)
    assert b["error"]["code"] == "Timeout"
    code = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "while True: pass")
    st, _, b = gen2(srv, code, s, timeoutInSeconds=1)
    assert b["error"]["code"] == "Timeout"
    st, _, b = gen2(srv, "import os; os._exit(3)", s)
    assert b["error"]["code"] == "KernelDied"
    assert gen2(srv, "1", s)[2]["status"] == "Succeeded"
    after = metrics(srv)

    def delta(family, **labels):
        return value(after, family, **labels) - \
            value(before, family, **labels)
    assert delta("sandpool_timeouts_total", action="interrupted") == 1
    assert delta("sandpool_timeouts_total", action="killed") == 1
    assert delta("sandpool_kernel_restarts_total") == 2
    assert delta("sandpool_executions_total", status="Failed",
                 code="Timeout") == 2
    assert delta("sandpool_executions_total", status="Failed",
                 code="KernelDied") == 1
    assert value(after, "sandpool_oom_kills_total") >= 0


def test_file_bytes(srv):
    if not files_api(srv):
        print("SKIP files: this build does not serve the files API")
        pytest.skip("the files API (issue 3) is not served by this build")
    before = metrics(srv)
    s = ident()
    data = b"x" * 1000
    assert upload(srv, s, "f.bin", data)[0] == 200
    st, _, got = srv.request("GET", "/files/f.bin/content?identifier=%s"
                             "&api-version=%s" % (q(s), GEN2))
    assert st == 200 and got == data
    after = metrics(srv)
    for d in ("in", "out"):
        assert value(after, "sandpool_file_bytes_total", direction=d) - \
            value(before, "sandpool_file_bytes_total", direction=d) == 1000


def test_metrics_need_admin_when_auth_is_on(make_server):
    srv = make_server(keys=["t:tenant-key-00000000001"])
    assert srv.request("GET", "/metrics", key="")[0] == 401
    assert srv.request("GET", "/metrics")[0] == 403  # a config key
    admin = create_key(srv.state, "prometheus", scopes="admin")
    fams = metrics(srv, key=admin)
    assert "sandpool_executions_total" in fams
