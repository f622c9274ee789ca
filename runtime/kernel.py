# SPDX-License-Identifier: MIT
"""sandpool kernel: runs user code inside the sandbox, speaks framed JSON on fd 3.

Started as `python3 -I /opt/sandpool/kernel.py` (pid 2, under the C init), with
fd 3 = a SOCK_STREAM socket to the server and fds 0/1/2 = /dev/null.  The
protocol is in docs/ARCHITECTURE.md ("The kernel protocol"): 4-byte big-endian
length + one UTF-8 JSON object, at most 8 MiB in and 64 MiB out.  The kernel
never decides limits; it only keeps its own frames valid and bounded.

Two ways in: main() for a kernel started on its own (the launcher backend),
and, for the zygote backend, template_prepare() in the template (runtime/
zygote.py: the session-independent startup, warm-up cells, gc.freeze()) and
session_main() in each child forked from it, inside its sandbox (re-seed the
RNGs, a fresh __main__, then serve).  Both run the same _prepare() and
_open_session(), so a session cannot tell how its kernel started.

Design notes (the why of each trick):

- One thread serves the protocol: read a request, run it, reply.  The only
  other kernel threads are the pipe drainers of the current (or a detached)
  cell.  Nothing of ours runs while user code does, except those drainers.
- The control fd is moved above 1023 (raising RLIMIT_NOFILE's soft limit for
  the one fcntl and lowering it back: an fd above the soft limit stays valid),
  close-on-exec, so subprocesses never inherit it and `os.closerange(0, 1024)`
  in a cell does not cut us off.  When the hard limit forbids that we take the
  highest free fd below it, and check the fd's identity (st_dev, st_ino) before
  every reply, so a closed-and-reused number is never written to.
- Output capture is at the fd level: per cell, fds 1 and 2 are dup2'ed onto
  fresh pipes, so C extensions, os.write and subprocesses are captured too.
  Each pipe is drained by a thread into a buffer capped at output_max (it keeps
  reading and counting past the cap, so writers never block).  After the cell
  we restore fds 1/2; a background process may still hold a write end, so we
  wait ~100 ms, take what has arrived, and leave that drainer running into a
  discarded buffer rather than wait for an EOF that may never come.
- sys.stdout/sys.stderr are fresh write-through TextIOWrappers on fds 1/2 for
  every cell (like `python -u`), so print() and C-level output interleave in
  order, and a user who replaced or closed sys.stdout gets it back next cell.
- SIGINT (the server's timeout, forwarded by init) is ignored except while
  user code runs, when signal.default_int_handler is installed (asyncio.run
  checks for exactly that handler).  _guarded() re-ignores it in a retry loop,
  so a SIGINT landing between cells or while we reply can never kill us.
- The kernel's functions use a private copy of the builtins dict (assigned to
  __builtins__ before any def), and the protocol primitives are bound at
  import, so a cell that monkeypatches builtins, json or os.write cannot break
  the reply path.  The stdlib code we call (json's encoder, traceback, ast)
  uses the real builtins, so between cells any entry a cell replaced is
  swapped back to its startup value, and the cell's version is put back
  before the next cell runs.  The user namespace is a fresh module installed
  as sys.modules["__main__"], so pickle and multiprocessing find cell classes.
- A cell that forks and falls through (the child returns into the kernel) is
  caught by a pid check right after user code and exits; only pid 2 replies.
- Exits never go through interpreter shutdown (it joins non-daemon user
  threads and could hang forever): we run atexit handlers under a 1 s
  watchdog, then os._exit().
"""

import builtins

# Private builtins for every function defined below (see the header).
__builtins__ = dict(builtins.__dict__)

import _signal
import ast
import base64
import codecs
import fcntl
import gc
import importlib
import io
import json
import linecache
import math
import numbers
import os
import resource
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import traceback
import types

# Protocol primitives, bound now so user monkeypatching cannot reach them.
_os_read, _os_write, _os_fstat = os.read, os.write, os.fstat
_dumps, _loads = json.dumps, json.loads
_pack, _unpack = struct.pack, struct.unpack
# _signal, not signal: signal.signal() is a Python wrapper that goes through
# enum and thus the (possibly user-patched) builtins.
_setsig, _SIGINT, _SIG_IGN = _signal.signal, int(signal.SIGINT), _signal.SIG_IGN
_default_int = _signal.default_int_handler
_Popen = subprocess.Popen

MAX_IN = 8 << 20            # KERNEL_MAX_IN: larger request -> exit(2)
MAX_OUT = 64 << 20          # KERNEL_MAX_OUT: we never send a larger frame
MAX_IMAGES = 32             # per cell
MAX_PNG = 16 << 20          # PNG bytes per cell (before base64)
MAX_HTML = 8 << 20          # html characters per cell
MAX_REPR = 1 << 20          # result text, tracebacks
DEFAULT_OUTPUT_MAX = 1 << 20
HIGH_FD = 1024              # kernel fds live at or above this when possible
DRAIN_WAIT = 0.1            # seconds we wait for a pipe held by someone else
INTERRUPT_FIGURE_BUDGET = 0.5   # seconds of figure rendering after a SIGINT
CO_COROUTINE = 0x80
LIVE_INTERVAL = 0.05        # s between two "output" frames of a streaming cell
LIVE_FRAME = 256 << 10      # text characters in one "output" frame, at most
ORDER_WAIT = 0.05           # s a print waits for the other stream's pipe to drain
_NOTHING = object()         # "absent" marker for builtins entries


