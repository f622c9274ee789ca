# SPDX-License-Identifier: MIT
"""Both start backends give the same sandbox (issue 9).

One server per backend (`start = zygote`, the default, and `start =
launcher`) runs the same in-sandbox probe in a session of its own: identity,
capabilities, NO_NEW_PRIVS and seccomp, every seccomp row (try_syscall.py),
mounts, /proc, network, Landlock, cgroup namespace, rlimits, the init as
pid 1, the fds the kernel holds and its environment.  Each fact is checked
for each backend, and the two answers must be equal.  Then what only a
zygote has: sibling sessions draw different random numbers, the template
holds nothing a session must not see, and another session is invisible.
"""
import json
import os
import re
import time

import pytest

from conftest import Server
from sp_host import (children, comm, delete, execute, ident, wait_for,
                     wait_ready)

HERE = os.path.dirname(os.path.abspath(__file__))
TMP_SIZE = 8 << 20

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the server must run as root")

# The kernel's whole environment, as docs/ARCHITECTURE.md documents it.
KERNEL_ENV = {
    "HOME": "/tmp", "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/.mpl",
    "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1",
    "SANDPOOL_KERNEL_FD": "3", "SANDPOOL_PRELOAD": "numpy",
}

PROBE = r'''
import json, os, resource, socket, subprocess, sys, threading, pwd
import try_syscall
STATE = %(state)r
r = {}
def err(f):
    try:
        f()
        return 0
    except OSError as e:
        return e.errno
r["uid"], r["gid"] = os.getresuid(), os.getresgid()
r["groups"] = os.getgroups()
st = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
r["status"] = {k: st[k].strip() for k in
               ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
                "NoNewPrivs", "Seccomp")}
st1 = dict(l.split(":", 1) for l in open("/proc/1/status") if ":" in l)
r["init_status"] = {k: st1[k].strip() for k in
                    ("CapEff", "CapBnd", "NoNewPrivs", "Seccomp", "Uid",
                     "Gid")}
r["init_comm"] = open("/proc/1/comm").read().strip()
r["init_cmdline"] = open("/proc/1/cmdline").read().split("\0")
r["paths"] = {("STATE" if p == STATE else p):
              (os.path.lexists(p), os.access(p, os.R_OK))
              for p in ("/etc/shadow", "/root", "/home", "/sys", "/var",
                        "/boot", STATE)}
r["ifaces"] = [n for _, n in socket.if_nameindex()]
r["write"] = {p: err(lambda: open(p, "w").close())
              for p in ("/usr/x", "/x", "/etc/x", "/opt/sandpool/x")}
r["syscalls"] = try_syscall.probe()
r["mypid"] = os.getpid()
r["cwd"] = os.getcwd()
r["env"] = dict(os.environ)
r["hostname"] = socket.gethostname()
r["pwname"] = pwd.getpwuid(os.getuid()).pw_name
r["userns_max"] = open("/proc/sys/user/max_user_namespaces").read().strip()
r["cgroup"] = open("/proc/self/cgroup").read().splitlines()
r["mounts"] = sorted(l.split()[4] for l in open("/proc/self/mountinfo"))
r["rlimits"] = {n: resource.getrlimit(getattr(resource, "RLIMIT_" + n))
                for n in ("CORE", "NOFILE", "NPROC", "FSIZE", "NICE")}
r["nice"] = os.getpriority(os.PRIO_PROCESS, 0)
def fds():
    out = []
    for f in os.listdir("/proc/self/fd"):
        try:
            t = os.readlink("/proc/self/fd/" + f)
        except OSError:
            continue
        out.append(t.split(":")[0] if t.startswith(("pipe:", "socket:"))
                   else t)
    return sorted(out)
r["fds"] = fds()
r["exec_tmp"] = err(lambda: (__import__("shutil").copy("/usr/bin/true",
                             "/tmp/t"), os.chmod("/tmp/t", 0o755),
                             subprocess.run(["/tmp/t"])))
r["tcp_connect"] = err(lambda: socket.create_connection(("127.0.0.1", 9),
                                                        timeout=2))
def fill():
    with open("/tmp/fill", "wb") as f:
        for _ in range(%(tmp)d // 65536 + 32):
            f.write(b"x" * 65536)
            f.flush()
r["tmp_fill"] = err(fill)
os.unlink("/tmp/fill")
r["sub_rc"] = subprocess.run(["sh", "-c", "exit 3"]).returncode
out = []
ts = [threading.Thread(target=out.append, args=(i,)) for i in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
r["threads"] = sorted(out)
r["sys_path"] = sys.path
r["dumpable"] = os.stat("/proc/self/status").st_uid
print(json.dumps(r))
'''


