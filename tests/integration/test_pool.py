# SPDX-License-Identifier: MIT
"""The pool against the real server (issue 4): warm allocation, refill
bounded by max_starting, 429 PoolFull and recovery, cooldown expiry,
named pools with their own limits, the per-session cgroups, SIGTERM
draining and cleanup, and a restart cleaning up after a crash.

Every server here uses small limits and no preloads so the suite is quick
and gentle on a shared machine; every wait is bounded."""
import http.client
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import SANDPOOL, Server
from sp_host import (AGE_CODE, alive, cgroup_bases, delete, execute, gauges,
                     group_file, group_procs, ident, reaper_of, run_ok,
                     session_groups, sid_of, state_mounts, wait_for,
                     wait_ready)

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the server must run as root")

# Pool keys of the default pool go through SANDPOOL_POOL_* variables:
# conftest's base config already sets ready, max_starting and cooldown,
# and a key may appear only once in a file.
SMALL = {"memory": "256M", "pids": "64", "cpu": "0.5", "timeout": "10",
         "tmp_size": "16M", "files_quota": "16M", "preload": ""}


def small_env(**pool):
    d = dict(SMALL)
    d.update({k: str(v) for k, v in pool.items()})
    return {"SANDPOOL_POOL_" + k.upper(): v for k, v in d.items()}


def make(make_server, sections="", **pool):
    return make_server(config=sections, env=small_env(**pool))


# ---- cgroups ----

def test_cgroup_per_sandbox_with_limits(make_server):
    s = make(make_server, ready=2)
    wait_ready(s, 2)
    b = cgroup_bases(s)
    if b["_version"] != 1:
        pytest.skip("this test reads v1 files; the server chose cgroup v%d"
                    % b["_version"])
    # One subtree per server instance, under the server's own cgroups.
    own_mem = [l.split(":", 2)[2] for l in
               open("/proc/%d/cgroup" % s.proc.pid).read().splitlines()
               if l.split(":")[1] == "memory"][0]
    assert b["memory"].startswith("/sys/fs/cgroup/memory"
                                  + own_mem.rstrip("/") + "/sandpool-")
    assert os.path.basename(b["pids"]).startswith("sandpool-")
    # The record a successor uses after a crash.
    rec = (s.state / "cgroups").read_text().split()
    assert set(rec) == set(v for k, v in b.items() if k != "_version")
    groups = session_groups(b)
    assert len(groups) >= 2          # the warm sandboxes
    for c in ("memory", "cpu", "cpuacct"):
        assert session_groups(b, c) == groups, c
    for sid in groups:
        procs = group_procs(b, sid)
        assert procs, sid            # the init and the kernel joined it
        assert group_procs(b, sid, "memory") == procs
        assert group_file(b, "memory", sid, "memory.limit_in_bytes") == \
            str(256 << 20)
        # swap 0: memory+swap capped at the same value
        assert group_file(b, "memory", sid,
                          "memory.memsw.limit_in_bytes") == str(256 << 20)
        assert group_file(b, "pids", sid, "pids.max") == "64"
        assert group_file(b, "cpu", sid, "cpu.cfs_period_us") == "100000"
        assert group_file(b, "cpu", sid, "cpu.cfs_quota_us") == "50000"


def test_sandbox_sees_no_host_cgroup_path(make_server):
    s = make(make_server, ready=1)
    text = run_ok(s, ident("cg"), "open('/proc/self/cgroup').read()")
    # cgroup namespace: every line reads "/", the server's path is hidden
    lines = [l for l in text.splitlines() if l]
    assert lines and all(l.endswith(":/") for l in lines), text
    assert "process_api" not in text and "sandpool-" not in text


# ---- warm allocation and refill ----

def test_warm_allocation(make_server):
    s = make(make_server, ready=2, max_starting=2)
    wait_ready(s, 2)
    time.sleep(0.5)  # the warm kernels are now at least this old
    for _ in range(2):
        t0 = time.monotonic()
        out = run_ok(s, ident("warm"), AGE_CODE)
        elapsed = time.monotonic() - t0
        age = float(out.split()[0])
        # The kernel answering a brand-new identifier was started before
        # the request was sent: it came from the pool.
        assert age > elapsed + 0.2, (age, elapsed)


