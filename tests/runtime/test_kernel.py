# SPDX-License-Identifier: MIT
"""runtime/kernel.py against the protocol in docs/ARCHITECTURE.md.

Run with /usr/bin/python3 -m pytest tests/runtime (the Debian python has
numpy, pandas, matplotlib and IPython)."""

import base64
import os
import signal
import struct
import threading
import time

import pytest

from kernel_harness import DEFAULT_PRELOAD, MAX_OUT, Kernel, KernelEOF

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# Fixtures live here rather than in a conftest.py: tests/integration does
# `from conftest import Server`, and a second conftest.py in the same pytest
# run would shadow that module.

@pytest.fixture(scope="session")
def mplconfig(tmp_path_factory):
    return tmp_path_factory.mktemp("mpl")


@pytest.fixture
def start_kernel(tmp_path, mplconfig):
    started = []

    def start(preload="", **kw):
        d = tmp_path / ("k%d" % len(started))
        d.mkdir()
        k = Kernel(d, mplconfig, preload=preload, **kw)
        started.append(k)
        return k

    yield start
    for k in started:
        k.close()


@pytest.fixture
def kernel(start_kernel):
    """A kernel without preloads: fast to start, one per test."""
    return start_kernel()


@pytest.fixture(scope="module")
def full_kernel(tmp_path_factory, mplconfig):
    """One kernel with the default preloads, shared by a module's tests."""
    k = Kernel(tmp_path_factory.mktemp("full"), mplconfig, preload=DEFAULT_PRELOAD)
    yield k
    k.close()


def images(r):
    out = [base64.b64decode(o["data"]) for o in r["outputs"] if o["type"] == "image"]
    for png in out:
        assert png.startswith(PNG_MAGIC)
    return out


