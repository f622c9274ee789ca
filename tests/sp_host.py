# SPDX-License-Identifier: MIT
"""Host-side views of a running sandpool server for the pool and hostile
suites: its cgroup subtree (from the "cgroups:" startup log line), the
session groups in it, its child processes, the mounts under its state
directory, and the pool gauges of /metrics.  Linux and root only."""
import json
import os
import re
import time
import uuid

V2 = "2025-10-02-preview"

# Inside the sandbox: seconds since this kernel process started, measured
# against /proc/uptime (both in clock ticks since boot), and the pid
# namespace inode, which names the sandbox.
AGE_CODE = """\
import os
_st = open('/proc/self/stat').read().rsplit(')', 1)[1].split()
_age = (float(open('/proc/uptime').read().split()[0])
        - int(_st[19]) / os.sysconf('SC_CLK_TCK'))
'%.3f %d' % (_age, os.stat('/proc/self/ns/pid').st_ino)
"""


def ident(prefix="id"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def cgroup_bases(server):
    """{"memory": dir, "pids": dir, ...} from the server's startup log."""
    m = re.search(r"cgroups: v(\d); session groups under (.*)",
                  server.log_text())
    assert m, server.log_text()[-4000:]
    bases = {}
    for part in m.group(2).strip().split(", "):
        ctls, d = part.split("=", 1)
        for c in ctls.split("+"):
            bases[c] = d
    bases["_version"] = int(m.group(1))
    return bases


def session_groups(bases, ctl="pids"):
    """Names of the session groups under the instance subtree."""
    d = bases[ctl]
    if not os.path.isdir(d):
        return set()
    return {e for e in os.listdir(d) if re.fullmatch(r"[0-9a-f]{16}", e)}


def group_file(bases, ctl, sid, name):
    with open(os.path.join(bases[ctl], sid, name)) as f:
        return f.read().strip()


def group_procs(bases, sid, ctl="pids"):
    try:
        return [int(x) for x in group_file(bases, ctl, sid,
                                           "cgroup.procs").split()]
    except FileNotFoundError:
        return []


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


# The server's own helpers, which are its children but no sandbox: the
# reaper and the zygote templates.
HELPERS = ("sp-reaper", "sp-zygote")


def children(pid, reaper=False):
    """Pids whose parent is pid: the sandboxes' inits and launchers, and
    with reaper=True also the server's helpers (the reaper, "sp-reaper",
    and the zygote templates, "sp-zygote")."""
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/status" % e) as f:
                for line in f:
                    if line.startswith("PPid:"):
                        if int(line.split()[1]) == pid:
                            out.append(int(e))
                        break
        except OSError:
            pass
    return [p for p in out if reaper or comm(p) not in HELPERS]


def reaper_of(pid):
    r = [p for p in children(pid, reaper=True) if comm(p) == "sp-reaper"]
    assert len(r) == 1, r
    return r[0]


def alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def state_mounts(state_dir):
    """Mount points at or below state_dir in our mount namespace."""
    real = os.path.realpath(str(state_dir))
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == real or mp.startswith(real + "/"):
                out.append(mp)
    return out


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def gauges(server, pool="default"):
    """{"active": n, "ready": n, "starting": n} from /metrics."""
    st, _, body = server.request("GET", "/metrics", fresh=True)
    assert st == 200, body[:300]
    g = {}
    for m in re.finditer(r'^sandpool_sessions\{pool="([^"]*)",'
                         r'state="(\w+)"\} (\d+)$', body.decode(), re.M):
        if m.group(1) == pool:
            g[m.group(2)] = int(m.group(3))
    return g


def wait_for(pred, timeout, what, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out after %.1f s waiting for %s"
                         % (timeout, what))


def wait_ready(server, n, pool="default", timeout=60):
    return wait_for(lambda: gauges(server, pool).get("ready") == n
                    and gauges(server, pool).get("starting") == 0,
                    timeout, "pool %s to have %d ready" % (pool, n))


def execute(server, ident_, code, prefix="", timeout=None, conn=None,
            **extra):
    """Gen2 execute; returns (HTTP status, body)."""
    body = {"code": code}
    if timeout:
        body["timeoutInSeconds"] = timeout
    body.update(extra)
    path = "%s/executions?identifier=%s&api-version=%s" % (prefix, ident_,
                                                           V2)
    if conn is None:
        st, _, b = server.json("POST", path, body)
        return st, b
    conn.request("POST", path, body=json.dumps(body).encode(),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None


def run_ok(server, ident_, code, prefix=""):
    st, b = execute(server, ident_, code, prefix)
    assert st == 200 and b["status"] == "Succeeded", (st, b)
    return b["result"]["executionResult"]


def delete(server, ident_, prefix=""):
    st, _, _ = server.request("DELETE", "%s/session?identifier=%s"
                              "&api-version=%s" % (prefix, ident_, V2))
    return st


def sid_of(server, ident_, prefix=""):
    """The session's internal id (its etag), which names its cgroup."""
    st, _, b = server.json("GET", "%s/session?identifier=%s&api-version=%s"
                           % (prefix, ident_, V2))
    assert st == 200, b
    return b["etag"]
