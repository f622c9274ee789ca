# SPDX-License-Identifier: MIT
"""MCP over Streamable HTTP at /mcp against the real server: the handshake
and version negotiation, Mcp-Session-Id rules, Origin/Host checks, Accept,
202 for notifications, batches (2025-03-26 only), every tool including
images and files, the ACA tool set, cancellation of a `while True` cell,
progress during a 15 s cell, the switch to SSE for long calls, and auth."""
import base64
import http.server
import json
import re
import socketserver
import threading
import time
import uuid

import pytest

from conftest import GEN2, Server
from mcp_helpers import (ACCEPT_BOTH, V_LATEST, VERSIONS, HttpClient,
                         init_params, text_of)

CONFIG = "files.url_allow_private = true\n"
PNG_CODE = ("import matplotlib\nmatplotlib.use('Agg')\n"
            "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\n"
            "plt.title('t')\n")


@pytest.fixture(scope="module")
def srv():
    s = Server(config=CONFIG)
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


@pytest.fixture
def mcp(srv):
    c = HttpClient(srv)
    c.initialize()
    return c


# ---- handshake and versions ----

@pytest.mark.parametrize("version", VERSIONS)
def test_initialize_echoes_supported_versions(srv, version):
    c = HttpClient(srv, version=version)
    r = c.initialize()
    assert r["protocolVersion"] == version
    assert r["serverInfo"]["name"] == "sandpool"
    assert "tools" in r["capabilities"] and "logging" in r["capabilities"]
    assert "prompts" in r["capabilities"]
    assert r["instructions"]