class K:
    """Kernel state (one instance, the class itself)."""
    ctl = -1                # control socket fd
    ctl_id = None           # (st_dev, st_ino) of ctl
    pid = 0
    home = "/"              # startup cwd (/mnt/data in the sandbox)
    saved = {}              # 1/2 -> (high fd of the original, identity)
    ns = None               # user namespace
    cell_no = 0
    cell = None             # the running _Cell, for display() and show()
    pretty = None           # IPython.lib.pretty.pretty when available
    libc_fflush = None
    libc_trim = None        # malloc_trim, for _tidy()
    wait_init = None        # zygote: waits for pid 1's exec (session_main)
    loop = None             # asyncio loop for top-level await
    kernel_file = None
    pristine = {}           # builtins as the kernel left them at startup
    user_builtins = {}      # the user's changes to them, swapped out between cells
    client = False          # a client's request came (see _client_priority)
    live = None             # the running cell's _Live, when it streams
    send_lock = threading.Lock()    # frames come from the main and _Live threads


# ---------------------------------------------------------------- fds

def _ident(fd):
    st = _os_fstat(fd)
    return (st.st_dev, st.st_ino)


def _high_fds(fds):
    """Move each fd to a high, close-on-exec number; return the new numbers."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    raised = False
    if soft <= HIGH_FD and (hard == resource.RLIM_INFINITY or hard > HIGH_FD + 64):
        want = HIGH_FD + 4096 if hard == resource.RLIM_INFINITY else min(hard, HIGH_FD + 4096)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            raised = True
        except (ValueError, OSError):
            pass
    out = []
    try:
        for fd in fds:
            new = -1
            for lo in (HIGH_FD, soft - 1, soft - 16, soft - 256, 10):
                if lo < 3:
                    continue
                try:
                    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, lo)
                    break
                except (OSError, ValueError):
                    continue
            if new < 0:
                os.set_inheritable(fd, False)
                out.append(fd)
            else:
                os.close(fd)
                out.append(new)
    finally:
        if raised:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return out


def _ensure_std_fds():
    """A cell may have closed 0-2; reopen them on /dev/null so that new pipes
    never land on 0-2 and subprocesses get sane stdio."""
    for fd in (0, 1, 2):
        try:
            _os_fstat(fd)
        except OSError:
            nul = os.open(os.devnull, os.O_RDWR)
            if nul != fd:
                os.dup2(nul, fd)
                os.close(nul)
            else:
                os.set_inheritable(fd, True)


def _restore_stdio():
    """Point fds 1/2 back at the kernel's originals (or /dev/null)."""
    for fd in (1, 2):
        saved, ident = K.saved[fd]
        try:
            if _ident(saved) != ident:
                raise OSError("saved fd %d was replaced" % saved)
            os.dup2(saved, fd)
        except OSError:
            nul = os.open(os.devnull, os.O_WRONLY)
            os.dup2(nul, fd)
            K.saved[fd] = (_high_fds([nul])[0], _ident(fd))


class _OrderedRaw(io.RawIOBase):
    """fd 1 or 2 of a streaming cell, for sys.stdout/sys.stderr: before a
    write it waits (briefly) until the other stream's pipe is drained, so
    that the stream's frames keep print()s to stdout and stderr in the order
    they were made.  Output of subprocesses and C code goes to the fds
    directly and is ordered only within each stream."""

    def __init__(self, fd, other):
        super().__init__()
        self.fd, self.other = fd, other

    def writable(self):
        return True

    def fileno(self):
        return self.fd

    def write(self, b):
        live, end = K.live, None
        while live is not None:
            with live.lock:
                if self.other._pending() == 0:
                    break
            end = end or time.monotonic() + ORDER_WAIT
            if time.monotonic() > end:
                break
            time.sleep(0.0002)
        view = memoryview(b)
        while view:
            view = view[_os_write(self.fd, view):]
        return len(b)


def _make_stream(fd, other=None):
    # Unbuffered, like python -u: text goes to the fd at every write().
    if other is None:
        raw = io.FileIO(fd, "w", closefd=False)
    else:
        raw = _OrderedRaw(fd, other)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace",
                            write_through=True)


class _Live:
    """The output of a cell run with "stream": sent as "output" frames while
    the cell runs, at most one frame per LIVE_INTERVAL (what arrives in
    between is coalesced) and LIVE_FRAME characters of text per frame; only
    what the result keeps (output_max bytes per stream) is streamed, then
    the truncation marker once.  close() sends what is left; the result
    frame follows."""

    def __init__(self, rid, cap):
        self.rid, self.cap = rid, cap
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.items = []
        self.cut = set()
        self.dec = {n: codecs.getincrementaldecoder("utf-8")("replace")
                    for n in ("stdout", "stderr")}
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="sandpool-live",
                                       daemon=True)
        self.thread.start()

    def _text(self, stream, text):
        if not text:
            return
        last = self.items[-1] if self.items else None
        if last is not None and last["type"] == stream:
            last["text"] += text
        else:
            self.items.append({"type": stream, "text": text})
        self.cond.notify()

    def add_bytes(self, stream, data, over):
        """Bytes of one stream, in order (lock held by the caller)."""
        self._text(stream, self.dec[stream].decode(data))
        if over and stream not in self.cut:
            self.cut.add(stream)
            self._text(stream, self.dec[stream].decode(b"", True) +
                       "\n[sandpool: output truncated at %d bytes]\n" % self.cap)

    def add_display(self, item):
        with self.lock:
            self.items.append(dict(item))
            self.cond.notify()

    def _take(self):
        """Items for one frame (lock held)."""
        out, size = [], 0
        while self.items and size < LIVE_FRAME:
            it = self.items[0]
            if "text" in it and size + len(it["text"]) > LIVE_FRAME and out:
                break
            if "text" in it and len(it["text"]) > LIVE_FRAME:
                out.append({"type": it["type"], "text": it["text"][:LIVE_FRAME]})
                it["text"] = it["text"][LIVE_FRAME:]
                break
            out.append(self.items.pop(0))
            size += len(it.get("text", "")) + len(it.get("data", ""))
        return out

    def _send(self, items):
        if items:
            _send({"op": "output", "id": self.rid, "items": items})

    def _run(self):
        while True:
            with self.lock:
                while not self.items and not self.closed:
                    self.cond.wait()
                if self.closed:
                    return
                items = self._take()
            self._send(items)
            with self.lock:                 # the rate bound; close() ends it
                self.cond.wait_for(lambda: self.closed, LIVE_INTERVAL)

    def close(self):
        with self.lock:
            for stream in ("stdout", "stderr"):
                if stream not in self.cut:
                    self._text(stream, self.dec[stream].decode(b"", True))
            self.closed = True
            self.cond.notify()
        self.thread.join()
        while True:
            with self.lock:
                items = self._take()
            if not items:
                break
            self._send(items)


