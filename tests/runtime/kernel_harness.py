# SPDX-License-Identifier: MIT
"""Harness for runtime/kernel.py: runs it outside any sandbox, with a
socketpair on fd 3 and /dev/null on 0/1/2, as the init does.  A module of
its own, not a conftest.py: tests/integration imports tests/conftest.py as
`conftest`, and a second conftest.py in the same run would shadow it."""

import json
import os
import resource
import select
import signal
import socket
import struct
import subprocess
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNEL = os.path.join(ROOT, "runtime", "kernel.py")
PYTHON = "/usr/bin/python3"
DEFAULT_PRELOAD = "numpy,pandas,matplotlib"
MAX_OUT = 64 << 20

RESULT_KEYS = {
    "op", "id", "stdout", "stderr", "stdout_truncated", "stderr_truncated",
    "result", "outputs", "error", "interrupted", "exit_code", "exit", "duration_ms",
}


def _no_constants(name):
    raise AssertionError("kernel sent the non-JSON constant %s" % name)


class KernelEOF(Exception):
    pass


class Kernel:
    def __init__(self, cwd, mplconfig, preload="", nofile=None):
        self.cwd = str(cwd)
        self.sock, child = socket.socketpair()
        self.errlog = os.path.join(self.cwd, ".kernel-stderr")
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": self.cwd,
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(mplconfig),
            "SANDPOOL_PRELOAD": preload,
            "SANDPOOL_KERNEL_FD": "3",
        }
        cfd = child.fileno()

        def setup():
            if cfd == 3:
                os.set_inheritable(3, True)
            else:
                os.dup2(cfd, 3)
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)

        with open(self.errlog, "wb") as err:
            self.proc = subprocess.Popen(
                [PYTHON, "-I", KERNEL], cwd=self.cwd, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                close_fds=False, preexec_fn=setup)
        child.close()
        self.raw = b""
        self.t_start = time.monotonic()
        self.ready = self.recv(timeout=60)
        self.t_ready = time.monotonic()

    # -- framing
    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, obj):
        data = json.dumps(obj).encode()
        self.send_raw(struct.pack(">I", len(data)) + data)

    def _read(self, n, deadline):
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("kernel did not answer in time")
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            chunk = self.sock.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise KernelEOF()
            buf += chunk
        return bytes(buf)

    def recv(self, timeout=30):
        deadline = time.monotonic() + timeout
        (n,) = struct.unpack(">I", self._read(4, deadline))
        assert 0 < n <= MAX_OUT, n
        self.raw = self._read(n, deadline)
        msg = json.loads(self.raw.decode("utf-8"), parse_constant=_no_constants)
        assert isinstance(msg, dict)
        return msg

    # -- ops
    def request(self, op, timeout=30, **fields):
        rid = uuid.uuid4().hex
        self.send(dict(fields, op=op, id=rid))
        msg = self.recv(timeout)
        assert msg["id"] == rid
        if msg["op"] == "result":
            check_result(msg)
        return msg

    def execute(self, code, output_max=1 << 20, timeout=30):
        return self.request("execute", timeout=timeout, code=code, output_max=output_max)

    def shell(self, command, output_max=1 << 20, timeout=30):
        return self.request("shell", timeout=timeout, command=command, output_max=output_max)

    def stream(self, code, op="execute", output_max=1 << 20, timeout=30):
        """Run code (or a shell command) with "stream": the "output" frames
        that came before the result (with their arrival times) and the
        result."""
        rid = uuid.uuid4().hex
        key = "code" if op == "execute" else "command"
        self.send({"op": op, "id": rid, key: code, "output_max": output_max,
                   "stream": True})
        frames = []
        while True:
            msg = self.recv(timeout)
            assert msg["id"] == rid
            if msg["op"] == "result":
                check_result(msg)
                return frames, msg
            assert msg["op"] == "output", msg
            assert set(msg) == {"op", "id", "items"}, msg
            for it in msg["items"]:
                assert it["type"] in ("stdout", "stderr", "image", "html"), it
            frames.append((time.monotonic(), msg["items"]))

    def value(self, code):
        r = self.execute(code)
        assert r["error"] is None, r
        return r["result"]

    def interrupt(self):
        self.proc.send_signal(signal.SIGINT)

    def wait(self, timeout=10):
        return self.proc.wait(timeout)

    def wait_for_file(self, name, timeout=10):
        path = os.path.join(self.cwd, name)
        deadline = time.monotonic() + timeout
        while not os.path.exists(path) or os.path.getsize(path) == 0:
            assert time.monotonic() < deadline, "timed out waiting for " + name
            time.sleep(0.01)
        time.sleep(0.05)
        with open(path) as f:
            return f.read().strip()

    def close(self):
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def check_result(r):
    assert set(r) == RESULT_KEYS, set(r) ^ RESULT_KEYS
    assert r["op"] == "result"
    assert isinstance(r["stdout"], str) and isinstance(r["stderr"], str)
    assert isinstance(r["stdout_truncated"], bool) and isinstance(r["stderr_truncated"], bool)
    assert isinstance(r["interrupted"], bool)
    assert isinstance(r["outputs"], list)
    assert isinstance(r["duration_ms"], float) and r["duration_ms"] >= 0
    if r["error"] is not None:
        assert r["error"]["code"] in ("PythonError", "KernelExit")
        assert set(r["error"]) == {"code", "name", "message", "stack"}
    for o in r["outputs"]:
        assert o["type"] in ("image", "html")
