# SPDX-License-Identifier: MIT
"""Hostile code against the real server (issue 4): one test per case.

Each case runs in a fresh session while a neighbour session answers "1+1"
in a loop from another thread; the test asserts the exact error code the
user gets, that the neighbour's latency stayed under 100 ms throughout,
that the server is alive, that a brand-new session answers 1+1 quickly
and that an older session still has its variables.  The last test checks
that nothing leaked: no processes, cgroups, mounts, fds or session
directories but those of live sessions, and none at all after SIGTERM.

Small limits (256M, 64 pids, half a core, 10 s) keep it quick and gentle
on a shared machine; every request and wait is bounded.
"""
import http.client
import os
import re
import threading
import time

import pytest

from conftest import Server
from sp_host import (alive, cgroup_bases, children, delete, execute,
                     gauges, group_file, group_procs, ident, open_fds,
                     reaper_of, run_ok, session_groups, sid_of, state_mounts,
                     wait_for, wait_ready)

HERE = os.path.dirname(os.path.abspath(__file__))

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the server must run as root")

MEMORY_MIB = 256
READY = 3
POOL = {"memory": "%dM" % MEMORY_MIB, "pids": "64", "cpu": "0.5",
        "timeout": "10", "tmp_size": "32M", "files_quota": "32M",
        "output_max": "64K", "preload": "", "ready": str(READY),
        "max_starting": "2"}
CONFIG = "exec.kill_grace_ms = 1000\n"
LATENCY_MAX = 0.100   # s: the neighbour's 1+1, end to end over HTTP
NEW_SESSION_MAX = 1.0  # s: "quickly", for a new identifier after a case


@pytest.fixture(scope="module")
def srv():
    s = Server(config=CONFIG,
               env={"SANDPOOL_POOL_" + k.upper(): v for k, v in POOL.items()})
    wait_ready(s, READY)
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


@pytest.fixture(scope="module")
def baseline(srv):
    """Host resources of the idle server, before any case."""
    wait_ready(srv, READY)
    b = cgroup_bases(srv)
    wait_for(lambda: len(session_groups(b)) == READY, 20,
             "only the warm sandboxes")
    return {"fds": open_fds(srv.proc.pid), "sessions": READY}


@pytest.fixture(scope="module")
def elder(srv, baseline):
    """A session made before every case, whose variables must survive."""
    i = ident("elder")
    run_ok(srv, i, "x = 41\nopen('/mnt/data/elder.txt', 'w').write('e')")
    return i


_made = []  # identifiers a test created, deleted after it


@pytest.fixture(autouse=True)
def _delete_made(srv):
    yield
    while _made:
        delete(srv, _made.pop())


def new_ident(prefix):
    i = ident(prefix)
    _made.append(i)
    return i


class Neighbour(threading.Thread):
    """Runs 1+1 on its own session and connection until stopped."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv = srv
        self.sess = new_ident("nb")
        self.conn = http.client.HTTPConnection(srv.host, srv.port,
                                               timeout=30)
        self.lat, self.errors = [], []
        self.stopping = threading.Event()
        st, b = execute(srv, self.sess, "1+1", conn=self.conn)
        assert st == 200 and b["result"]["executionResult"] == "2", b

    def run(self):
        while not self.stopping.is_set():
            t0 = time.perf_counter()
            try:
                st, b = execute(self.srv, self.sess, "1+1", conn=self.conn)
            except Exception as e:  # noqa: BLE001 - reported below
                self.errors.append(repr(e))
                return
            self.lat.append(time.perf_counter() - t0)
            if st != 200 or b["result"]["executionResult"] != "2":
                self.errors.append((st, b))
            time.sleep(0.02)

    def finish(self, samples=5, window=0.3):
        """Stop, after at least samples runs and window seconds."""
        end = time.monotonic() + window
        deadline = end + 10
        while time.monotonic() < deadline and self.is_alive() and (
                len(self.lat) < samples or time.monotonic() < end):
            time.sleep(0.01)
        self.stopping.set()
        self.join(30)
        assert not self.is_alive(), "the neighbour hung"
        self.conn.close()


def measured(srv, fn):
    """Call fn() while a neighbour session runs 1+1 in a loop; return
    fn's result and the neighbour's latencies (s).  The neighbour must
    never fail."""
    nb = Neighbour(srv)
    nb.start()
    try:
        out = fn()
    finally:
        nb.finish()
    assert not nb.errors, nb.errors[:3]
    assert len(nb.lat) >= 3, nb.lat
    lat = sorted(nb.lat)
    print("\nneighbour 1+1 during the case: n=%d p50=%.2f ms max=%.2f ms"
          % (len(lat), lat[len(lat) // 2] * 1000, lat[-1] * 1000))
    return out, lat


def latency_ok(lat, attempt, attempts):
    """True when the neighbour's worst 1+1 stayed under LATENCY_MAX.  A
    miss is retried once, visibly: this shared 2-core machine sometimes
    runs other suites at a load of 10, and a lone scheduling hiccup is
    not the hostile case's doing; a second miss fails the test."""
    if lat[-1] < LATENCY_MAX:
        return True
    msg = "neighbour 1+1 took %.1f ms (worst: %s; n=%d; load %.1f)" % (
        lat[-1] * 1000, ["%.1f" % (x * 1000) for x in lat[-3:]], len(lat),
        os.getloadavg()[0])
    assert attempt + 1 < attempts, msg
    print("RETRY (%s): running the case again" % msg)
    return False


