# SPDX-License-Identifier: MIT
"""API keys against the real server: 401s, the accepted header forms,
unauthenticated health probes, per-principal sessions, the refusal to
listen beyond loopback without a key, and keys from the config file and
the environment."""
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import BASE_CONFIG, GEN1, GEN2, SANDPOOL, Server

ALICE = "secret-key-alice-0001"
BOB = "secret-key-bob-00000001"
KEYS = ["alice:" + ALICE, "bob:" + BOB]


def ident():
    return "au-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def authed():
    s = Server(keys=KEYS)
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


def gen1(srv, code, s, headers=None, key=""):
    """Gen1 execute with exactly the given auth headers (key="" sends
    no Authorization header of its own)."""
    return srv.json("POST", "/code/execute?identifier=%s&api-version=%s"
                    % (s, GEN1), {"properties": {"code": code}},
                    headers=headers, key=key)


def assert_401(st, h, b):
    assert st == 401, (st, b)
    assert h["content-type"].startswith("application/json")
    assert set(b) == {"error"}
    assert b["error"]["code"] == "Unauthorized"
    assert b["error"]["message"]
    assert h["x-ms-error-code"] == "Unauthorized"


def test_no_key_401(authed):
    s = ident()
    assert_401(*gen1(authed, "1", s))
    for method, path in (("GET", "/session?identifier=" + s),
                         ("GET", "/listSessions"),
                         ("GET", "/metadata"),
                         ("DELETE", "/session?identifier=" + s),
                         ("POST", "/.management/stopSession?identifier=" + s),
                         ("GET", "/executions/abc?identifier=" + s)):
        assert_401(*authed.json(method, path, key=""))
    st, _, b = authed.json("POST", "/executions?identifier=%s" % s,
                           {"code": "1"}, key="")
    assert_401(st, _, b)


def test_wrong_key_401(authed):
    s = ident()
    for hdrs in ({"Authorization": "Bearer not-the-right-key-000"},
                 {"Authorization": "Bearer " + ALICE + "x"},
                 {"Authorization": "Bearer " + ALICE[:-1]},
                 {"Authorization": "Basic " + ALICE},
                 {"Authorization": ALICE},
                 {"Authorization": "Bearer"},
                 {"Authorization": "Bearer "},
                 {"x-ms-apikey": "wrong-wrong-wrong-wrong"},
                 {"x-ms-apikey": ""}):
        assert_401(*gen1(authed, "1", s, headers=hdrs))


def test_rejected_request_creates_no_session(authed):
    s = ident()
    gen1(authed, "1", s, headers={"Authorization": "Bearer nope-nope-nope"})
    st, _, b = authed.json("GET", "/session?identifier=" + s, key=ALICE)
    assert st == 404 and b["error"]["code"] == "SessionNotFound"


def test_bearer_and_apikey_headers(authed):
    s = ident()
    st, _, b = gen1(authed, "v = 10", s,
                    headers={"Authorization": "Bearer " + ALICE})
    assert st == 200 and b["properties"]["status"] == "Success", b
    # x-ms-apikey reaches the same principal's session.
    st, _, b = gen1(authed, "v + 1", s, headers={"x-ms-apikey": ALICE})
    assert st == 200 and b["properties"]["result"] == 11, b
    # A lower-case scheme.
    st, _, b = gen1(authed, "v + 2", s,
                    headers={"Authorization": "bearer " + ALICE})
    assert st == 200 and b["properties"]["result"] == 12, b
    st, _, b = gen1(authed, "v + 3", s,
                    headers={"Authorization": "BEARER " + ALICE})
    assert st == 200 and b["properties"]["result"] == 13, b


def test_bob_key_works_on_gen2(authed):
    st, _, b = authed.json("POST", "/executions?identifier=%s&api-version=%s"
                           % (ident(), GEN2), {"code": "'bob here'"},
                           key=BOB)
    assert st == 200 and b["result"]["executionResult"] == "bob here", b


def test_health_needs_no_key(authed):
    st, h, b = authed.json("GET", "/health", key="")
    assert st == 200 and b == {"status": "healthy"}
    # /health/startup may say 503 "starting" while a warm sandbox is being
    # replaced (see test_sessions.py for that); it must reach 200 keyless.
    deadline = time.time() + 30
    while True:
        st, h, b = authed.json("GET", "/health/startup", key="")
        assert st in (200, 503), (st, b)
        if st == 200 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert st == 200 and b == {"status": "healthy"}
    # A wrong key does not break the probes either.
    st, _, b = authed.json("GET", "/health", key="definitely-wrong-key")
    assert st == 200


def test_principals_get_separate_sessions(authed):
    s = ident()
    st, _, b = gen1(authed, "x = 1\nopen('alice.txt', 'w').write('a')\nx",
                    s, key=ALICE)
    assert st == 200 and b["properties"]["result"] == 1, b
    st, _, b = gen1(authed, "x", s, key=BOB)
    assert st == 200
    p = b["properties"]
    assert p["status"] == "Failure", p
    assert p["error"]["code"] == "PythonError"
    assert p["error"]["message"] == "NameError: name 'x' is not defined"
    st, _, b = gen1(authed, "import os\nos.path.exists('alice.txt')", s,
                    key=BOB)
    assert b["properties"]["result"] == "False"
    # Alice still has hers.
    st, _, b = gen1(authed, "x + 1", s, key=ALICE)
    assert b["properties"]["result"] == 2
    # Two sessions: different etags.
    ea = authed.json("GET", "/session?identifier=" + s, key=ALICE)[2]
    eb = authed.json("GET", "/session?identifier=" + s, key=BOB)[2]
    assert ea["etag"] != eb["etag"]
    # Bob deleting "his" identifier leaves Alice's session alone.
    assert authed.request("DELETE", "/session?identifier=" + s,
                          key=BOB)[0] == 204
    st, _, b = gen1(authed, "x + 2", s, key=ALICE)
    assert b["properties"]["result"] == 3


