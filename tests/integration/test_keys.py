# SPDX-License-Identifier: MIT
"""API keys stored in sandpool.db (issue 6): `sandpool keys create|ls|
revoke` against a running server, revocation without a restart, salted
hashes only in the file, scopes (403), pool restrictions, config keys
still working with every scope, and JSON 401s."""
import hashlib
import json
import pathlib
import sqlite3
import tempfile

import pytest

from conftest import Server
from opshelp import cli, create_key, gen2, ident, no_sanitizer, q

ROOT_KEY = "root-key-0000000000000001"
CONFIG = "[pool.small]\nready = 0\n"


@pytest.fixture(scope="module")
def srv():
    s = Server(keys=["root:" + ROOT_KEY], config=CONFIG)
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


def assert_error(st, h, b, status, code):
    assert st == status, (st, b)
    assert h["content-type"].startswith("application/json"), h
    assert set(b) == {"error"} and b["error"]["code"] == code, b
    assert b["error"]["message"], b
    assert h["x-ms-error-code"] == code


def keys_ls(srv):
    p = cli("keys", "ls", "--json", "--state-dir", srv.state)
    no_sanitizer(p)
    assert p.returncode == 0, p.stderr
    return {k["name"]: k for k in json.loads(p.stdout)}


def test_lifecycle_and_revoke_without_restart(srv):
    key = create_key(srv.state, "alice")
    assert key.startswith("sp_") and len(key) == 80
    s = ident()
    st, _, b = gen2(srv, "1+1", s, key=key)
    assert st == 200 and b["result"]["executionResult"] == "2", b
    # The caller is principal "alice": the root key (another principal)
    # does not see the session, alice does.
    st, _, b = srv.json("GET", "/session?identifier=" + s, key=ROOT_KEY)
    assert st == 404, b
    st, _, b = srv.json("GET", "/session?identifier=" + s, key=key)
    assert st == 200, b

    ls = keys_ls(srv)
    k = ls["alice"]
    assert k["revoked"] is None and k["scopes"] == "execute,files"
    assert k["pool"] is None and k["id"] == key[3:15]
    assert key not in json.dumps(ls)

    p = cli("keys", "revoke", "alice", "--state-dir", srv.state)
    assert p.returncode == 0, p.stderr
    # Effective on the very next request, no restart.
    assert_error(*gen2(srv, "1", s, key=key), 401, "Unauthorized")
    assert_error(*srv.json("GET", "/listSessions", key=key), 401,
                 "Unauthorized")
    assert keys_ls(srv)["alice"]["revoked"] is not None
    # Revoking again finds nothing to revoke.
    p = cli("keys", "revoke", "alice", "--state-dir", srv.state)
    assert p.returncode == 1 and "no active key" in p.stderr
    # The config key keeps working.
    st, _, b = gen2(srv, "1", ident(), key=ROOT_KEY)
    assert st == 200, b


def test_only_a_salted_hash_is_stored(srv):
    key = create_key(srv.state, "hashed")
    raw = b"".join(p.read_bytes() for p in
                   pathlib.Path(srv.state).glob("sandpool.db*"))
    assert key.encode() not in raw and key[16:].encode() not in raw
    db = sqlite3.connect(str(pathlib.Path(srv.state) / "sandpool.db"))
    salt, h = db.execute("SELECT salt, hash FROM keys WHERE id = ?",
                         (key[3:15],)).fetchone()
    db.close()
    assert len(salt) == 16
    assert h == hashlib.sha256(salt + key.encode()).digest()
    mode = (pathlib.Path(srv.state) / "sandpool.db").stat().st_mode
    assert mode & 0o077 == 0, oct(mode)


def test_revoke_by_id_and_several_keys_per_name(srv):
    k1 = create_key(srv.state, "rotating")
    k2 = create_key(srv.state, "rotating")
    s = ident()
    assert gen2(srv, "x = 7", s, key=k1)[0] == 200
    # Both keys are the same principal: the session is shared.
    st, _, b = gen2(srv, "x", s, key=k2)
    assert st == 200 and b["result"]["executionResult"] == "7", b
    p = cli("keys", "revoke", k1[3:15], "--state-dir", srv.state)
    assert p.returncode == 0, p.stderr
    assert gen2(srv, "1", s, key=k1)[0] == 401
    assert gen2(srv, "1", s, key=k2)[0] == 200


def test_scopes_give_403(srv):
    files_only = create_key(srv.state, "filer", scopes="files")
    exec_only = create_key(srv.state, "runner", scopes="execute")
    s = ident()
    assert_error(*gen2(srv, "1", s, key=files_only), 403, "Forbidden")
    st, _, b = srv.json("POST", "/code/execute?identifier=" + s,
                        {"properties": {"code": "1"}}, key=files_only)
    assert_error(st, _, b, 403, "Forbidden")
    assert "execute" in b["error"]["message"]
    assert_error(*srv.json("DELETE", "/session?identifier=" + s,
                           key=files_only), 403, "Forbidden")
    # Files routes need "files", whether or not the API is built.
    for method, path in (("GET", "/files?identifier=" + s),
                         ("GET", "/files/a.txt/content?identifier=" + s),
                         ("DELETE", "/files/a.txt?identifier=" + s)):
        st, h, b = srv.json(method, path, key=exec_only)
        assert_error(st, h, b, 403, "Forbidden")
        assert "files" in b["error"]["message"]
    # /metrics needs admin.
    st, h, b = srv.json("GET", "/metrics", key=exec_only)
    assert_error(st, h, b, 403, "Forbidden")
    # Reading one's own sessions needs only a valid key.
    assert srv.json("GET", "/listSessions", key=files_only)[0] == 200
    assert gen2(srv, "1", s, key=exec_only)[0] == 200