def aftermath(srv, elder):
    """The server is alive, a new session answers quickly, and an older
    session still has its variables and files."""
    assert srv.request("GET", "/health", fresh=True)[0] == 200
    t0 = time.monotonic()
    assert run_ok(srv, new_ident("new"), "1+1") == "2"
    assert time.monotonic() - t0 < NEW_SESSION_MAX
    assert run_ok(srv, elder, "x + 1") == "42"
    assert run_ok(srv, elder, "open('/mnt/data/elder.txt').read()") == "e"


def hostile(srv, elder, code, attempts=2):
    """Run code in a new session while a neighbour measures; check the
    aftermath.  Returns (identifier, Gen2 body)."""
    for attempt in range(attempts):
        # Each run starts with a full pool: the hostile session, the
        # neighbour and the fresh session of aftermath() take warm
        # sandboxes.
        wait_ready(srv, READY)
        hid = new_ident("hostile")
        conn = http.client.HTTPConnection(srv.host, srv.port, timeout=120)
        try:
            (st, body), lat = measured(
                srv, lambda: execute(srv, hid, code, conn=conn))
        finally:
            conn.close()
        assert st == 200, (st, body)
        aftermath(srv, elder)
        if latency_ok(lat, attempt, attempts):
            return hid, body
    raise AssertionError("unreachable")


def failed(body, code):
    assert body["status"] == "Failed", body
    assert body["error"]["code"] == code, body["error"]
    return body["result"]["stderr"]


# ---- pids ----

def test_fork_bomb(srv, elder):
    hid, body = hostile(srv, elder, "import os\nwhile True:\n    os.fork()")
    err = failed(body, "PythonError")
    # Python's own error: fork() refused at pids.max.
    assert "BlockingIOError" in err, err[:2000]
    assert "Resource temporarily unavailable" in err
    b = cgroup_bases(srv)
    events = group_file(b, "pids", sid_of(srv, hid), "pids.events")
    assert int(events.split()[1]) > 0, events


def test_thread_bomb(srv, elder):
    _, body = hostile(srv, elder,
                      "import threading\n"
                      "ev = threading.Event()\n"
                      "while True:\n"
                      "    threading.Thread(target=ev.wait, args=(3,),\n"
                      "                     daemon=True).start()")
    err = failed(body, "PythonError")
    assert "RuntimeError: can't start new thread" in err, err


# ---- memory ----

def test_bytearray_64g(srv, elder):
    _, body = hostile(srv, elder, "b = bytearray(64 << 30)")
    with open("/proc/sys/vm/overcommit_memory") as f:
        overcommit = f.read().strip()
    if overcommit == "1":
        # Always overcommit: the allocation succeeds and touching its
        # pages meets the cgroup limit.
        assert failed(body, "OutOfMemory")
        assert "%d MiB" % MEMORY_MIB in body["error"]["message"]
    else:
        # Heuristic overcommit refuses a single 64 GiB mapping on a host
        # with less RAM and swap, before the cgroup is ever reached:
        # Python raises its own MemoryError, a PythonError.
        err = failed(body, "PythonError")
        assert "MemoryError" in err, err


