# SPDX-License-Identifier: MIT
"""The zygote start path (issue 9): templates, fallback, rotation, reload.

What a client must never notice: a template that is killed (new sessions
fall back to the launcher, and the template comes back), a template that
is replaced after zygote.max_forks forks, a preload change by SIGHUP (new
sessions get the new set, old ones keep theirs); and what it must notice
clearly: a start that cannot fork is a 503 with Retry-After, not a hang.
A client that gives up while its session starts leaves nothing behind.
"""
import http.client
import json
import os
import signal
import socket
import threading
import time

import pytest

from conftest import Server
from sp_host import children, comm, execute, gauges, ident, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the server must run as root")

BACKEND = ("open('/proc/1/cmdline').read().split('\\0')[1] == "
           "'--zygote-init'")


def templates(srv):
    return sorted(p for p in children(srv.proc.pid, reaper=True)
                  if comm(p) == "sp-zygote")


def one_template(srv, timeout=60):
    return wait_for(lambda: len(templates(srv)) == 1 and
                    "is ready" in srv.log_text() and templates(srv),
                    timeout, "a template")[0]


def run(srv, code, ident_=None):
    st, b = execute(srv, ident_ or ident("z"), code)
    assert st == 200 and b["status"] == "Succeeded", (st, b)
    return b["result"]["executionResult"]


def forked(srv):
    """Did a new session come from a template (True) or the launcher?"""
    return run(srv, BACKEND) == "True"


def metric(srv, name, **labels):
    st, _, body = srv.request("GET", "/metrics", fresh=True)
    want = name + "{" + ",".join('%s="%s"' % kv for kv in labels.items()) \
        + "}"
    for line in body.decode().splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    raise AssertionError("%s not in /metrics" % want)


def test_new_sessions_are_forked(make_server):
    srv = make_server(config="preload = fractions\n")
    one_template(srv)
    assert forked(srv)
    assert run(srv, "import sys\n'fractions' in sys.modules") == "True"
    assert metric(srv, "sandpool_sandbox_backend_starts_total",
                  backend="zygote") >= 1
    assert metric(srv, "sandpool_zygote_templates_total",
                  state="ready") == 1


def test_launcher_pool_never_forks(make_server):
    srv = make_server(config="start = launcher\npreload = fractions\n")
    assert not forked(srv)
    assert templates(srv) == []
    assert metric(srv, "sandpool_sandbox_backend_starts_total",
                  backend="zygote") == 0


def test_template_killed_falls_back_and_comes_back(make_server):
    srv = make_server(config="preload = fractions\n")
    old = one_template(srv)
    os.kill(old, signal.SIGKILL)
    # Right away, while no template is up, sessions still start: by the
    # launcher, or the new template if it is already there.
    results = [run(srv, "1+1") for _ in range(3)]
    assert results == ["2"] * 3
    new = wait_for(lambda: [p for p in templates(srv) if p != old],
                   60, "a new template")[0]
    wait_for(lambda: forked(srv), 30, "sessions forked again")
    assert new != old
    log = srv.log_text()
    assert "died" in log or "failed a request" in log, log[-3000:]


def test_requests_never_fail_while_the_template_dies(make_server):
    srv = make_server(config="preload = fractions\n")
    tpl = one_template(srv)
    errors, done = [], []

    def client(k):
        c = http.client.HTTPConnection(srv.host, srv.port, timeout=120)
        for i in range(6):
            st, b = execute(srv, "kill-%d-%d" % (k, i), "1+1", conn=c)
            if st != 200 or b["result"]["executionResult"] != "2":
                errors.append((st, b))
        done.append(k)

    ts = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    [t.start() for t in ts]
    time.sleep(0.05)
    os.kill(tpl, signal.SIGKILL)
    [t.join(180) for t in ts]
    assert len(done) == 4 and errors == [], errors


