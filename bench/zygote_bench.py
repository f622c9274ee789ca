#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The zygote start path, with peers measured in the same run.

Every figure is printed beside its peers, measured on this machine in this
run: (a) a cold `/usr/bin/python3 -I -c` doing the kernel's startup work
(numpy, pandas, matplotlib.pyplot on Agg, IPython.lib.pretty, one tiny
figure saved to BytesIO, with an empty MPLCONFIGDIR as in the sandbox's
fresh /tmp) and printing 1+1; (b) the same sandpool server with
`start = launcher` (a fresh sandpool-sandbox and a cold Python per
sandbox).  It prints medians, percentiles and ratios; it asserts nothing
about timings.  The goals printed in the summary are DESIGN.md section 7's.

  warm     new identifier -> first `1+1` result, pool warm (ready = 8);
           sequential over one keep-alive connection, waiting (untimed)
           until the ready gauge is back at 8 before each request
  drained  the same with ready = 0: every session forked (or launched)
           on demand
  burst    20 new identifiers at once (threads released by a barrier,
           one connection each), then 200 at once (zygote only);
           peer: 20 cold python3 started at once
  loop     64 clients, each its own session, running `1+1` in a loop
  memory   PSS and USS per idle session (ready = 0, N sessions), then
           after a small pandas workload and a plot; the template's own
           PSS/RSS; peers: a cold python3 idle after its imports, and a
           launcher server with fewer sessions
  many     N idle sessions alive at once: the drop of MemAvailable per
           session, and the projection per 24 GiB (refused when N at
           8 MiB each would leave less than 4 GiB available; stops early
           if MemAvailable falls under 4 GiB)
  refill   a pool filling from empty: template ready -> ready = 100
           (max_starting = 64); peers: the launcher (ready = 8,
           max_starting = 8) and 8 cold python3 two at a time
  boot     server start -> /health/startup 200 (default config);
           peers: start = launcher, and one cold python3

Usage: bench/zygote_bench.py [--build DIR] [--quick] [--json FILE]
                             [--keep-logs DIR] {all,warm,drained,...}...
Runs as root, with /usr/bin/python3 and the standard library only.
`--quick` uses smaller counts (the whole `all` takes about two minutes).
Other processes on the host skew the figures: the load average is
printed with each step, and the summary says if the build under test was
rebuilt while the run went on.
"""
import argparse
import datetime
import http.client
import json
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

from peer import MODULES, PEER_CODE, PEER_ENV, PEER_WORK, PYTHON

ROOT = pathlib.Path(__file__).resolve().parent.parent
SETTLE = 7   # s: past an idle session's housekeeping (TIDY_AFTER_MS, 5 s)
# The "light pandas and a plot" of the memory goal.
WORKLOAD = ("import pandas as pd, numpy as np, matplotlib.pyplot as plt; "
            "df = pd.DataFrame({'x': np.arange(1000), "
            "'y': np.random.rand(1000)}); s = df.describe(); "
            "plt.plot(df.x, df.y); plt.show()")
V2 = "2025-10-02-preview"
HTTP_TIMEOUT = 120
MIB = 1024.0 * 1024.0
GIB = 1024.0 * MIB

# (default, --quick)
COUNTS = {
    "warm": (100, 30),            # zygote and launcher
    "warm_launcher": (100, 30),
    "cold": (10, 5),              # cold python3 samples, sequential
    "drained": (100, 30),
    "drained_launcher": (10, 5),
    "burst_small": (20, 20),
    "burst_big": (200, 200),
    "loop_clients": (64, 64),
    "loop_seconds": (10, 5),
    "memory": (200, 50),
    "memory_launcher": (20, 10),
    "many": (2000, 300),
    "refill": (100, 50),
    "refill_launcher": (8, 8),
    "refill_cold": (8, 8),
    "boot": (5, 3),
}
STEPS = ["warm", "drained", "burst", "loop", "memory", "many", "refill",
         "boot"]


class BenchError(Exception):
    pass


def pct(xs, p):
    """Nearest-rank percentile of xs (as in pool_bench.py)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def median(xs):
    return pct(xs, 50)


def ms(x):
    return x * 1000.0


def fmt_ms(x):
    """Milliseconds with a precision that suits the size."""
    v = ms(x)
    if v < 10:
        return "%.2f ms" % v
    if v < 100:
        return "%.1f ms" % v
    return "%.0f ms" % v


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def fmt_ratio(r):
    if r is None:
        return "n/a"
    if r >= 100:
        return "%.0fx" % r
    if r >= 10:
        return "%.1fx" % r
    return "%.2fx" % r