# ---------------------------------------------------------------- capture

class _Drain(threading.Thread):
    """Reads one pipe to EOF; keeps the first `cap` bytes, counts the rest.
    With a live stream it also hands what it keeps to that stream, reading
    under the stream's lock (see _OrderedRaw)."""

    def __init__(self, fd, cap, live=None, name=None):
        super().__init__(name="sandpool-drain", daemon=True)
        self.fd, self.cap = fd, cap
        self.live, self.stream = live, name
        self.poll = None
        self.buf = bytearray()
        self.total = 0
        self.kept = True
        self.lock = threading.Lock()

    def _read(self):
        if self.live is None:
            return _os_read(self.fd, 65536)
        # Wait unlocked; read and hand over under the stream's lock, so
        # that a print that saw this pipe empty knows its bytes are queued.
        if self.poll is None:               # the fd is above select()'s range
            self.poll = select.poll()
            self.poll.register(self.fd, select.POLLIN)
        self.poll.poll()
        with self.live.lock:
            chunk = _os_read(self.fd, 65536)
            if chunk:
                self._keep(chunk)
            return chunk

    def _keep(self, chunk):
        with self.lock:
            self.total += len(chunk)
            room = self.cap - len(self.buf)
            if self.kept and room > 0:
                self.buf += chunk[:room]
            if self.live is not None and self.kept:
                self.live.add_bytes(self.stream, chunk[:max(room, 0)],
                                    len(chunk) > room)

    def run(self):
        while True:
            try:
                chunk = self._read()
            except OSError:
                break
            if not chunk:
                break
            if self.live is None:
                self._keep(chunk)
        try:
            os.close(self.fd)
        except OSError:
            pass

    def _pending(self):
        try:
            b = fcntl.ioctl(self.fd, termios.FIONREAD, b"\0\0\0\0")
            return _unpack("i", b)[0]
        except OSError:
            return 0

    def take(self, deadline):
        """Return (kept bytes, total bytes) and stop keeping."""
        self.join(max(0.0, deadline - time.monotonic()))
        if self.is_alive():
            # Someone (a background process) still holds the write end.
            # What the cell wrote is in the pipe or already read: wait for
            # the pipe to drain, then detach.
            end = time.monotonic() + DRAIN_WAIT
            while self._pending() > 0 and time.monotonic() < end:
                time.sleep(0.005)
            time.sleep(0.005)
        with self.lock:
            self.kept = False
            return bytes(self.buf), self.total


class _Capture:
    """Context manager: fds 1/2 and sys.stdout/err go to capped pipes."""

    def __init__(self, cap, live=None):
        self.cap = cap
        self.live = live
        self.drains = []
        self.result = None

    def __enter__(self):
        _ensure_std_fds()
        r1, w1 = os.pipe()
        try:
            r2, w2 = os.pipe()
        except OSError:
            os.close(r1)
            os.close(w1)
            raise
        r1, r2 = _high_fds([r1, r2])
        os.dup2(w1, 1)
        os.dup2(w2, 2)
        os.close(w1)
        os.close(w2)
        live = self.live
        self.drains = [_Drain(r1, self.cap, live, "stdout"),
                       _Drain(r2, self.cap, live, "stderr")]
        for d in self.drains:
            d.start()
        o, e = self.drains if live is not None else (None, None)
        sys.stdout = sys.__stdout__ = _make_stream(1, e)
        sys.stderr = sys.__stderr__ = _make_stream(2, o)
        return self

    def __exit__(self, *exc):
        for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                s.flush()
            except BaseException:
                pass
        if K.libc_fflush is not None:       # C stdio buffers (printf in C code)
            try:
                K.libc_fflush(None)
            except BaseException:
                pass
        _restore_stdio()
        deadline = time.monotonic() + DRAIN_WAIT
        self.result = [self._text(*d.take(deadline)) for d in self.drains]
        return False

    def _text(self, data, total):
        text = data.decode("utf-8", "replace")
        if total > len(data):
            text += ("\n[sandpool: output truncated at %d bytes; %d bytes dropped]\n"
                     % (self.cap, total - len(data)))
            return text, True
        return text, False


# ---------------------------------------------------------------- user code

def _swap_builtins(entries):
    """Set builtins entries (_NOTHING deletes); return what they replaced."""
    d = builtins.__dict__
    old = {}
    for k, v in entries.items():
        old[k] = d.get(k, _NOTHING)
        if v is _NOTHING:
            d.pop(k, None)
        else:
            d[k] = v
    return old


def _pristine_where_changed():
    d = builtins.__dict__
    return {k: v for k, v in K.pristine.items() if d.get(k, _NOTHING) is not v}


def _guarded(thunk):
    """Run user code with SIGINT live and the user's builtins in place.
    Returns (value, exception); never raises, and returns only once SIGINT
    is ignored again.  Outside it, the stdlib code the kernel calls (json,
    traceback, ast) sees pristine builtins even if a cell replaced some."""
    value = exc = None
    _swap_builtins(K.user_builtins)
    try:
        try:
            _setsig(_SIGINT, _default_int)
            value = thunk()
        finally:
            _setsig(_SIGINT, _SIG_IGN)
    except BaseException as e:
        exc = e
    while True:             # a SIGINT may land in the finally above
        try:
            _setsig(_SIGINT, _SIG_IGN)
            break
        except KeyboardInterrupt as e:
            exc = e
    if os.getpid() != K.pid:
        _forked_child_exit(exc)
    K.user_builtins = _swap_builtins(_pristine_where_changed())
    return value, exc