def proc_gone(pid, timeout=5):
    """True once pid is dead (gone or a zombie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- startup

def test_ready_frame_default_preloads(full_kernel):
    ready = full_kernel.ready
    assert ready == {"op": "ready", "python": "3.11.2",
                     "preloaded": DEFAULT_PRELOAD.split(","), "failed": []}
    print("time to ready with default preloads: %.0f ms"
          % ((full_kernel.t_ready - full_kernel.t_start) * 1000))


def test_ready_reports_failed_preloads(start_kernel):
    k = start_kernel(preload=" json, no_such_module_xyz ,,bad-name")
    assert k.ready["preloaded"] == ["json"]
    assert k.ready["failed"] == ["no_such_module_xyz", "bad-name"]
    assert k.value("1") == {"kind": "int", "text": "1"}


def test_ping(kernel):
    rid = "p-1"
    kernel.send({"op": "ping", "id": rid})
    assert kernel.recv() == {"op": "pong", "id": rid}


def test_control_fd_not_inherited(kernel):
    r = kernel.execute("import os\n"
                       "def link(fd):\n"
                       "    try: return os.readlink('/proc/self/fd/' + fd)\n"
                       "    except OSError: return ''\n"
                       "sorted(int(fd) for fd in os.listdir('/proc/self/fd')\n"
                       "       if link(fd).startswith('socket:'))")
    socks = eval(r["result"]["text"])
    assert len(socks) == 1 and socks[0] >= 1024      # moved off fd 3, above 1023
    r = kernel.shell("ls -l /proc/$$/fd/")
    assert r["exit_code"] == 0 and " 0 -> " in r["stdout"] and "socket:" not in r["stdout"]
    assert kernel.execute("import os\nos.system('readlink /proc/self/fd/*')")["stdout"].count(
        "socket:") == 0


# ---------------------------------------------------------------- results

def test_int_result_and_state(kernel):
    assert kernel.value("x = 21")["kind"] == "empty"
    assert kernel.value("x * 2") == {"kind": "int", "text": "42"}
    assert kernel.value("_ + 1") == {"kind": "int", "text": "43"}
    assert kernel.value("__name__") == {"kind": "str", "value": "__main__"}


def test_float_results(kernel):
    assert kernel.value("8 / 2") == {"kind": "float", "value": 4.0, "text": "4.0"}
    assert kernel.value("float('nan')") == {"kind": "float", "text": "nan"}
    assert kernel.value("-float('inf')") == {"kind": "float", "text": "-inf"}
    assert b"NaN" not in kernel.raw and b"Infinity" not in kernel.raw


def test_numpy_scalars(full_kernel):
    assert full_kernel.value("import numpy as np\nnp.int64(7)") == {"kind": "int", "text": "7"}
    assert full_kernel.value("np.float32(0.5)") == {"kind": "float", "value": 0.5, "text": "0.5"}
    assert full_kernel.value("np.float64('nan')") == {"kind": "float", "text": "nan"}


def test_str_none_empty_bool(kernel):
    assert kernel.value("'abc'") == {"kind": "str", "value": "abc"}
    assert kernel.value("None") == {"kind": "none"}
    assert kernel.value("y = 1") == {"kind": "empty"}
    assert kernel.value("# only a comment") == {"kind": "empty"}
    assert kernel.value("True") == {"kind": "repr", "text": "True"}
    assert kernel.value("1 + 1;  # silenced") == {"kind": "empty"}


def test_long_list_is_pretty_printed(full_kernel):
    r = full_kernel.value("[f'item{i:03d}' for i in range(40)]")
    assert r["kind"] == "repr"
    assert r["text"].startswith("['item000',\n 'item001',\n")
    assert r["text"].endswith(" 'item039']")


def test_repr_text_capped(kernel):
    r = kernel.value("class Big:\n    def __repr__(self): return 'x' * (3 << 20)\nBig()")
    assert r["kind"] == "repr"
    assert len(r["text"]) < (1 << 20) + 200 and "truncated" in r["text"]


def test_lone_surrogate_keeps_frame_valid(kernel):
    r = kernel.execute("print('a\\udc80b')\n'c\\ud800d'")
    assert r["result"]["kind"] == "str" and r["result"]["value"].startswith("c")
    assert "a" in r["stdout"]


def test_top_level_await(kernel):
    assert kernel.value("import asyncio\nawait asyncio.sleep(0)\n6 * 7") == \
        {"kind": "int", "text": "42"}


# ---------------------------------------------------------------- rich outputs

def test_matplotlib_show_captures_and_closes(full_kernel):
    r = full_kernel.execute("import matplotlib.pyplot as plt\n"
                            "plt.plot([1, 2, 3])\nplt.show()\n"
                            "plt.plot([3, 2, 1])\nplt.show()")
    assert r["error"] is None
    assert r["result"] == {"kind": "empty"}
    assert len(images(r)) == 2
    assert full_kernel.value("plt.get_fignums()") == {"kind": "repr", "text": "[]"}


def test_open_figure_and_artist_result(full_kernel):
    r = full_kernel.execute("import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])")
    assert r["result"]["kind"] == "artist"
    assert "Line2D" in r["result"]["text"]
    assert len(images(r)) == 1
    r = full_kernel.execute("fig, ax = plt.subplots()\nax.bar([1, 2], [3, 4])\nx = 1")
    assert r["result"] == {"kind": "empty"} and len(images(r)) == 1
    assert full_kernel.value("plt.get_fignums()")["text"] == "[]"


def test_pyplot_imported_lazily_is_patched(kernel):
    r = kernel.execute("import matplotlib.pyplot as plt\n"
                       "plt.plot([1]); plt.show()\nplt.plot([2]); plt.show()\n"
                       "len(plt.get_fignums())")
    assert r["error"] is None, r["stderr"]
    assert r["result"] == {"kind": "int", "text": "0"}
    assert len(images(r)) == 2


def test_image_budget(full_kernel):
    r = full_kernel.execute("import matplotlib.pyplot as plt\n"
                            "for i in range(34):\n"
                            "    plt.figure(figsize=(1, 1)); plt.plot([i, i + 1])\n", timeout=60)
    assert len(images(r)) == 32
    assert "2 figure(s) dropped" in r["stderr"]


def test_dataframe_html(full_kernel):
    r = full_kernel.execute("import pandas as pd\npd.DataFrame({'a': [1, 2], 'b': ['x', 'y']})")
    assert r["result"]["kind"] == "repr" and "a" in r["result"]["text"]
    html = [o["data"] for o in r["outputs"] if o["type"] == "html"]
    assert len(html) == 1 and "<table" in html[0]


def test_display(full_kernel):
    r = full_kernel.execute("import pandas as pd\n"
                            "display(pd.DataFrame({'a': [1]}), 'hello')\n"
                            "from IPython.display import display as d2, HTML\n"
                            "d2(HTML('<b>bold</b>'))")
    assert r["error"] is None, r["stderr"]
    kinds = [(o["type"], o["data"]) for o in r["outputs"]]
    assert len(kinds) == 2 and "<table" in kinds[0][1] and kinds[1] == ("html", "<b>bold</b>")
    assert r["stdout"] == "'hello'\n"


# ---------------------------------------------------------------- capture

def test_stdout_python_subprocess_and_c_level(kernel):
    r = kernel.execute("import os, ctypes\n"
                       "print('from print')\n"
                       "os.system('echo hi')\n"
                       "os.write(1, b'raw write\\n')\n"
                       "ctypes.CDLL(None).printf(b'from printf\\n')\n"
                       "None")
    assert r["error"] is None
    assert r["stdout"] == "from print\nhi\nraw write\nfrom printf\n"
    assert r["stderr"] == ""


def test_stderr_captured(kernel):
    r = kernel.execute("import sys, os\nprint('oops', file=sys.stderr)\nos.write(2, b'e2\\n')")
    assert r["stderr"] == "oops\ne2\n" and r["stdout"] == ""


def test_output_truncation(kernel):
    r = kernel.execute("print('x' * 5000)\nimport sys\nprint('ok', file=sys.stderr)",
                       output_max=1000)
    assert r["stdout_truncated"] is True and r["stderr_truncated"] is False
    assert r["stdout"] == "x" * 1000 + \
        "\n[sandpool: output truncated at 1000 bytes; 4001 bytes dropped]\n"
    assert r["stderr"] == "ok\n"


def test_megabytes_of_output(kernel):
    t = time.monotonic()
    r = kernel.execute("import sys\nfor i in range(200):\n    sys.stdout.write('y' * 50000)")
    assert r["stdout_truncated"] and "%d bytes dropped" % (10**7 - (1 << 20)) in r["stdout"]
    assert time.monotonic() - t < 10


def test_reply_frame_never_exceeds_64_mib(kernel):
    r = kernel.execute("import sys\nsys.stdout.write('\\x01' * (30 << 20))",
                       output_max=40 << 20, timeout=120)
    assert len(kernel.raw) <= MAX_OUT
    assert r["stdout_truncated"] is True
    assert r["stdout"].startswith("\x01" * 1000)
    assert kernel.value("2") == {"kind": "int", "text": "2"}


def test_background_subprocess_holding_stdout(kernel):
    t = time.monotonic()
    r = kernel.execute("import subprocess\n"
                       "p = subprocess.Popen(['sh', '-c', 'while :; do echo tick; sleep 0.01; done'])\n"
                       "print('spawned')\np.pid")
    try:
        assert time.monotonic() - t < 3
        assert "spawned\n" in r["stdout"] and "tick" in r["stdout"]
        r2 = kernel.execute("import time; time.sleep(0.2)\nprint('second')")
        assert r2["stdout"] == "second\n"
    finally:
        kill_quietly(int(r["result"]["text"]))


def test_shell_background_does_not_hang(kernel):
    t = time.monotonic()
    r = kernel.shell("sleep 20 & echo $! > bg.pid; echo started")
    try:
        assert time.monotonic() - t < 3
        assert r["stdout"] == "started\n" and r["exit_code"] == 0
    finally:
        kill_quietly(int(kernel.wait_for_file("bg.pid")))


# ---------------------------------------------------------------- errors

def test_exception_traceback(kernel):
    r = kernel.execute("def f():\n    raise ValueError('bad value')\n\nf()")
    e = r["error"]
    assert e["code"] == "PythonError" and e["name"] == "ValueError"
    assert e["message"] == "bad value"
    assert e["stack"].startswith("Traceback (most recent call last):\n")
    assert 'File "<cell-1>", line 4, in <module>' in e["stack"]
    assert "raise ValueError('bad value')" in e["stack"]
    assert "kernel.py" not in e["stack"]
    assert r["stderr"].endswith(e["stack"])
    assert r["result"] is None and r["interrupted"] is False
    assert kernel.value("1") == {"kind": "int", "text": "1"}


def test_stderr_before_traceback(kernel):
    r = kernel.execute("import sys\nsys.stderr.write('partial')\n1/0")
    assert r["stderr"].startswith("partial\nTraceback")
    assert r["error"]["name"] == "ZeroDivisionError"


def test_error_in_repr_is_a_cell_error(kernel):
    r = kernel.execute("class C:\n    def __repr__(self):\n        raise KeyError('r')\nC()")
    assert r["error"]["name"] == "KeyError" and "kernel.py" not in r["error"]["stack"]
    assert "raise KeyError('r')" in r["error"]["stack"]


def test_syntax_error(kernel):
    r = kernel.execute("x = (1,\ny = 2")
    e = r["error"]
    assert e["code"] == "PythonError" and e["name"] == "SyntaxError"
    assert "<cell-1>" in e["stack"] and "kernel.py" not in e["stack"]
    assert "SyntaxError" in r["stderr"]
    assert r["result"] is None
    assert kernel.value("3") == {"kind": "int", "text": "3"}


def test_keyboard_interrupt_keeps_state(kernel):
    kernel.execute("x = 'kept'")
    kernel.send({"op": "execute", "id": "loop", "output_max": 1000,
                 "code": "open('started', 'w').write('1')\nwhile True: pass"})
    kernel.wait_for_file("started")
    t = time.monotonic()
    kernel.interrupt()
    r = kernel.recv(timeout=5)
    assert time.monotonic() - t < 2
    assert r["id"] == "loop" and r["interrupted"] is True
    assert r["error"]["code"] == "PythonError" and r["error"]["name"] == "KeyboardInterrupt"
    assert "KeyboardInterrupt" in r["stderr"]
    assert kernel.value("x") == {"kind": "str", "value": "kept"}


def test_sigint_between_cells_is_ignored(kernel):
    for _ in range(5):
        kernel.interrupt()
        time.sleep(0.02)
    assert kernel.request("ping")["op"] == "pong"
    assert kernel.value("5") == {"kind": "int", "text": "5"}


def test_sigint_storm_never_kills_the_kernel(kernel):
    stop = threading.Event()

    def storm():
        while not stop.is_set():
            kernel.interrupt()
            time.sleep(0.0001)

    th = threading.Thread(target=storm)
    th.start()
    try:
        seen = set()
        for i in range(300):
            r = kernel.execute("x = %d\nfor _ in range(%d): pass\nx" % (i, i * 100))
            assert r["interrupted"] or r["result"] == {"kind": "int", "text": str(i)}
            seen.add(r["interrupted"])
    finally:
        stop.set()
        th.join()
    assert kernel.request("ping")["op"] == "pong"
    assert True in seen


def test_sys_exit(kernel):
    r = kernel.execute("import sys\nprint('bye')\nsys.exit(3)")
    assert r["exit"] == 3 and r["stdout"] == "bye\n"
    e = r["error"]
    assert e["code"] == "KernelExit" and e["name"] == "SystemExit"
    assert e["message"] == "the code called sys.exit(3)"
    assert kernel.wait() == 3


def test_sys_exit_with_nondaemon_thread(kernel):
    r = kernel.execute("import threading, time\n"
                       "threading.Thread(target=time.sleep, args=(60,)).start()\n"
                       "raise SystemExit")
    assert r["exit"] == 0 and r["error"]["message"] == "the code called sys.exit()"
    assert kernel.wait(timeout=5) == 0


def test_os_exit_gives_eof(kernel):
    kernel.send({"op": "execute", "id": "x", "code": "import os\nos._exit(5)"})
    with pytest.raises(KernelEOF):
        kernel.recv()
    assert kernel.wait() == 5


# ---------------------------------------------------------------- framing

def test_oversize_frame_exits_2(kernel):
    kernel.send_raw(struct.pack(">I", 9 << 20) + b"{")
    assert kernel.wait(timeout=5) == 2


def test_invalid_json_exits_2(kernel):
    kernel.send_raw(struct.pack(">I", 5) + b"{nope")
    assert kernel.wait(timeout=5) == 2


def test_zero_length_frame_exits_2(kernel):
    kernel.send_raw(struct.pack(">I", 0))
    assert kernel.wait(timeout=5) == 2


def test_non_object_json_exits_2(kernel):
    kernel.send_raw(struct.pack(">I", 2) + b"[]")
    assert kernel.wait(timeout=5) == 2


def test_eof_exits_0(kernel):
    kernel.sock.shutdown(2)
    assert kernel.wait(timeout=5) == 0


def test_unknown_op(kernel):
    r = kernel.request("frobnicate")
    assert r["error"]["code"] == "PythonError" and r["error"]["name"] == "ProtocolError"
    assert "frobnicate" in r["error"]["message"]
    assert r["stdout"] == "" and r["stderr"] == "" and r["result"] is None
    r = kernel.request("execute", code=42)
    assert r["error"]["name"] == "ProtocolError"
    assert kernel.request("ping")["op"] == "pong"


# ---------------------------------------------------------------- shell

def test_shell_exit_code_and_output(kernel):
    r = kernel.shell("echo out; echo err >&2; pwd; exit 7")
    assert r["exit_code"] == 7
    assert r["stdout"] == "out\n%s\n" % kernel.cwd and r["stderr"] == "err\n"
    assert r["result"] is None and r["error"] is None and r["interrupted"] is False
    assert kernel.shell("kill -TERM $$")["exit_code"] == 128 + signal.SIGTERM
    r = kernel.shell("yes | head -c 5000", output_max=100)
    assert r["stdout_truncated"] and r["exit_code"] == 0


def test_shell_interrupted(kernel):
    kernel.send({"op": "shell", "id": "sh", "output_max": 1000,
                 "command": "echo $$ > bash.pid; sleep 30 & echo $! > sleep.pid; wait"})
    bash_pid = int(kernel.wait_for_file("bash.pid"))
    sleep_pid = int(kernel.wait_for_file("sleep.pid"))
    try:
        kernel.interrupt()
        r = kernel.recv(timeout=5)
        assert r["interrupted"] is True and r["error"]["name"] == "KeyboardInterrupt"
        assert r["exit_code"] == 128 + signal.SIGKILL
        assert proc_gone(bash_pid) and proc_gone(sleep_pid)
    finally:
        kill_quietly(sleep_pid)
    assert kernel.value("1") == {"kind": "int", "text": "1"}


# ---------------------------------------------------------------- hostile cells

def test_closing_all_fds(start_kernel):
    # The sandbox's RLIMIT_NOFILE is typically soft 1024: the kernel keeps
    # its fds above that and must leave the soft limit as it found it.
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    k = start_kernel(nofile=(1024, hard))
    r = k.execute("import os\nos.closerange(0, 1024)")
    assert r["error"] is None
    r = k.execute("import os, resource\nprint('alive')\nos.system('echo child; cat')\n"
                  "resource.getrlimit(resource.RLIMIT_NOFILE)[0]")
    assert r["stdout"] == "alive\nchild\n" and r["stderr"] == ""   # cat got a stdin
    assert r["result"] == {"kind": "int", "text": "1024"}


def test_closing_all_fds_without_headroom_dies_cleanly(start_kernel):
    k = start_kernel(nofile=(1024, 1024))
    k.send({"op": "execute", "id": "c", "code": "import os\nos.closerange(0, 1024)"})
    with pytest.raises(KernelEOF):
        k.recv(timeout=10)
    assert k.wait() == 1


def test_replaced_stdout_and_builtins(kernel):
    r = kernel.execute("import sys, builtins\nsys.stdout = None\nsys.stderr.close()\n"
                       "builtins.isinstance = None\nbuiltins.len = None\ndel builtins.repr")
    assert r["error"] is None
    r = kernel.execute("print('still here')\n[1, 2]")
    assert r["stdout"] == "still here\n"
    assert r["result"] == {"kind": "repr", "text": "[1, 2]"}
    # The cells keep seeing their own changes.
    assert kernel.value("len") == {"kind": "none"}
    assert kernel.execute("repr")["error"]["name"] == "NameError"


def test_fork_child_does_not_reply(kernel):
    r = kernel.execute("import os\npid = os.fork()\n"
                       "if pid == 0:\n    print('child')\nelse:\n    os.waitpid(pid, 0)\n"
                       "'parent'")
    assert r["result"] == {"kind": "str", "value": "parent"}
    assert "child" in r["stdout"]
    assert kernel.request("ping", timeout=5)["op"] == "pong"


def test_threads_printing_after_cell(kernel):
    kernel.execute("import threading, time\n"
                   "def spam():\n    for _ in range(100):\n        print('t'); time.sleep(0.005)\n"
                   "threading.Thread(target=spam, daemon=True).start()")
    for _ in range(5):
        r = kernel.execute("1")
        assert r["result"] == {"kind": "int", "text": "1"}


def test_warming_ping_leaves_no_trace(kernel):
    """A warm sandbox's kernel runs a scratch cell on a warming ping
    (session.c sends one when a warm sandbox is ready): the user's
    namespace, `_`, the cell numbers and the builtins are as before."""
    kernel.execute("y = 5")
    kernel.execute("7")
    kernel.send({"op": "ping", "id": "w1", "warm": True})
    assert kernel.recv() == {"op": "pong", "id": "w1"}
    assert kernel.value("(y, _)") == {"kind": "repr", "text": "(5, 7)"}
    assert kernel.value("'x' in dir()") == {"kind": "repr", "text": "False"}
    r = kernel.execute("1/0")
    # The fifth cell the user ran, whatever the kernel ran in between.
    assert "<cell-5>" in r["error"]["stack"], r["error"]["stack"]


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int([l for l in f if l.startswith("VmRSS:")][0].split()[1])


def test_tidying_ping_gives_memory_back(kernel):
    """An idle session's housekeeping (session.c sends a tidying ping some
    seconds after the last cell): garbage collected, freed heap pages given
    back, the session's state untouched."""
    # The heap's top stays in use (pin), so free() alone cannot give the
    # junk below it back.
    kernel.execute("keep = 42\n"
                   "junk = [bytearray(3000) for _ in range(20000)]\n"
                   "pin = bytearray(3000)\n"
                   "cycle = []; cycle.append(cycle)\n"
                   "del junk, cycle")
    before = _rss_kib(kernel.proc.pid)
    kernel.send({"op": "ping", "id": "t1", "tidy": True})
    assert kernel.recv() == {"op": "pong", "id": "t1"}
    after = _rss_kib(kernel.proc.pid)
    assert after < before - 20000, (before, after)
    assert kernel.value("keep") == {"kind": "int", "text": "42"}