def test_template_replaced_after_max_forks(make_server):
    srv = make_server(config="zygote.max_forks = 3\npreload = fractions\n")
    first = one_template(srv)
    keep = ident("old")
    run(srv, "x = 41", keep)
    for _ in range(5):
        assert forked(srv)
    wait_for(lambda: first not in templates(srv), 60,
             "the first template to be replaced")
    assert "replacing the template" in srv.log_text()
    assert len(templates(srv)) == 1
    # A session forked from the old template outlives it.
    assert run(srv, "x + 1", keep) == "42"
    assert forked(srv)


def test_sighup_changes_the_preload_for_new_sessions(make_server):
    # Two modules nothing else imports.
    srv = make_server(config="preload = netrc\n")
    one_template(srv)
    old = ident("old")
    check = "import sys\n('netrc' in sys.modules, 'sched' in sys.modules)"
    assert run(srv, check, old) == "(True, False)"
    text = srv.conf.read_text().replace("preload = netrc",
                                        "preload = sched")
    srv.conf.write_text(text)
    srv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in srv.log_text(), 30,
             "the reload")
    wait_for(lambda: 'template for "sched" is ready' in srv.log_text(),
             60, "the new template")
    assert run(srv, check) == "(False, True)"
    # The old session keeps its kernel; the old set's template goes.
    assert run(srv, check, old) == "(True, False)"
    wait_for(lambda: len(templates(srv)) == 1, 30, "the old template to go")


def test_sighup_with_a_bad_config_changes_nothing(make_server):
    srv = make_server(config="preload = fractions\n")
    one_template(srv)
    srv.conf.write_text(srv.conf.read_text() + "bogus_key = 1\n")
    srv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "nothing changed" in srv.log_text(), 30, "the refusal")
    assert run(srv, "import sys\n'fractions' in sys.modules") == "True"


def test_client_that_gives_up_leaves_no_session(make_server):
    # The launcher and real imports make the start slow enough for the
    # client to leave first.  Two places: the startup probe's sandbox
    # may still be going away when the client comes.
    srv = make_server(config="start = launcher\nmax_sessions = 2\n"
                             "preload = numpy,pandas,matplotlib\n",
                      env={"SANDPOOL_POOL_READY": "0"})
    body = json.dumps({"code": "1+1"}).encode()
    s = socket.create_connection((srv.host, srv.port))
    s.sendall(b"POST /executions?identifier=gone&api-version="
              b"2025-02-02-preview HTTP/1.1\r\nHost: x\r\nContent-Type: "
              b"application/json\r\nContent-Length: %d\r\n\r\n%s"
              % (len(body), body))
    time.sleep(0.2)
    s.close()
    wait_for(lambda: "abandoned by its client" in srv.log_text(), 60,
             "the abandoned session to go")
    wait_for(lambda: gauges(srv).get("active") == 0, 30, "no active session")
    # Both places are free again.
    assert run(srv, "1+1", ident("next")) == "2"
    assert run(srv, "1+1", ident("next")) == "2"


V1_PIDS = "/sys/fs/cgroup/pids"


@pytest.mark.skipif(not os.path.exists(os.path.join(V1_PIDS, "pids.max"))
                    and not os.path.isdir(V1_PIDS),
                    reason="needs the cgroup v1 pids hierarchy (this test "
                           "confines the server in a group of its own)")
