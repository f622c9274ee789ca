# SPDX-License-Identifier: MIT
"""Health (issue 6): GET /health is liveness, answered at once;
GET /health/startup turns 200 only once every pool is filled and a probe
ran 1+1 in a sandbox, stays 200 afterwards, and never turns 200 when the
sandboxes cannot run code.  The probe's sandbox is never handed to a
client."""
import time

from conftest import Server
from opshelp import gen2, ident, metrics, value


def poll(srv, until, timeout=60):
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, _, b = srv.json("GET", "/health/startup", key="")
        seen.append((st, b))
        if until(st):
            return seen
        time.sleep(0.02)
    raise AssertionError("startup never changed: %r" % seen[-3:])


def test_startup_waits_for_pool_and_probe(make_server):
    # Two warm sandboxes with the heavy default preloads: slow enough to
    # see the server live but not yet ready.
    srv = make_server(config="preload = numpy,pandas\n",
                      env={"SANDPOOL_POOL_READY": "2"}, wait_ready=False)
    st, _, b = srv.json("GET", "/health", key="")
    assert st == 200 and b == {"status": "healthy"}
    seen = poll(srv, lambda st: st == 200)
    assert seen[0] == (503, {"status": "starting"}), seen[0]
    assert seen[-1] == (200, {"status": "healthy"})
    log = srv.log_text()
    assert "startup probe: 1+1 = 2" in log
    # Ready means filled: both warm sandboxes are there.
    fams = metrics(srv)
    assert value(fams, "sandpool_sessions", pool="default",
                 state="ready") == 2
    # The probe had a sandbox of its own, and it is gone.
    assert value(fams, "sandpool_sandbox_starts_total", pool="default",
                 result="ok") >= 3
    assert value(fams, "sandpool_sessions", pool="default",
                 state="active") == 0
    # Latched: taking the warm sandboxes does not make it 503 again.
    for _ in range(3):
        assert gen2(srv, "1", ident())[0] == 200
        assert srv.json("GET", "/health/startup", key="")[0] == 200


def test_probe_runs_with_an_empty_pool(make_server):
    srv = make_server(env={"SANDPOOL_POOL_READY": "0"}, wait_ready=False)
    poll(srv, lambda st: st == 200)
    assert "startup probe: 1+1 = 2" in srv.log_text()


def test_fresh_session_has_no_probe_state(make_server):
    """The probe's `1+1` sets `_` in its kernel; no client may see it."""
    srv = make_server()
    st, _, b = gen2(srv, "'_' in globals()", ident())
    assert st == 200 and b["result"]["executionResult"] == "False", b


def test_never_ready_when_sandboxes_cannot_run_code(make_server):
    srv = make_server(config="python = /bin/false\n",
                      env={"SANDPOOL_POOL_READY": "0"}, wait_ready=False)
    deadline = time.time() + 4
    while time.time() < deadline:
        st, _, b = srv.json("GET", "/health/startup", key="")
        assert st == 503 and b == {"status": "starting"}, (st, b)
        assert srv.json("GET", "/health", key="")[0] == 200
        time.sleep(0.2)
    assert "startup probe failed" in srv.log_text()


def test_health_needs_no_key_and_stopping(make_server):
    srv = make_server(keys=["k:health-key-000000000001"])
    assert srv.json("GET", "/health", key="")[0] == 200
    assert srv.json("GET", "/health/startup", key="")[0] == 200
