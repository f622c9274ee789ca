# SPDX-License-Identifier: MIT
"""Shared fixtures: a real `sandpool serve` on a random loopback port with a
temporary state directory, and a small HTTP client for it.

The binary directory comes from SANDPOOL_BUILD (set by the Makefile; the ASan
suite points it at build-asan).  Each Server writes its log to a file so a
failing test can show it, and stop() asserts a clean exit (status 0, no
sanitizer report), which is how the sanitizer build catches leaks and
memory errors on the server's real code paths.
"""
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

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUILD = pathlib.Path(os.environ.get("SANDPOOL_BUILD", ROOT / "build"))
SANDPOOL = BUILD / "sandpool"

GEN1 = "2024-02-02-preview"
GEN2 = "2025-02-02-preview"

# Fast defaults for tests: one warm sandbox, no heavy preloads unless a
# test asks for them (matplotlib is imported lazily by the kernel anyway).
BASE_CONFIG = """\
ready = 1
max_starting = 2
cooldown = 300
"""


class Server:
    def __init__(self, config="", args=(), env=None, keys=(), listen=None,
                 wait_ready=True):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="sp-test-"))
        self.state = self.dir / "state"
        self.conf = self.dir / "sandpool.conf"
        # A uid range of its own, so that servers of concurrent test runs
        # never share host uids (RLIMIT_NPROC counts per host uid).
        uid_base = 1000000000 + random.randrange(0, 20) * 134217728
        self.conf.write_text(BASE_CONFIG + "sandbox.uid_base = %d\n"
                             % uid_base + config)
        self.log_path = self.dir / "server.log"
        self.keys = list(keys)
        cmd = [str(SANDPOOL), "serve", "--config", str(self.conf),
               "--state-dir", str(self.state),
               "--listen", listen or "127.0.0.1:0"]
        for k in self.keys:
            cmd += ["--api-key", k]
        cmd += list(args)
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("SANDPOOL_")}
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        if env:
            e.update(env)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.log, env=e)
        self.host = "127.0.0.1"
        self._conn = None
        try:
            self.port = self._wait_port()
            if wait_ready:
                self.wait_ready()
        except BaseException:
            # Do not leak the process or the temp dir of a failed start.
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
            self.cleanup()
            raise

    def _wait_port(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.log_path.read_text(errors="replace")
            m = re.search(r"listening on \S+ \(port (\d+)\)", text)
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError("server exited %s:\n%s"
                                   % (self.proc.returncode, text))
            time.sleep(0.02)
        raise RuntimeError("server did not start:\n" + self.log_text())

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, _, _ = self.request("GET", "/health/startup")
            if st == 200:
                return
            time.sleep(0.05)
        raise RuntimeError("server not ready:\n" + self.log_text())

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    # ---- HTTP ----
    def conn(self):
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port,
                                                    timeout=300)
        return self._conn

    def request(self, method, path, body=None, headers=None, key=None,
                fresh=False):
        """Returns (status, headers dict with lowercase names, body bytes)."""
        h = dict(headers or {})
        if key is None and self.keys:
            key = self.keys[0].split(":", 1)[-1]
        if key:
            h.setdefault("Authorization", "Bearer " + key)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            c = (http.client.HTTPConnection(self.host, self.port, timeout=300)
                 if fresh else self.conn())
            try:
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if fresh:
                    c.close()
                return r.status, hdrs, data
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError):
                self._conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method, path, body=None, **kw):
        st, h, data = self.request(method, path, body, **kw)
        try:
            return st, h, json.loads(data) if data else None
        except ValueError:
            raise AssertionError("not JSON (%d): %r" % (st, data[:500]))

    def gen1(self, code, ident="s1", prefix="", **props):
        p = {"codeInputType": "inline", "executionType": "synchronous",
             "code": code}
        p.update(props)
        st, _, body = self.json(
            "POST", "%s/code/execute?identifier=%s&api-version=%s"
            % (prefix, ident, GEN1), {"properties": p})
        assert st == 200, (st, body)
        return body["properties"]

    def gen2(self, body, ident="s1", version=GEN2, expect=200):
        st, h, out = self.json(
            "POST", "/executions?identifier=%s&api-version=%s"
            % (ident, version), body)
        assert st == expect, (st, out)
        return out

    def stop(self, sig=signal.SIGTERM, timeout=60, check=True):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("server did not stop:\n"
                                     + self.log_text())
        self.log.close()
        text = self.log_text()
        if check:
            assert "Sanitizer" not in text and "runtime error" not in text, \
                text[-8000:]
            assert self.proc.returncode == 0, (self.proc.returncode,
                                               text[-8000:])
        return text

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def start(**kw):
    return Server(**kw)


@pytest.fixture(scope="module")
def server():
    s = Server()
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


@pytest.fixture
def make_server():
    made = []

    def make(**kw):
        s = Server(**kw)
        made.append(s)
        return s
    yield make
    errors = []
    for s in made:
        try:
            s.stop()
        except AssertionError as e:
            errors.append(str(e))
        finally:
            s.cleanup()
    assert not errors, errors