def log_time(line):
    """The wall time (seconds since the epoch) of a log line's ISO stamp."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z", line)
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0])   # kB
    return out


def build_fingerprint(build):
    """Size and mtime of the binaries and the runtime the servers use: the
    tree may be rebuilt while a run goes on (it says so if it was)."""
    out = {}
    for f in (build / "sandpool", build / "sandpool-sandbox",
              build / "sandpool-zygote.so",
              build.parent / "runtime" / "kernel.py",
              build.parent / "runtime" / "zygote.py"):
        try:
            st = f.stat()
            out[str(f)] = "%d bytes, %s" % (
                st.st_size, datetime.datetime.fromtimestamp(
                    st.st_mtime, datetime.timezone.utc).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"))
        except OSError:
            out[str(f)] = "missing"
    return out


def host_line():
    mi = meminfo()
    return ("host %d CPUs, load average %.2f %.2f %.2f, MemAvailable "
            "%.1f GiB of %.1f GiB" % ((os.cpu_count(),) + os.getloadavg()
                                      + (mi["MemAvailable"] / MIB,
                                         mi["MemTotal"] / MIB)))


# ---------------------------------------------------------------- processes

def proc_table():
    """pid -> (ppid, comm) for every process."""
    t = {}
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % e) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        t[int(e)] = (ppid, comm)
    return t


def descendants(table, pid):
    kids = {}
    for p, (pp, _) in table.items():
        kids.setdefault(pp, []).append(p)
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def rollup(pid):
    """Rss, Pss, Uss (Private_Clean + Private_Dirty) of pid, in kB."""
    r = {"Rss": 0, "Pss": 0, "Uss": 0}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Rss", "Pss"):
                    r[k] = int(v.split()[0])
                elif k in ("Private_Clean", "Private_Dirty"):
                    r["Uss"] += int(v.split()[0])
    except OSError:
        pass
    return r


def tree_rollup(pids):
    tot = {"Rss": 0, "Pss": 0, "Uss": 0}
    for p in pids:
        r = rollup(p)
        for k in tot:
            tot[k] += r[k]
    return tot


# ---------------------------------------------------------------- peers

def peer_env():
    """PEER_ENV with an empty MPLCONFIGDIR of its own: the sandbox's /tmp
    is new too."""
    e = dict(PEER_ENV)
    e["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="sp-zybench-mpl-")
    return e


def cold_python():
    """Wall time of one cold python3 doing the kernel's startup, then
    printing 1+1."""
    env = peer_env()
    try:
        t0 = time.perf_counter()
        p = subprocess.run([PYTHON, "-I", "-c", PEER_CODE], env=env,
                           capture_output=True, text=True, timeout=300)
        dt = time.perf_counter() - t0
    finally:
        shutil.rmtree(env["MPLCONFIGDIR"], ignore_errors=True)
    if p.returncode != 0 or p.stdout.strip() != "2":
        raise BenchError("cold python3 failed: %s" % p.stderr[-2000:])
    return dt


def cold_pythons(n):
    return [cold_python() for _ in range(n)]


def cold_pythons_parallel(n, parallel):
    """n cold python3, `parallel` at a time (a barrier releases the first
    wave together); their wall times and the total."""
    times = []
    lock = threading.Lock()
    todo = list(range(n))
    errors = []
    barrier = threading.Barrier(parallel + 1, timeout=HTTP_TIMEOUT)

    def worker():
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            try:
                dt = cold_python()
                with lock:
                    times.append(dt)
            except Exception as e:   # noqa: BLE001 (reported)
                with lock:
                    errors.append(repr(e))
    ts = [threading.Thread(target=worker, daemon=True)
          for _ in range(parallel)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join(600)
    total = time.perf_counter() - t0
    if errors:
        raise BenchError("cold python3 failed: %s" % errors[0])
    return times, total


def cold_idle_memory(extra=""):
    """PSS/USS/RSS (kB) of a cold python3 idle after PEER_WORK (+extra)."""
    env = peer_env()
    code = (PEER_WORK + extra + "\nimport sys; print(1+1, flush=True); "
            "sys.stdin.read()")
    p = subprocess.Popen([PYTHON, "-I", "-c", code], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        line = p.stdout.readline().strip()
        if line != b"2":
            raise BenchError("cold python3 idle peer failed")
        time.sleep(2)
        r = tree_rollup(descendants(proc_table(), p.pid))
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(30)
        shutil.rmtree(env["MPLCONFIGDIR"], ignore_errors=True)
    return r


# ---------------------------------------------------------------- server

def exec_path(ident):
    return "/executions?identifier=%s&api-version=%s" % (ident, V2)


def new_ident():
    return "zyb-" + uuid.uuid4().hex[:16]


def post_exec(conn, ident, code="1+1"):
    body = json.dumps({"code": code}).encode()
    conn.request("POST", exec_path(ident), body=body,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()


def answer_ok(status, data, expect="2"):
    if status != 200:
        return False
    try:
        b = json.loads(data)
    except ValueError:
        return False
    if b.get("status") != "Succeeded":
        return False
    return expect is None or b.get("result", {}).get(
        "executionResult") == expect


class Server:
    """`sandpool serve` with a temporary config and state directory on
    127.0.0.1:0; stop() (always, in a finally) stops it with SIGTERM."""

    def __init__(self, bench, name, start="zygote", ready=8,
                 max_starting=None, max_sessions=None):
        self.bench = bench
        self.name = name
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="sp-zybench-"))
        self.proc = None
        self.log = None
        self.conn = None
        uid_base = 2500000000 + random.randrange(0, 11) * 134217728
        lines = ["log_level = info",
                 "sandbox.uid_base = %d" % uid_base,
                 "start = %s" % start,
                 "ready = %d" % ready,
                 "cooldown = 3600",
                 "preload = %s" % MODULES]
        if max_starting is not None:
            lines.append("max_starting = %d" % max_starting)
        if max_sessions is not None:
            lines.append("max_sessions = %d" % max_sessions)
        conf = self.dir / "sandpool.conf"
        conf.write_text("\n".join(lines) + "\n")
        self.log_path = self.dir / "server.log"
        self.log = open(self.log_path, "wb")
        self.t_spawn_wall = time.time()
        self.t0 = time.monotonic()
        try:
            self.proc = subprocess.Popen(
                [str(bench.build / "sandpool"), "serve", "--config",
                 str(conf), "--state-dir", str(self.dir / "state"),
                 "--listen", "127.0.0.1:0"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=self.log, start_new_session=True,
                env={k: v for k, v in os.environ.items()
                     if not k.startswith("SANDPOOL_")})
            self.pid = self.proc.pid
            self.port = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                m = re.search(r"listening on .* \(port (\d+)\)",
                              self.log_path.read_text(errors="replace"))
                if m:
                    self.port = int(m.group(1))
                    break
                if self.proc.poll() is not None:
                    break
                time.sleep(0.005)
            if self.port is None:
                raise BenchError("server %s did not start:\n%s" % (
                    name, self.log_tail()))
            self.conn = self.connection()
        except BaseException:
            self.stop()
            raise

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=HTTP_TIMEOUT)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=30):
        return "\n".join(self.log_text().splitlines()[-n:])

    def alive(self):
        if self.proc.poll() is not None:
            raise BenchError("server %s exited with %s:\n%s" % (
                self.name, self.proc.returncode, self.log_tail()))

    def get(self, path, conn=None):
        c = conn or self.conn
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()

    def metrics(self):
        st, body = self.get("/metrics")
        if st != 200:
            raise BenchError("/metrics answered %d" % st)
        return body.decode()

    def gauges(self, text=None):
        text = text or self.metrics()
        g = {}
        for m in re.finditer(r'^sandpool_sessions\{pool="default",'
                             r'state="(\w+)"\} (\d+)$', text, re.M):
            g[m.group(1)] = int(m.group(2))
        return g

    def backend_starts(self):
        text = self.metrics()
        out = {}
        for m in re.finditer(r'^sandpool_sandbox_backend_starts_total\{'
                             r'backend="(\w+)"\} (\d+)$', text, re.M):
            out[m.group(1)] = int(m.group(2))
        for m in re.finditer(r'^sandpool_sandbox_starts_total\{pool='
                             r'"default",result="failed"\} (\d+)$', text,
                             re.M):
            out["failed"] = int(m.group(1))
        return out

    def wait_ready(self, n, timeout=300, poll=0.005):
        """Until the ready gauge shows n; returns the wall time seen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gauges().get("ready", 0) >= n:
                return time.time()
            self.alive()
            time.sleep(poll)
        raise BenchError("server %s: pool never reached %d ready (%s)" % (
            self.name, n, self.gauges()))

    def wait_startup(self, timeout=300, poll=0.01):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st, _ = self.get("/health/startup")
            if st == 200:
                return time.monotonic()
            self.alive()
            time.sleep(poll)
        raise BenchError("server %s never became ready:\n%s" % (
            self.name, self.log_tail()))

    def first_result(self, conn=None, code="1+1"):
        """A new identifier's first result: (identifier, seconds, the
        kernel's own executionTimeInMilliseconds)."""
        c = conn or self.conn
        i = new_ident()
        t0 = time.perf_counter()
        st, body = post_exec(c, i, code)
        dt = time.perf_counter() - t0
        if not answer_ok(st, body):
            raise BenchError("server %s: bad answer %d %s" % (
                self.name, st, body[:300]))
        kms = json.loads(body)["result"].get("executionTimeInMilliseconds")
        return i, dt, kms

    def delete(self, ident, conn=None):
        c = conn or self.conn
        c.request("DELETE", "/session?identifier=%s&api-version=%s"
                  % (ident, V2))
        r = c.getresponse()
        r.read()
        return r.status

    def session_processes(self):
        """{init pid: [its tree]} for the sandboxes (children of the server
        named sandpool-init), and the template pids (sp-zygote)."""
        t = proc_table()
        inits = [p for p, (pp, c) in t.items()
                 if pp == self.pid and c == "sandpool-init"]
        templates = [p for p, (pp, c) in t.items()
                     if pp == self.pid and c == "sp-zygote"]
        return {p: descendants(t, p) for p in inits}, templates

    def session_memory(self):
        sess, templates = self.session_processes()
        tot = {"Rss": 0, "Pss": 0, "Uss": 0}
        nproc = 0
        for pids in sess.values():
            r = tree_rollup(pids)
            nproc += len(pids)
            for k in tot:
                tot[k] += r[k]
        tpl = tree_rollup(templates)
        return {"sessions": len(sess), "processes": nproc,
                "pss_kb": tot["Pss"], "uss_kb": tot["Uss"],
                "rss_kb": tot["Rss"], "templates": len(templates),
                "template_pss_kb": tpl["Pss"], "template_rss_kb": tpl["Rss"],
                "template_uss_kb": tpl["Uss"]}

    def stop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        t_stop = None
        if self.proc is not None:
            t0 = time.monotonic()
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(60)
                except subprocess.TimeoutExpired:
                    print("  !! server %s did not stop in 60 s after "
                          "SIGTERM: SIGKILL" % self.name)
                    self.proc.kill()
                    self.proc.wait(60)
            t_stop = time.monotonic() - t0
            rc = self.proc.returncode
            self.proc = None
        else:
            rc = None
        if self.log is not None:
            self.log.close()
            self.log = None
        self.bench.note_log(self.name, self.log_text(), rc, t_stop)
        if self.bench.keep_logs:
            try:
                shutil.copy(self.log_path, os.path.join(
                    self.bench.keep_logs, "%s-%s.log" % (
                        self.name, self.dir.name)))
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        return t_stop