def test_cold_start_when_drained(make_server):
    s = make(make_server, ready=0)
    t0 = time.monotonic()
    out = run_ok(s, ident("cold"), AGE_CODE)
    elapsed = time.monotonic() - t0
    assert float(out.split()[0]) < elapsed + 0.05, (out, elapsed)
    assert gauges(s).get("ready") == 0


def test_refill_honours_ready_and_max_starting(make_server):
    # The launcher: a start must last longer than the sampling below for
    # one to be seen in progress; a zygote start takes milliseconds.
    s = make(make_server, ready=4, max_starting=1, start="launcher")
    seen = []

    def sample():
        g = gauges(s)
        seen.append(g.get("starting", 0))
        return g.get("ready") == 4 and g.get("starting") == 0

    wait_for(sample, 60, "4 warm sandboxes")
    for _ in range(3):
        run_ok(s, ident("take"), "1+1")
    # Refill in the background back to ready, one start at a time.
    wait_for(sample, 60, "the refill back to 4")
    assert max(seen) <= 1, seen
    assert 1 in seen
    # Three taken, four warm: seven live sandboxes, one group each.
    b = cgroup_bases(s)
    assert len(session_groups(b)) == 7


# ---- max_sessions ----

def test_pool_full_then_recovers_after_delete(make_server):
    s = make(make_server, ready=1, max_sessions=2)
    # The startup probe's own sandbox counts until it is reaped.
    bases = cgroup_bases(s)
    wait_for(lambda: len(session_groups(bases)) == 1, 20,
             "one warm sandbox and nothing else")
    a, b = ident("full"), ident("full")
    run_ok(s, a, "1")
    run_ok(s, b, "2")
    c = ident("full")
    st, h, body = s.json("POST", "/executions?identifier=%s&api-version="
                         "2025-10-02-preview" % c, {"code": "3"})
    assert st == 429, body
    assert body["error"]["code"] == "PoolFull"
    assert h["x-ms-error-code"] == "PoolFull"
    assert int(h["retry-after"]) >= 1
    assert "maximum of 2" in body["error"]["message"]
    # An existing identifier still works at the cap.
    assert run_ok(s, a, "40+2") == "42"
    assert delete(s, a) == 204
    # The slot frees once the deleted sandbox is reaped.
    wait_for(lambda: execute(s, c, "3")[0] == 200, 20,
             "a session after the delete")
    assert run_ok(s, c, "3") == "3"


# ---- cooldown ----

def test_cooldown_expiry_and_reset(make_server):
    s = make(make_server, ready=0, cooldown=2)
    assert "below ACA's minimum of 300 s" in s.log_text()
    i = ident("cool")
    run_ok(s, i, "x = 5")
    sid = sid_of(s, i)
    b = cgroup_bases(s)
    assert sid in session_groups(b)
    # Every request resets the idle clock.
    for _ in range(3):
        time.sleep(1.2)
        assert run_ok(s, i, "x") == "5"
    # Idle for the cooldown: destroyed with its files and cgroups.
    # (Watched from the host: a GET would itself reset the clock.)
    t0 = time.monotonic()
    wait_for(lambda: sid not in session_groups(b), 8, "the cooldown")
    assert time.monotonic() - t0 >= 1.0
    assert not (s.state / "sessions" / sid).exists()
    st, _, _ = s.request("GET", "/session?identifier=%s&api-version="
                         "2025-10-02-preview" % i)
    assert st == 404
    # The identifier starts over with fresh state.
    st, body = execute(s, i, "x")
    assert st == 200 and body["status"] == "Failed"
    assert "NameError" in body["result"]["stderr"]


# ---- named pools ----

NAMED = """\
[pool.big]
ready = 1
memory = 512M
pids = 128
preload = json,numpy
[pool.tiny]
ready = 0
memory = 64M
"""

HOG = ("b = None\n"                   # a second run frees the first
       "b = bytearray(384 << 20)\n"   # zero-filled: every page is touched
       "len(b) >> 20")


