# SPDX-License-Identifier: MIT
"""The sandbox launcher on its own: build/sandpool-sandbox, no server.

Runs real sandboxes as root and checks from inside what the launcher
contract (docs/ARCHITECTURE.md) and platform-notes promise: identity,
capabilities, seccomp, Landlock, mounts, namespaces, the init's reaping and
signal forwarding, the report line, and option validation.

Run: SANDPOOL_BUILD=build-sbx /usr/bin/python3 -m pytest tests/security
(SANDPOOL_BUILD defaults to /work/main/build).
"""
import errno
import fcntl
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(os.environ.get("SANDPOOL_BUILD", "/work/main/build"))
LAUNCHER = os.path.join(BUILD, "sandpool-sandbox")
PYTHON = "/usr/bin/python3"
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
       "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/.mpl"}
TMP_SIZE = 8 << 20

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the launcher must run as root")

# Unique uid bases: 1000000000 + k*2048, k spread by our pid so that two
# test runs at once do not share host uids.
_k = itertools.count((os.getpid() % 4096) * 64)


def next_uid_base():
    return 1000000000 + next(_k) * 2048


def high_fd(fd):
    """A close-on-exec duplicate of fd numbered >= 20 (clear of 0-4)."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 20)


class Box:
    """Host side of one sandbox: a 0700 state dir holding the data dir
    (owned by X+1000, like the server's), and a runtime dir."""

    def __init__(self):
        self.uid_base = next_uid_base()
        self.top = tempfile.mkdtemp(prefix="sandpool-sbx-test-")
        os.chmod(self.top, 0o755)
        self.state = os.path.join(self.top, "state")
        os.mkdir(self.state, 0o700)
        self.data = os.path.join(self.state, "data")
        os.mkdir(self.data, 0o755)
        os.chown(self.data, self.uid_base + 1000, self.uid_base + 1000)
        self.runtime = os.path.join(self.top, "runtime")
        os.mkdir(self.runtime, 0o755)
        with open(os.path.join(self.runtime, "marker.txt"), "w") as f:
            f.write("runtime-ok\n")
        shutil.copy(os.path.join(HERE, "try_syscall.py"), self.data)
        os.chown(os.path.join(self.data, "try_syscall.py"),
                 self.uid_base + 1000, self.uid_base + 1000)

    def args(self, *extra, wait=True, stdio=True, env=ENV):
        a = [LAUNCHER, "--data", self.data, "--runtime", self.runtime,
             "--uid-base", str(self.uid_base)]
        if wait:
            a.append("--wait")
        if stdio:
            a.append("--stdio")
        for k, v in env.items():
            a += ["--env", f"{k}={v}"]
        return a + list(extra)

    def run(self, code, *extra, timeout=120, **kw):
        """Run python3 -c code in a --wait --stdio sandbox."""
        return subprocess.run(self.args(*extra, **kw) +
                              ["--", PYTHON, "-c", code],
                              capture_output=True, text=True,
                              timeout=timeout)

    def cleanup(self):
        shutil.rmtree(self.top, ignore_errors=True)


@pytest.fixture
def box():
    if not os.access(LAUNCHER, os.X_OK):
        pytest.fail(f"{LAUNCHER} not built (set SANDPOOL_BUILD)")
    b = Box()
    yield b
    b.cleanup()


def last_json(out):
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    assert lines, f"no JSON line in output: {out!r}"
    return json.loads(lines[-1])


# ---- the big probe: one sandbox, many facts ----

PROBE = textwrap.dedent(r'''
    import json, os, socket, subprocess, sys, threading, pwd
    sys.path.insert(0, "/mnt/data")
    import try_syscall
    STATE, TMP_SIZE = sys.argv[1], int(sys.argv[2])
    r = {}
    def err(f):
        try:
            f()
            return 0
        except OSError as e:
            return e.errno
    r["uid"], r["gid"] = os.getresuid(), os.getresgid()
    r["groups"] = os.getgroups()
    st = dict(l.split(":", 1) for l in open("/proc/self/status")
              if ":" in l)
    r["status"] = {k: st[k].strip() for k in
                   ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                    "NoNewPrivs", "Seccomp")}
    r["paths"] = {p: (os.path.lexists(p), os.access(p, os.R_OK))
                  for p in ("/etc/shadow", "/root", "/home", "/sys",
                            "/var", "/boot", STATE)}
    r["ifaces"] = [n for _, n in socket.if_nameindex()]
    def udp_loop():
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        u.settimeout(5)
        u.sendto(b"ping", u.getsockname())
        assert u.recv(16) == b"ping"
    r["lo_udp"] = err(udp_loop)
    r["write"] = {p: err(lambda: open(p, "w").close())
                  for p in ("/usr/sandbox-probe", "/sandbox-probe",
                            "/etc/sandbox-probe", "/opt/sandpool/x")}
    r["append_passwd"] = err(lambda: open("/etc/passwd", "a").close())
    r["runtime"] = open("/opt/sandpool/marker.txt").read()
    r["syscalls"] = try_syscall.probe()
    r["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    r["mypid"] = os.getpid()
    r["fds"] = sorted(int(f) for f in os.listdir("/proc/self/fd"))
    r["cwd"] = os.getcwd()
    r["env"] = dict(os.environ)
    r["hostname"] = socket.gethostname()
    r["pwname"] = pwd.getpwuid(os.getuid()).pw_name
    r["userns_max"] = open("/proc/sys/user/max_user_namespaces").read()
    r["cgroup"] = open("/proc/self/cgroup").read().splitlines()
    r["umask"] = os.umask(0o22)
    def tmp_fill():
        with open("/tmp/fill", "wb") as f:
            for _ in range(TMP_SIZE // 65536 + 32):
                f.write(b"x" * 65536)
                f.flush()
    r["tmp_write"] = err(lambda: open("/tmp/small", "w").write("ok"))
    r["tmp_fill"] = err(tmp_fill)
    os.unlink("/tmp/fill")
    r["shm_write"] = err(lambda: open("/dev/shm/x", "w").write("ok"))
    r["devnull"] = err(lambda: open("/dev/null", "w").write("x"))
    def exec_tmp():
        import shutil
        shutil.copy("/usr/bin/true", "/tmp/true")
        os.chmod("/tmp/true", 0o755)
        subprocess.run(["/tmp/true"])
    r["exec_tmp"] = err(exec_tmp)
    r["exec_data"] = err(lambda: (open("/mnt/data/t.sh", "w").write(
        "#!/bin/sh\n"), os.chmod("/mnt/data/t.sh", 0o755),
        subprocess.run(["/mnt/data/t.sh"])))
    r["tcp_connect"] = err(lambda: socket.create_connection(
        ("127.0.0.1", 9), timeout=2))
    r["sub_rc"] = subprocess.run(["sh", "-c", "exit 3"]).returncode
    r["sub_capture_rc"] = subprocess.run(["sh", "-c", "echo hi; exit 5"],
                                         capture_output=True).returncode
    out = []
    ts = [threading.Thread(target=out.append, args=(i,)) for i in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    r["threads"] = sorted(out)
    try:
        import numpy, pandas, matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        df = pandas.DataFrame({"x": numpy.arange(5)})
        plt.plot(df["x"], numpy.sqrt(df["x"]))
        plt.savefig("/mnt/data/plot.png")
        r["scipy_stack"] = "ok"
    except Exception as e:
        r["scipy_stack"] = repr(e)
    print(json.dumps(r), flush=True)
''')


@pytest.fixture(scope="module")
def probe():
    if not os.access(LAUNCHER, os.X_OK):
        pytest.fail(f"{LAUNCHER} not built (set SANDPOOL_BUILD)")
    b = Box()
    try:
        p = subprocess.run(b.args("--tmp-size", str(TMP_SIZE)) +
                           ["--", PYTHON, "-c", PROBE, b.state,
                            str(TMP_SIZE)],
                           capture_output=True, text=True, timeout=180)
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
        r = last_json(p.stdout)
        png = os.path.join(b.data, "plot.png")
        r["host_png"] = (os.path.getsize(png), os.stat(png).st_uid) \
            if os.path.exists(png) else None
        r["uid_base"] = b.uid_base
        yield r
    finally:
        b.cleanup()


def test_identity(probe):
    assert probe["uid"] == [1000, 1000, 1000]
    assert probe["gid"] == [1000, 1000, 1000]
    assert probe["groups"] == [1000]
    assert probe["pwname"] == "sandbox"


def test_no_capabilities_nnp_seccomp(probe):
    st = probe["status"]
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(st[k], 16) == 0, (k, st[k])
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"


def test_host_paths_absent(probe):
    for path, (exists, readable) in probe["paths"].items():
        assert not exists and not readable, path


def test_network_only_lo(probe):
    assert probe["ifaces"] == ["lo"]
    # lo is up: a UDP datagram to ourselves on 127.0.0.1 arrives.
    assert probe["lo_udp"] == 0


def test_read_only_tree(probe):
    w = probe["write"]
    assert w["/usr/sandbox-probe"] in (errno.EROFS, errno.EACCES)
    assert w["/sandbox-probe"] in (errno.EROFS, errno.EACCES)
    assert w["/etc/sandbox-probe"] in (errno.EROFS, errno.EACCES)
    assert w["/opt/sandpool/x"] in (errno.EROFS, errno.EACCES)
    assert probe["append_passwd"] in (errno.EROFS, errno.EACCES)
    assert probe["runtime"] == "runtime-ok\n"


@pytest.mark.parametrize("name,want", [
    ("getpid", 0), ("clone_plain", 0), ("personality_linux", 0),
    ("socket_unix", 0),
    ("mount", errno.EPERM), ("umount2", errno.EPERM),
    ("pivot_root", errno.EPERM), ("open_tree", errno.EPERM),
    ("fsopen", errno.EPERM),
    ("unshare_user", errno.EPERM), ("unshare_net", errno.EPERM),
    ("unshare_ns", errno.EPERM), ("setns", errno.EPERM),
    ("clone_newuser", errno.EPERM), ("clone3", errno.ENOSYS),
    ("ptrace_traceme", errno.EPERM), ("ptrace_attach", errno.EPERM),
    ("bpf", errno.EPERM), ("perf_event_open", errno.EPERM),
    ("userfaultfd", errno.EPERM), ("keyctl", errno.EPERM),
    ("io_uring_setup", errno.EPERM), ("open_by_handle_at", errno.EPERM),
    ("name_to_handle_at", errno.EPERM), ("init_module", errno.EPERM),
    ("swapon", errno.EPERM), ("reboot", errno.EPERM),
    ("syslog", errno.EPERM), ("clock_settime", errno.EPERM),
    ("personality_no_aslr", errno.EPERM), ("tiocsti", errno.EPERM),
    ("socket_raw_inet", errno.EPERM), ("socket_raw_inet6", errno.EPERM),
    ("socket_packet", errno.EPERM),
])
def test_syscall(probe, name, want):
    got = probe["syscalls"][name]
    assert got == want, f"{name}: errno {got} ({os.strerror(got)}), " \
        f"want {want} ({os.strerror(want)})"


def test_foreign_abi_killed(probe):
    if "x32_signal" not in probe["syscalls"]:
        pytest.skip("not x86_64")
    assert probe["syscalls"]["x32_signal"] == signal.SIGSYS


def test_nested_userns_limit(probe):
    assert probe["userns_max"].strip() == "0"


def test_cgroup_namespace(probe):
    assert all(line.endswith(":/") for line in probe["cgroup"]), \
        probe["cgroup"]


def test_python_stack_and_savefig(probe):
    assert probe["scipy_stack"] == "ok"
    size, uid = probe["host_png"]
    assert size > 1000
    assert uid == probe["uid_base"] + 1000


def test_threads(probe):
    assert probe["threads"] == [0, 1, 2, 3]


def test_subprocess_exit_codes(probe):
    # Python is pid 2; the C init reaps only what subprocess does not wait
    # for, so subprocess keeps its exit codes.
    assert probe["mypid"] == 2
    assert probe["sub_rc"] == 3
    assert probe["sub_capture_rc"] == 5


def test_only_own_pids_visible(probe):
    assert probe["pids"] == [1, 2]


def test_fds(probe):
    # 0-2 (--stdio) plus the fd listdir itself has open; no fd 3 was given.
    assert probe["fds"][:3] == [0, 1, 2]
    assert len(probe["fds"]) == 4


def test_tmp_writable_and_limited(probe):
    assert probe["tmp_write"] == 0
    assert probe["tmp_fill"] == errno.ENOSPC
    assert probe["shm_write"] == 0
    assert probe["devnull"] == 0


def test_landlock(probe):
    assert probe["exec_tmp"] == errno.EACCES
    # /mnt/data is noexec as well (EACCES either way).
    assert probe["exec_data"] == errno.EACCES
    # No TCP at all: Landlock refuses connect before the netns could.
    assert probe["tcp_connect"] == errno.EACCES


def test_cwd_env_hostname_umask(probe):
    assert probe["cwd"] == "/mnt/data"
    assert probe["env"] == ENV
    assert probe["hostname"] == "sandbox"
    assert probe["umask"] == 0o22


# ---- behaviour of the launcher itself ----

def test_exit_status_and_signal_status(box):
    p = box.run("import sys; sys.exit(42)")
    assert p.returncode == 42, p.stderr
    p = box.run("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert p.returncode == 128 + signal.SIGKILL, p.stderr


def test_stdio_default_devnull(box):
    code = ("import os; print('LEAK'); "
            "open('/mnt/data/fd1', 'w').write(os.readlink('/proc/self/fd/1'))")
    p = subprocess.run(box.args(stdio=False) + ["--", PYTHON, "-c", code],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "LEAK" not in p.stdout
    with open(os.path.join(box.data, "fd1")) as f:
        assert f.read() == "/dev/null"


def test_hostname_option(box):
    p = box.run("import socket; print(socket.gethostname()); "
                "print(open('/etc/hosts').read())", "--hostname", "box-7")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == "box-7"
    assert "127.0.1.1\tbox-7" in p.stdout


def test_limits(box):
    code = ("import resource as r; print([r.getrlimit(x) for x in "
            "(r.RLIMIT_NPROC, r.RLIMIT_FSIZE, r.RLIMIT_CORE, "
            "r.RLIMIT_NOFILE)])")
    p = box.run(code, "--pids", "77", "--fsize", "1M")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.replace("(", "[").replace(")", "]")) == \
        [[77, 77], [1 << 20, 1 << 20], [0, 0], [1024, 4096]]


def test_cgroup_fd_written(box):
    r, w = os.pipe()
    w2 = high_fd(w)
    os.close(w)
    try:
        p = subprocess.run(box.args("--cgroup-fd", str(w2)) +
                           ["--", PYTHON, "-c", "pass"],
                           pass_fds=(w2,), capture_output=True, text=True,
                           timeout=60)
        os.close(w2)
        assert p.returncode == 0, p.stderr
        # The child wrote "0" (= itself) and closed it: EOF follows.
        assert os.read(r, 16) == b"0"
        assert os.read(r, 16) == b""
    finally:
        os.close(r)


def test_exec_failure_reported(box):
    r, w = os.pipe()
    w2 = high_fd(w)
    os.close(w)
    try:
        p = subprocess.run(box.args("--report-fd", str(w2)) +
                           ["--", "/nonexistent/prog"], pass_fds=(w2,),
                           capture_output=True, text=True, timeout=60)
        os.close(w2)
        report = os.read(r, 4096).decode()
    finally:
        os.close(r)
    assert p.returncode == 1
    assert report.startswith("err execve /nonexistent/prog: No such file")
    assert report.endswith("\n") and report.count("\n") == 1


def spawn_server_style(box, code, ctl=None):
    """Start the launcher as the server does: no --wait, report on fd 4,
    optional control socket on fd 3.  Returns (launcher pid, report r)."""
    r, w = os.pipe()
    w2 = high_fd(w)
    os.close(w)
    actions = [(os.POSIX_SPAWN_DUP2, w2, 4)]
    if ctl is not None:
        actions.append((os.POSIX_SPAWN_DUP2, high_fd(ctl), 3))
    args = box.args("--report-fd", "4", wait=False, stdio=False) + \
        ["--", PYTHON, "-c", code]
    pid = os.posix_spawn(LAUNCHER, args, dict(os.environ),
                         file_actions=actions)
    os.close(w2)
    return pid, r


def read_report(r):
    with os.fdopen(r, "rb") as f:
        return f.readline().decode()


def test_report_ok_clone_parent_and_ctl_socket(box):
    parent, child = socket.socketpair()
    code = ("import os, socket; s = socket.socket(fileno=3); "
            "s.sendall(b'hello %d ' % os.getpid() + "
            "' '.join(sorted(os.listdir('/proc/self/fd'))).encode()); "
            "raise SystemExit(9)")
    t0 = time.monotonic()
    lpid, r = spawn_server_style(box, code, ctl=child.fileno())
    child.close()
    line = read_report(r)
    ms = (time.monotonic() - t0) * 1000
    _, lst = os.waitpid(lpid, 0)
    assert os.waitstatus_to_exitcode(lst) == 0
    assert line.startswith("ok ") and line.endswith("\n"), line
    pid = int(line.split()[1])
    # CLONE_PARENT: the sandbox's init is our child, not the launcher's.
    _, st = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(st) == 9
    parent.settimeout(10)
    msg = parent.recv(4096)
    # fds 0-3 only (plus listdir's own).
    assert msg.startswith(b"hello 2 0 1 2 3 "), msg
    assert len(msg.split()) == 7, msg
    print(f"spawn -> report ok: {ms:.2f} ms")


def test_signal_forwarded_by_init(box):
    code = ("import signal, sys, time; "
            "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7)); "
            "open('/mnt/data/ready', 'w').close(); time.sleep(60)")
    lpid, r = spawn_server_style(box, code)
    line = read_report(r)
    os.waitpid(lpid, 0)
    assert line.startswith("ok "), line
    pid = int(line.split()[1])
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(box.data, "ready")):
            assert time.monotonic() < deadline, "PROGRAM never got ready"
            time.sleep(0.01)
        os.kill(pid, signal.SIGTERM)
        _, st = os.waitpid(pid, 0)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    assert os.waitstatus_to_exitcode(st) == 7


def test_signal_forwarded_by_waiting_launcher(box):
    code = ("import time; open('/mnt/data/ready', 'w').close(); "
            "time.sleep(60)")
    # Started like a background shell job: SIGINT ignored.  The child must
    # reset it, or Python would install no handler and ignore it too.
    p = subprocess.Popen(box.args() + ["--", PYTHON, "-c", code],
                         preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                          signal.SIG_IGN))
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(box.data, "ready")):
            assert time.monotonic() < deadline, "PROGRAM never got ready"
            time.sleep(0.01)
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # KeyboardInterrupt: Python re-raises SIGINT on itself at exit.
    assert rc == 128 + signal.SIGINT


