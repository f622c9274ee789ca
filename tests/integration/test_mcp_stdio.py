# SPDX-License-Identifier: MIT
"""`sandpool mcp` over stdio against the real binary: the handshake, state
per process, images, cancellation, progress, batches, bad input, the rule
that nothing but JSON-RPC ever reaches stdout (checked on the raw bytes of
every line, with debug logging on), exit on EOF, and forwarding to a
remote server with --url/--api-key."""
import base64
import glob
import json
import random
import shutil
import tempfile
import time

import pytest

from mcp_helpers import StdioClient, text_of

PNG_CODE = ("import matplotlib\nmatplotlib.use('Agg')\n"
            "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\n")


def config():
    # A uid range of its own, as conftest.Server does.
    uid_base = 1000000000 + random.randrange(0, 20) * 134217728
    return "ready = 1\nmax_starting = 2\nsandbox.uid_base = %d\n" % uid_base


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="sp-mcp-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def mod_tmp():
    d = tempfile.mkdtemp(prefix="sp-mcp-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def cli(mod_tmp):
    """One embedded `sandpool mcp` for the module, debug logs on."""
    c = StdioClient(args=["--log-level", "debug"], config=config(),
                    tmpdir=mod_tmp)
    c.initialize()
    yield c
    text = c.close()
    c.check_stdout_only_jsonrpc()
    assert "stopped" in text


def test_handshake_and_tools(cli):
    rid = cli.request("tools/list")
    tools = cli.wait_for(rid)["result"]["tools"]
    assert "execute_python" in [t["name"] for t in tools]
    rid = cli.request("ping")
    assert cli.wait_for(rid)["result"] == {}


def test_version_negotiation(tmp):
    c = StdioClient(config=config(), tmpdir=tmp)
    for asked, want in (("2025-03-26", "2025-03-26"),
                        ("2025-06-18", "2025-06-18"),
                        ("2099-01-01", "2025-11-25")):
        rid = c.request("initialize", {"protocolVersion": asked,
                                       "capabilities": {},
                                       "clientInfo": {"name": "t",
                                                      "version": "1"}})
        assert c.wait_for(rid)["result"]["protocolVersion"] == want
    c.close()
    c.check_stdout_only_jsonrpc()


def test_state_persists_in_the_process(cli):
    cli.call("execute_python", {"code": "counter = 40"})
    r = cli.call("execute_python", {"code": "counter += 2\ncounter"})
    assert r["structuredContent"]["result"] == "42"
    assert text_of(r) == "42"


def test_image_and_errors(cli):
    r = cli.call("execute_python", {"code": PNG_CODE})
    imgs = [c for c in r["content"] if c["type"] == "image"]
    assert len(imgs) == 1
    assert base64.b64decode(imgs[0]["data"])[:4] == b"\x89PNG"
    r = cli.call("execute_python", {"code": "raise ValueError('boom')"})
    assert r["isError"] is True
    assert r["structuredContent"]["error"]["code"] == "PythonError"
    r = cli.call("execute_python", {"kode": "1"})
    assert r["isError"] is True and '"kode"' in text_of(r)


def test_noise_from_code_never_reaches_stdout(cli):
    """Code writing to fd 1 and 2, printing huge output and crashing its
    kernel: all of it comes back inside JSON, never as raw lines."""
    r = cli.call("execute_python", {
        "code": "import os, sys\nos.write(1, b'raw fd1\\n')\n"
                "os.write(2, b'raw fd2\\n')\nprint('x' * 100000)\n"
                "print('multi\\nline', file=sys.stderr)"})
    assert "raw fd1" in r["structuredContent"]["stdout"]
    r = cli.call("execute_python", {"code": "import os\nos._exit(3)"})
    assert r["isError"] is True
    assert r["structuredContent"]["error"]["code"] == "KernelDied"
    r = cli.call("run_shell", {"command": "printf 'a\\nb\\n'; ls /nope"})
    assert r["structuredContent"]["stdout"] == "a\nb\n"
    cli.check_stdout_only_jsonrpc()


def test_bad_input_lines(cli):
    cli.send(b"this is not json")
    t, m = cli.next()
    assert m["error"]["code"] == -32700 and m["id"] is None
    cli.send(b"")            # blank lines are skipped
    cli.send(b"   ")
    cli.send(b"[1, 2")
    t, m = cli.next()
    assert m["error"]["code"] == -32700
    cli.send(json.dumps({"jsonrpc": "2.0", "id": "s", "method": "nope"})
             .encode() + b"\r")
    m = cli.wait_for("s")
    assert m["error"]["code"] == -32601
    # batches need 2025-03-26; this process negotiated 2025-11-25
    cli.send(json.dumps([{"jsonrpc": "2.0", "id": 1,
                          "method": "ping"}]).encode())
    t, m = cli.next()
    assert m["error"]["code"] == -32600
    # an overlong line is skipped with one error; the next line works
    cli.send(b'{"x":"' + b"a" * (5 << 20) + b'"}')
    t, m = cli.next()
    assert m["error"]["code"] == -32600 and "larger" in m["error"]["message"]
    rid = cli.request("ping")
    assert cli.wait_for(rid)["result"] == {}
    cli.check_stdout_only_jsonrpc()


def test_cancel_stops_a_while_true_cell(cli):
    cli.call("execute_python", {"code": "kept = 'yes'"})
    rid = cli.request("tools/call", {"name": "execute_python",
                                     "arguments": {"code": "while True:\n"
                                                   "    pass"}})
    time.sleep(1.5)
    t0 = time.time()
    cli.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
              "params": {"requestId": rid, "reason": "test"}})
    r = cli.call("execute_python", {"code": "kept"}, timeout=30)
    assert r["structuredContent"]["result"] == "yes"
    assert time.time() - t0 < 10
    # no response was ever sent for the cancelled request
    time.sleep(0.5)
    for line in cli.raw:
        m = json.loads(line)
        assert not (m.get("id") == rid and "result" in m), m