def test_named_pools_have_their_own_limits(make_server):
    s = make(make_server, NAMED, ready=1)
    wait_ready(s, 1, "big")
    d, g = ident("np"), ident("np")
    st, body = execute(s, d, HOG)
    assert st == 200 and body["status"] == "Failed", body
    assert body["error"]["code"] == "OutOfMemory"
    assert "256 MiB" in body["error"]["message"]
    # Both spellings of the pool segment reach pool "big".
    for prefix in ("/pools/big", "/subscriptions/x/sessionPools/big"):
        assert run_ok(s, g, HOG, prefix) == "384"
    b = cgroup_bases(s)
    sid = sid_of(s, g, "/pools/big")
    assert group_file(b, "memory", sid, "memory.limit_in_bytes") == \
        str(512 << 20)
    assert group_file(b, "pids", sid, "pids.max") == "128"
    # ... and their own preloads (the default pool here has none).
    probe = "import sys\n'numpy' in sys.modules"
    assert run_ok(s, g, probe, "/pools/big") == "True"
    assert run_ok(s, d, probe) == "False"
    st, _, body = s.json("GET", "/session?identifier=%s&api-version="
                         "2025-10-02-preview" % g)
    assert st == 404  # the same identifier in another pool is another one
    t = ident("np")
    st, body = execute(s, t, "bytearray(100 << 20); 1", "/pools/tiny")
    assert body["error"]["code"] == "OutOfMemory", body
    assert "64 MiB" in body["error"]["message"]
    st, _, body = s.json("POST", "/pools/nope/executions?identifier=x"
                         "&api-version=2025-10-02-preview", {"code": "1"})
    assert st == 404 and body["error"]["code"] == "PoolNotFound"


# ---- shutdown and restart ----

def test_sigterm_drains_then_removes_everything(make_server):
    s = make(make_server, ready=2)
    wait_ready(s, 2)
    b = cgroup_bases(s)
    i = ident("drain")
    run_ok(s, i, "1")
    pids = [p for sid in session_groups(b) for p in group_procs(b, sid)]
    assert pids
    reaper = reaper_of(s.proc.pid)
    out = {}

    def slow():
        c = http.client.HTTPConnection(s.host, s.port, timeout=60)
        out["r"] = execute(s, i, "import time\ntime.sleep(1.5)\n7",
                           conn=c)
        c.close()

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    s.proc.send_signal(signal.SIGTERM)
    t.join(30)
    assert not t.is_alive()
    # The execution in flight was drained, not cut off.
    st, body = out["r"]
    assert st == 200 and body["status"] == "Succeeded", body
    assert body["result"]["executionResult"] == "7"
    s.proc.wait(30)
    assert s.proc.returncode == 0
    for c, d in b.items():
        if c != "_version":
            assert not os.path.exists(d), d
    assert state_mounts(s.state) == []
    assert not any(alive(p) for p in pids)
    assert os.listdir(s.state / "sessions") == []
    assert not (s.state / "cgroups").exists()
    # The reaper was told the server cleaned up, and was reaped.
    assert not alive(reaper)
    assert "reaper: the server died" not in s.log_text()


def test_sigterm_drain_is_bounded(make_server):
    # An execution that would run for a minute does not hold shutdown up
    # for more than the drain bound (10 s): it is cut off, the sandbox
    # killed, and the server still exits 0 with everything removed.
    s = make(make_server, ready=1, timeout=120)
    b = cgroup_bases(s)
    i = ident("long")
    out = {}

    def slow():
        c = http.client.HTTPConnection(s.host, s.port, timeout=60)
        try:
            out["r"] = execute(s, i, "import time\ntime.sleep(60)",
                               conn=c)
        except (OSError, http.client.HTTPException) as e:
            out["r"] = e
        c.close()

    t = threading.Thread(target=slow)
    t.start()
    wait_for(lambda: len(session_groups(b)) >= 2, 20, "the long session")
    time.sleep(0.5)
    t0 = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    s.proc.wait(30)
    took = time.monotonic() - t0
    t.join(30)
    assert s.proc.returncode == 0
    assert 9 <= took < 20, took
    r = out["r"]
    if isinstance(r, tuple):  # answered before the HTTP daemon stopped
        assert r[0] == 503 and r[1]["error"]["code"] == "ServerStopping", r
    assert "draining executions" in s.log_text()
    for c, d in b.items():
        if c != "_version":
            assert not os.path.exists(d), d
    assert state_mounts(s.state) == []