def test_admin_scope_lists_every_principal(srv):
    a = create_key(srv.state, "tenant-a")
    b = create_key(srv.state, "tenant-b")
    admin = create_key(srv.state, "ops", scopes="execute,files,admin")
    sa, sb = ident("a"), ident("b")
    assert gen2(srv, "1", sa, key=a)[0] == 200
    assert gen2(srv, "1", sb, key=b)[0] == 200

    def ids(key):
        st, _, body = srv.json("GET", "/listSessions", key=key)
        assert st == 200, body
        return {x["identifier"] for x in body["sessions"]}
    assert sa in ids(a) and sb not in ids(a)
    assert sb in ids(b) and sa not in ids(b)
    assert {sa, sb} <= ids(admin)
    assert srv.request("GET", "/metrics", key=admin)[0] == 200
    # Config keys are tenant keys: execute and files, not admin, so that
    # "NAME:SECRET" tenants in a config file never see one another.
    assert not {sa, sb} & ids(ROOT_KEY)
    assert srv.request("GET", "/metrics", key=ROOT_KEY)[0] == 403
    st, _, b = srv.json("GET", "/files?identifier=" + sa, key=ROOT_KEY)
    assert st != 403, b


def test_pool_restriction(srv):
    small = create_key(srv.state, "smallonly", pool="small")
    s = ident()
    st, h, b = gen2(srv, "1", s, key=small)
    assert_error(st, h, b, 403, "Forbidden")
    assert "small" in b["error"]["message"]
    st, _, b = srv.json("POST", "/pools/small/executions?identifier=%s"
                        "&api-version=2025-02-02-preview" % q(s),
                        {"code": "6*7"}, key=small)
    assert st == 200 and b["result"]["executionResult"] == "42", b
    assert keys_ls(srv)["smallonly"]["pool"] == "small"


def test_401s_are_json(srv):
    s = ident()
    fake = "sp_" + "0" * 12 + "_" + "0" * 64
    for key in ("", "wrong-key-wrong-key-0000", fake, fake[:-1],
                "sp_zzzz"):
        st, h, b = gen2(srv, "1", s, key=key)
        assert_error(st, h, b, 401, "Unauthorized")
    for hdrs in ({"x-ms-apikey": fake}, {"Authorization": "Basic abc"}):
        st, h, b = srv.json("GET", "/listSessions", key="", headers=hdrs)
        assert_error(st, h, b, 401, "Unauthorized")
    # A stored key works as x-ms-apikey too.
    key = create_key(srv.state, "viaheader")
    st, _, b = srv.json("GET", "/listSessions", key="",
                        headers={"x-ms-apikey": key})
    assert st == 200, b


def test_keys_are_never_logged(srv):
    key = create_key(srv.state, "quiet")
    assert gen2(srv, "1", ident(), key=key)[0] == 200
    assert gen2(srv, "1", ident(), key=key + "x")[0] == 401
    log = srv.log_text()
    assert key not in log and key[16:] not in log
    assert ROOT_KEY not in log


def test_cli_argument_errors(srv):
    p = cli("keys", "create", "bad name", "--state-dir", srv.state)
    assert p.returncode == 2 and "NAME" in p.stderr
    p = cli("keys", "create", "x", "--scopes", "execute,root",
            "--state-dir", srv.state)
    assert p.returncode == 2 and "unknown scope" in p.stderr
    p = cli("keys", "frobnicate", "--state-dir", srv.state)
    assert p.returncode == 2
    with tempfile.TemporaryDirectory() as d:
        p = cli("keys", "ls", "--state-dir", d + "/none")
        assert p.returncode == 1 and "does not exist" in p.stderr


def test_store_keys_alone_turn_auth_on(make_server, tmp_path):
    """A server with no config keys but keys in its store requires a key
    (and may then listen beyond loopback); revoking every key does not
    turn authentication off."""
    state = tmp_path / "state"
    key = create_key(state, "solo")
    srv = make_server(args=["--state-dir", str(state)])
    assert "auth on" in srv.log_text()
    s = ident()
    assert_error(*gen2(srv, "1", s, key=""), 401, "Unauthorized")
    assert gen2(srv, "1", s, key=key)[0] == 200
    p = cli("keys", "revoke", "solo", "--state-dir", state)
    assert p.returncode == 0
    assert_error(*gen2(srv, "1", s, key=""), 401, "Unauthorized")
    assert_error(*gen2(srv, "1", s, key=key), 401, "Unauthorized")


def test_key_created_while_running_turns_auth_on(make_server):
    srv = make_server()
    s = ident()
    assert gen2(srv, "1", s, key="")[0] == 200
    key = create_key(srv.state, "late")
    assert_error(*gen2(srv, "1", s, key=""), 401, "Unauthorized")
    assert gen2(srv, "1", s, key=key)[0] == 200