def test_sandboxes_cannot_see_each_other(box):
    other = Box()
    token = f"sandpool-token-{other.uid_base}"
    code = ("import os, sys, time; open('/mnt/data/ready', 'w').close(); "
            "t = time.monotonic() + 60\n"
            "while not os.path.exists('/mnt/data/go') and "
            "time.monotonic() < t: time.sleep(0.01)")
    a = subprocess.Popen(other.args() + ["--", PYTHON, "-c", code, token])
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(other.data, "ready")):
            assert time.monotonic() < deadline, "sandbox A never got ready"
            time.sleep(0.01)
        # Sanity: the token is visible from the host, so a leak would show.
        assert any(token.encode() in open(f"/proc/{p}/cmdline", "rb").read()
                   for p in os.listdir("/proc") if p.isdigit()
                   and os.path.exists(f"/proc/{p}/cmdline"))
        probe_b = ("import os, json\nseen = []\n"
                   "for p in os.listdir('/proc'):\n"
                   "    if p.isdigit():\n"
                   "        seen.append(open('/proc/%s/cmdline' % p, 'rb')"
                   ".read().decode(errors='replace'))\n"
                   "print(json.dumps({'pids': sorted(int(p) for p in "
                   "os.listdir('/proc') if p.isdigit()), 'cmd': seen}))")
        p = box.run(probe_b)
        assert p.returncode == 0, p.stderr
        r = last_json(p.stdout)
        assert r["pids"] == [1, 2]
        assert not any(token in c for c in r["cmd"])
    finally:
        open(os.path.join(other.data, "go"), "w").close()
        try:
            assert a.wait(timeout=30) == 0
        finally:
            if a.poll() is None:
                a.kill()
                a.wait()
            other.cleanup()