@pytest.mark.parametrize("asked", ["1999-01-01", "2026-07-28", "", 7])
def test_unknown_version_gets_latest(srv, asked):
    c = HttpClient(srv)
    p = init_params()
    p["protocolVersion"] = asked
    r = c.post({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": p}, session=False)
    assert r.status == 200
    assert r.response(1)["result"]["protocolVersion"] == V_LATEST


def test_session_id_is_visible_ascii_and_unique(srv):
    ids = set()
    for _ in range(3):
        c = HttpClient(srv)
        c.initialize()
        assert re.fullmatch(r"[\x21-\x7e]{16,}", c.sid), c.sid
        ids.add(c.sid)
    assert len(ids) == 3


def test_azure_style_initialize_without_params_or_accept(srv):
    """ACA's docs: no params, no Accept header, no initialized."""
    c = HttpClient(srv, accept=None)
    r = c.post({"jsonrpc": "2.0", "id": "1", "method": "initialize"},
               session=False)
    assert r.status == 200
    assert r.headers["content-type"].startswith("application/json")
    c.sid = r.headers["mcp-session-id"]
    res = c.call("execute_python", {"code": "6*7"})
    assert res["structuredContent"]["result"] == "42"


def test_notifications_get_202(mcp):
    for m in ({"jsonrpc": "2.0", "method": "notifications/initialized"},
              {"jsonrpc": "2.0", "method": "notifications/progress",
               "params": {"progressToken": 1, "progress": 1}},
              {"jsonrpc": "2.0", "method": "notifications/cancelled",
               "params": {"requestId": 999}},
              {"jsonrpc": "2.0", "id": 5, "result": {}}):
        r = mcp.post(m)
        assert r.status == 202, (m, r.status, r.body)
        assert r.body == b""


def test_ping_and_prompts_and_logging(mcp):
    assert mcp.request("ping")["result"] == {}
    ps = mcp.request("prompts/list")["result"]["prompts"]
    assert [p["name"] for p in ps] == ["code_interpreter"]
    g = mcp.request("prompts/get", {"name": "code_interpreter"})["result"]
    text = g["messages"][0]["content"]["text"]
    for needle in ("compute", "files", "twice", "ImportNotAllowed",
                   "standard library", "never make up"):
        assert needle in text, needle
    bad = mcp.request("prompts/get", {"name": "nope"})
    assert bad["error"]["code"] == -32602
    assert mcp.request("logging/setLevel",
                       {"level": "warning"})["result"] == {}
    bad = mcp.request("logging/setLevel", {"level": "loud"})
    assert bad["error"]["code"] == -32602


def test_methods_and_errors(mcp):
    assert mcp.request("nope/nope")["error"]["code"] == -32601
    r = mcp.request("tools/call", {"name": "no_such_tool", "arguments": {}})
    assert r["error"]["code"] == -32602 and "no_such_tool" in \
        r["error"]["message"]
    r = mcp.request("tools/call", {"name": "execute_python",
                                   "arguments": [1]})
    assert r["error"]["code"] == -32602
    r = mcp.request("tools/list", {"cursor": "abc"})
    assert r["error"]["code"] == -32602
    r = mcp.post({"jsonrpc": "1.0", "id": 3, "method": "ping"})
    assert r.response()["error"]["code"] == -32600
    r = mcp.post({"jsonrpc": "2.0", "id": None, "method": "ping"})
    assert r.response()["error"]["code"] == -32600


def test_server_discover_is_a_4xx_jsonrpc_error(srv):
    c = HttpClient(srv)
    r = c.post({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
                "params": {}}, session=False)
    assert 400 <= r.status < 500
    assert r.response(1)["error"]["code"] == -32601


def test_parse_errors(mcp):
    r = mcp.post(None, raw=b"{nope")
    assert r.status == 400 and r.json["error"]["code"] == -32700
    assert r.json["id"] is None
    r = mcp.post(None, raw=b"")
    assert r.status == 400 and r.json["error"]["code"] == -32700
    r = mcp.post(None, raw=b"[" * 500 + b"]" * 500)
    assert r.status == 400 and r.json["error"]["code"] == -32700
    r = mcp.post(None, raw=b'{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}')
    assert r.status == 400


# ---- session ids ----

def test_session_id_rules(srv):
    c = HttpClient(srv)
    r = c.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert r.status == 400 and r.json["error"]["code"] == -32600
    c.sid = "0" * 32
    r = c.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert r.status == 404
    c.initialize()
    assert c.request("tools/list")["result"]["tools"]
    d = c.delete()
    assert d.status == 204
    r = c.post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert r.status == 404
    assert c.delete().status == 404
    c.sid = None
    assert c.delete().status == 400
    # ping needs no session
    r = c.post({"jsonrpc": "2.0", "id": 9, "method": "ping"}, session=False)
    assert r.status == 200 and r.response(9)["result"] == {}


def test_delete_destroys_the_default_session(srv):
    c = HttpClient(srv)
    c.initialize()
    c.call("execute_python", {"code": "open('f.txt','w').write('x')"})
    ident = "mcp-" + c.sid
    st, _, _ = srv.request("GET", "/session?identifier=%s" % ident)
    assert st == 200
    assert c.delete().status == 204
    for _ in range(50):
        st, _, _ = srv.request("GET", "/session?identifier=%s" % ident)
        if st == 404:
            break
        time.sleep(0.1)
    assert st == 404


def test_protocol_version_header(mcp):
    r = mcp.post({"jsonrpc": "2.0", "id": 1, "method": "ping"},
                 headers={"MCP-Protocol-Version": "1999-01-01"})
    assert r.status == 400
    for v in VERSIONS:
        r = mcp.post({"jsonrpc": "2.0", "id": 1, "method": "ping"},
                     headers={"MCP-Protocol-Version": v})
        assert r.status == 200


# ---- Origin, Host, Accept, methods ----

@pytest.mark.parametrize("origin", ["http://evil.example.com",
                                    "https://localhost.evil.com",
                                    "null", "file://", "http://127.0.0.2"])
def test_foreign_origin_is_403(srv, origin):
    c = HttpClient(srv)
    r = c.post({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": init_params()}, session=False,
               headers={"Origin": origin})
    assert r.status == 403, (origin, r.status)
    assert r.json["error"]["code"] == -32600


@pytest.mark.parametrize("origin", ["http://localhost:3000",
                                    "http://127.0.0.1", "https://[::1]:8443",
                                    "HTTP://LOCALHOST"])
def test_local_origin_is_fine(srv, origin):
    c = HttpClient(srv)
    r = c.post({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": init_params()}, session=False,
               headers={"Origin": origin})
    assert r.status == 200, (origin, r.status, r.body)


def test_foreign_host_is_403_on_loopback(srv):
    c = HttpClient(srv)
    r = c.post({"jsonrpc": "2.0", "id": 1, "method": "ping"},
               session=False, headers={"Host": "evil.example.com"})
    assert r.status == 403


def test_get_is_405_and_accept_is_checked(srv, mcp):
    st, h, _ = srv.request("GET", "/mcp", headers={
        "Accept": "text/event-stream", "Mcp-Session-Id": mcp.sid})
    assert st == 405 and "POST" in h["allow"]
    r = mcp.post({"jsonrpc": "2.0", "id": 1, "method": "ping"},
                 headers={"Accept": "text/html"})
    assert r.status == 406


def test_sse_when_the_client_accepts_only_sse(srv):
    c = HttpClient(srv, accept="text/event-stream")
    c.initialize()
    r = c.post({"jsonrpc": "2.0", "id": 7, "method": "ping"})
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    kinds = [k for _, k, _ in r.sse]
    # 2025-11-25: the priming event (id, empty data, retry) comes first
    assert kinds[0] in ("priming", "retry"), kinds
    assert "priming" in kinds[:2]
    assert r.response(7)["result"] == {}


def test_concurrent_posts_on_one_session(mcp):
    out = []

    def one(i):
        r = mcp.post({"jsonrpc": "2.0", "id": 100 + i,
                      "method": "tools/list"})
        out.append((r.status, len(r.response()["result"]["tools"])))
    ts = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(out) == 4 and all(s == 200 and n >= 8 for s, n in out)


# ---- batches ----

def test_batch_only_for_2025_03_26(srv):
    old = HttpClient(srv, version="2025-03-26")
    old.initialize()
    r = old.post([{"jsonrpc": "2.0", "id": 1, "method": "ping"},
                  {"jsonrpc": "2.0", "method": "notifications/initialized"},
                  {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                   "params": {"name": "execute_python",
                              "arguments": {"code": "2+3"}}}])
    assert r.status == 200
    v = r.json
    assert isinstance(v, list) and sorted(m["id"] for m in v) == [1, 2]
    by = {m["id"]: m for m in v}
    assert by[2]["result"]["structuredContent"]["result"] == "5"
    r = old.post([{"jsonrpc": "2.0", "method": "notifications/initialized"}])
    assert r.status == 202
    r = old.post([])
    assert r.response()["error"]["code"] == -32600
    r = old.post([{"jsonrpc": "2.0", "id": i, "method": "ping"}
                  for i in range(33)])
    assert r.response()["error"]["code"] == -32600
    r = old.post([{"jsonrpc": "2.0", "id": 1, "method": "initialize",
                   "params": init_params("2025-03-26")}])
    assert r.response(1)["error"]["code"] == -32600
    new = HttpClient(srv)
    new.initialize()
    r = new.post([{"jsonrpc": "2.0", "id": 1, "method": "ping"}])
    assert r.response()["error"]["code"] == -32600
    assert "2025-03-26" in r.response()["error"]["message"]


# ---- tools/list ----

def test_tools_list_shapes(mcp):
    tools = mcp.request("tools/list")["result"]["tools"]
    names = [t["name"] for t in tools]
    for n in ("execute_python", "run_shell", "list_files", "read_file",
              "upload_file", "launchShell", "launchPythonEnvironment",
              "runPythonCodeInRemoteEnvironment",
              "runShellCommandInRemoteEnvironment"):
        assert n in names
    for t in tools:
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", t["name"])
        assert len(t["description"]) > 40
        assert t["inputSchema"]["type"] == "object"
        assert t["inputSchema"].get("additionalProperties") is False
        assert t["outputSchema"]["type"] == "object"
        assert "required" not in t["outputSchema"], t["name"]
        a = t["annotations"]
        assert set(a) >= {"readOnlyHint", "destructiveHint",
                          "idempotentHint", "openWorldHint"}
    ex = tools[names.index("execute_python")]
    assert ex["inputSchema"]["required"] == ["code"]
    assert ex["annotations"]["readOnlyHint"] is False
    assert ex["annotations"]["idempotentHint"] is False
    rf = tools[names.index("read_file")]
    assert rf["annotations"]["readOnlyHint"] is True


# ---- execute_python ----

def test_execute_state_persists_per_mcp_session(srv, mcp):
    r = mcp.call("execute_python", {"code": "x = 21\nprint('hello')"})
    assert r["isError"] is False
    assert text_of(r) == "hello"
    r = mcp.call("execute_python", {"code": "x * 2"})
    assert r["structuredContent"] == {"result": "42", "stdout": "",
                                      "stderr": ""}
    assert text_of(r) == "42"
    other = HttpClient(srv)
    other.initialize()
    r = other.call("execute_python", {"code": "x"})
    assert r["isError"] is True
    assert r["structuredContent"]["error"]["code"] == "PythonError"
    assert "NameError" in r["structuredContent"]["error"]["message"]


def test_execute_image(mcp):
    r = mcp.call("execute_python", {"code": PNG_CODE})
    imgs = [c for c in r["content"] if c["type"] == "image"]
    assert len(imgs) == 1 and imgs[0]["mimeType"] == "image/png"
    assert base64.b64decode(imgs[0]["data"])[:8] == b"\x89PNG\r\n\x1a\n"
    assert r["isError"] is False


def test_execute_error_shapes(mcp):
    r = mcp.call("execute_python", {"code": "print('before')\n1/0"})
    assert r["isError"] is True
    sc = r["structuredContent"]
    assert sc["stdout"] == "before\n"
    assert sc["error"]["code"] == "PythonError"
    assert "ZeroDivisionError" in sc["error"]["message"]
    assert "Traceback" in sc["error"]["stack"]
    assert "ZeroDivisionError" in text_of(r)


def test_execute_none_and_statement_results(mcp):
    assert mcp.call("execute_python", {"code": "None"})[
        "structuredContent"]["result"] is None
    r = mcp.call("execute_python", {"code": "y = 1"})
    assert r["structuredContent"]["result"] == ""
    assert text_of(r) == "(no output)"


@pytest.mark.parametrize("args,needle", [
    ({}, '"code"'),
    ({"code": 5}, '"code"'),
    ({"code": ""}, '"code"'),
    ({"code": "1", "bogus": 1}, '"bogus"'),
    ({"code": "1", "files": "http://x"}, '"files"'),
    ({"code": "1", "files": ["ftp://x"]}, '"files"'),
    ({"code": "1", "files": ["x"] * 17}, '"files"'),
    ({"code": "1", "session_id": ""}, '"session_id"'),
    ({"code": "1", "session_id": "a\nb"}, '"session_id"'),
])
def test_bad_arguments_are_tool_errors_naming_them(mcp, args, needle):
    r = mcp.call("execute_python", args)
    assert r["isError"] is True
    assert needle in text_of(r), text_of(r)


def test_session_id_shares_state_with_rest(srv, mcp):
    ident = "shared-" + uuid.uuid4().hex[:8]
    srv.gen2({"code": "shared_value = 'from rest'"}, ident)
    r = mcp.call("execute_python", {"code": "shared_value",
                                    "session_id": ident})
    assert r["structuredContent"]["result"] == "from rest"
    mcp.call("execute_python", {"code": "back = 7", "session_id": ident})
    out = srv.gen2({"code": "back * 6"}, ident)
    assert out["result"]["executionResult"] == "42"


# ---- files ----

@pytest.fixture(scope="module")
def web():
    """A tiny HTTP server on loopback (the config allows private URLs)."""
    files = {"/data.csv": b"a,b\n1,2\n3,4\n"}

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=s.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d" % s.server_address[1]
    s.shutdown()
    s.server_close()


def test_execute_with_files(mcp, web):
    data_url = "data:text/plain;base64," + base64.b64encode(
        b"hello file").decode()
    r = mcp.call("execute_python", {
        "code": "import csv\nrows = list(csv.DictReader(open('data.csv')))\n"
                "sum(int(r['b']) for r in rows)",
        "files": [web + "/data.csv"]})
    assert r["isError"] is False, r
    assert r["structuredContent"]["result"] == "6"
    r = mcp.call("execute_python", {"code": "import os\nsorted(os.listdir())",
                                    "files": [data_url]})
    assert r["isError"] is False, r


def test_execute_with_a_missing_file_does_not_run(mcp, web):
    r = mcp.call("execute_python", {"code": "ran = True",
                                    "files": [web + "/missing.csv"]})
    assert r["isError"] is True
    assert '"files"' in text_of(r) and "did not run" in text_of(r)
    r = mcp.call("execute_python", {"code": "'ran' in globals()"})
    assert r["structuredContent"]["result"] == "False"


def test_file_tools(mcp, web):
    r = mcp.call("upload_file", {"path": "in/data.csv", "content_base64":
                                 base64.b64encode(b"x,y\n1,2\n").decode()})
    assert r["isError"] is False, r
    assert r["structuredContent"] == {"path": "in/data.csv", "size": 8}
    r = mcp.call("upload_file", {"path": "/mnt/data/web.csv",
                                 "url": web + "/data.csv"})
    assert r["isError"] is False, r
    r = mcp.call("list_files", {})
    paths = {f["path"]: f for f in r["structuredContent"]["files"]}
    assert paths["in"]["type"] == "directory"
    assert paths["in/data.csv"]["size"] == 8
    assert "web.csv" in paths
    assert "in/data.csv" in text_of(r)
    r = mcp.call("list_files", {"path": "in"})
    assert [f["path"] for f in r["structuredContent"]["files"]] == \
        ["data.csv"]
    r = mcp.call("read_file", {"path": "in/data.csv"})
    assert r["content"][0] == {"type": "text", "text": "x,y\n1,2\n"}
    assert r["structuredContent"]["mimeType"] == "text/csv"
    # code sees the uploaded file; a PNG it saves comes back as an image
    mcp.call("execute_python", {"code": PNG_CODE + "plt.savefig('p.png')\n"
                                "open('blob.bin','wb').write(bytes(range(256)))"})
    r = mcp.call("read_file", {"path": "p.png"})
    assert r["content"][0]["type"] == "image"
    assert r["content"][0]["mimeType"] == "image/png"
    r = mcp.call("read_file", {"path": "blob.bin"})
    res = r["content"][0]
    assert res["type"] == "resource"
    assert base64.b64decode(res["resource"]["blob"]) == bytes(range(256))
    assert res["resource"]["uri"] == "file:///mnt/data/blob.bin"
    # errors name the argument
    r = mcp.call("read_file", {"path": "nope.txt"})
    assert r["isError"] and '"path"' in text_of(r)
    r = mcp.call("read_file", {"path": "../etc/passwd"})
    assert r["isError"] and '"path"' in text_of(r)
    r = mcp.call("upload_file", {"path": "a.txt", "url": web + "/data.csv",
                                 "content_base64": ""})
    assert r["isError"] and "exactly one" in text_of(r)
    r = mcp.call("upload_file", {"path": "a.txt", "content_base64": "@@@"})
    assert r["isError"] and '"content_base64"' in text_of(r)


def test_list_and_read_on_a_fresh_session(srv):
    c = HttpClient(srv)
    c.initialize()
    r = c.call("list_files", {})
    assert r["isError"] is False
    assert r["structuredContent"]["files"] == []
    r = c.call("read_file", {"path": "x.txt"})
    assert r["isError"] is True


# ---- run_shell ----

def test_run_shell(mcp):
    r = mcp.call("run_shell", {"command": "echo hi; echo err >&2; exit 3"})
    assert r["isError"] is True
    assert r["structuredContent"] == {"stdout": "hi\n", "stderr": "err\n",
                                      "exitCode": 3}
    assert "exit code 3" in text_of(r)
    mcp.call("execute_python", {"code": "open('s.txt','w').write('abc')"})
    r = mcp.call("run_shell", {"command": "cat s.txt"})
    assert r["isError"] is False and r["structuredContent"]["stdout"] == "abc"
    r = mcp.call("run_shell", {})
    assert r["isError"] and '"command"' in text_of(r)


# ---- the ACA set ----

def test_aca_tools(mcp):
    r = mcp.call("launchShell", {})
    env = r["structuredContent"]["environmentId"]
    assert env
    r = mcp.call("runPythonCodeInRemoteEnvironment",
                 {"environmentId": env, "pythonCode": "v = 5\nprint(v)"})
    assert r["structuredContent"]["stdout"] == "5\n"
    r = mcp.call("runPythonCodeInRemoteEnvironment",
                 {"environmentId": env, "pythonCode": "v + 1"})
    assert r["structuredContent"]["result"] == "6"
    r = mcp.call("runShellCommandInRemoteEnvironment",
                 {"environmentId": env, "shellCommand": "echo $((2+2))"})
    assert r["structuredContent"] == {"stdout": "4\n", "stderr": "",
                                      "exitCode": 0}
    r = mcp.call("runShellCommandInRemoteEnvironment",
                 {"environmentId": env,
                  "execCommandAndArgs": ["printf", "%s|", "a b", "it's"]})
    assert r["structuredContent"]["stdout"] == "a b|it's|"
    r = mcp.call("launchPythonEnvironment", {})
    assert r["structuredContent"]["environmentId"] != env
    r = mcp.call("launchShell", {"x": 1})
    assert r["isError"] and '"x"' in text_of(r)


def test_aca_unknown_environment_is_expired(mcp):
    r = mcp.call("runPythonCodeInRemoteEnvironment",
                 {"environmentId": "env-unknown", "pythonCode": "1"})
    assert r["isError"] is True
    assert "expired" in text_of(r) and "launchShell" in text_of(r)
    r = mcp.call("runShellCommandInRemoteEnvironment",
                 {"environmentId": "env-unknown", "shellCommand": "true"})
    assert r["isError"] is True and "expired" in text_of(r)
    r = mcp.call("runShellCommandInRemoteEnvironment",
                 {"environmentId": "env-unknown"})
    assert r["isError"] is True and "exactly one" in text_of(r)


# ---- cancellation, progress, long calls ----

def test_cancel_stops_a_while_true_cell(mcp):
    mcp.call("execute_python", {"code": "kept = 'state'"})
    got = {}

    def run():
        t = time.time()
        got["reply"] = mcp.post({"jsonrpc": "2.0", "id": "loop",
                                 "method": "tools/call",
                                 "params": {"name": "execute_python",
                                            "arguments": {
                                                "code": "while True:\n"
                                                        "    pass"}}},
                                headers={"Accept": "application/json"})
        got["t"] = time.time() - t
    th = threading.Thread(target=run)
    th.start()
    time.sleep(1.5)
    r = mcp.post({"jsonrpc": "2.0", "method": "notifications/cancelled",
                  "params": {"requestId": "loop", "reason": "test"}})
    assert r.status == 202
    th.join(30)
    assert not th.is_alive(), "the cancelled call never ended"
    rep = got["reply"]
    # no response for a cancelled request (202, empty)
    assert rep.status == 202 and rep.body == b"", (rep.status, rep.body)
    assert got["t"] < 10
    r = mcp.call("execute_python", {"code": "kept"})
    assert r["structuredContent"]["result"] == "state"


def test_cancel_over_sse_ends_the_stream_without_a_response(mcp):
    got = {}

    def run():
        got["reply"] = mcp.post({"jsonrpc": "2.0", "id": 77,
                                 "method": "tools/call",
                                 "params": {"name": "execute_python",
                                            "arguments": {
                                                "code": "while True: pass"},
                                            "_meta": {"progressToken": 1}}})
    th = threading.Thread(target=run)
    th.start()
    time.sleep(1.5)
    mcp.post({"jsonrpc": "2.0", "method": "notifications/cancelled",
              "params": {"requestId": 77}})
    th.join(30)
    assert not th.is_alive()
    rep = got["reply"]
    assert rep.status == 200 and rep.sse is not None
    assert not any("result" in m or "error" in m for m in rep.messages)
    assert mcp.call("execute_python", {"code": "1+1"})[
        "structuredContent"]["result"] == "2"


def test_progress_during_a_15_s_cell(mcp):
    t0 = time.time()
    r = mcp.post({"jsonrpc": "2.0", "id": 15, "method": "tools/call",
                  "params": {"name": "execute_python",
                             "arguments": {"code": "import time\n"
                                           "time.sleep(15)\n'slept'"},
                             "_meta": {"progressToken": "p15"}}})
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [(t, d) for t, k, d in r.sse if k == "event"]
    prog = [(t, d) for t, d in events
            if d.get("method") == "notifications/progress"]
    assert len(prog) >= 2, events
    assert all(d["params"]["progressToken"] == "p15" for _, d in prog)
    values = [d["params"]["progress"] for _, d in prog]
    assert values == sorted(values) and len(set(values)) == len(values)
    times = [t0] + [t for t, _ in prog] + [events[-1][0]]
    assert max(b - a for a, b in zip(times, times[1:])) <= 10.5, times
    last = events[-1][1]
    assert last["id"] == 15
    assert last["result"]["structuredContent"]["result"] == "slept"


def test_long_call_switches_to_sse(mcp):
    r = mcp.post({"jsonrpc": "2.0", "id": 8, "method": "tools/call",
                  "params": {"name": "execute_python",
                             "arguments": {"code": "import time\n"
                                           "time.sleep(7)\n8"}}})
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert any(k == "comment" for _, k, _ in r.sse)
    assert r.response(8)["result"]["structuredContent"]["result"] == "8"
    # a JSON-only client waits for plain JSON instead
    r = mcp.post({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                  "params": {"name": "execute_python",
                             "arguments": {"code": "import time\n"
                                           "time.sleep(6)\n9"}}},
                 headers={"Accept": "application/json"})
    assert r.headers["content-type"].startswith("application/json")
    assert r.response(9)["result"]["structuredContent"]["result"] == "9"


# ---- auth ----

def test_auth(make_server):
    ka, kb = "alice-key-" + "a" * 16, "bob-key-" + "b" * 16
    s = make_server(keys=["alice:" + ka, "bob:" + kb])
    c = HttpClient(s)
    r = c.post({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": init_params()}, session=False)
    assert r.status == 401
    c.key = "wrong"
    r = c.post({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": init_params()}, session=False)
    assert r.status == 401
    a = HttpClient(s, key=ka)
    a.initialize()
    a.call("execute_python", {"code": "who = 'alice'"})
    # Bearer works as well
    st, h, body = s.request("POST", "/mcp", {"jsonrpc": "2.0", "id": 2,
                                             "method": "ping"},
                            headers={"Authorization": "Bearer " + kb,
                                     "Accept": ACCEPT_BOTH,
                                     "Mcp-Session-Id": a.sid}, key="")
    assert st == 404  # alice's session is not bob's
    b = HttpClient(s, key=kb)
    b.initialize()
    r = b.call("execute_python", {"code": "who", "session_id": "mcp-" + a.sid})
    assert r["isError"] is True  # a different session under bob
    assert a.call("execute_python", {"code": "who"})[
        "structuredContent"]["result"] == "alice"
    # alice's REST identifier is her MCP session_id
    st, _, out = s.json("POST", "/executions?identifier=mcp-%s&api-version=%s"
                        % (a.sid, GEN2), {"code": "who"}, key=ka)
    assert st == 200 and out["result"]["executionResult"] == "alice"
