# SPDX-License-Identifier: MIT
"""sandpool zygote template: one warm Python that every session of a pool is
forked from.

Started by the server through `sandpool-sandbox --template` (an unprivileged
host uid, no capabilities, NO_NEW_PRIVS, a clean environment: exactly the
kernel's) as

    python3 -I /proc/self/fd/4/zygote.py --chan 3 --ext /proc/self/fd/5

with fd 3 a SOCK_SEQPACKET socket to the server, fd 4 the runtime directory
and fd 5 the extension (src/zygote_py.c), and a private tmpfs on /tmp.  The
theory is in docs/ARCHITECTURE.md ("The zygote"); in short:

- At startup it does the kernel's session-independent work once
  (kernel.template_prepare(): the preloads, a few representative cells,
  gc.freeze()), checks that it is single-threaded, and says
  {"op": "ready", "python", "preloaded", "failed", "pid"}.
- Then it serves one request per message, each answered by one message:
    {"op": "spawn", "id", "hostname", "tmp_size", "pids", "fsize"}
      with the fds [ctl, release, err, runtime_tree, init] (init: the
      launcher binary, which pid 1 re-execs into)
      -> {"op": "spawned", "id", "pid"}  (pid 1 of the new sandbox, which
         waits on `release` until the server has written its uid maps; the
         server's word brings the session's data tree and cgroup attach
         files, made while we forked; our copy of `release` is closed
         before we reply, so only the child can take them)
      or {"op": "error", "id", "errno", "message"}
    {"op": "ping", "id"} -> {"op": "pong", "id"}
  and exits when the server closes the socket.
- In the new sandbox, spawn() returns 0 in the session's PROGRAM (pid 2),
  which becomes that session's kernel: kernel.session_main().

The template holds no secret: the server sends it nothing but the spawn
parameters above, and it never runs user code.
"""

import importlib.machinery
import importlib.util
import json
import os
import socket
import sys
import types

MAX_MSG = 4096      # a request is a few hundred bytes
MAX_FDS = 16        # ctl, release, err, two trees, init, 8 cgroup files
KERNEL_NAME = "/opt/sandpool/kernel.py"


def _load_ext(path):
    """The extension, not registered in sys.modules (no session can import
    the template's insides)."""
    loader = importlib.machinery.ExtensionFileLoader("_sandpool_zygote", path)
    spec = importlib.util.spec_from_file_location("_sandpool_zygote", path,
                                                  loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def _load_kernel(path):
    """runtime/kernel.py as a module that is not in sys.modules, compiled
    under the name a launcher session knows it by, /opt/sandpool/kernel.py
    (the sandbox mounts the runtime there): tracebacks and the kernel's own
    frame filter read the same in both backends."""
    with open(path, "rb") as f:
        source = f.read()
    mod = types.ModuleType("_sandpool_kernel")
    mod.__file__ = KERNEL_NAME
    exec(compile(source, KERNEL_NAME, "exec", dont_inherit=True), mod.__dict__)
    return mod


def _args(argv):
    opts = {}
    it = iter(argv)
    for a in it:
        if a in ("--chan", "--ext"):
            opts[a[2:]] = next(it)
        else:
            raise SystemExit("zygote.py: unknown argument %r" % a)
    return int(opts["chan"]), opts["ext"]


def _send(chan, msg):
    chan.send(json.dumps(msg, separators=(",", ":")).encode())


def _spawn(zy, kernel, chan, info, req, fds):
    """One spawn request.  Returns the reply; in the new sandbox's PROGRAM
    it does not return."""
    rid = req.get("id")
    if len(fds) != 5:
        return {"op": "error", "id": rid, "errno": 22,
                "message": "spawn needs 5 fds, got %d" % len(fds)}
    try:
        fsize = int(req["fsize"])
        pid = zy.spawn(chan.fileno(), fds[0], fds[1], fds[2], fds[3], fds[4],
                       str(req["hostname"]), int(req["tmp_size"]),
                       int(req["pids"]),
                       fsize if fsize >= 0 else (1 << 64) - 1)
    except OSError as e:
        return {"op": "error", "id": rid, "errno": e.errno or 0,
                "message": "clone: %s" % os.strerror(e.errno or 0)}
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        return {"op": "error", "id": rid, "errno": 22,
                "message": "%s: %s" % (type(e).__name__, e)}
    if pid == 0:
        # The session's kernel, inside its sandbox: fd 3 is its control
        # socket now, so our socket object must never close "its" fd.
        try:
            chan.detach()
            kernel.session_main(info, zy.wait_init)
        finally:
            os._exit(1)
    return {"op": "spawned", "id": rid, "pid": pid}


def main():
    chan_fd, ext_path = _args(sys.argv[1:])
    chan = socket.socket(fileno=chan_fd)
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        zy = _load_ext(ext_path)
        zy.set_name("sp-zygote")
        kernel = _load_kernel(os.path.join(here, "kernel.py"))
        # Loaded: the runtime directory and the extension's file stay
        # on the host side (spawn() refuses to pass on any fd but the
        # read-only files the template's Python holds).
        for fd in (4, 5):
            os.close(fd)
        info = kernel.template_prepare()
        threads = zy.threads()
        if threads != 1:
            raise RuntimeError("%d threads after the preloads; a template "
                               "must have one (set *_NUM_THREADS=1)" % threads)
    except BaseException as e:
        _send(chan, {"op": "fatal", "message": "%s: %s" % (type(e).__name__, e)})
        os._exit(1)
    _send(chan, dict(info, op="ready", pid=os.getpid()))
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(chan, MAX_MSG, MAX_FDS)
        except InterruptedError:
            continue
        if not msg:
            os._exit(0)                     # the server is gone
        try:
            req = json.loads(msg)
        except ValueError:
            req = None
        if not isinstance(req, dict):
            req = {}
        op = req.get("op")
        try:
            if op == "spawn":
                reply = _spawn(zy, kernel, chan, info, req, fds)
            elif op == "ping":
                reply = {"op": "pong", "id": req.get("id")}
            else:
                reply = {"op": "error", "id": req.get("id"), "errno": 22,
                         "message": "unknown op"}
        finally:
            for fd in fds:
                os.close(fd)
        _send(chan, reply)


if __name__ == "__main__":
    main()