def test_fork_failure_is_503_with_retry_after(make_server):
    own = open("/proc/self/cgroup").read()
    line = [x for x in own.splitlines() if x.split(":")[1] == "pids"][0]
    group = os.path.join(V1_PIDS + line.split(":", 2)[2],
                         "sp-test-forkfail-%d" % os.getpid())
    os.mkdir(group)
    try:
        srv = make_server(config="preload = fractions\n",
                          env={"SANDPOOL_POOL_READY": "0"},
                          wait_ready=False)
        srv.wait_ready()
        # The server (its launchers fork there) and the template (its
        # sandboxes fork there) into the group, at its current count.
        for pid in [srv.proc.pid, one_template(srv)]:
            with open(os.path.join(group, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        with open(os.path.join(group, "pids.current")) as f:
            cur = int(f.read())
        with open(os.path.join(group, "pids.max"), "w") as f:
            f.write(str(cur))
        t0 = time.time()
        st, h, b = srv.json(
            "POST", "/executions?identifier=%s&api-version="
            "2025-02-02-preview" % ident("nofork"), {"code": "1+1"})
        assert time.time() - t0 < 60
        assert st == 503, (st, b)
        assert h.get("retry-after") == "1"
        assert b["error"]["code"] == "SandboxUnavailable"
        assert "could not start" in b["error"]["message"]
        with open(os.path.join(group, "pids.max"), "w") as f:
            f.write("max")
        assert run(srv, "1+1") == "2"
    finally:
        with open(os.path.join(group, "cgroup.procs")) as f:
            pids = f.read().split()
        parent = os.path.dirname(group)
        for p in pids:
            with open(os.path.join(parent, "cgroup.procs"), "w") as f:
                f.write(p)
        os.rmdir(group)


def test_kernel_restart_forks_again(make_server):
    srv = make_server(config="preload = fractions\n")
    one_template(srv)
    s = ident("restart")
    run(srv, "x = 1", s)
    st, b = execute(srv, s, "import os\nos._exit(3)")
    assert st == 200 and b["status"] == "Failed", b
    assert b["error"]["code"] == "KernelDied"
    # The restarted kernel is a fork of the template again, fresh state.
    assert run(srv, BACKEND, s) == "True"
    assert run(srv, "'x' in dir()", s) == "False"


def test_concurrent_starts_are_all_forked(make_server):
    """Starters send their spawn requests while others' are in flight (the
    session's files and cgroups are made meanwhile) and read the answers
    in order: none is mixed up (that would be "not valid", a restart and
    the launcher), and each sandbox joined its own groups."""
    srv = make_server(config="preload = fractions\n",
                      env={"SANDPOOL_POOL_READY": "0"})
    one_template(srv)
    results = []

    def client(k):
        c = http.client.HTTPConnection(srv.host, srv.port, timeout=120)
        code = BACKEND + ", open('/proc/self/cgroup').read().count(':/\\n')"
        for i in range(3):
            st, b = execute(srv, "conc-%d-%d" % (k, i), code, conn=c)
            res = b.get("result") or {}
            results.append((st, res.get("executionResult"), b))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
    [t.start() for t in threads]
    [t.join(180) for t in threads]
    assert len(results) == 18
    assert all(st == 200 for st, _, _ in results), results
    # Forked, and every cgroup line of the sandbox reads "/" (its own
    # cgroup namespace, entered after it joined its groups).
    bad = [b for _, r, b in results if not (r or "").startswith("(True, ")]
    assert bad == [], (bad, srv.log_text()[-4000:])
    assert metric(srv, "sandpool_sandbox_backend_starts_total",
                  backend="launcher") == 0
    log = srv.log_text()
    assert "failed a request" not in log and "not valid" not in log


def test_template_replaced_after_max_age(make_server):
    srv = make_server(config="zygote.max_age = 1\npreload = fractions\n")
    first = one_template(srv)
    wait_for(lambda: templates(srv) and first not in templates(srv), 30,
             "the template to be replaced by age")
    assert forked(srv)


def test_serve_n_shows_the_start_backend(tmp_path):
    import subprocess
    from conftest import SANDPOOL
    conf = tmp_path / "c.conf"
    conf.write_text("[pool.cold]\nstart = launcher\n")
    p = subprocess.run([str(SANDPOOL), "serve", "-n", "-c", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    text = p.stdout.split("[pool.cold]")
    assert "start = zygote" in text[0] and "start = launcher" in text[1]
    assert "zygote.max_forks = 10000" in text[0]