# ---------------------------------------------------------------- streaming

def _texts(frames, stream):
    return "".join(it["text"] for _, items in frames for it in items
                   if it["type"] == stream)


def test_stream_sends_output_while_the_cell_runs(kernel):
    frames, r = kernel.stream(
        "import time\nfor i in range(6):\n    print('line', i)\n    time.sleep(0.2)\n")
    assert r["error"] is None
    # Six prints 200 ms apart reach us as separate frames, spread in time.
    assert len(frames) >= 5, frames
    assert frames[-1][0] - frames[0][0] > 0.6
    assert _texts(frames, "stdout") == r["stdout"] == "".join(
        "line %d\n" % i for i in range(6))


def test_stream_keeps_the_order_of_stdout_and_stderr(kernel):
    frames, r = kernel.stream(
        "import sys\nfor i in range(50):\n"
        "    print('o%d' % i)\n    print('e%d' % i, file=sys.stderr)\n")
    seq = []
    for _, items in frames:
        for it in items:
            seq += [(it["type"], x) for x in it["text"].split("\n") if x]
    want = []
    for i in range(50):
        want += [("stdout", "o%d" % i), ("stderr", "e%d" % i)]
    assert seq == want
    assert r["stdout"] == "".join("o%d\n" % i for i in range(50))


