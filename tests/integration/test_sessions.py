# SPDX-License-Identifier: MIT
"""Session management against the real server: GET/DELETE session,
stopSession, listSessions, metadata, isolation between identifiers, the
per-session queue limit and the state directory after DELETE."""
import datetime
import json
import subprocess
import threading
import time
import uuid

from conftest import GEN2

V = "2025-10-02-preview"


def ident():
    return "ss-" + uuid.uuid4().hex[:12]


def parse_time(text):
    assert isinstance(text, str) and text.endswith("Z"), text
    return datetime.datetime.fromisoformat(text[:-1] + "+00:00")


def get_session(server, s):
    return server.json("GET", "/session?identifier=%s&api-version=%s"
                       % (s, V))


def run(server, s, code):
    b = server.gen2({"code": code}, s)
    assert b["status"] == "Succeeded", b
    return b["result"]["executionResult"]


def list_ids(server, query=""):
    st, h, b = server.json("GET", "/listSessions?api-version=%s%s"
                           % (V, query))
    assert st == 200, b
    assert set(b) == {"sessions", "nextLink"}, b
    assert b["nextLink"] is None
    return [x["identifier"] for x in b["sessions"]], b


# ---- GET session ----

def test_get_session_fields(server):
    s = ident()
    before = datetime.datetime.now(datetime.timezone.utc)
    run(server, s, "1")
    st, h, b = get_session(server, s)
    assert st == 200, b
    assert h["content-type"].startswith("application/json")
    assert set(b) >= {"identifier", "createdAt", "lastAccessedAt",
                      "expireAt", "etag"}, b
    assert b["identifier"] == s
    assert b["pool"] == "default"
    created = parse_time(b["createdAt"])
    used = parse_time(b["lastAccessedAt"])
    expire = parse_time(b["expireAt"])
    slack = datetime.timedelta(seconds=5)
    assert before - slack <= created <= used
    assert used <= datetime.datetime.now(datetime.timezone.utc) + slack
    # expireAt is lastAccessedAt + cooldown (300 s in the test config).
    assert expire - used == datetime.timedelta(seconds=300), (used, expire)
    assert isinstance(b["etag"], str) and len(b["etag"]) >= 8
    # The same session answers with the same etag and createdAt.
    st, _, b2 = get_session(server, s)
    assert st == 200
    assert b2["etag"] == b["etag"]
    assert b2["createdAt"] == b["createdAt"]
    assert parse_time(b2["lastAccessedAt"]) >= used


def test_last_accessed_moves_on_execution(server):
    s = ident()
    run(server, s, "1")
    _, _, a = get_session(server, s)
    time.sleep(1.1)
    run(server, s, "2")
    _, _, b = get_session(server, s)
    assert parse_time(b["lastAccessedAt"]) >= \
        parse_time(a["lastAccessedAt"]) + datetime.timedelta(seconds=1)
    assert b["createdAt"] == a["createdAt"]
    assert parse_time(b["expireAt"]) > parse_time(a["expireAt"])


def test_get_unknown_session_404(server):
    st, h, b = get_session(server, ident())
    assert st == 404, b
    assert b["error"]["code"] == "SessionNotFound"
    assert b["error"]["message"]
    assert h["x-ms-error-code"] == "SessionNotFound"


def test_get_does_not_create(server):
    s = ident()
    assert get_session(server, s)[0] == 404
    assert get_session(server, s)[0] == 404
    assert s not in list_ids(server)[0]


# ---- DELETE session ----

def test_delete_session_then_fresh_one(server):
    s = ident()
    run(server, s, "secret = 'v'\nopen('keep.txt', 'w').write('data')")
    _, _, before = get_session(server, s)
    st, h, body = server.request("DELETE", "/session?identifier=%s"
                                 "&api-version=%s" % (s, V))
    assert st == 204, body
    assert body == b""
    st, h, b = get_session(server, s)
    assert st == 404 and b["error"]["code"] == "SessionNotFound"
    assert s not in list_ids(server)[0]
    # The same identifier now gets a fresh session: no variable, no file.
    r = server.gen2({"code": "secret"}, s)
    assert r["status"] == "Failed"
    assert r["error"]["message"] == "NameError: name 'secret' is not defined"
    assert run(server, s, "import os\nos.path.exists('keep.txt')") == "False"
    assert run(server, s, "sorted(os.listdir('/mnt/data'))") == "[]"
    st, _, after = get_session(server, s)
    assert st == 200
    assert after["etag"] != before["etag"]