def _forked_child_exit(exc):
    """A cell forked and the child fell through into the kernel: end it here."""
    status = 0
    if isinstance(exc, SystemExit):
        status = _exit_status(exc)[0]
    elif exc is not None:
        try:
            os.write(2, _format_tb(exc).encode("utf-8", "replace"))
        except BaseException:
            pass
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(status)


def _compile(code, filename):
    """Parse a cell; split off a final expression (IPython style)."""
    tree = ast.parse(code, filename=filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    body = compile(tree, filename, "exec", flags=flags, dont_inherit=True) if tree.body else None
    expr, quiet, call = None, False, False
    if last is not None:
        # A call that returns None (print(), df.info()) shows nothing in
        # Jupyter: report it as no value rather than as None.
        call = isinstance(last.value, (ast.Call, ast.Await))
        expr = compile(ast.Expression(last.value), filename, "eval", flags=flags,
                       dont_inherit=True)
        # A trailing ';' silences the value, as in IPython (`plt.plot(x);`).
        lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        tail = lines[last.end_lineno - 1].encode("utf-8")[last.end_col_offset:]
        quiet = tail.decode("utf-8", "replace").lstrip().startswith(";")
    return body, expr, quiet, call


def _run_code(code):
    if code.co_flags & CO_COROUTINE:        # top-level await
        import asyncio
        if K.loop is None or K.loop.is_closed():
            K.loop = asyncio.new_event_loop()
        return K.loop.run_until_complete(eval(code, K.ns))
    return eval(code, K.ns)


def _cell_body(cell, body, expr, quiet, call=False):
    if body is not None:
        _run_code(body)
    if expr is None:
        return {"kind": "empty"}
    value = _run_code(expr)
    if quiet or (call and value is None):
        return {"kind": "empty"}
    if value is not None:
        K.ns["_"] = value
    result = _describe(value)
    html = _html_of(value)
    if html is not None:
        cell.add_html(html)
    fig_t = _mpl_type("matplotlib.figure", "Figure")
    if fig_t is not None and isinstance(value, fig_t) and value not in _open_figures():
        _emit_figure(cell, value)           # a closed figure as the last value
    return result


# ---------------------------------------------------------------- results

def _cap_text(text, limit=MAX_REPR):
    b = text.encode("utf-8", "replace")
    if len(b) <= limit:
        return text
    return (b[:limit].decode("utf-8", "ignore")
            + "\n[sandpool: text truncated at %d bytes]" % limit)


def _pretty(value):
    if K.pretty is not None:
        try:
            return _cap_text(K.pretty(value, max_seq_length=1000))
        except Exception:
            pass
    return _cap_text(repr(value))


def _describe(v):
    """RESULT in ARCHITECTURE.md: described, not converted."""
    if v is None:
        return {"kind": "none"}
    if isinstance(v, bool):
        return {"kind": "repr", "text": _pretty(v)}
    if isinstance(v, numbers.Integral):
        return {"kind": "int", "text": str(int(v))}
    if isinstance(v, numbers.Real):
        try:
            f = float(v)
        except (OverflowError, ValueError, TypeError):
            return {"kind": "repr", "text": _pretty(v)}
        if math.isfinite(f):
            return {"kind": "float", "value": f, "text": str(v)}
        return {"kind": "float", "text": "nan" if math.isnan(f) else ("inf" if f > 0 else "-inf")}
    if isinstance(v, str):
        return {"kind": "str", "value": str.__str__(v)}
    if _is_artist(v):
        return {"kind": "artist", "text": _pretty(v)}
    return {"kind": "repr", "text": _pretty(v)}


def _mpl_type(module, name):
    m = sys.modules.get(module)
    return getattr(m, name, None) if m is not None else None


def _is_artist(v):
    artist = _mpl_type("matplotlib.artist", "Artist")
    if artist is None:
        return False
    if isinstance(v, artist):
        return True
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(isinstance(x, artist) for x in v)


def _repr_method(obj, name):
    """obj._repr_xxx_ if it is real (not a class, not an everything-object)."""
    if isinstance(obj, type):
        return None
    try:
        method = getattr(obj, name, None)
        if method is None or not callable(method):
            return None
        if getattr(obj, "_sandpool_canary_no_such_attribute_", None) is not None:
            return None
    except Exception:
        return None
    return method


def _html_of(obj):
    method = _repr_method(obj, "_repr_html_")
    html = method() if method is not None else None
    if isinstance(html, tuple) and html:    # IPython allows (data, metadata)
        html = html[0]
    return html if isinstance(html, str) else None


class _Cell:
    """Rich outputs of one execution, with the image and html budget."""

    def __init__(self):
        self.outputs = []
        self.png_bytes = 0
        self.html_chars = 0
        self.dropped = 0
        self.notes = []

    def images(self):
        return sum(1 for o in self.outputs if o["type"] == "image")

    def add_png(self, png):
        if self.images() >= MAX_IMAGES or self.png_bytes + len(png) > MAX_PNG:
            self.dropped += 1
            return
        self.png_bytes += len(png)
        self._add({"type": "image", "format": "png",
                   "data": base64.b64encode(png).decode("ascii")})

    def _add(self, item):
        self.outputs.append(item)
        if K.live is not None:
            K.live.add_display(item)

    def add_html(self, html):
        if self.html_chars + len(html) > MAX_HTML:
            self.notes.append("[sandpool: an html output was dropped: at most %d "
                              "characters of html per cell]\n" % MAX_HTML)
            return
        self.html_chars += len(html)
        self._add({"type": "html", "data": html})


def _display(*objs, **kwargs):
    """display() for cells: html, figures and PNGs become outputs, the rest text."""
    cell = K.cell
    fig_t = _mpl_type("matplotlib.figure", "Figure")
    for obj in objs:
        if cell is not None:
            if fig_t is not None and isinstance(obj, fig_t):
                _emit_figure(cell, obj)
                continue
            html = _html_of(obj)
            if html is not None:
                cell.add_html(html)
                continue
            method = _repr_method(obj, "_repr_png_")
            png = method() if method is not None else None
            if isinstance(png, bytes):
                cell.add_png(png)
                continue
        sys.stdout.write(_pretty(obj) + "\n")


# ---------------------------------------------------------------- matplotlib

def _open_figures():
    helpers = sys.modules.get("matplotlib._pylab_helpers")
    if helpers is None:
        return []
    managers = sorted(helpers.Gcf.get_all_fig_managers(), key=lambda m: m.num)
    return [m.canvas.figure for m in managers]


def _close_figure(fig):
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close(fig)


def _emit_figure(cell, fig):
    """Render fig to PNG into the cell's outputs (within budget) and close it."""
    try:
        if cell.images() >= MAX_IMAGES:
            cell.dropped += 1
            return
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        cell.add_png(buf.getvalue())
    except Exception as e:
        cell.notes.append("[sandpool: a figure could not be rendered: %s: %s]\n"
                          % (type(e).__name__, _safe_str(e)))
    finally:
        _close_figure(fig)


def _flush_figures(cell, deadline):
    for fig in _open_figures():
        if deadline is not None and time.monotonic() > deadline:
            cell.dropped += 1
            _close_figure(fig)
        else:
            _emit_figure(cell, fig)


def _show(*args, **kwargs):
    """pyplot.show(): Jupyter inline semantics (capture, then close)."""
    if K.cell is not None:
        _flush_figures(K.cell, None)


def _figure_show(self, *args, **kwargs):
    if K.cell is not None:
        _emit_figure(K.cell, self)


def _patch_mpl():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None and getattr(plt, "show", None) is not _show:
        plt.show = _show
    fig_t = _mpl_type("matplotlib.figure", "Figure")
    if fig_t is not None and getattr(fig_t, "show", None) is not _figure_show:
        fig_t.show = _figure_show


class _PyplotHook:
    """sys.meta_path finder: patch matplotlib.pyplot as soon as a cell imports
    it, so plt.show() works in the very cell that first imports pyplot."""

    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib.pyplot":
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


class _PatchingLoader:
    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        self.inner.exec_module(module)
        _patch_mpl()


def _patch_ipython():
    for name in ("IPython.display", "IPython.core.display_functions"):
        m = sys.modules.get(name)
        if m is not None and getattr(m, "display", _display) is not _display:
            m.display = _display


# ---------------------------------------------------------------- errors

def _safe_str(e):
    try:
        return str(e)
    except Exception:
        return "<str() failed>"


def _format_tb(exc):
    """Traceback text without the kernel's own leading frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == K.kernel_file:
        tb = tb.tb_next
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except Exception:
        text = "%s: %s\n" % (type(exc).__name__, _safe_str(exc))
    return _cap_text(text)


def _error(exc, stack):
    return {"code": "PythonError", "name": type(exc).__name__,
            "message": _cap_text(_safe_str(exc)), "stack": stack}


def _exit_status(exc):
    """(status, argument text) for a SystemExit, as the interpreter would."""
    code = exc.code
    if code is None:
        return 0, ""
    if isinstance(code, int):
        return code & 0xFF, repr(code)
    return 1, _cap_text(repr(code), 1000)


# ---------------------------------------------------------------- ops

def _reply(rid):
    return {"op": "result", "id": rid, "stdout": "", "stderr": "",
            "stdout_truncated": False, "stderr_truncated": False,
            "result": None, "outputs": [], "error": None,
            "interrupted": False, "exit_code": None, "exit": None,
            "duration_ms": 0.0}


def _protocol_error(rid, message):
    r = _reply(rid)
    r["error"] = {"code": "PythonError", "name": "ProtocolError",
                  "message": message, "stack": ""}
    return r


def _output_max(req):
    n = req.get("output_max", DEFAULT_OUTPUT_MAX)
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        return DEFAULT_OUTPUT_MAX
    return min(n, MAX_OUT)


def _streamed(run, req, rid, text):
    """run(req, rid, text), with a _Live in K.live while it runs when the
    request asks to stream; its last frame goes before the result."""
    if req.get("stream") is not True:
        return run(req, rid, text)
    live = K.live = _Live(rid, _output_max(req))
    try:
        return run(req, rid, text)
    finally:
        K.live = None
        live.close()


def _op_execute(req, rid):
    code = req.get("code")
    if not isinstance(code, str):
        return _protocol_error(rid, "execute needs a string 'code'")
    return _streamed(_execute, req, rid, code)


def _execute(req, rid, code):
    t0 = time.perf_counter()
    K.cell_no += 1
    filename = "<cell-%d>" % K.cell_no
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    r = _reply(rid)
    cell = K.cell = _Cell()
    tail = []               # appended to stderr after the captured text
    _patch_mpl()
    _patch_ipython()
    try:
        with _Capture(_output_max(req), K.live) as cap:
            try:
                body, expr, quiet, call = _compile(code, filename)
            except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as e:
                stack = "".join(traceback.format_exception_only(type(e), e))
                r["error"] = _error(e, stack)
                tail.append(stack)
            else:
                value, exc = _guarded(lambda: _cell_body(cell, body, expr,
                                                         quiet, call))
                if exc is None:
                    r["result"] = value
                elif isinstance(exc, SystemExit):
                    status, arg = _exit_status(exc)
                    r["exit"] = status
                    r["error"] = {"code": "KernelExit", "name": "SystemExit",
                                  "message": "the code called sys.exit(%s)" % arg,
                                  "stack": _format_tb(exc)}
                    if exc.code is not None and not isinstance(exc.code, int):
                        tail.append(_safe_str(exc.code) + "\n")   # as the interpreter does
                else:
                    r["interrupted"] = isinstance(exc, KeyboardInterrupt)
                    r["error"] = _error(exc, _format_tb(exc))
                    tail.append(r["error"]["stack"])
            # Figures left open are shown at the end (Jupyter inline), also
            # after an error; after a SIGINT only within a short time budget.
            deadline = (time.monotonic() + INTERRUPT_FIGURE_BUDGET) if r["interrupted"] else None
            _, exc = _guarded(lambda: _flush_figures(cell, deadline))
            if exc is not None:
                _guarded(lambda: [_close_figure(f) for f in _open_figures()])
                if isinstance(exc, KeyboardInterrupt):
                    r["interrupted"] = True
                if r["error"] is None:
                    r["result"] = None
                    r["error"] = _error(exc, _format_tb(exc))
                    tail.append(r["error"]["stack"])
    finally:
        K.cell = None
    if cell.dropped:
        cell.notes.append("[sandpool: %d figure(s) dropped: at most %d images and %d MiB "
                          "of PNG per cell]\n" % (cell.dropped, MAX_IMAGES, MAX_PNG >> 20))
    (r["stdout"], r["stdout_truncated"]), (stderr, r["stderr_truncated"]) = cap.result
    for extra in tail + cell.notes:
        if stderr and not stderr.endswith("\n"):
            stderr += "\n"
        stderr += extra
    r["stderr"] = stderr
    r["outputs"] = cell.outputs
    r["duration_ms"] = round((time.perf_counter() - t0) * 1000.0, 3)
    return r


def _op_shell(req, rid):
    command = req.get("command")
    if not isinstance(command, str):
        return _protocol_error(rid, "shell needs a string 'command'")
    return _streamed(_shell, req, rid, command)


def _shell(req, rid, command):
    t0 = time.perf_counter()
    r = _reply(rid)
    procs = []

    def run():
        cwd = K.home if os.path.isdir(K.home) else "/"
        p = _Popen(["/bin/bash", "-c", command], cwd=cwd, stdin=subprocess.DEVNULL,
                   start_new_session=True)
        procs.append(p)
        return p.wait()

    with _Capture(_output_max(req), K.live) as cap:
        rc, exc = _guarded(run)
        if exc is not None and procs:
            p = procs[0]
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                rc = p.wait(timeout=5)
            except Exception:
                rc = None
    if exc is not None:
        r["interrupted"] = isinstance(exc, KeyboardInterrupt)
        r["error"] = _error(exc, "")
        if r["interrupted"]:
            r["error"]["message"] = "the command was interrupted"
    if rc is not None:
        r["exit_code"] = 128 - rc if rc < 0 else rc
    (r["stdout"], r["stdout_truncated"]), (r["stderr"], r["stderr_truncated"]) = cap.result
    r["duration_ms"] = round((time.perf_counter() - t0) * 1000.0, 3)
    return r


# ---------------------------------------------------------------- framing

def _die(status):
    os._exit(status)


def _read_exact(n):
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = _os_read(K.ctl, min(n - len(buf), 1 << 20))
        except InterruptedError:
            continue
        except OSError:
            _die(1)
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def _reject_constant(name):
    raise ValueError("invalid JSON constant " + name)


def _recv():
    hdr = _read_exact(4)
    if not hdr:
        _exit_process(0)                    # the server closed the socket
    if len(hdr) < 4:
        _die(2)
    (n,) = _unpack(">I", hdr)
    if n == 0 or n > MAX_IN:
        _die(2)
    body = _read_exact(n)
    if len(body) < n:
        _die(2)
    try:
        msg = _loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        _die(2)
    if not isinstance(msg, dict):
        _die(2)
    return msg


def _encode(msg):
    # allow_nan=False: the server's parser rejects NaN; lone surrogates from
    # user strings become '?' so the frame is always valid UTF-8.
    return _dumps(msg, ensure_ascii=False, allow_nan=False,
                  separators=(",", ":")).encode("utf-8", "replace")


def _fit(msg):
    """Encode msg, degrading it until the frame fits KERNEL_MAX_OUT."""
    data = _encode(msg)
    if len(data) <= MAX_OUT or msg.get("op") != "result":
        return data
    if msg["outputs"]:
        msg["outputs"] = []
        msg["stderr"] += "\n[sandpool: rich outputs dropped: the reply exceeded 64 MiB]\n"
        data = _encode(msg)
    res = msg.get("result")
    if len(data) > MAX_OUT and isinstance(res, dict):
        for key in ("text", "value"):
            if isinstance(res.get(key), str):
                res[key] = _cap_text(res[key])
        data = _encode(msg)
    limit = max(len(msg["stdout"]), len(msg["stderr"]))
    while len(data) > MAX_OUT and limit > 0:
        limit //= 2
        for key in ("stdout", "stderr"):
            if len(msg[key]) > limit:
                msg[key] = (msg[key][:limit] + "\n[sandpool: output cut to %d characters "
                            "to fit the reply frame]\n" % limit)
                msg[key + "_truncated"] = True
        data = _encode(msg)
    if len(data) > MAX_OUT:                 # cannot happen; stay valid anyway
        err = msg.get("error") or {}
        data = _encode(_protocol_error(msg["id"], "reply too large (%s)" % err.get("name")))
    return data


def _send(msg):
    try:
        data = _fit(msg)
    except (ValueError, TypeError, RecursionError):
        data = _encode(_protocol_error(msg.get("id", ""), "reply could not be encoded"))
    view = memoryview(_pack(">I", len(data)) + data)
    with K.send_lock:
        _write_all(view)


def _write_all(view):
    while view:
        try:
            view = view[_os_write(K.ctl, view):]
        except InterruptedError:
            continue
        except OSError:
            _die(1)


def _check_ctl():
    try:
        if _ident(K.ctl) == K.ctl_id:
            return
    except OSError:
        pass
    _die(1)                                 # user code closed or replaced our socket


def _exit_process(status):
    """Exit without interpreter shutdown (which joins user threads): run
    atexit handlers and drop the namespace (flushes open files) under a
    watchdog, then os._exit."""
    watchdog = threading.Timer(1.0, os._exit, (status,))
    watchdog.daemon = True
    watchdog.start()
    try:
        import atexit
        atexit._run_exitfuncs()
        if K.ns is not None:
            K.ns.clear()
        gc.collect()
    except BaseException:
        pass
    os._exit(status)


# ---------------------------------------------------------------- startup

def _prepare():
    """The startup work that no session owns: import the preloads, hook and
    patch matplotlib and IPython, warm up the Agg/font path.  A launcher
    kernel does it itself; a zygote template does it once for every session
    forked from it (runtime/zygote.py).  Leaves no thread and no fd behind.
    Returns the "ready" frame's fields."""
    K.kernel_file = _prepare.__code__.co_filename
    sys.argv = [""]
    builtins.display = _display
    sys.meta_path.insert(0, _PyplotHook())

    preloaded, failed = [], []
    names = [n.strip() for n in os.environ.get("SANDPOOL_PRELOAD", "").split(",")]
    for name in filter(None, names):
        if not all(part.isidentifier() for part in name.split(".")):
            failed.append(name)
            continue
        try:
            if name == "matplotlib":
                import matplotlib
                matplotlib.use("Agg")
                importlib.import_module("matplotlib.pyplot")
            else:
                importlib.import_module(name)
            preloaded.append(name)
        except BaseException:
            failed.append(name)
    try:
        from IPython.lib.pretty import pretty
        K.pretty = pretty
    except BaseException:
        pass
    _patch_mpl()
    _patch_ipython()
    if "matplotlib.pyplot" in sys.modules:  # warm up the Agg/font path
        try:
            plt = sys.modules["matplotlib.pyplot"]
            fig = plt.figure(figsize=(1, 1))
            fig.gca().set_title("0")
            fig.savefig(io.BytesIO(), format="png")
            plt.close(fig)
        except Exception:
            pass
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        K.libc_fflush = libc.fflush
        K.libc_trim = libc.malloc_trim
    except BaseException:
        pass
    return {"python": "%d.%d.%d" % sys.version_info[:3],
            "preloaded": preloaded, "failed": failed}


def _new_namespace():
    """This process's pid, cwd and saved stdio fds, and a fresh module for
    user code (returned, and K.ns), with the builtins as they are now."""
    K.pid = os.getpid()
    try:
        K.home = os.getcwd()
    except OSError:
        K.home = "/"
    _ensure_std_fds()
    for fd in (1, 2):
        K.saved[fd] = (_high_fds([os.dup(fd)])[0], _ident(fd))
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = builtins
    K.ns = main.__dict__
    K.pristine = dict(builtins.__dict__)
    return main


def _open_session():
    """The state of one session's kernel: its pid and working directory, the
    saved stdio fds, a fresh __main__ as the user namespace, the builtins it
    starts from.  Runs in the process that serves the session."""
    sys.modules["__main__"] = _new_namespace()
    sys.path.insert(0, "")                  # import user modules from /mnt/data
    gc.freeze()     # startup objects leave the collector's view: later full
                    # collections are cheap and do not dirty shared pages


# Representative cells a zygote template runs once before it forks, so that
# lazy imports, caches and code paths exist in the pages every session
# shares: (cell, modules it needs from the preload set).
_WARM_CELLS = (
    ("x = [i * i for i in range(100)]\nprint(sum(x))\nx[:3]", ()),
    ("1 / 0", ()),
    ("{'a': [1, 2.5, None, 'b']}", ()),
    ("import numpy as np\na = np.arange(100.0)\nfloat(a.mean()), a.reshape(10, 10).T.sum(axis=0)[:3]",
     ("numpy",)),
    ("import pandas as pd, numpy as np\n"
     "df = pd.DataFrame({'x': np.arange(20), 'y': np.arange(20) ** 2, 'g': list('ab') * 10})\n"
     "print(df.head())\ndf.groupby('g').y.sum()\ndf.describe()", ("numpy", "pandas")),
    ("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.title('t')\nplt.show()",
     ("matplotlib",)),
)


def _prewarm(preloaded):
    """Run _WARM_CELLS through the real execute path in a scratch session,
    then forget that session: no fd, thread, figure, namespace or cell
    number of it remains."""
    _new_namespace()
    try:
        for code, needs in _WARM_CELLS:
            if all(m in preloaded for m in needs):
                _encode(_op_execute({"code": code, "output_max": 1 << 16}, "warm"))
    finally:
        for fd in (1, 2):
            try:
                os.close(K.saved[fd][0])
            except OSError:
                pass
        K.saved = {}
        K.ns = None
        K.cell = None
        K.cell_no = 0
        K.user_builtins = {}
        _swap_builtins(_pristine_where_changed())
        K.pristine = {}
        for name in [n for n in linecache.cache if n.startswith("<cell-")]:
            del linecache.cache[name]
        for fig in _open_figures():
            _close_figure(fig)
    deadline = time.monotonic() + 2.0       # the capture's pipe drainers
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.005)