# ---------------------------------------------------------------- clients

def burst(srv, n, code="1+1"):
    """n new identifiers at once: threads, each with its own connection
    (connected first), released by a barrier.  Returns latencies of the
    good answers, all latencies, status counts, the wall time."""
    barrier = threading.Barrier(n + 1, timeout=HTTP_TIMEOUT)
    res = [None] * n

    def worker(k):
        c = srv.connection()
        try:
            try:
                c.connect()
            except OSError:
                pass      # the request below reconnects (and is counted)
            barrier.wait()
            t0 = time.perf_counter()
            try:
                st, body = post_exec(c, new_ident(), code)
                ok = answer_ok(st, body)
            except Exception as e:   # noqa: BLE001 (counted)
                st, ok = type(e).__name__, False
            res[k] = (st, ok, time.perf_counter() - t0)
        except threading.BrokenBarrierError:
            res[k] = ("barrier", False, 0.0)
        finally:
            c.close()
    ts = [threading.Thread(target=worker, args=(k,), daemon=True)
          for k in range(n)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join(HTTP_TIMEOUT + 30)
    wall = time.perf_counter() - t0
    res = [r if r is not None else ("hung", False, wall) for r in res]
    statuses = {}
    for st, ok, _ in res:
        key = "ok" if ok else str(st)
        statuses[key] = statuses.get(key, 0) + 1
    return {"n": n, "succeeded": sum(1 for r in res if r[1]),
            "non200": sum(1 for r in res if r[0] != 200),
            "statuses": statuses,
            "lat": [r[2] for r in res],
            "wall": wall}


def cold_burst(n):
    """n cold python3 started at once (a barrier): their wall times."""
    barrier = threading.Barrier(n + 1, timeout=HTTP_TIMEOUT)
    res = [None] * n

    def worker(k):
        try:
            barrier.wait()
            res[k] = cold_python()
        except Exception as e:   # noqa: BLE001 (reported)
            res[k] = e
    ts = [threading.Thread(target=worker, args=(k,), daemon=True)
          for k in range(n)]
    for t in ts:
        t.start()
    barrier.wait()
    for t in ts:
        t.join(600)
    bad = [r for r in res if not isinstance(r, float)]
    if bad:
        raise BenchError("cold python3 failed: %r" % bad[0])
    return res


def create_sessions(srv, n, threads, guard=None):
    """n new sessions, each by a `1+1`, from `threads` client threads.
    Returns (identifiers that succeeded, status counts, seconds)."""
    lock = threading.Lock()
    left = [n]
    ok_ids = []
    statuses = {}
    stop = threading.Event()

    def worker():
        c = srv.connection()
        try:
            while not stop.is_set():
                with lock:
                    if left[0] <= 0:
                        return
                    left[0] -= 1
                i = new_ident()
                try:
                    st, body = post_exec(c, i)
                    ok = answer_ok(st, body)
                except Exception as e:   # noqa: BLE001 (counted)
                    st, ok = type(e).__name__, False
                    c.close()
                    c = srv.connection()
                with lock:
                    key = "ok" if ok else str(st)
                    statuses[key] = statuses.get(key, 0) + 1
                    if ok:
                        ok_ids.append(i)
                if guard is not None and guard():
                    stop.set()
        finally:
            c.close()
    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, daemon=True)
          for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ok_ids, statuses, time.perf_counter() - t0, stop.is_set()