BAD_OPTIONS = [
    ([], "required"),
    (["--bogus"], "unknown option '--bogus'"),
    (["-x"], "unknown option '-x'"),
    (["--data", "rel/dir"], "not an absolute path"),
    (["--data", "/a", "--data", "/b"], "--data given twice"),
    (["--uid-base", "0"], "--uid-base: 0 is out of range"),
    (["--uid-base", "65535"], "out of range"),
    (["--uid-base", "4294967295"], "out of range"),
    (["--uid-base", "12ab"], "not a whole number"),
    (["--tmp-size", "10"], "--tmp-size: 10 is out of range"),
    (["--tmp-size", "1X"], "not a size"),
    (["--pids", "0"], "--pids: 0 is out of range"),
    (["--pids", "70000"], "out of range"),
    (["--fsize", "-1"], "not a size"),
    (["--hostname", "bad_name"], "--hostname"),
    (["--hostname", "-lead"], "--hostname"),
    (["--hostname", "a" * 64], "--hostname"),
    (["--env", "NOEQUALS"], "not NAME=VALUE"),
    (["--env", "=v"], "not NAME=VALUE"),
    (["--env", "A=1", "--env", "A=2"], "A given twice"),
    (["--report-fd", "3"], "control socket"),
    (["--report-fd", "987"], "not an open fd"),
    (["--cgroup-fd", "2"], "fds 0-3"),
    (["--cgroup-fd", "986"], "not an open fd"),
]