def _client_priority():
    """The first request of a client.  A forked kernel waits for its pid 1
    to be the init (session_main).  And a zygote template forks at nice 10
    (background work: warm sandboxes must not slow running cells); this
    brings the kernel back to the priority a launcher kernel has.
    RLIMIT_NICE allows 0 and no lower."""
    K.client = True
    if K.wait_init is not None:
        try:
            K.wait_init()
        except OSError:
            pass                            # pid 1 is slow: go on regardless
        K.wait_init = None
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) > 0:
            os.setpriority(os.PRIO_PROCESS, 0, 0)
            # Then the limit a launcher kernel has: no way back up.
            resource.setrlimit(resource.RLIMIT_NICE, (0, 0))
    except (OSError, ValueError):
        pass


def _tidy():
    """A tidying ping (the session has been idle a while): collect the
    garbage of its cells and give the heap pages malloc holds free back to
    the system, so that an idle session keeps only what it uses."""
    gc.collect()
    if K.libc_trim is not None:
        try:
            K.libc_trim(0)
        except BaseException:
            pass


def _warm_session():
    """A warming ping (a warm sandbox waiting for its client): run a scratch
    cell through the execute path so that its pages are this process's
    already, and leave no trace of it: not in the user's namespace, the
    cell count, linecache or the builtins."""
    ns, cell_no, user = K.ns, K.cell_no, K.user_builtins
    scratch = types.ModuleType("__main__")
    scratch.__dict__["__builtins__"] = builtins
    K.ns = scratch.__dict__
    try:
        _encode(_op_execute({"code": "x = [1, 2.5, 'a']\nprint(len(x))\nx",
                             "output_max": 1 << 12}, "warm"))
    except Exception:
        pass
    finally:
        linecache.cache.pop("<cell-%d>" % (cell_no + 1), None)
        K.ns, K.cell_no, K.user_builtins = ns, cell_no, user