def test_memory_hog_is_oom_killed(srv, elder):
    hid = new_ident("hog")
    run_ok(srv, hid, "open('/mnt/data/keep.txt', 'w').write('kept')")
    sid = sid_of(srv, hid)
    b = cgroup_bases(srv)

    def oom_kills():
        return int(re.search(r"oom_kill (\d+)", group_file(
            b, "memory", sid, "memory.oom_control")).group(1))

    for attempt in range(2):
        run_ok(srv, hid, "y = 1")
        kills0 = oom_kills()
        (st, body), lat = measured(
            srv, lambda: execute(srv, hid, "b = bytearray(1 << 30)"))
        assert st == 200
        failed(body, "OutOfMemory")
        assert "memory limit of %d MiB" % MEMORY_MIB in \
            body["error"]["message"]
        assert oom_kills() > kills0
        # Restarted with fresh state, the files intact.
        assert run_ok(srv, hid, "open('/mnt/data/keep.txt').read()") == \
            "kept"
        st, body = execute(srv, hid, "y")
        assert "NameError" in failed(body, "PythonError")
        assert sid_of(srv, hid) == sid  # the same session, a new kernel
        aftermath(srv, elder)
        if latency_ok(lat, attempt, 2):
            break


# ---- output ----

def test_2gb_print(srv, elder):
    _, body = hostile(srv, elder,
                      "c = 'x' * (1 << 20)\n"
                      "for _ in range(2048):\n"
                      "    print(c, end='')")
    assert body["status"] == "Succeeded", body["status"]
    assert body["error"]["code"] == "OutputTruncated"
    out = body["result"]["stdout"]
    cap = 64 << 10
    m = re.search(r"\[sandpool: output truncated at (\d+) bytes; (\d+) "
                  r"bytes dropped\]", out)
    assert m, out[-300:]
    assert int(m.group(1)) == cap
    assert int(m.group(1)) + int(m.group(2)) == 2 << 30
    assert out.startswith("x" * cap)


# ---- time ----

def test_busy_loop_times_out(srv, elder):
    hid, body = hostile(srv, elder, "z = 7\nwhile True:\n    pass")
    failed(body, "Timeout")
    assert "timeout of 10 s" in body["error"]["message"]
    # Interrupted with KeyboardInterrupt: the session kept its state.
    assert run_ok(srv, hid, "z") == "7"


def test_sleep_forever_times_out(srv, elder):
    _, body = hostile(srv, elder, "import time\ntime.sleep(10**6)")
    failed(body, "Timeout")
    assert "KeyboardInterrupt" in body["result"]["stderr"]


# ---- signals, fds, the control channel ----

def test_kill_everything(srv, elder):
    hid, body = hostile(srv, elder,
                        "import os, subprocess\n"
                        "w = 1\n"
                        "p = subprocess.Popen(['sleep', '100'])\n"
                        "os.kill(-1, 9)\n"
                        "p.wait()")
    # kill(-1) reaches what the sandbox user owns in its own pid
    # namespace, never the caller, its init or anything outside.
    assert body["status"] == "Succeeded", body
    assert body["result"]["executionResult"] == "-9"
    assert run_ok(srv, hid, "w") == "1"
    # Killing the kernel itself is a KernelDied, and the session lives on.
    st, body = execute(srv, hid, "import os\nos.kill(os.getpid(), 9)")
    failed(body, "KernelDied")
    assert "signal 9" in body["error"]["message"]
    assert run_ok(srv, hid, "1+1") == "2"


def test_close_fds_0_to_1023(srv, elder):
    hid, body = hostile(srv, elder,
                        "import os\nq = 3\nos.closerange(0, 1024)\n'done'")
    # The control socket lives at fd >= 1024: the kernel carries on.
    assert body["status"] == "Succeeded", body
    assert body["result"]["executionResult"] == "done"
    assert run_ok(srv, hid, "print(q)\nq") == "3"


def test_garbage_on_control_fd(srv, elder):
    hid, body = hostile(srv, elder,
                        "import os, stat, time\n"
                        "for f in os.listdir('/proc/self/fd'):\n"
                        "    f = int(f)\n"
                        "    if f >= 1024 and stat.S_ISSOCK("
                        "os.fstat(f).st_mode):\n"
                        "        os.write(f, b'\\xff' * 64 + b'garbage')\n"
                        "time.sleep(3)")
    failed(body, "KernelDied")
    assert "invalid message" in body["error"]["message"]
    # The server killed that kernel and restarted it; the session works.
    assert run_ok(srv, hid, "1+1") == "2"


