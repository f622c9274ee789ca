# SPDX-License-Identifier: MIT
"""Tenant isolation (issue 6): principal B cannot see, run in, download
from or delete principal A's session through any route, even with the
same identifier: B simply gets a session of its own.  Tried through
execute (Gen1 and Gen2), executions/{id}, files, session, stopSession,
listSessions and MCP; keys come from the config and from the store."""
import json

import pytest

from conftest import Server
from opshelp import (GEN2, create_key, files_api, gen2, ident, mcp_api,
                     mcp_call, mcp_session, q, tool, upload)

A_KEY = "tenant-a-key-00000000001"
B_KEY = "tenant-b-key-00000000002"


@pytest.fixture(scope="module")
def srv():
    s = Server(keys=["alice:" + A_KEY, "bob:" + B_KEY])
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


@pytest.fixture(scope="module")
def a_session(srv):
    """A's session with state, an execution and (if served) a file."""
    s = ident("shared")
    st, h, b = gen2(srv, "secret = 'A-only'\nsecret", s, key=A_KEY)
    assert st == 200 and b["result"]["executionResult"] == "A-only", b
    has_files = files_api(srv, key=A_KEY)
    if has_files:
        st, up = upload(srv, s, "a.txt", b"A's data", key=A_KEY)[0::2]
        assert st == 200, up
    return {"id": s, "files": has_files}


def a_still_intact(srv, a):
    st, _, b = gen2(srv, "secret", a["id"], key=A_KEY)
    assert st == 200 and b["result"]["executionResult"] == "A-only", b
    if a["files"]:
        st, _, data = srv.request("GET", "/files/a.txt/content?identifier"
                                  "=%s&api-version=%s" % (q(a["id"]), GEN2),
                                  key=A_KEY)
        assert st == 200 and data == b"A's data"


def test_session_routes(srv, a_session):
    s = a_session["id"]
    # B has no session under this identifier: GET, DELETE and stop 404.
    for method, path in (("GET", "/session?identifier=%s"),
                         ("DELETE", "/session?identifier=%s"),
                         ("POST", "/.management/stopSession?identifier=%s")):
        st, _, b = srv.json(method, path % q(s), key=B_KEY)
        assert st == 404 and b["error"]["code"] == "SessionNotFound", b
    a_still_intact(srv, a_session)


def test_list_sessions(srv, a_session):
    st, _, b = srv.json("GET", "/listSessions", key=B_KEY)
    assert st == 200
    assert a_session["id"] not in {x["identifier"] for x in b["sessions"]}
    st, _, b = srv.json("GET", "/listSessions", key=A_KEY)
    assert a_session["id"] in {x["identifier"] for x in b["sessions"]}


def test_execution_by_id(srv, a_session):
    s = a_session["id"]
    st, _, run = gen2(srv, "1", s, key=A_KEY)
    assert st == 200
    st, _, b = srv.json("GET", "/executions/%s?identifier=%s"
                        % (run["id"], q(s)), key=B_KEY)
    assert st == 404, b
    st, _, b = srv.json("GET", "/executions/%s?identifier=%s"
                        % (run["id"], q(s)), key=A_KEY)
    assert st == 200 and b["id"] == run["id"]


def test_execute_same_identifier_gets_own_session(srv, a_session):
    s = a_session["id"]
    # Gen2: B's code runs in B's own, fresh session.
    st, _, b = gen2(srv, "secret", s, key=B_KEY)
    assert st == 200 and b["status"] == "Failed", b
    assert "NameError" in b["result"]["stderr"]
    st, _, b = gen2(srv, "import os; sorted(os.listdir('.'))", s, key=B_KEY)
    assert st == 200 and b["result"]["executionResult"] == "[]", b
    # Gen1 likewise.
    st, _, b = srv.json("POST", "/code/execute?identifier=%s" % q(s),
                        {"properties": {"code": "secret = 'B'\nsecret"}},
                        key=B_KEY)
    assert st == 200 and b["properties"]["result"] == "B", b
    # Both sessions now exist, each seen only by its owner.
    st, _, ga = srv.json("GET", "/session?identifier=" + q(s), key=A_KEY)
    st2, _, gb = srv.json("GET", "/session?identifier=" + q(s), key=B_KEY)
    assert st == st2 == 200 and ga["etag"] != gb["etag"]
    a_still_intact(srv, a_session)


def test_files(srv, a_session):
    if not a_session["files"]:
        print("SKIP files: this build does not serve the files API")
        pytest.skip("the files API (issue 3) is not served by this build")
    s = a_session["id"]
    base = "identifier=%s&api-version=%s" % (q(s), GEN2)
    st, _, b = srv.json("GET", "/files?" + base, key=B_KEY)
    assert st == 200 and b["value"] == [], b
    for method, path in (("GET", "/files/a.txt/content?"),
                         ("GET", "/files/a.txt?"),
                         ("DELETE", "/files/a.txt?"),
                         ("GET", "/files/content/a.txt?")):
        st, _, body = srv.request(method, path + base, key=B_KEY)
        assert st == 404, (method, path, st, body)
    # A path that tries to leave B's directory for A's fails too.
    st, _, body = srv.request("GET", "/files/..%2F" + "a.txt/content?"
                              + base, key=B_KEY)
    assert st in (400, 404), body
    st, b = upload(srv, s, "a.txt", b"B's data", key=B_KEY)[0::2]
    assert st == 200
    a_still_intact(srv, a_session)


def test_delete_only_own(srv, a_session):
    s = ident("del")
    assert gen2(srv, "v = 'a'", s, key=A_KEY)[0] == 200
    assert gen2(srv, "v = 'b'", s, key=B_KEY)[0] == 200
    st, _, _ = srv.request("DELETE", "/session?identifier=" + q(s),
                           key=B_KEY)
    assert st == 204
    st, _, b = gen2(srv, "v", s, key=A_KEY)
    assert b["result"]["executionResult"] == "a", b


def test_store_keys_are_tenants_too(srv, a_session):
    c_key = create_key(srv.state, "carol")
    s = a_session["id"]
    st, _, b = srv.json("GET", "/session?identifier=" + q(s), key=c_key)
    assert st == 404
    st, _, b = gen2(srv, "secret", s, key=c_key)
    assert st == 200 and "NameError" in b["result"]["stderr"], b


def test_mcp(srv, a_session):
    if not mcp_api(srv, key=A_KEY):
        print("SKIP mcp: this build does not serve /mcp")
        pytest.skip("MCP (issue 5) is not served by this build")
    s = a_session["id"]
    a_sid = mcp_session(srv, A_KEY)
    b_sid = mcp_session(srv, B_KEY)
    # B cannot use A's MCP session.
    st, _, _ = mcp_call(srv, B_KEY, "tools/list", {}, a_sid, 5)
    assert st in (403, 404), st
    # B names A's identifier: B's own session runs it.
    r = tool(srv, B_KEY, b_sid, "execute_python",
             {"code": "print(globals().get('secret'))", "session_id": s})
    assert r.get("isError") is False, r
    assert "A-only" not in json.dumps(r), r
    if a_session["files"]:
        r = tool(srv, B_KEY, b_sid, "read_file",
                 {"path": "a.txt", "session_id": s})
        # B's own a.txt (uploaded in test_files) or none; never A's.
        assert "A's data" not in json.dumps(r), r
    # A sees its own state through MCP.
    r = tool(srv, A_KEY, a_sid, "execute_python",
             {"code": "print(secret)", "session_id": s})
    assert "A-only" in json.dumps(r), r
    a_still_intact(srv, a_session)