def test_delete_unknown_session_404(server):
    st, h, b = server.json("DELETE", "/session?identifier=%s&api-version=%s"
                           % (ident(), V))
    assert st == 404
    assert b["error"]["code"] == "SessionNotFound"
    assert h["x-ms-error-code"] == "SessionNotFound"


def test_delete_twice(server):
    s = ident()
    run(server, s, "1")
    assert server.request("DELETE", "/session?identifier=%s" % s)[0] == 204
    st, _, b = server.json("DELETE", "/session?identifier=%s" % s)
    assert st == 404 and b["error"]["code"] == "SessionNotFound"


def test_delete_removes_files_from_state_dir(server):
    s = ident()
    run(server, s, "open('/mnt/data/on_disk.txt', 'w').write('abc')")
    _, _, info = get_session(server, s)
    sdir = server.state / "sessions" / info["etag"]
    assert sdir.is_dir(), list((server.state / "sessions").iterdir())
    assert (sdir / "data" / "on_disk.txt").read_text() == "abc"
    assert server.request("DELETE", "/session?identifier=%s" % s)[0] == 204
    deadline = time.time() + 15
    while sdir.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert not sdir.exists(), list(sdir.rglob("*"))
    mounts = open("/proc/self/mountinfo").read()
    assert str(sdir) not in mounts


# ---- stopSession ----

def test_stop_session(server):
    s = ident()
    run(server, s, "w = 1")
    st, h, body = server.request(
        "POST", "/.management/stopSession?api-version=%s&identifier=%s"
        % (V, s))
    assert st == 200, body
    assert h["content-type"].startswith("text/plain")
    assert body.decode() == "Session %s in session pool default stopped." % s
    assert get_session(server, s)[0] == 404
    r = server.gen2({"code": "w"}, s)
    assert r["status"] == "Failed"
    assert r["error"]["message"] == "NameError: name 'w' is not defined"


def test_stop_session_with_pool_prefix(server):
    s = ident()
    run(server, s, "1")
    st, h, body = server.request(
        "POST", "/subscriptions/x/resourceGroups/rg/sessionPools/default/"
        ".management/stopSession?api-version=%s&identifier=%s" % (V, s))
    assert st == 200, body
    assert body.decode() == "Session %s in session pool default stopped." % s


# ---- listSessions ----

def test_list_sessions_and_skip(server):
    a, b = ident(), ident()
    run(server, a, "1")
    run(server, b, "1")
    ids, body = list_ids(server)
    assert a in ids and b in ids
    assert len(ids) == len(set(ids))
    for entry in body["sessions"]:
        assert set(entry) >= {"identifier", "createdAt", "lastAccessedAt",
                              "expireAt", "etag"}, entry
    mine = [e for e in body["sessions"] if e["identifier"] == a][0]
    _, _, direct = get_session(server, a)
    assert mine["etag"] == direct["etag"]
    assert mine["createdAt"] == direct["createdAt"]
    n = len(ids)
    assert list_ids(server, "&skip=0")[0] == ids
    assert list_ids(server, "&skip=1")[0] == ids[1:]
    assert list_ids(server, "&skip=%d" % (n - 1))[0] == ids[n - 1:]
    assert list_ids(server, "&skip=%d" % n)[0] == []
    assert list_ids(server, "&skip=%d" % (n + 50))[0] == []
    # Deleted sessions leave the list.
    server.request("DELETE", "/session?identifier=%s" % a)
    ids2 = list_ids(server)[0]
    assert a not in ids2 and b in ids2
    assert len(ids2) == n - 1