def run_in_sessions(srv, ids, code, threads):
    """code in each of ids; (good answers, status counts)."""
    lock = threading.Lock()
    todo = list(ids)
    good = [0]
    statuses = {}

    def worker():
        c = srv.connection()
        try:
            while True:
                with lock:
                    if not todo:
                        return
                    i = todo.pop()
                try:
                    st, body = post_exec(c, i, code)
                    ok = answer_ok(st, body, expect=None)
                    if not ok:
                        key = "%s %s" % (st, body[:120])
                except Exception as e:   # noqa: BLE001 (counted)
                    ok, key = False, type(e).__name__
                    c.close()
                    c = srv.connection()
                with lock:
                    if ok:
                        good[0] += 1
                    else:
                        statuses[key] = statuses.get(key, 0) + 1
        finally:
            c.close()
    ts = [threading.Thread(target=worker, daemon=True)
          for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return good[0], statuses


# ---------------------------------------------------------------- bench

class Bench:
    def __init__(self, args):
        self.build = pathlib.Path(args.build)
        self.quick = args.quick
        self.keep_logs = args.keep_logs
        self.results = {"host": {}, "measurements": {}, "goals": [],
                        "server_logs": []}
        self.goals = []

    def n(self, key):
        return COUNTS[key][1 if self.quick else 0]

    def server(self, name, **kw):
        return Server(self, name, **kw)

    def note_log(self, name, text, rc, t_stop):
        """Warnings and errors of a stopped server, printed and kept."""
        lines = text.splitlines()
        stop_at = next((k for k, ln in enumerate(lines)
                        if re.match(r"\S+ info signal 15", ln)), len(lines))
        # stderr lines without a time stamp (a child's message) count too
        bad = [ln for ln in lines[:stop_at]
               if re.match(r"\S+ (warn|error|fatal) ", ln)
               or not re.match(r"\d{4}-\d\d-\d\dT", ln)]
        late = [ln for ln in lines[stop_at:]
                if re.match(r"\S+ (warn|error|fatal) ", ln)]
        entry = {"server": name, "exit": rc,
                 "stop_seconds": t_stop, "warnings": len(bad),
                 "warnings_while_stopping": len(late),
                 "first": bad[:5], "first_while_stopping": late[:2]}
        self.results["server_logs"].append(entry)
        if bad or (rc not in (0, None)):
            print("  server %s: exit %s, %d warn/error log lines before "
                  "SIGTERM (%d while stopping)%s" % (
                      name, rc, len(bad), len(late),
                      "; e.g." if bad else ""))
            for ln in bad[:3]:
                print("    | " + ln[:300])

    def put(self, step, figures):
        self.results["measurements"].setdefault(step, {}).update(figures)

    def goal(self, what, value, goal, met):
        self.goals.append((what, value, goal, met))

    # -- 1. warm, 2. drained ---------------------------------------------
    def first_series(self, step, start, n, ready):
        """n new identifiers one after the other, each timed to its first
        1+1; with ready > 0, each waits for a full warm list first."""
        s = self.server("%s-%s" % (step, start), start=start, ready=ready)
        try:
            s.wait_startup()
            xs, ks = [], []
            for _ in range(n):
                if ready:
                    s.wait_ready(ready)
                i, dt, kms = s.first_result()
                xs.append(dt)
                ks.append(kms or 0)
                s.delete(i)
            starts = s.backend_starts()
        finally:
            s.stop()
        return xs, ks, starts

    def run_first(self, step, ready, goal_p50, goal_p99):
        n, nl, nc = (self.n(step), self.n(step + "_launcher"),
                     self.n("cold"))
        zy, zk, zst = self.first_series(step, "zygote", n, ready)
        la, lk, _ = self.first_series(step, "launcher", nl, ready)
        cold = cold_pythons(nc)
        f = {"zygote_p50_ms": ms(median(zy)), "zygote_p99_ms": ms(pct(zy, 99)),
             "zygote_n": n,
             "launcher_p50_ms": ms(median(la)),
             "launcher_p99_ms": ms(pct(la, 99)), "launcher_n": nl,
             "cold_p50_ms": ms(median(cold)), "cold_p99_ms": ms(pct(cold, 99)),
             "cold_n": nc,
             "ratio_cold_zygote_p50": ratio(median(cold), median(zy)),
             "ratio_launcher_zygote_p50": ratio(median(la), median(zy)),
             "ratio_cold_launcher_p50": ratio(median(cold), median(la)),
             "zygote_backend_starts": zst,
             "zygote_kernel_ms_p50": median(zk),
             "launcher_kernel_ms_p50": median(lk)}
        self.put(step, f)
        print("%-8s zygote p50 %s p99 %s (n=%d) | launcher p50 %s p99 %s "
              "(n=%d) | cold python3 p50 %s p99 %s (n=%d)" % (
                  step, fmt_ms(median(zy)), fmt_ms(pct(zy, 99)), n,
                  fmt_ms(median(la)), fmt_ms(pct(la, 99)), nl,
                  fmt_ms(median(cold)), fmt_ms(pct(cold, 99)), nc))
        print("         ratio p50 cold/zygote %s, launcher/zygote %s, "
              "cold/launcher %s; the kernel's own time for that cell p50 "
              "%d ms zygote, %d ms launcher; zygote server's starts %s" % (
                  fmt_ratio(f["ratio_cold_zygote_p50"]),
                  fmt_ratio(f["ratio_launcher_zygote_p50"]),
                  fmt_ratio(f["ratio_cold_launcher_p50"]), median(zk),
                  median(lk), zst))
        self.goal(step + " p50", "%.2f ms" % f["zygote_p50_ms"],
                  "<= %g ms" % goal_p50, f["zygote_p50_ms"] <= goal_p50)
        self.goal(step + " p99", "%.2f ms" % f["zygote_p99_ms"],
                  "<= %g ms" % goal_p99, f["zygote_p99_ms"] <= goal_p99)

    def run_warm(self):
        self.run_first("warm", 8, 2, 10)

    def run_drained(self):
        self.run_first("drained", 0, 10, 50)

    # -- 3. burst -------------------------------------------------------
    def burst_figures(self, b):
        lat = b["lat"]
        return {"n": b["n"], "succeeded": b["succeeded"],
                "non200": b["non200"], "statuses": b["statuses"],
                "p50_ms": ms(median(lat)), "p99_ms": ms(pct(lat, 99)),
                "max_ms": ms(max(lat)), "wall_ms": ms(b["wall"])}

    @staticmethod
    def burst_line(label, f):
        return ("%-26s %d/%d succeeded, non-200 %d, p50 %s p99 %s max %s "
                "(all answered in %s)%s" % (
                    label, f["succeeded"], f["n"], f["non200"],
                    fmt_ms(f["p50_ms"] / 1000), fmt_ms(f["p99_ms"] / 1000),
                    fmt_ms(f["max_ms"] / 1000), fmt_ms(f["wall_ms"] / 1000),
                    "" if f["succeeded"] == f["n"] else
                    " statuses %s" % f["statuses"]))

    def run_burst(self):
        small, big = self.n("burst_small"), self.n("burst_big")
        out = {}
        s = self.server("burst-zygote", start="zygote", ready=8,
                        max_sessions=1000)
        try:
            s.wait_startup()
            s.wait_ready(8)
            out["zygote_%d" % small] = self.burst_figures(burst(s, small))
            s.wait_ready(8)
            out["zygote_%d" % big] = self.burst_figures(burst(s, big))
            out["zygote_backend_starts"] = s.backend_starts()
        finally:
            s.stop()
        s = self.server("burst-launcher", start="launcher", ready=8,
                        max_sessions=1000)
        try:
            s.wait_startup()
            s.wait_ready(8)
            out["launcher_%d" % small] = self.burst_figures(burst(s, small))
        finally:
            s.stop()
        cold = cold_burst(small)
        out["cold_%d" % small] = {"n": small, "p50_ms": ms(median(cold)),
                                  "p99_ms": ms(pct(cold, 99)),
                                  "max_ms": ms(max(cold))}
        zs, zb, ls = (out["zygote_%d" % small], out["zygote_%d" % big],
                      out["launcher_%d" % small])
        out["ratio_launcher_zygote_p99_%d" % small] = ratio(ls["p99_ms"],
                                                            zs["p99_ms"])
        out["ratio_cold_zygote_p99_%d" % small] = ratio(
            out["cold_%d" % small]["p99_ms"], zs["p99_ms"])
        self.put("burst", out)
        print(self.burst_line("burst    zygote %d at once" % small, zs))
        print(self.burst_line("         zygote %d at once" % big, zb))
        print(self.burst_line("         launcher %d at once" % small, ls))
        c = out["cold_%d" % small]
        print("         cold python3 %d at once    p50 %s p99 %s max %s" % (
            small, fmt_ms(c["p50_ms"] / 1000), fmt_ms(c["p99_ms"] / 1000),
            fmt_ms(c["max_ms"] / 1000)))
        print("         ratio p99 (%d at once) launcher/zygote %s, "
              "cold/zygote %s; zygote server's starts %s" % (
                  small, fmt_ratio(out["ratio_launcher_zygote_p99_%d"
                                       % small]),
                  fmt_ratio(out["ratio_cold_zygote_p99_%d" % small]),
                  out["zygote_backend_starts"]))
        self.goal("%d at once p99" % small, "%.1f ms (%d/%d ok)" % (
            zs["p99_ms"], zs["succeeded"], zs["n"]), "<= 100 ms",
            zs["p99_ms"] <= 100 and zs["succeeded"] == zs["n"])
        self.goal("%d at once" % big, "%d/%d ok, p99 %.0f ms" % (
            zb["succeeded"], zb["n"], zb["p99_ms"]), "all succeed, p99 <= 1 s",
            zb["succeeded"] == zb["n"] and zb["p99_ms"] <= 1000)

    # -- 4. loop --------------------------------------------------------
    def run_loop(self):
        clients, secs = self.n("loop_clients"), self.n("loop_seconds")
        s = self.server("loop-zygote", start="zygote", ready=8,
                        max_sessions=1000)
        lats = [[] for _ in range(clients)]
        errs = [0] * clients
        err_kinds = {}
        lock = threading.Lock()
        try:
            s.wait_startup()
            s.wait_ready(8)
            barrier = threading.Barrier(clients + 1, timeout=HTTP_TIMEOUT)
            deadline = [None]
            opened = [0]

            def worker(k):
                c = s.connection()
                ident = new_ident()
                try:
                    try:
                        st, body = post_exec(c, ident)
                        if answer_ok(st, body):
                            with lock:
                                opened[0] += 1
                    except Exception:   # noqa: BLE001 (counted: opened)
                        c.close()
                        c = s.connection()
                    barrier.wait()
                    while time.monotonic() < deadline[0]:
                        t0 = time.perf_counter()
                        try:
                            st, body = post_exec(c, ident)
                            ok = answer_ok(st, body)
                            kind = None if ok else str(st)
                        except Exception as e:   # noqa: BLE001 (counted)
                            ok, kind = False, type(e).__name__
                            c.close()
                            c = s.connection()
                        lats[k].append(time.perf_counter() - t0)
                        if not ok:
                            errs[k] += 1
                            with lock:
                                err_kinds[kind] = err_kinds.get(kind, 0) + 1
                except threading.BrokenBarrierError:
                    pass
                finally:
                    c.close()
            ts = [threading.Thread(target=worker, args=(k,), daemon=True)
                  for k in range(clients)]
            for t in ts:
                t.start()
            # set before the barrier releases anyone
            t0 = time.monotonic()
            deadline[0] = t0 + secs
            cpu0 = time.process_time()
            barrier.wait()
            for t in ts:
                t.join(secs + HTTP_TIMEOUT + 30)
            wall = time.monotonic() - t0
            client_cpu = (time.process_time() - cpu0) / wall
            starts = s.backend_starts()
        finally:
            s.stop()
        allx = [x for xs in lats for x in xs]
        total, nerr = len(allx), sum(errs)
        f = {"clients": clients, "seconds": secs, "sessions_opened": opened[0],
             "executions": total, "per_second": total / wall,
             "errors": nerr, "error_kinds": err_kinds,
             "p50_ms": ms(median(allx)) if allx else None,
             "p99_ms": ms(pct(allx, 99)) if allx else None,
             "backend_starts": starts, "client_cpu_cores": client_cpu}
        self.put("loop", f)
        print("loop     zygote %d clients x %d s: %d executions, %.0f/s, "
              "errors %d%s, p50 %s p99 %s (sessions opened %d/%d)" % (
                  clients, secs, total, f["per_second"], nerr,
                  " %s" % err_kinds if err_kinds else "",
                  fmt_ms(median(allx)) if allx else "n/a",
                  fmt_ms(pct(allx, 99)) if allx else "n/a",
                  opened[0], clients))
        print("         (the clients are Python threads in one process "
              "beside the server on this %d-CPU host; they used %.2f "
              "CPU cores)" % (os.cpu_count(), client_cpu))
        self.goal("64-client loop errors", "%d errors in %d" % (nerr, total),
                  "no errors", nerr == 0 and total > 0
                  and opened[0] == clients)
        self.goal("64-client loop rate", "%.0f/s" % f["per_second"],
                  ">= 5000/s (DESIGN 7)", f["per_second"] >= 5000)

    # -- 5. memory ------------------------------------------------------
    def memory_series(self, start, n, threads):
        s = self.server("memory-" + start, start=start, ready=0,
                        max_sessions=max(n + 16, 64))
        try:
            s.wait_startup()
            ids, st, t, _ = create_sessions(s, n, threads)
            if len(ids) != n:
                raise BenchError("memory-%s: %d of %d sessions started (%s)"
                                 % (start, len(ids), n, st))
            # Idle means settled: past the session's housekeeping (a
            # tidying ping 5 s after its last execution, session.c).
            time.sleep(SETTLE)
            idle = s.session_memory()
            good, bad = run_in_sessions(s, ids, WORKLOAD, 2)
            time.sleep(2)
            used_now = s.session_memory()
            time.sleep(SETTLE - 2)
            used = s.session_memory()
            starts = s.backend_starts()
        finally:
            s.stop()
        return {"n": n, "create_seconds": t, "idle": idle, "used": used,
                "used_now": used_now, "workload_ok": good,
                "workload_failed": bad, "backend_starts": starts}

    @staticmethod
    def per_session(m, key):
        return m[key] / 1024.0 / max(1, m["sessions"])

    def run_memory(self):
        n, nl = self.n("memory"), self.n("memory_launcher")
        zy = self.memory_series("zygote", n, 2)
        la = self.memory_series("launcher", nl, 2)
        cold_idle = cold_idle_memory()
        cold_used = cold_idle_memory("\n" + WORKLOAD + "\n")
        f = {"zygote": zy, "launcher": la,
             "cold_idle_kb": cold_idle, "cold_used_kb": cold_used}
        for name, m in (("zygote", zy), ("launcher", la)):
            for phase in ("idle", "used", "used_now"):
                f["%s_%s_pss_mib" % (name, phase)] = self.per_session(
                    m[phase], "pss_kb")
                f["%s_%s_uss_mib" % (name, phase)] = self.per_session(
                    m[phase], "uss_kb")
        zi = zy["idle"]
        f["zygote_template_pss_mib"] = zi["template_pss_kb"] / 1024.0
        f["zygote_template_rss_mib"] = zi["template_rss_kb"] / 1024.0
        f["zygote_idle_pss_with_template_mib"] = (
            (zi["pss_kb"] + zi["template_pss_kb"]) / 1024.0
            / max(1, zi["sessions"]))
        f["cold_idle_pss_mib"] = cold_idle["Pss"] / 1024.0
        f["cold_idle_uss_mib"] = cold_idle["Uss"] / 1024.0
        f["cold_used_pss_mib"] = cold_used["Pss"] / 1024.0
        f["cold_used_uss_mib"] = cold_used["Uss"] / 1024.0
        f["ratio_launcher_zygote_idle_pss"] = ratio(
            f["launcher_idle_pss_mib"], f["zygote_idle_pss_mib"])
        f["ratio_cold_zygote_idle_pss"] = ratio(
            f["cold_idle_pss_mib"], f["zygote_idle_pss_mib"])
        f["ratio_launcher_zygote_used_pss"] = ratio(
            f["launcher_used_pss_mib"], f["zygote_used_pss_mib"])
        self.put("memory", f)
        print("memory   per session, MiB          PSS idle  USS idle  "
              "PSS used  USS used   (used = after pandas + plot; both "
              "%d s after the last cell)" % SETTLE)
        for label, name, m in (("zygote, %d sessions" % n, "zygote", zy),
                               ("launcher, %d sessions" % nl, "launcher",
                                la)):
            print("         %-24s %8.2f  %8.2f  %8.2f  %8.2f   (%d sessions, "
                  "%d processes found; workload ok %d/%d)" % (
                      label, f[name + "_idle_pss_mib"],
                      f[name + "_idle_uss_mib"], f[name + "_used_pss_mib"],
                      f[name + "_used_uss_mib"], m["idle"]["sessions"],
                      m["idle"]["processes"], m["workload_ok"], m["n"]))
        print("         zygote right after the workload (2 s): PSS %.2f USS %.2f "
              "MiB; launcher %.2f / %.2f" % (
                  f["zygote_used_now_pss_mib"], f["zygote_used_now_uss_mib"],
                  f["launcher_used_now_pss_mib"],
                  f["launcher_used_now_uss_mib"]))
        print("         %-24s %8.2f  %8.2f  %8.2f  %8.2f" % (
            "cold python3 (one)", f["cold_idle_pss_mib"],
            f["cold_idle_uss_mib"], f["cold_used_pss_mib"],
            f["cold_used_uss_mib"]))
        print("         template (sp-zygote): PSS %.1f MiB, RSS %.1f MiB; "
              "zygote idle PSS per session with the template's share %.2f "
              "MiB" % (f["zygote_template_pss_mib"],
                       f["zygote_template_rss_mib"],
                       f["zygote_idle_pss_with_template_mib"]))
        print("         ratio idle PSS launcher/zygote %s, cold/zygote %s; "
              "used PSS launcher/zygote %s" % (
                  fmt_ratio(f["ratio_launcher_zygote_idle_pss"]),
                  fmt_ratio(f["ratio_cold_zygote_idle_pss"]),
                  fmt_ratio(f["ratio_launcher_zygote_used_pss"])))
        if zy["workload_failed"] or la["workload_failed"]:
            print("         workload failures: zygote %s launcher %s" % (
                zy["workload_failed"], la["workload_failed"]))
        self.goal("PSS idle", "%.2f MiB" % f["zygote_idle_pss_mib"],
                  "<= 3 MiB", f["zygote_idle_pss_mib"] <= 3)
        self.goal("PSS after pandas + plot",
                  "%.2f MiB" % f["zygote_used_pss_mib"], "<= 20 MiB",
                  f["zygote_used_pss_mib"] <= 20
                  and zy["workload_ok"] == zy["n"])

    # -- 6. many --------------------------------------------------------
    def run_many(self):
        n = self.n("many")
        floor_kb = 4 * 1024 * 1024
        avail = meminfo()["MemAvailable"]
        need = n * 8 * 1024
        if avail - need < floor_kb:
            why = ("MemAvailable %.1f GiB: %d sessions at 8 MiB each would "
                   "leave %.1f GiB, less than 4 GiB" % (
                       avail / MIB, n, (avail - need) / MIB))
            print("many     skipped: " + why)
            self.put("many", {"skipped": why})
            self.goal("%d idle sessions" % n, "skipped", ">= 5000 per 24 GiB",
                      None)
            return
        s = self.server("many-zygote", start="zygote", ready=0,
                        max_sessions=n + 16)
        try:
            s.wait_startup()
            time.sleep(1)
            before = meminfo()["MemAvailable"]

            def guard():   # stop early if the machine runs short
                return meminfo()["MemAvailable"] < floor_kb
            ids, statuses, t, stopped = create_sessions(s, n, 16, guard)
            time.sleep(SETTLE)
            after = meminfo()["MemAvailable"]
            mem = s.session_memory()
            starts = s.backend_starts()
            s.alive()
        finally:
            t_stop = s.stop()
        ok = len(ids)
        drop_mib = (before - after) / 1024.0 / max(1, ok)
        per24 = 24 * 1024 / drop_mib if drop_mib > 0 else None
        naive = self.results["measurements"].get("memory", {}).get(
            "launcher_idle_pss_mib")
        f = {"n": n, "succeeded": ok, "statuses": statuses,
             "create_seconds": t, "per_second": ok / t,
             "memavailable_before_kb": before, "memavailable_after_kb": after,
             "drop_per_session_mib": drop_mib, "sessions_per_24gib": per24,
             "pss_per_session_mib": self.per_session(mem, "pss_kb"),
             "uss_per_session_mib": self.per_session(mem, "uss_kb"),
             "sessions_found": mem["sessions"], "stopped_early": stopped,
             "stop_seconds": t_stop, "backend_starts": starts,
             "launcher_pss_per_session_mib": naive,
             "launcher_sessions_per_24gib": (24 * 1024 / naive
                                             if naive else None)}
        self.put("many", f)
        print("many     zygote %d/%d idle sessions alive in %.1f s (%.0f/s), "
              "MemAvailable %.2f -> %.2f GiB: %.2f MiB per session -> %s per "
              "24 GiB%s" % (
                  ok, n, t, f["per_second"], before / MIB, after / MIB,
                  drop_mib, "%.0f" % per24 if per24 else "n/a",
                  " (stopped early: MemAvailable < 4 GiB)" if stopped else ""))
        print("         PSS per session %.2f MiB, USS %.2f MiB (%d sessions "
              "found); server stop took %.1f s%s" % (
                  f["pss_per_session_mib"], f["uss_per_session_mib"],
                  mem["sessions"], t_stop or 0,
                  "" if ok == n else "; statuses %s" % statuses))
        if naive:
            print("         naive peer: launcher idle PSS %.1f MiB per "
                  "session (memory step) -> %.0f per 24 GiB; ratio %s" % (
                      naive, 24 * 1024 / naive,
                      fmt_ratio(ratio(per24, 24 * 1024 / naive))))
        else:
            print("         naive peer: the launcher's PSS per session comes "
                  "from the memory step, not run before this one")
        self.goal("%d idle sessions" % n, "%d/%d ok, %s per 24 GiB" % (
            ok, n, "%.0f" % per24 if per24 else "n/a"),
            "all ok, >= 5000 per 24 GiB",
            ok == n and per24 is not None and per24 >= 5000)

    # -- 7. refill ------------------------------------------------------
    def run_refill(self):
        r = self.n("refill")
        rl = self.n("refill_launcher")
        nc = self.n("refill_cold")
        s = self.server("refill-zygote", start="zygote", ready=r,
                        max_starting=64, max_sessions=200)
        try:
            t_full = s.wait_ready(r, poll=0.01)
            log = s.log_text()
            starts = s.backend_starts()
        finally:
            s.stop()
        t_tpl = t_listen = None
        for ln in log.splitlines():
            if t_listen is None and "listening on" in ln:
                t_listen = log_time(ln)
            if t_tpl is None and re.search(r"zygote: the template for .* is "
                                           r"ready", ln):
                t_tpl = log_time(ln)
        if t_tpl is None:
            raise BenchError("refill: no 'template ... is ready' log line")
        zrate = r / (t_full - t_tpl)
        s = self.server("refill-launcher", start="launcher", ready=rl,
                        max_starting=8, max_sessions=200)
        try:
            tl_full = s.wait_ready(rl, poll=0.01)
            llog = s.log_text()
        finally:
            s.stop()
        tl_listen = None
        for ln in llog.splitlines():
            if "listening on" in ln:
                tl_listen = log_time(ln)
                break
        lrate = rl / (tl_full - tl_listen)
        _, cold_total = cold_pythons_parallel(nc, 2)
        crate = nc / cold_total
        f = {"zygote_ready": r, "zygote_seconds": t_full - t_tpl,
             "zygote_per_second": zrate,
             "zygote_from_listening_seconds": t_full - t_listen,
             "zygote_backend_starts": starts,
             "launcher_ready": rl, "launcher_seconds": tl_full - tl_listen,
             "launcher_per_second": lrate,
             "cold_n": nc, "cold_seconds": cold_total, "cold_per_second": crate,
             "ratio_zygote_launcher": ratio(zrate, lrate),
             "ratio_zygote_cold": ratio(zrate, crate)}
        self.put("refill", f)
        print("refill   zygote %d ready in %.3f s after the template: %.0f "
              "sessions/s (%.2f s after listening) | launcher %d in %.2f s: "
              "%.1f/s | cold python3 %d, 2 at a time, in %.2f s: %.1f/s" % (
                  r, t_full - t_tpl, zrate, t_full - t_listen, rl,
                  tl_full - tl_listen, lrate, nc, cold_total, crate))
        print("         ratio zygote/launcher %s, zygote/cold %s; zygote "
              "server's starts %s" % (
                  fmt_ratio(f["ratio_zygote_launcher"]),
                  fmt_ratio(f["ratio_zygote_cold"]), starts))
        self.goal("refill", "%.0f sessions/s" % zrate, ">= 100 sessions/s",
                  zrate >= 100)

    # -- 8. boot --------------------------------------------------------
    def boot_series(self, start, n):
        xs = []
        for k in range(n):
            s = self.server("boot-%s-%d" % (start, k), start=start)
            try:
                xs.append(s.wait_startup(poll=0.01) - s.t0)
            finally:
                s.stop()
        return xs

    def run_boot(self):
        n = self.n("boot")
        zy = self.boot_series("zygote", n)
        la = self.boot_series("launcher", n)
        cold = cold_pythons(n)
        f = {"n": n, "zygote_median_s": median(zy), "zygote_all_s": zy,
             "launcher_median_s": median(la), "launcher_all_s": la,
             "cold_median_s": median(cold), "cold_all_s": cold,
             "ratio_launcher_zygote": ratio(median(la), median(zy)),
             "ratio_zygote_cold": ratio(median(zy), median(cold))}
        self.put("boot", f)
        print("boot     zygote median %.2f s (%s) | launcher median %.2f s "
              "(%s) | cold python3 median %.2f s" % (
                  median(zy), ", ".join("%.2f" % x for x in zy),
                  median(la), ", ".join("%.2f" % x for x in la),
                  median(cold)))
        print("         ratio launcher/zygote %s, zygote/cold python3 %s "
              "(ready = 8: the template plus 8 forks, and the probe)" % (
                  fmt_ratio(f["ratio_launcher_zygote"]),
                  fmt_ratio(f["ratio_zygote_cold"])))
        self.goal("boot", "%.2f s" % median(zy), "<= 1 s", median(zy) <= 1)

    # ------------------------------------------------------------------
    def summary(self):
        print()
        print("summary (goals from DESIGN.md section 7 / the zygote issue)")
        for what, value, goal, met in self.goals:
            mark = ("met" if met else "not met") if met is not None \
                else "not measured"
            print("  %-26s %-32s goal %-28s %s" % (what, value, goal, mark))
        self.results["goals"] = [
            {"what": w, "value": v, "goal": g, "met": m}
            for w, v, g, m in self.goals]


def main():
    ap = argparse.ArgumentParser(
        description="sandpool zygote benchmark (see the docstring)")
    ap.add_argument("steps", nargs="*", metavar="STEP",
                    help="all (the default), or some of: "
                    + ", ".join(STEPS))
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--quick", action="store_true",
                    help="smaller counts")
    ap.add_argument("--json", metavar="FILE", help="write all figures here")
    ap.add_argument("--keep-logs", metavar="DIR",
                    help="copy each server's log into DIR")
    args = ap.parse_args()
    bad = [x for x in args.steps if x not in ["all"] + STEPS]
    if bad:
        ap.error("unknown step %s (choose from all, %s)" % (
            ", ".join(bad), ", ".join(STEPS)))
    if os.geteuid() != 0:
        raise SystemExit("zygote_bench.py runs as root (sandpool serve "
                         "needs it)")
    if not os.access(os.path.join(args.build, "sandpool"), os.X_OK):
        raise SystemExit("no %s/sandpool: run `make -j2 all` first"
                         % args.build)
    if args.keep_logs:
        os.makedirs(args.keep_logs, exist_ok=True)
    steps = STEPS if not args.steps or "all" in args.steps else [
        s for s in STEPS if s in args.steps]

    def on_term(signum, frame):
        # once: the cleanup (stopping the servers) must not be cut short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    b = Bench(args)
    b.results["host"] = {"cpus": os.cpu_count(),
                         "loadavg_start": os.getloadavg(),
                         "memavailable_kb_start": meminfo()["MemAvailable"],
                         "quick": args.quick, "preload": MODULES,
                         "steps": steps,
                         "time": datetime.datetime.now(
                             datetime.timezone.utc).isoformat()}
    print("sandpool zygote bench%s: preload %s; %s" % (
        " (--quick)" if args.quick else "", MODULES, host_line()))
    fp0 = build_fingerprint(b.build)
    b.results["host"]["build"] = fp0
    print("build %s (sandpool %s)" % (b.build,
                                      fp0[str(b.build / "sandpool")]))
    print()
    failed = []
    t_all = time.monotonic()
    try:
        for step in steps:
            t0 = time.monotonic()
            try:
                getattr(b, "run_" + step)()
            except Exception as e:   # noqa: BLE001 (reported, next step)
                failed.append(step)
                print("%-8s FAILED: %s" % (step, e))
                traceback.print_exc(file=sys.stdout)
                b.put(step, {"failed": str(e)[:2000]})
                b.goal(step, "failed: %s" % type(e).__name__, "-", None)
            b.put(step, {"step_seconds": time.monotonic() - t0})
            print("         (%.1f s; load average %.2f)" % (
                time.monotonic() - t0, os.getloadavg()[0]))
        b.summary()
        fp1 = build_fingerprint(b.build)
        if fp1 != fp0:
            b.results["host"]["build_changed"] = fp1
            print()
            print("!! the build changed during the run; the figures mix "
                  "binaries:")
            for k in fp1:
                if fp1[k] != fp0[k]:
                    print("   %s: %s -> %s" % (k, fp0[k], fp1[k]))
        print()
        print("%s; total %.0f s%s" % (
            host_line(), time.monotonic() - t_all,
            "; failed: " + ", ".join(failed) if failed else ""))
    finally:
        b.results["host"]["loadavg_end"] = os.getloadavg()
        b.results["host"]["failed_steps"] = failed
        if args.json:
            with open(args.json, "w") as f:
                json.dump(b.results, f, indent=1, default=str)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        print("\ninterrupted (%s); every server started was stopped" % (
            e or "SIGINT"))
        sys.exit(130)