def template_prepare():
    """A zygote template's startup (runtime/zygote.py): _prepare(), the
    warm-up cells, then gc.freeze() so that sessions forked from it share
    the template's objects without ever writing to their GC headers.
    Returns the fields of each session's "ready" frame."""
    _setsig(_SIGINT, _SIG_IGN)
    info = _prepare()
    _setsig(_SIGINT, _SIG_IGN)              # in case a preload changed it
    _prewarm(info["preloaded"])
    gc.collect()
    gc.freeze()
    return info


def _reseed():
    """A forked session must not replay its siblings' random numbers."""
    import random
    random.seed()                           # also done by its at-fork hook
    np = sys.modules.get("numpy")
    if np is not None:
        try:
            np.random.seed()                # the legacy global RandomState
        except Exception:
            pass


def _mpl_dirs():
    """matplotlib found MPLCONFIGDIR in the template's /tmp; the session's
    /tmp is new, so make it there too, as matplotlib did for a launcher
    kernel at import."""
    d = os.environ.get("MPLCONFIGDIR")
    if d and "matplotlib" in sys.modules:
        try:
            os.makedirs(d, exist_ok=True)
        except OSError:
            pass


def session_main(info, wait_init=None):
    """The kernel of one session forked from a zygote template: fd 3 is the
    control socket, the sandbox is in force (zygote_py.c).  wait_init()
    returns once pid 1 is the init (a copy of the template until its
    exec, a millisecond or so): called before the client's first request
    runs (_client_priority), so that no code of the session ever sees
    another pid 1 than a launcher session has.  Never returns."""
    _setsig(_SIGINT, _SIG_IGN)
    try:
        K.ctl = _high_fds([3])[0]
        K.ctl_id = _ident(K.ctl)
    except BaseException:
        _die(1)
    try:
        _reseed()
        _mpl_dirs()
        _open_session()
        K.wait_init = wait_init
    except BaseException as e:
        _send({"op": "fatal", "message": "%s: %s" % (type(e).__name__, _safe_str(e))})
        _die(1)
    _send(dict(info, op="ready"))
    try:
        _serve()
    except BaseException:
        pass
    _die(1)