def test_list_sessions_lowercase_and_prefix(server):
    s = ident()
    run(server, s, "1")
    st, _, b = server.json("GET", "/sessionPools/default/listsessions")
    assert st == 200
    assert s in [x["identifier"] for x in b["sessions"]]


# ---- metadata ----

def host_python(code):
    out = subprocess.run(["/usr/bin/python3", "-I", "-c", code],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_metadata(server):
    st, h, b = server.json("GET", "/metadata?api-version=%s" % V)
    assert st == 200, b
    assert h["content-type"].startswith("application/json")
    version = host_python("import sys; print('%d.%d.%d' % "
                          "sys.version_info[:3])")
    assert b["runtimes"][0] == {"name": "python", "version": version}
    pk = {p["name"]: p["version"] for p in b["preInstalledPackages"]}
    assert len(pk) == len(b["preInstalledPackages"])
    want = json.loads(host_python(
        "import json, importlib.metadata as m\n"
        "print(json.dumps({n: m.version(n) for n in "
        "('numpy', 'pandas', 'matplotlib')}))"))
    for name, ver in want.items():
        assert pk.get(name) == ver, (name, pk.get(name), ver)
    assert isinstance(b["jupyterKernel"], dict)
    for p in b["preInstalledPackages"]:
        assert set(p) == {"name", "version"}
        assert isinstance(p["name"], str) and p["name"]
        assert isinstance(p["version"], str) and p["version"]


def test_metadata_needs_no_identifier_and_is_stable(server):
    a = server.json("GET", "/metadata")
    b = server.json("GET", "/some/prefix/metadata/")
    assert a[0] == 200 and b[0] == 200
    assert a[2] == b[2]


# ---- isolation ----

def test_two_identifiers_are_isolated(server):
    a, b = ident(), ident()
    run(server, a, "x = 'from a'\nopen('only_a.txt', 'w').write('a')")
    run(server, b, "x = 'from b'")
    assert run(server, a, "x") == "from a"
    assert run(server, b, "x") == "from b"
    assert run(server, b, "import os\nos.path.exists('only_a.txt')") \
        == "False"
    assert run(server, b, "import os\nsorted(os.listdir('/mnt/data'))") \
        == "[]"
    assert run(server, a, "import os\nsorted(os.listdir('/mnt/data'))") \
        == "['only_a.txt']"
    # Different sandboxes, different etags.
    ea = get_session(server, a)[2]["etag"]
    eb = get_session(server, b)[2]["etag"]
    assert ea != eb
    # A shell in b does not see a's file either.
    r = server.gen2({"shellCommand": "ls -A /mnt/data | wc -l"}, b)
    assert r["status"] == "0" and r["result"]["stdout"].strip() == "0"


def test_identifier_with_special_characters(server):
    # Percent-encoded special characters are one identifier after decoding.
    raw = "a b|c&d^e%f$g#h(i){j}[k];l<m>"
    enc = "".join("%%%02X" % ord(ch) if not ch.isalnum() else ch
                  for ch in raw)
    st, _, b = server.json("POST", "/executions?identifier=%s&api-version=%s"
                           % (enc, GEN2), {"code": "q = 9\nq"})
    assert st == 200 and b["identifier"] == raw, b
    st, _, g = server.json("GET", "/session?identifier=%s" % enc)
    assert st == 200 and g["identifier"] == raw
    assert server.request("DELETE", "/session?identifier=%s" % enc)[0] == 204


# ---- the per-session queue ----

def test_queue_limit_429_session_busy(server):
    s = ident()
    run(server, s, "import time\nlog = []")
    results = {}

    def go(i, code):
        st, h, b = server.json(
            "POST", "/executions?identifier=%s&api-version=%s" % (s, GEN2),
            {"code": code}, fresh=True)
        results[i] = (st, h, b)

    first = threading.Thread(target=go, args=(0, "time.sleep(6)\n"
                                              "log.append(0)\n'slept'"))
    first.start()
    time.sleep(1.0)  # the sleeper is running; the queue is empty
    waiters = []
    for i in range(1, 9):
        t = threading.Thread(target=go, args=(i, "log.append(%d)\nlen(log)"
                                              % i))
        t.start()
        waiters.append(t)
        time.sleep(0.1)
    time.sleep(0.8)  # all 8 are queued behind the sleeper
    assert first.is_alive() and all(t.is_alive() for t in waiters), results
    t0 = time.time()
    st, h, b = server.json(
        "POST", "/executions?identifier=%s&api-version=%s" % (s, GEN2),
        {"code": "'tenth'"}, fresh=True)
    assert time.time() - t0 < 2, "the 10th request waited instead of 429"
    assert st == 429, (st, b)
    assert b["error"]["code"] == "SessionBusy"
    assert b["error"]["message"]
    assert h["x-ms-error-code"] == "SessionBusy"
    assert int(h["retry-after"]) >= 1
    first.join(60)
    for t in waiters:
        t.join(60)
    assert results[0][0] == 200, results[0]
    assert results[0][2]["result"]["executionResult"] == "slept"
    for i in range(1, 9):
        st, _, b = results[i]
        assert st == 200, (i, st, b)
        assert b["status"] == "Succeeded", (i, b)
    # FIFO: the waiters ran in arrival order after the sleeper.
    assert run(server, s, "log") == "[0, 1, 2, 3, 4, 5, 6, 7, 8]"
    # And the session accepts work again.
    assert run(server, s, "'free'") == "free"


def delete_during(server, s, with_queued):
    """Start a 5 s execution on s (and, if asked, queue a second one),
    DELETE the session, and return {0: running answer, 1: queued answer}."""
    results = {}

    def go(i, code):
        results[i] = server.json(
            "POST", "/executions?identifier=%s&api-version=%s" % (s, GEN2),
            {"code": code}, fresh=True)

    threads = [threading.Thread(target=go, args=(0, "import time\n"
                                                 "time.sleep(5)"))]
    threads[0].start()
    time.sleep(0.8)
    if with_queued:
        threads.append(threading.Thread(target=go, args=(1, "'queued'")))
        threads[1].start()
        time.sleep(0.5)
    st, _, _ = server.request("DELETE", "/session?identifier=%s" % s,
                              fresh=True)
    assert st == 204
    for t in threads:
        t.join(30)
    return results


def test_delete_while_queued_gives_410(server):
    """API.md: 410 SessionGone -- deleted while the request was queued."""
    s = ident()
    run(server, s, "1")
    results = delete_during(server, s, with_queued=True)
    st, h, body = results[1]
    assert st == 410, (st, body)
    assert body["error"]["code"] == "SessionGone"
    assert body["error"]["message"]
    assert h["x-ms-error-code"] == "SessionGone"
    # The running one is answered too (not left hanging).
    assert results[0][0] == 200, results[0]
    assert results[0][2]["status"] == "Failed"


def test_delete_while_running_does_not_claim_files_kept(server):
    """DELETE destroys the sandbox and its files (API.md), so the answer
    of the execution it cut short must not say the files were kept."""
    s = ident()
    run(server, s, "open('doomed.txt', 'w').write('x')")
    results = delete_during(server, s, with_queued=False)
    st, h, body = results[0]
    assert st == 200, (st, body)
    assert body["status"] == "Failed"
    assert "deleted" in body["error"]["message"], body["error"]
    assert "were kept" not in body["error"]["message"], body["error"]
    assert "were kept" not in body["result"]["stderr"], body["result"]
    # A new session under the same identifier has no files.
    assert run(server, s, "import os\nos.listdir('/mnt/data')") == "[]"


def test_identifier_length_boundaries(server):
    for ok in ("a" * 256, "%C3%A9" * 128, "x"):
        st, _, b = server.json("POST", "/executions?identifier=%s" % ok,
                               {"code": "'ok'"})
        assert st == 200, (ok[:20], b)
        assert len(b["identifier"].encode()) == (256 if len(ok) > 1 else 1)
    for bad in ("a" * 257, "%C3%A9" * 128 + "a"):
        st, h, b = server.json("POST", "/executions?identifier=%s" % bad,
                               {"code": "'ok'"})
        assert st == 400, b
        assert b["error"]["code"] == "InvalidIdentifier"


def test_async_queue_limit_and_history(server):
    """Asynchronous runs share the queue: with one running and 8 waiting,
    the next gets 429 SessionBusy.  A rejected request was never accepted,
    so it must not take a place in the execution history (the last 16
    executions stay fetchable)."""
    s = ident()
    first = server.gen2({"code": "import time\n'first'"}, s)

    def submit(code):
        return server.json("POST", "/executions?identifier=%s&api-version=%s"
                           % (s, GEN2), {"code": code,
                                         "executionType": "Asynchronous"},
                           fresh=True)

    st, _, sleeper = submit("time.sleep(3)\n'slept'")
    assert st == 202
    time.sleep(0.8)
    accepted = []
    for i in range(8):
        st, _, b = submit("%d" % i)
        assert st == 202, (i, b)
        accepted.append(b["id"])
    for i in range(7):
        st, h, b = submit("'rejected %d'" % i)
        assert st == 429, (i, st, b)
        assert b["error"]["code"] == "SessionBusy"
        assert h["x-ms-error-code"] == "SessionBusy"
        assert "retry-after" in h
    # 1 sync + 1 sleeper + 8 queued = 10 executions: all still in the
    # history of 16, including the very first one.
    deadline = time.time() + 30
    for exec_id, want in [(sleeper["id"], "slept")] + \
            [(x, str(i)) for i, x in enumerate(accepted)]:
        while True:
            st, _, b = server.json("GET", "/executions/%s?identifier=%s"
                                   % (exec_id, s))
            assert st == 200, b
            if b["status"] != "Running" or time.time() > deadline:
                break
            time.sleep(0.1)
        assert b["status"] == "Succeeded", b
        assert b["result"]["executionResult"] == want, b
    st, _, b = server.json("GET", "/executions/%s?identifier=%s"
                           % (first["id"], s))
    assert st == 200, ("the first execution was evicted by rejected "
                       "requests", b)
    assert b == first


def test_startup_probe_stays_ready_after_startup(server):
    """API.md: /health/startup "is 200 once every pool has its warm
    sandboxes, 503 {"status":"starting"} before".  Once started, handing
    out a warm sandbox (which the pool then replaces) must not turn the
    startup probe back to 503 "starting"."""
    deadline = time.time() + 60
    while server.json("GET", "/health/startup")[0] != 200:
        assert time.time() < deadline, "never ready"
        time.sleep(0.1)
    run(server, ident(), "1")  # takes the warm sandbox
    for _ in range(5):
        st, _, b = server.json("GET", "/health/startup")
        assert st == 200 and b == {"status": "healthy"}, (st, b)
        time.sleep(0.1)
    st, _, b = server.json("GET", "/health")
    assert st == 200 and b == {"status": "healthy"}


# ---- idle housekeeping ----

RSS = ("[int(l.split()[1]) for l in open('/proc/self/status') "
       "if l.startswith('VmRSS:')][0]")


def test_idle_session_gives_its_garbage_back(server):
    """Some seconds after its last cell, an idle session is tidied: its
    garbage collected and the freed heap given back.  The garbage here is
    cycles with the collector off, which nothing else would ever free."""
    s = ident()
    before = int(run(server, s,
                     "import gc\ngc.disable()\nkeep = 42\n"
                     "for _ in range(20000):\n"
                     "    c = [bytearray(3000)]; c.append(c)\n"
                     "del c\npin = bytearray(3000)\n" + RSS))
    assert int(run(server, s, RSS)) > before - 20000   # nothing yet
    time.sleep(7)   # past TIDY_AFTER_MS (session.c)
    after = int(run(server, s, RSS))
    assert after < before - 20000, (before, after)
    assert run(server, s, "keep, gc.isenabled()") == "(42, False)"