def test_stream_of_a_subprocess_and_a_shell(kernel):
    frames, r = kernel.stream("import os\nos.system('echo from-sh')\nprint('after')")
    assert _texts(frames, "stdout") == r["stdout"] == "from-sh\nafter\n"
    frames, r = kernel.stream("echo one; sleep 0.3; echo two >&2", op="shell")
    assert r["exit_code"] == 0
    assert _texts(frames, "stdout") == "one\n" and _texts(frames, "stderr") == "two\n"


def test_stream_is_capped_with_the_marker(kernel):
    frames, r = kernel.stream("print('x' * 100000)\nprint('tail')", output_max=1000)
    out = _texts(frames, "stdout")
    assert out.startswith("x" * 1000)
    assert "[sandpool: output truncated at 1000 bytes]" in out
    assert len(out) < 1200
    assert r["stdout_truncated"] is True


def test_stream_frames_are_bounded_and_coalesced(kernel):
    # 20000 prints as fast as they come: far fewer frames than prints, none
    # of them over the frame size.
    frames, r = kernel.stream("for i in range(20000):\n    print(i)\n")
    assert _texts(frames, "stdout") == r["stdout"]
    assert len(frames) < 1000
    for _, items in frames:
        assert sum(len(it.get("text", "")) for it in items) <= 256 << 10


def test_stream_utf8_split_across_reads(kernel):
    frames, r = kernel.stream(
        "import os, time\nb = 'é€'.encode() * 3\n"
        "for i in range(len(b)):\n    os.write(1, b[i:i+1]); time.sleep(0.01)\n")
    assert _texts(frames, "stdout") == r["stdout"] == "é€" * 3


def test_stream_display_of_a_figure(full_kernel):
    frames, r = full_kernel.stream(
        "import matplotlib.pyplot as plt, time\nprint('before')\n"
        "plt.plot([1, 2]); plt.show()\ntime.sleep(0.3)\nprint('after')\n")
    kinds = [it["type"] for _, items in frames for it in items]
    assert "image" in kinds
    assert kinds.index("image") < len(kinds) - 1      # shown before 'after'
    img = [it for _, items in frames for it in items if it["type"] == "image"][0]
    assert base64.b64decode(img["data"]).startswith(PNG_MAGIC)
    assert img == r["outputs"][0]


def test_no_stream_no_frames(kernel):
    # Without "stream" the kernel answers with the result frame only.
    r = kernel.execute("print('hi')")
    assert r["stdout"] == "hi\n"