def _serve():
    handlers = {"execute": _op_execute, "shell": _op_shell}
    while True:
        msg = _recv()
        op = msg.get("op")
        rid = msg.get("id") if isinstance(msg.get("id"), str) else ""
        if op == "ping":
            if msg.get("warm") is True:
                _warm_session()
            elif msg.get("tidy") is True:
                _tidy()
            reply = {"op": "pong", "id": rid}
        elif op in handlers:
            if not K.client:
                _client_priority()
            try:
                reply = handlers[op](msg, rid)
            except Exception as e:          # the kernel's own failure, e.g. EMFILE
                reply = _protocol_error(rid, "sandpool kernel: %s: %s"
                                        % (type(e).__name__, _safe_str(e)))
                reply["error"]["name"] = type(e).__name__
        else:
            reply = _protocol_error(rid, "unknown op %s" % _cap_text(repr(op), 200))
        _check_ctl()
        _send(reply)
        if reply.get("exit") is not None:
            _exit_process(reply["exit"])


def main():
    """A kernel started on its own: `python3 -I kernel.py` (the launcher)."""
    _setsig(_SIGINT, _SIG_IGN)
    K.kernel_file = main.__code__.co_filename
    try:
        fd = int(os.environ.get("SANDPOOL_KERNEL_FD", "3"))
        K.ctl = _high_fds([fd])[0]
        K.ctl_id = _ident(K.ctl)
    except BaseException:
        _die(1)
    try:
        ready = dict(_prepare(), op="ready")
        _setsig(_SIGINT, _SIG_IGN)          # in case a preload changed it
        _open_session()
    except BaseException as e:
        _send({"op": "fatal", "message": "%s: %s" % (type(e).__name__, _safe_str(e))})
        _die(1)
    _send(ready)
    try:
        _serve()
    except BaseException:
        pass
    _die(1)                                 # a kernel bug: die cleanly


if __name__ == "__main__":
    main()