def make_server(backend):
    conf = ("start = %s\n[pool.p]\npreload = numpy\n"
            "tmp_size = %dM\nfiles_quota = 32M\n" % (backend, TMP_SIZE >> 20))
    return Server(config=conf)


def run_cell(srv, ident_, code, prefix="/pools/p"):
    st, b = execute(srv, ident_, code, prefix=prefix)
    assert st == 200 and b["status"] == "Succeeded", (st, b)
    return b["result"]


def upload(srv, ident_, name, data, prefix="/pools/p"):
    boundary = "sandpool-test-boundary"
    body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; "
             "filename=\"%s\"\r\nContent-Type: application/octet-stream"
             "\r\n\r\n" % (boundary, name)).encode() + data +
            ("\r\n--%s--\r\n" % boundary).encode())
    st, _, out = srv.request(
        "POST", "%s/files?identifier=%s&api-version=2025-02-02-preview"
        % (prefix, ident_), body=body,
        headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
    assert st == 200, out


@pytest.fixture(scope="module")
def probes():
    """{backend: the probe's facts} from one session per backend."""
    out = {}
    with open(os.path.join(HERE, "try_syscall.py"), "rb") as f:
        try_syscall = f.read()
    for backend in ("zygote", "launcher"):
        srv = make_server(backend)
        try:
            s = ident("probe")
            upload(srv, s, "try_syscall.py", try_syscall)
            res = run_cell(srv, s, PROBE % {
                "state": os.path.realpath(str(srv.state)), "tmp": TMP_SIZE})
            line = [x for x in res["stdout"].splitlines()
                    if x.startswith("{")][-1]
            out[backend] = json.loads(line)
            out[backend]["_log"] = srv.log_text()
        finally:
            srv.stop()
            srv.cleanup()
    return out


BACKENDS = ["zygote", "launcher"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_started_by_the_backend(probes, backend):
    # pid 1 is the C init either way; a zygote child's pid 1 re-exec'd
    # into it (init.c), the launcher's child is the launcher binary.
    p = probes[backend]
    assert p["init_comm"] == "sandpool-init"
    assert ("--zygote-init" in p["init_cmdline"]) == (backend == "zygote")
    assert ("zygote: the template" in p["_log"]) == (backend == "zygote")


@pytest.mark.parametrize("backend", BACKENDS)
def test_identity_and_privileges(probes, backend):
    p = probes[backend]
    assert p["uid"] == [1000, 1000, 1000] and p["gid"] == [1000, 1000, 1000]
    assert p["groups"] == [1000] and p["pwname"] == "sandbox"
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(p["status"][k], 16) == 0, k
    assert p["status"]["NoNewPrivs"] == "1" and p["status"]["Seccomp"] == "2"
    # pid 1 (the init) is confined the same way.
    i = p["init_status"]
    assert int(i["CapEff"], 16) == 0 and int(i["CapBnd"], 16) == 0
    assert i["NoNewPrivs"] == "1" and i["Seccomp"] == "2"
    assert i["Uid"].split()[0] == "1000"
    assert p["mypid"] == 2


def expected_syscalls():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "try_syscall", os.path.join(HERE, "try_syscall.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.EXPECT


@pytest.mark.parametrize("backend", BACKENDS)
def test_seccomp_rows(probes, backend):
    got = probes[backend]["syscalls"]
    for name, want in expected_syscalls().items():
        assert got[name] == want, (name, got[name], want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_filesystem_network_and_namespaces(probes, backend):
    p = probes[backend]
    for path, (exists, readable) in p["paths"].items():
        assert not exists and not readable, path
    assert p["ifaces"] == ["lo"]
    assert all(v != 0 for v in p["write"].values()), p["write"]
    assert p["userns_max"] == "0"
    assert all(line.endswith(":/") for line in p["cgroup"]), p["cgroup"]
    assert p["exec_tmp"] != 0 and p["tcp_connect"] != 0
    assert p["tmp_fill"] == 28  # ENOSPC
    assert p["cwd"] == "/mnt/data" and p["hostname"] == "sandbox"
    assert "/mnt/data" in p["mounts"] and "/proc" in p["mounts"]
    assert p["sub_rc"] == 3 and p["threads"] == [0, 1, 2, 3]
    assert p["rlimits"]["CORE"] == [0, 0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_environment_as_documented(probes, backend):
    assert probes[backend]["env"] == KERNEL_ENV


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_inherited_fd(probes, backend):
    """The kernel's own fds only: stdio (/dev/null, or the capture pipes
    while a cell runs), its control socket, its saved stdio, the listing
    itself, and what its Python opened: IPython's /dev/null and
    matplotlib's fonts under /usr.  No directory, no host file, no socket
    of the server's or a template's."""
    for t in probes[backend]["fds"]:
        assert (t in ("pipe", "socket", "/dev/null")
                or t.startswith("/usr/") or re.fullmatch(r"/proc/\d+/fd", t)
                ), (t, probes[backend]["fds"])
    assert probes[backend]["fds"].count("socket") == 1


FACTS = ["uid", "gid", "groups", "status", "init_status", "init_comm",
         "paths", "ifaces", "write", "syscalls", "mypid", "cwd", "env",
         "hostname", "pwname", "userns_max", "cgroup", "mounts", "rlimits",
         "fds", "exec_tmp", "tcp_connect", "tmp_fill", "sub_rc", "threads",
         "sys_path", "dumpable", "nice"]


@pytest.mark.parametrize("fact", FACTS)
def test_same_answer_from_both_backends(probes, fact):
    assert probes["zygote"][fact] == probes["launcher"][fact], fact


# ---- what only the zygote has ----

@pytest.fixture(scope="module")
def zsrv():
    s = Server(config="start = zygote\npreload = numpy\n")
    yield s
    s.stop()
    s.cleanup()


def template_pids(srv):
    return [p for p in children(srv.proc.pid, reaper=True)
            if comm(p) == "sp-zygote"]


RNG = "import random, numpy\n(random.random(), float(numpy.random.rand()))"


def test_siblings_draw_different_numbers(zsrv):
    # Sessions forked one after the other from the same template.
    vals = [run_cell(zsrv, ident("rng"), RNG, prefix="")["executionResult"]
            for _ in range(4)]
    assert len(set(vals)) == 4, vals
    pys = {v.split(",")[0] for v in vals}
    nps = {v.split(",")[1] for v in vals}
    assert len(pys) == 4 and len(nps) == 4, vals


def test_template_is_unprivileged_and_clean(zsrv):
    (tpl,) = template_pids(zsrv)
    st = dict(l.split(":", 1) for l in open("/proc/%d/status" % tpl)
              if ":" in l)
    assert int(st["Uid"].split()[0]) != 0
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    assert st["NoNewPrivs"].strip() == "1"
    env = dict(e.split("=", 1) for e in
               open("/proc/%d/environ" % tpl).read().split("\0") if e)
    assert env == KERNEL_ENV
    # Its fds between requests (a spawn request brings the new sandbox's
    # for a moment): stdio, its socket to the server, and what its Python
    # holds (IPython's /dev/null, fonts); no state, no database, no key.
    wait_ready(zsrv, 1)

    def fds():
        out = []
        for f in os.listdir("/proc/%d/fd" % tpl):
            try:
                out.append((int(f), os.readlink("/proc/%d/fd/%s" % (tpl, f))))
            except OSError:
                pass
        return out
    for f, t in fds():
        assert (t in ("/dev/null",) or t.startswith(("socket:", "/usr/"))
                or f == 2), (f, t)
        assert "sandpool.db" not in t and str(zsrv.state) not in t, t


def test_other_sessions_invisible(zsrv):
    a, b = ident("vis-a"), ident("vis-b")
    run_cell(zsrv, a, "import subprocess\n"
             "p = subprocess.Popen(['sleep', '300'])\np.pid", prefix="")
    pids = run_cell(zsrv, b, "import os\nsorted(int(p) for p in "
                    "os.listdir('/proc') if p.isdigit())",
                    prefix="")["executionResult"]
    assert pids == "[1, 2]", pids
    delete(zsrv, a)
    delete(zsrv, b)