# ---- disk ----

FILL = ("with open('%s/fill', 'wb') as f:\n"
        "    while True:\n"
        "        f.write(b'x' * (1 << 20))\n"
        "        f.flush()")


@pytest.mark.parametrize("where", ["/tmp", "/mnt/data"])
def test_fill_disk(srv, elder, where):
    hid, body = hostile(srv, elder, FILL % where)
    err = failed(body, "PythonError")
    assert "No space left on device" in err, err
    size = run_ok(srv, hid, "import os\nst = os.statvfs('%s')\n"
                  "st.f_blocks * st.f_frsize >> 20" % where)
    assert size == "32"
    # Removing the file gives the space (and its memory) back.
    assert run_ok(srv, hid, "os.remove('%s/fill')\n"
                  "open('%s/ok', 'w').write('fine')" % (where, where)) == "4"


# ---- seccomp, through the server ----

def test_seccomp_policy_through_server(srv, elder):
    """try_syscall.py's text runs as an ordinary execution (nothing is
    uploaded); every denied syscall reports the policy's errno."""
    import errno as E
    import json
    import sys

    sys.path.insert(0, HERE)
    import try_syscall

    with open(os.path.join(HERE, "try_syscall.py")) as f:
        code = f.read()
    i = new_ident("seccomp")
    st, body = execute(srv, i, code)
    assert st == 200 and body["status"] == "Succeeded", body
    result = json.loads(body["result"]["stdout"].strip().splitlines()[-1])
    def show(k, v):
        if k == "x32_signal":  # a signal number, not an errno
            return "killed by signal %d" % v if v else "survived"
        return E.errorcode.get(v, v) if v else "ok"

    table = ["%-20s %s" % (k, show(k, v)) for k, v in sorted(result.items())]
    print("\ntry_syscall through the server:\n  " + "\n  ".join(table))
    bad = try_syscall.mismatches(result)
    assert not bad, ["%s: errno %s, want %s" % m for m in bad]
    if "x32_signal" in result:
        assert result["x32_signal"] == 31  # SIGSYS: a foreign ABI


# ---- leaks ----

def test_zz_nothing_leaked(srv, elder, baseline):
    """After the suite: only live sessions hold processes, cgroups, mounts,
    directories and fds; after SIGTERM nothing at all."""
    b = cgroup_bases(srv)
    wait_ready(srv, READY)
    g = gauges(srv)
    live = g["active"] + g["ready"]

    def settled():
        return (len(session_groups(b)) == live and
                len(children(srv.proc.pid)) == live)
    wait_for(settled, 30, "the deleted sessions to be reaped")
    assert live == READY + 1  # the warm sandboxes and the elder
    groups = session_groups(b)
    for c in ("memory", "cpu", "cpuacct"):
        assert session_groups(b, c) == groups
    inits = children(srv.proc.pid)
    # Every child of the server is a sandbox init, in its own group.
    by_group = {}
    for p in inits:
        with open("/proc/%d/cgroup" % p) as f:
            line = [x for x in f.read().splitlines()
                    if x.split(":")[1] == "pids"][0]
        by_group.setdefault(os.path.basename(line), []).append(p)
    assert set(by_group) == groups, (by_group, groups)
    assert all(len(v) == 1 for v in by_group.values())
    sessions = set(os.listdir(srv.state / "sessions"))
    assert sessions == groups
    real = os.path.realpath(str(srv.state))
    assert sorted(state_mounts(srv.state)) == sorted(
        os.path.join(real, "sessions", s, "data") for s in groups)
    fds = open_fds(srv.proc.pid)
    per_session = 8  # ctl, pidfd, OOM eventfd and control, with slack
    assert fds <= baseline["fds"] + per_session * (
        live - baseline["sessions"]) + 8, (fds, baseline)
    # SIGTERM: every sandbox, group, mount and directory goes.
    pids = [p for sid in groups for p in group_procs(b, sid)]
    assert pids
    pids.append(reaper_of(srv.proc.pid))
    srv.stop()
    assert not any(alive(p) for p in pids)
    for c, d in b.items():
        if c != "_version":
            assert not os.path.exists(d), d
    assert state_mounts(srv.state) == []
    assert os.listdir(srv.state / "sessions") == []
