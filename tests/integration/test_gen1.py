# SPDX-License-Identifier: MIT
"""Gen1 POST code/execute against the real server: shapes field by field,
result conversion, state, errors, timeouts and kernel deaths."""
import base64
import time
import uuid

from conftest import GEN1


def ident():
    return "t-" + uuid.uuid4().hex[:12]


def test_state_persists_21_then_42(server):
    s = ident()
    assert server.gen1("x = 21", s)["result"] == ""
    assert server.gen1("x * 2", s)["result"] == 42


def test_gen1_shape_field_by_field(server):
    st, h, body = server.json(
        "POST", "/code/execute?identifier=%s&api-version=%s" % (ident(), GEN1),
        {"properties": {"codeInputType": "inline",
                        "executionType": "synchronous",
                        "code": "print('hi')\n6 * 7"}})
    assert st == 200
    assert h["content-type"].startswith("application/json")
    assert body["$id"] == "1"
    p = body["properties"]
    assert p["$id"] == "2"
    assert p["status"] == "Success"
    assert p["stdout"] == "hi\n"
    assert p["stderr"] == ""
    assert p["result"] == 42 and isinstance(p["result"], int)
    assert isinstance(p["executionTimeInMilliseconds"], int)
    assert p["executionTimeInMilliseconds"] >= 0
    assert p["outputs"] == []
    assert "error" not in p


def test_results_number_string_none(server):
    s = ident()
    r = server.gen1("4.0", s)["result"]
    assert r == 4.0 and isinstance(r, float)
    assert server.gen1("'abc'", s)["result"] == "abc"
    assert server.gen1("None", s)["result"] == ""
    assert server.gen1("float('nan')", s)["result"] == "nan"
    assert server.gen1("float('-inf')", s)["result"] == "-inf"
    assert server.gen1("2**80", s)["result"] == str(2**80)
    assert server.gen1("True", s)["result"] == "True"
    long_list = server.gen1("[str(i) * 8 for i in range(20)]", s)["result"]
    assert long_list.startswith("['00000000',\n '11111111',")
    assert server.gen1("import numpy as np\nnp.int64(7)", s)["result"] == 7


def test_matplotlib_figure_is_an_image(server):
    p = server.gen1("import matplotlib.pyplot as plt\n"
                    "plt.plot([1, 2, 3], [4, 1, 9])\nplt.show()", ident())
    assert p["status"] == "Success", p
    r = p["result"]
    assert r["type"] == "image" and r["format"] == "png"
    png = base64.b64decode(r["base64_data"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(p["outputs"]) == 1
    assert p["outputs"][0]["type"] == "image"


def test_dataframe_gives_html_output(server):
    p = server.gen1("import pandas as pd\n"
                    "pd.DataFrame({'a': [1, 2], 'b': [3, 4]})", ident())
    assert p["status"] == "Success", p
    html = [o for o in p["outputs"] if o["type"] == "html"]
    assert len(html) == 1 and "<table" in html[0]["data"]
    assert "a  b" in p["result"]


def test_fd_level_output_is_captured(server):
    p = server.gen1("import os, sys\nos.system('echo from-shell')\n"
                    "os.write(1, b'raw\\n')\nprint('err', file=sys.stderr)",
                    ident())
    assert "from-shell\n" in p["stdout"]
    assert "raw\n" in p["stdout"]
    assert p["stderr"] == "err\n"


def test_exception_gives_failure_with_error(server):
    s = ident()
    p = server.gen1("def f():\n    raise ValueError('bad value')\nf()", s)
    assert p["status"] == "Failure"
    assert "ValueError: bad value" in p["stderr"]
    assert "Traceback" in p["stderr"]
    assert p["error"]["code"] == "PythonError"
    assert p["error"]["message"] == "ValueError: bad value"
    assert "raise ValueError" in p["error"]["stack"]
    assert p["result"] == ""
    # The session survives the exception.
    assert server.gen1("1 + 1", s)["result"] == 2


def test_syntax_error(server):
    p = server.gen1("def (:", ident())
    assert p["status"] == "Failure"
    assert p["error"]["code"] == "PythonError"
    assert "SyntaxError" in p["stderr"]


def test_timeout_interrupts_and_keeps_state(server):
    s = ident()
    server.gen1("kept = 'yes'", s)
    t = time.time()
    p = server.gen1("while True:\n    pass", s, timeoutInSeconds=1)
    assert time.time() - t < 10
    assert p["status"] == "Failure"
    assert p["error"]["code"] == "Timeout"
    assert "state was kept" in p["error"]["message"]
    assert "KeyboardInterrupt" in p["stderr"]
    assert server.gen1("kept", s)["result"] == "yes"


def test_timeout_kill_when_interrupt_is_ignored(server):
    s = ident()
    server.gen1("open('/mnt/data/keep.txt', 'w').write('k')\nv = 1", s)
    code = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "while True:\n    pass")
    p = server.gen1(code, s, timeoutInSeconds=1)
    assert p["status"] == "Failure"
    assert p["error"]["code"] == "Timeout"
    assert "restarted" in p["error"]["message"]
    # Fresh kernel, same files.
    q = server.gen1("import os\n(os.path.exists('/mnt/data/keep.txt'), "
                    "'v' in globals())", s)
    assert q["result"] == "(True, False)"


def test_kernel_killing_itself(server):
    for code in ("import os\nos.kill(os.getpid(), 9)",
                 "import os\nos._exit(3)"):
        s = ident()
        server.gen1("open('f.txt', 'w').write('x')\ny = 5", s)
        p = server.gen1(code, s)
        assert p["status"] == "Failure", p
        assert p["error"]["code"] == "KernelDied", p
        q = server.gen1("import os\n(os.path.exists('f.txt'), "
                        "'y' in globals())", s)
        assert q["status"] == "Success", q
        assert q["result"] == "(True, False)"


def test_sys_exit(server):
    s = ident()
    server.gen1("z = 1", s)
    p = server.gen1("print('before')\nimport sys\nsys.exit(4)", s)
    assert p["status"] == "Failure"
    assert p["error"]["code"] == "KernelDied"
    assert "sys.exit" in p["error"]["message"]
    assert "before" in p["stdout"]
    assert server.gen1("'z' in globals()", s)["result"] == "False"


def test_working_directory_is_mnt_data(server):
    assert server.gen1("import os\nos.getcwd()", ident())["result"] \
        == "/mnt/data"


def test_custom_path_prefix(server):
    s = ident()
    prefix = "/subscriptions/x/resourceGroups/rg/sessionPools/default"
    assert server.gen1("q = 3", s, prefix=prefix)["result"] == ""
    assert server.gen1("q", s, prefix="/any/thing")["result"] == 3
    st, _, body = server.json(
        "POST", "/code/execute/?identifier=%s" % s,
        {"properties": {"code": "q + 1"}})
    assert st == 200 and body["properties"]["result"] == 4


def test_fifo_order_on_one_session(server):
    import threading
    s = ident()
    server.gen1("log = []", s)
    results = {}

    def run(i):
        from conftest import Server  # noqa: F401
        st, _, body = server.json(
            "POST", "/code/execute?identifier=%s" % s,
            {"properties": {"code": "import time\ntime.sleep(0.05)\n"
                            "log.append(%d)\nlen(log)" % i}}, fresh=True)
        results[i] = body["properties"]["result"]

    threads = []
    for i in range(5):
        t = threading.Thread(target=run, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(0.02)
    for t in threads:
        t.join()
    assert sorted(results.values()) == [1, 2, 3, 4, 5]
    assert server.gen1("log", s)["result"] == "[0, 1, 2, 3, 4]"