def test_principal_cannot_read_other_session(authed):
    s = ident()
    gen1(authed, "1", s, key=ALICE)
    st, _, b = authed.json("GET", "/session?identifier=" + s, key=BOB)
    assert st == 404 and b["error"]["code"] == "SessionNotFound"
    st, _, b = authed.json("DELETE", "/session?identifier=" + s, key=BOB)
    assert st == 404
    # Alice's session survived Bob's attempt.
    assert authed.json("GET", "/session?identifier=" + s,
                       key=ALICE)[0] == 200


def test_execution_of_other_principal_not_visible(authed):
    s = ident()
    st, _, b = authed.json("POST", "/executions?identifier=%s" % s,
                           {"code": "'private'"}, key=ALICE)
    assert st == 200
    st, _, g = authed.json("GET", "/executions/%s?identifier=%s"
                           % (b["id"], s), key=BOB)
    assert st == 404 and g["error"]["code"] == "ExecutionNotFound"


def test_list_sessions_shows_only_own(authed):
    shared, a_only, b_only = ident(), ident(), ident()
    gen1(authed, "1", shared, key=ALICE)
    gen1(authed, "1", a_only, key=ALICE)
    gen1(authed, "1", shared, key=BOB)
    gen1(authed, "1", b_only, key=BOB)
    st, _, la = authed.json("GET", "/listSessions", key=ALICE)
    st2, _, lb = authed.json("GET", "/listSessions", key=BOB)
    assert st == 200 and st2 == 200
    ida = [x["identifier"] for x in la["sessions"]]
    idb = [x["identifier"] for x in lb["sessions"]]
    assert shared in ida and a_only in ida and b_only not in ida
    assert shared in idb and b_only in idb and a_only not in idb
    ea = [x["etag"] for x in la["sessions"]]
    eb = [x["etag"] for x in lb["sessions"]]
    assert not set(ea) & set(eb)


def test_auth_off_works_without_headers(server):
    st, _, b = server.json("POST", "/code/execute?identifier=%s" % ident(),
                           {"properties": {"code": "2 + 2"}}, key="")
    assert st == 200 and b["properties"]["result"] == 4
    st, _, b = server.json("GET", "/listSessions", key="")
    assert st == 200


def clean_env():
    e = {k: v for k, v in os.environ.items() if not k.startswith("SANDPOOL_")}
    return e


def test_non_loopback_without_key_is_refused():
    d = tempfile.mkdtemp(prefix="sp-auth-")
    try:
        conf = os.path.join(d, "sandpool.conf")
        with open(conf, "w") as f:
            f.write(BASE_CONFIG)
        for listen in ("0.0.0.0:0", "[::]:0"):
            t = time.time()
            p = subprocess.run([str(SANDPOOL), "serve", "--config", conf,
                                "--state-dir", os.path.join(d, "state"),
                                "--listen", listen],
                               capture_output=True, text=True, timeout=20,
                               env=clean_env())
            assert time.time() - t < 10
            assert p.returncode != 0, (listen, p.stderr)
            assert "api key" in p.stderr.lower(), p.stderr
            assert "listening on" not in p.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_non_loopback_with_key_starts(make_server):
    s = make_server(keys=["ops:secret-key-ops-0000001"], listen="0.0.0.0:0")
    st, _, b = s.json("GET", "/health", key="")
    assert st == 200
    assert "0.0.0.0" in s.log_text()
    assert "auth on" in s.log_text()
    st, h, b = s.json("GET", "/listSessions", key="")
    assert_401(st, h, b)
    st, _, b = s.json("POST", "/executions?identifier=%s" % ident(),
                      {"code": "'ok'"}, key="secret-key-ops-0000001")
    assert st == 200 and b["result"]["executionResult"] == "ok", b


def test_key_from_config_file(make_server):
    key = "secret-key-carol-00001"
    s = make_server(config="api_key = carol:%s\n" % key)
    st, h, b = s.json("GET", "/listSessions", key="")
    assert_401(st, h, b)
    st, _, b = gen1(s, "'carol'", ident(), key=key)
    assert st == 200 and b["properties"]["result"] == "carol", b
    st, _, b = gen1(s, "1", ident(), headers={"x-ms-apikey": key})
    assert st == 200
    assert_401(*gen1(s, "1", ident(), key="secret-key-carol-00002"))


def test_key_from_environment(make_server):
    key = "secret-key-dave-000001"
    s = make_server(env={"SANDPOOL_API_KEY": "dave:" + key})
    assert_401(*s.json("GET", "/listSessions", key=""))
    st, _, b = gen1(s, "'dave'", ident(), key=key)
    assert st == 200 and b["properties"]["result"] == "dave", b
    assert_401(*gen1(s, "1", ident(), key=ALICE))


def test_bare_key_is_principal_default(make_server):
    key = "bare-secret-key-00000001"
    s = make_server(keys=[key])
    s2 = ident()
    st, _, b = gen1(s, "1", s2, key=key)
    assert st == 200
    assert_401(*gen1(s, "1", s2, key=""))
