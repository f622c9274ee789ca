#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The pool (issue 4), with peers measured in the same run.

  warm     new identifier -> first `1+1` result, warm pool (ready = 4)
  drained  the same with ready = 0: every identifier starts its sandbox
           peers: a cold `python3 -c` doing the kernel's startup work
                  (the preloaded modules as the kernel imports them:
                  numpy, pandas, matplotlib.pyplot on Agg, and
                  IPython.lib.pretty, one tiny figure, an empty
                  MPLCONFIGDIR as in the sandbox's fresh /tmp), and
                  bubblewrap running that same command; samples are
                  interleaved so host load hits all three alike
  pss      memory per idle warm session: the PSS of every process in its
           cgroup (the init and the kernel), from /proc/PID/smaps_rollup
           peers: that python3 idle after its imports, and under bwrap
  fill     time from server start until 16 warm sandboxes are ready
           (max_starting = 2 at a time)
           peers: 16 of those python3 / bwrap commands, 2 at a time

Prints p50 and p99 in ms, MiB, seconds, and the ratios.  Runs as root.
Usage: bench/pool_bench.py [--build DIR] [--n N] [--n-cold N]
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

from peer import MODULES, PEER_CODE, PEER_ENV, PEER_WORK, PYTHON

ROOT = pathlib.Path(__file__).resolve().parent.parent
PEER_IDLE = PEER_WORK + "import sys; print(1+1, flush=True); sys.stdin.read()"
V2 = "2025-10-02-preview"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


class Server:
    def __init__(self, build, ready, max_starting=2):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="sp-poolbench-"))
        conf = self.dir / "sandpool.conf"
        uid_base = 2000000000 + random.randrange(0, 12) * 134217728
        conf.write_text("ready = %d\nmax_starting = %d\nmax_sessions = 64\n"
                        "sandbox.uid_base = %d\npreload = %s\n"
                        % (ready, max_starting, uid_base, MODULES))
        self.log_path = self.dir / "server.log"
        self.log = open(self.log_path, "wb")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [str(build / "sandpool"), "serve", "--config", str(conf),
             "--state-dir", str(self.dir / "state"), "--listen",
             "127.0.0.1:0"], stderr=self.log, stdout=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items()
                 if not k.startswith("SANDPOOL_")})
        self.port = None
        for _ in range(1200):
            m = re.search(r"port (\d+)\)", self.log_path.read_text())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        if self.port is None:
            raise SystemExit("server did not start:\n"
                             + self.log_path.read_text())
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=120)

    def request(self, method, path, body=None):
        h = {}
        if body is not None:
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        return r.status, r.read()

    def gauges(self):
        st, body = self.request("GET", "/metrics")
        g = {}
        for m in re.finditer(r'^sandpool_sessions\{pool="default",'
                             r'state="(\w+)"\} (\d+)$', body.decode(),
                             re.M):
            g[m.group(1)] = int(m.group(2))
        return g

    def wait_ready(self, n, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            g = self.gauges()
            if g.get("ready", 0) >= n and g.get("starting", 0) == 0:
                return time.monotonic()
            time.sleep(0.01)
        raise SystemExit("pool never reached %d ready" % n)

    def first_result(self):
        i = "bench-" + uuid.uuid4().hex[:12]
        t0 = time.perf_counter()
        st, body = self.request("POST", "/executions?identifier=%s"
                                "&api-version=%s" % (i, V2),
                                {"code": "1+1"})
        dt = time.perf_counter() - t0
        b = json.loads(body)
        if st != 200 or b["result"]["executionResult"] != "2":
            raise SystemExit("bad answer: %d %s" % (st, body[:300]))
        return i, dt

    def delete(self, i):
        self.request("DELETE", "/session?identifier=%s&api-version=%s"
                     % (i, V2))

    def bases(self):
        m = re.search(r"cgroups: v\d; session groups under (.*)",
                      self.log_path.read_text())
        out = {}
        for part in m.group(1).strip().split(", "):
            ctls, d = part.split("=", 1)
            for c in ctls.split("+"):
                out[c] = d
        return out

    def stop(self):
        self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree(pid):
    """pid and all its descendants."""
    kids = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open("/proc/%s/stat" % e) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(e))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def bwrap_argv(cmd):
    """bubblewrap with a sandbox like ours: new namespaces, read-only
    /usr, fresh /proc, /dev, /tmp."""
    a = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
         "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
         "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for d in ("bin", "sbin", "lib", "lib64", "lib32"):
        if os.path.islink("/" + d):
            a += ["--symlink", os.readlink("/" + d), "/" + d]
    return a + ["--chdir", "/tmp", "--"] + cmd