def crash_scene(a):
    """Sessions on server a: one with a file, one spinning (it will not
    notice its server is gone).  Returns (session groups, their pids)."""
    run_ok(a, ident("crash"), "open('/mnt/data/f', 'w').write('x')")
    spin = {}

    def busy():
        c = http.client.HTTPConnection(a.host, a.port, timeout=60)
        try:
            spin["r"] = execute(a, ident("spin"), "while True: pass",
                                timeout=30, conn=c)
        except (OSError, http.client.HTTPException) as e:
            spin["r"] = e  # the server is killed under it
        c.close()

    t = threading.Thread(target=busy, daemon=True)
    t.start()
    b = cgroup_bases(a)
    wait_for(lambda: len(session_groups(b)) >= 3, 20, "three sandboxes")
    time.sleep(0.3)
    old = session_groups(b)
    return b, old, [p for sid in old for p in group_procs(b, sid)]


def test_reaper_cleans_up_after_sigkill():
    """The server is SIGKILLed: its reaper kills the sandboxes and removes
    the cgroups, mounts and session directories in its place."""
    a = Server(env=small_env(ready=1))
    try:
        b, old, pids = crash_scene(a)
        reaper = reaper_of(a.proc.pid)
        assert state_mounts(a.state)
        a.proc.kill()
        a.proc.wait(10)
        wait_for(lambda: not alive(reaper), 15, "the reaper to finish")
        assert not any(alive(p) for p in pids)
        for c, d in b.items():
            if c != "_version":
                assert not os.path.exists(d), d
        assert state_mounts(a.state) == []
        assert os.listdir(a.state / "sessions") == []
        assert not (a.state / "cgroups").exists()
        assert "reaper: the server died" in a.log_text()
    finally:
        a.log.close()
        a.cleanup()


def test_restart_cleans_up_after_a_crash():
    """Server and reaper both die (kill -9 of both): the next server on the
    same state directory finds the remains and removes them."""
    a = Server(env=small_env(ready=1))
    try:
        restart_after_crash(a)
    finally:
        a.log.close()
        a.cleanup()


def restart_after_crash(a):
    b, old, old_pids = crash_scene(a)
    assert state_mounts(a.state)
    reaper = reaper_of(a.proc.pid)
    os.kill(reaper, signal.SIGKILL)
    a.proc.kill()
    a.proc.wait(10)
    wait_for(lambda: not alive(reaper), 10, "the reaper to die")
    # The crash left sandboxes, cgroups and mounts behind.
    assert any(alive(p) for p in old_pids)
    assert session_groups(b) & old
    # A new server on the same state directory takes them over.
    n = Server(env=small_env(ready=1), args=["--state-dir", str(a.state)])
    try:
        assert "removing cgroups a previous run left" in n.log_text()
        wait_for(lambda: not any(alive(p) for p in old_pids), 10,
                 "the old sandboxes to die")
        assert not (session_groups(cgroup_bases(n)) & old)
        real = os.path.realpath(str(a.state))
        live = {os.path.join(real, "sessions", x, "data")
                for x in os.listdir(a.state / "sessions")}
        assert set(state_mounts(a.state)) <= live
        assert run_ok(n, ident("after"), "1+1") == "2"
    finally:
        n.stop()
        n.cleanup()
    assert state_mounts(a.state) == []


def test_second_server_on_a_state_dir_is_refused(make_server):
    a = make(make_server, ready=0)
    p = subprocess.run([str(SANDPOOL), "serve", "--config", str(a.conf),
                        "--state-dir", str(a.state), "--listen",
                        "127.0.0.1:0"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0
    assert "is locked; waiting up to" in p.stderr, p.stderr
    assert "in use by another sandpool server" in p.stderr, p.stderr
    assert run_ok(a, ident("first"), "1+1") == "2"


def test_cgroup_v2_limits(make_server):
    s = make(make_server, ready=0)
    b = cgroup_bases(s)
    if b["_version"] != 2:
        print("SKIP: cgroup v2: this machine serves memory and pids on "
              "cgroup v1 (the server chose v%d)" % b["_version"])
        pytest.skip("cgroup v2 controllers are not available here "
                    "(memory and pids are on v1)")
    i = ident("v2")
    run_ok(s, i, "1")
    sid = sid_of(s, i)
    d = b["memory"]
    assert open(os.path.join(d, sid, "memory.max")).read().strip() == \
        str(256 << 20)
    assert open(os.path.join(d, sid, "memory.swap.max")).read().strip() \
        == "0"
    assert open(os.path.join(d, sid, "pids.max")).read().strip() == "64"