def test_progress_during_a_15_s_cell(cli):
    t0 = time.time()
    rid = cli.request("tools/call",
                      {"name": "execute_python",
                       "arguments": {"code": "import time\ntime.sleep(15)\n"
                                     "'ok'"}},
                      meta={"progressToken": 42})
    notes = []
    m = cli.wait_for(rid, timeout=60, notes=notes)
    t_end = time.time()
    assert m["result"]["structuredContent"]["result"] == "ok"
    prog = [(t, n) for t, n in notes
            if n["method"] == "notifications/progress"]
    assert len(prog) >= 2, notes
    assert all(n["params"]["progressToken"] == 42 for _, n in prog)
    times = [t0] + [t for t, _ in prog] + [t_end]
    assert max(b - a for a, b in zip(times, times[1:])) <= 10.5


def test_batch_with_2025_03_26(tmp):
    c = StdioClient(config=config(), tmpdir=tmp)
    c.initialize("2025-03-26")
    c.send(json.dumps([
        {"jsonrpc": "2.0", "id": "a", "method": "ping"},
        {"jsonrpc": "2.0", "id": "b", "method": "tools/call",
         "params": {"name": "execute_python", "arguments": {"code": "3*3"}}},
    ]).encode())
    t, m = c.next()
    assert isinstance(m, list)
    by = {x["id"]: x for x in m}
    assert by["a"]["result"] == {}
    assert by["b"]["result"]["structuredContent"]["result"] == "9"
    c.close()
    c.check_stdout_only_jsonrpc()


def test_exit_on_eof_answers_what_was_asked(tmp):
    before = set(glob.glob("/tmp/sandpool-mcp-*"))
    c = StdioClient(config=config(), tmpdir=tmp)
    c.send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {}})
    c.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "execute_python",
                       "arguments": {"code": "import time\n"
                                     "time.sleep(1)\n'late'"}}})
    t0 = time.time()
    c.close()
    assert time.time() - t0 < 30
    msgs = [json.loads(x) for x in c.raw]
    assert [m["id"] for m in msgs] == [1, 2]
    assert msgs[1]["result"]["structuredContent"]["result"] == "late"
    c.check_stdout_only_jsonrpc()
    # the private state directory is gone
    assert set(glob.glob("/tmp/sandpool-mcp-*")) <= before


def test_forward_to_a_remote_server(make_server, tmp):
    key = "fwd-key-" + "k" * 16
    s = make_server(keys=["fwd:" + key])
    url = "http://127.0.0.1:%d" % s.port
    c = StdioClient(args=["--url", url, "--api-key", key], tmpdir=tmp)
    r = c.initialize()
    assert r["serverInfo"]["name"] == "sandpool"
    c.call("execute_python", {"code": "remote = 'kept'"})
    r = c.call("execute_python", {"code": "remote"})
    assert r["structuredContent"]["result"] == "kept"
    rid = c.request("tools/call",
                    {"name": "execute_python",
                     "arguments": {"code": "import time\ntime.sleep(6)\n1"}},
                    meta={"progressToken": "f"})
    notes = []
    m = c.wait_for(rid, notes=notes)
    assert m["result"]["structuredContent"]["result"] == "1"
    assert any(n["method"] == "notifications/progress" for _, n in notes)
    rid = c.request("nope")
    assert c.wait_for(rid)["error"]["code"] == -32601
    c.close()
    c.check_stdout_only_jsonrpc()
    # the remote MCP session was ended at EOF
    assert "DELETE mcp -> 204" in s.log_text() or "-> 204" in s.log_text()


def test_forward_with_a_wrong_key_or_no_server(make_server, tmp):
    s = make_server(keys=["fwd:" + "r" * 20])
    c = StdioClient(env={"SANDPOOL_URL": "http://127.0.0.1:%d/mcp" % s.port,
                         "SANDPOOL_API_KEY": "wrong-key-xxxxxxxxxx"},
                    tmpdir=tmp)
    rid = c.request("initialize", {"protocolVersion": "2025-11-25",
                                   "capabilities": {},
                                   "clientInfo": {"name": "t",
                                                  "version": "1"}})
    m = c.wait_for(rid)
    assert "error" in m and "401" in m["error"]["message"]
    c.close()
    c.check_stdout_only_jsonrpc()
    c = StdioClient(args=["--url", "http://127.0.0.1:1"], tmpdir=tmp)
    rid = c.request("ping")
    m = c.wait_for(rid)
    assert m["error"]["code"] == -32603 and "reach" in m["error"]["message"]
    c.close()
    c.check_stdout_only_jsonrpc()