def peer_env():
    """The peers' environment, with an empty MPLCONFIGDIR of their own
    (bwrap's /tmp is a fresh tmpfs anyway): the sandbox's /tmp is new."""
    e = dict(PEER_ENV)
    e["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="sp-poolbench-mpl-")
    return e


def time_cmd(argv):
    env = peer_env()
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, capture_output=True, text=True,
                       timeout=300)
    shutil.rmtree(env["MPLCONFIGDIR"], ignore_errors=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0 or p.stdout.strip() != "2":
        raise SystemExit("peer failed: %s\n%s" % (argv[:3], p.stderr[-2000:]))
    return dt


def idle_pss(argv):
    """Start argv (which imports and waits on stdin); PSS of its tree."""
    env = peer_env()
    p = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert p.stdout.readline().strip() == b"2"
    time.sleep(0.2)
    kib = sum(pss_kib(x) for x in tree(p.pid))
    p.stdin.close()
    p.wait(30)
    shutil.rmtree(env["MPLCONFIGDIR"], ignore_errors=True)
    return kib


def fill_peer(argv, n=16, parallel=2):
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        list(ex.map(lambda _: time_cmd(argv), range(n)))
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--n", type=int, default=40, help="warm samples")
    ap.add_argument("--n-cold", type=int, default=12,
                    help="drained and peer samples")
    args = ap.parse_args()
    build = pathlib.Path(args.build)
    have_bwrap = shutil.which("bwrap") is not None
    py = [PYTHON, "-I", "-c", PEER_CODE]  # -I as the kernel runs
    res = {}

    # ---- fill 16, then PSS of idle warm sessions; their peers ----
    s = Server(build, ready=16)
    try:
        t = s.wait_ready(16) - s.t0
        res["fill"] = t
        b = s.bases()
        pss = []
        for sid in os.listdir(b["pids"]):
            f = os.path.join(b["pids"], sid, "cgroup.procs")
            if os.path.isfile(f):
                procs = [int(x) for x in open(f).read().split()]
                if procs:
                    pss.append(sum(pss_kib(p) for p in procs))
        res["pss"] = sum(pss) / len(pss) / 1024.0
        res["pss_n"] = len(pss)
    finally:
        s.stop()
    fill_py = fill_peer(py)
    fill_bw = fill_peer(bwrap_argv(py)) if have_bwrap else None
    pss_py = idle_pss([PYTHON, "-I", "-c", PEER_IDLE]) / 1024.0
    pss_bw = (idle_pss(bwrap_argv([PYTHON, "-I", "-c", PEER_IDLE])) / 1024.0
              if have_bwrap else None)

    # ---- warm: new identifier -> first result ----
    s = Server(build, ready=4)
    try:
        warm = []
        for _ in range(args.n):
            s.wait_ready(4)
            i, dt = s.first_result()
            warm.append(dt)
            s.delete(i)
    finally:
        s.stop()

    # ---- drained, interleaved with the peers ----
    s = Server(build, ready=0)
    cold, peer_py, peer_bw = [], [], []
    try:
        for _ in range(args.n_cold):
            i, dt = s.first_result()
            cold.append(dt)
            s.delete(i)
            peer_py.append(time_cmd(py))
            if have_bwrap:
                peer_bw.append(time_cmd(bwrap_argv(py)))
    finally:
        s.stop()

    def ms(xs):
        return "p50 %8.2f ms  p99 %8.2f ms  (n=%d)" % (
            pct(xs, 50) * 1000, pct(xs, 99) * 1000, len(xs))

    print("preload %s (the default); 2 starts at a time; host %d CPUs, "
          "load average %.1f at the end" % (MODULES, os.cpu_count(),
                                            os.getloadavg()[0]))
    print()
    print("new identifier -> first 1+1 result")
    print("  sandpool, warm pool     " + ms(warm))
    print("  sandpool, drained pool  " + ms(cold))
    print("  peer: python3 -c        " + ms(peer_py))
    if peer_bw:
        print("  peer: bwrap python3 -c  " + ms(peer_bw))
    p50w, p50c, p50p = pct(warm, 50), pct(cold, 50), pct(peer_py, 50)
    print("  ratio warm/python3 p50 %.4f (%.0fx faster); drained/python3 "
          "p50 %.2f" % (p50w / p50p, p50p / p50w, p50c / p50p))
    if peer_bw:
        p50b = pct(peer_bw, 50)
        print("  ratio warm/bwrap p50 %.4f; drained/bwrap p50 %.2f"
              % (p50w / p50b, p50c / p50b))
    print()
    print("memory per idle session (PSS)")
    print("  sandpool warm session   %8.1f MiB  (mean of %d)"
          % (res["pss"], res["pss_n"]))
    print("  peer: python3 idle      %8.1f MiB" % pss_py)
    if pss_bw is not None:
        print("  peer: bwrap python3     %8.1f MiB" % pss_bw)
    print("  ratio sandpool/python3 %.2f%s" % (
        res["pss"] / pss_py,
        "; sandpool/bwrap %.2f" % (res["pss"] / pss_bw) if pss_bw else ""))
    print()
    print("time to fill a pool of 16 (2 at a time)")
    print("  sandpool                %8.2f s" % res["fill"])
    print("  peer: 16 python3 -c     %8.2f s" % fill_py)
    if fill_bw is not None:
        print("  peer: 16 bwrap python3  %8.2f s" % fill_bw)
    print("  ratio sandpool/python3 %.2f%s" % (
        res["fill"] / fill_py,
        "; sandpool/bwrap %.2f" % (res["fill"] / fill_bw) if fill_bw
        else ""))


if __name__ == "__main__":
    main()