@pytest.mark.parametrize("bad,msg", BAD_OPTIONS)
def test_bad_option(box, bad, msg):
    base = ["--data", box.data, "--runtime", box.runtime,
            "--uid-base", str(box.uid_base)]
    # Options given in "bad" replace the good ones of the same name.
    if bad and bad[0] in base:
        i = base.index(bad[0])
        del base[i:i + 2]
    if bad == []:
        base = []
    p = subprocess.run([LAUNCHER] + base + bad + ["--", PYTHON, "-c", "1"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert msg in p.stderr, p.stderr
    assert os.listdir(box.data) == ["try_syscall.py"]


@pytest.mark.parametrize("tail,msg", [
    ([], "no PROGRAM"),
    (["--"], "no PROGRAM"),
    (["--", "python3"], "not an absolute path"),
    (["--pids"], "option '--pids' needs a value"),
])
def test_bad_program(box, tail, msg):
    p = subprocess.run([LAUNCHER, "--data", box.data, "--runtime",
                        box.runtime, "--uid-base", str(box.uid_base)] + tail,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert msg in p.stderr, p.stderr


def test_data_dir_symlink_refused(box):
    link = os.path.join(box.top, "link")
    os.symlink(box.data, link)
    args = box.args()
    args[args.index("--data") + 1] = link
    r, w = os.pipe()
    w2 = high_fd(w)
    os.close(w)
    try:
        p = subprocess.run(args + ["--report-fd", str(w2), "--", PYTHON,
                                   "-c", "1"], pass_fds=(w2,),
                           capture_output=True, text=True, timeout=30)
        os.close(w2)
        report = os.read(r, 4096).decode()
    finally:
        os.close(r)
    # O_NOFOLLOW: a symlinked data dir is refused (ELOOP), host side.
    assert p.returncode == 1
    assert report.startswith("err open " + link), report


def test_every_policy_row(probe):
    """Each row of src/seccomp.c's table gives its errno (try_syscall's
    EXPECT), not only the ones listed above."""
    sys.path.insert(0, HERE)
    import try_syscall
    bad = try_syscall.mismatches(probe["syscalls"])
    assert not bad, ["%s: errno %s, want %s" % b for b in bad]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
