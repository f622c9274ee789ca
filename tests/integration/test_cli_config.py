# SPDX-License-Identifier: MIT
"""`sandpool serve` configuration and lifecycle against the real binary:
`-n` dumps, precedence (defaults < file < SANDPOOL_* < flags), config
errors with file:LINE:, pool sections, and a clean SIGTERM/SIGINT exit that
leaves no mounts and no session directories behind."""
import os
import pathlib
import re
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import GEN2, SANDPOOL


def clean_env(extra=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SANDPOOL_")}
    if extra:
        e.update(extra)
    return e


@pytest.fixture
def tmpdir_():
    d = pathlib.Path(tempfile.mkdtemp(prefix="sp-cli-"))
    yield d
    subprocess.run(["rm", "-rf", str(d)])


def serve(args, env=None, cwd=None, timeout=20):
    t = time.time()
    p = subprocess.run([str(SANDPOOL), "serve"] + list(args),
                       capture_output=True, text=True, timeout=timeout,
                       env=clean_env(env), cwd=cwd)
    p.elapsed = time.time() - t
    return p


def sections(dump):
    """-n output as {section: {key: value}}; "" holds the top level."""
    out, cur = {"": {}}, ""
    for line in dump.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"\[(.+)\]", line)
        if m:
            cur = m.group(1)
            assert cur not in out, cur
            out[cur] = {}
            continue
        k, v = line.split("=", 1)
        out[cur][k.strip()] = v.strip()
    return out


# ---- -n ----

def test_dash_n_defaults(tmpdir_):
    p = serve(["-n"], cwd=tmpdir_)
    assert p.returncode == 0, p.stderr
    assert 'listen = "127.0.0.1:6000"' in p.stdout.splitlines()
    s = sections(p.stdout)
    assert s[""]["listen"] == '"127.0.0.1:6000"'
    assert s[""]["state_dir"] == '"./.sandpool"'
    assert s[""]["http.max_body"] == "4M"
    assert s[""]["http.max_code"] == "1M"
    assert s[""]["http.max_json_depth"] == "64"
    assert s["pool.default"]["timeout"] == "220"
    assert s["pool.default"]["cooldown"] == "600"
    assert "# api_key: none (auth off, loopback only)" in p.stdout
    # -n neither serves nor creates the state directory.
    assert p.elapsed < 5
    assert not (tmpdir_ / ".sandpool").exists()


def test_dash_n_listen_flag(tmpdir_):
    p = serve(["-n", "--listen", "127.0.0.1:7001"], cwd=tmpdir_)
    assert p.returncode == 0, p.stderr
    assert 'listen = "127.0.0.1:7001"' in p.stdout.splitlines()
    p = serve(["-n", "-l", "[::1]:7003"], cwd=tmpdir_)
    assert p.returncode == 0, p.stderr
    assert 'listen = "[::1]:7003"' in p.stdout.splitlines()


def test_dash_n_listen_env(tmpdir_):
    p = serve(["-n"], env={"SANDPOOL_LISTEN": "127.0.0.1:7002"}, cwd=tmpdir_)
    assert p.returncode == 0, p.stderr
    assert 'listen = "127.0.0.1:7002"' in p.stdout.splitlines()


def test_precedence_file_env_flag(tmpdir_):
    conf = tmpdir_ / "p.conf"
    conf.write_text("listen = 127.0.0.1:7100\nhttp.max_body = 2M\n"
                    "timeout = 100\n")
    p = serve(["-n", "-c", str(conf)], cwd=tmpdir_)
    s = sections(p.stdout)
    assert s[""]["listen"] == '"127.0.0.1:7100"'
    assert s[""]["http.max_body"] == "2M"
    assert s["pool.default"]["timeout"] == "100"
    # The environment beats the file ...
    p = serve(["-n", "-c", str(conf)], cwd=tmpdir_,
              env={"SANDPOOL_LISTEN": "127.0.0.1:7101",
                   "SANDPOOL_HTTP_MAX_BODY": "3M"})
    s = sections(p.stdout)
    assert p.returncode == 0, p.stderr
    assert s[""]["listen"] == '"127.0.0.1:7101"'
    assert s[""]["http.max_body"] == "3M"
    # ... and a flag beats both.
    p = serve(["-n", "-c", str(conf), "--listen", "127.0.0.1:7102"],
              cwd=tmpdir_, env={"SANDPOOL_LISTEN": "127.0.0.1:7101"})
    assert p.returncode == 0, p.stderr
    assert sections(p.stdout)[""]["listen"] == '"127.0.0.1:7102"'


def test_dash_n_output_parses_back(tmpdir_):
    conf = tmpdir_ / "in.conf"
    conf.write_text("http.max_code = 2M\n[pool.big]\nmemory = 2G\n")
    p = serve(["-n", "-c", str(conf)], cwd=tmpdir_)
    assert p.returncode == 0, p.stderr
    again = tmpdir_ / "again.conf"
    again.write_text(p.stdout)
    q = serve(["-n", "-c", str(again)], cwd=tmpdir_)
    assert q.returncode == 0, q.stderr
    assert q.stdout == p.stdout


def test_dash_n_masks_keys(tmpdir_):
    conf = tmpdir_ / "k.conf"
    conf.write_text("api_key = carol:secret-key-carol-00001\n")
    p = serve(["-n", "-c", str(conf), "--api-key",
               "erin:secret-key-erin-000001"], cwd=tmpdir_)
    assert p.returncode == 0, p.stderr
    assert "secret-key-carol" not in p.stdout
    assert "secret-key-erin" not in p.stdout
    assert "# api_key = carol:****" in p.stdout
    assert "# api_key = erin:****" in p.stdout


# ---- config errors ----

def test_unknown_key_names_file_and_line(tmpdir_):
    conf = tmpdir_ / "bad.conf"
    conf.write_text("# comment\nready = 1\nbogus_key = 3\n")
    for args in (["-n", "-c", str(conf)],
                 ["-c", str(conf), "--state-dir", str(tmpdir_ / "st")]):
        p = serve(args, cwd=tmpdir_)
        assert p.returncode != 0
        assert p.elapsed < 10
        assert "%s:3:" % conf in p.stderr, p.stderr
        assert "bogus_key" in p.stderr
        assert p.stdout == ""
    assert not (tmpdir_ / "st").exists()


def test_out_of_range_value(tmpdir_):
    conf = tmpdir_ / "range.conf"
    conf.write_text("ready = 1\n\ncooldown = 3601\n")
    p = serve(["-n", "-c", str(conf)], cwd=tmpdir_)
    assert p.returncode != 0
    assert "%s:3:" % conf in p.stderr, p.stderr
    assert "cooldown" in p.stderr
    assert "1..3600" in p.stderr  # the accepted range


def test_bad_value_in_pool_section(tmpdir_):
    conf = tmpdir_ / "pool.conf"
    conf.write_text("[pool.x]\nready = 0\nmemory = lots\n")
    p = serve(["-n", "-c", str(conf)], cwd=tmpdir_)
    assert p.returncode != 0
    assert "%s:3:" % conf in p.stderr, p.stderr
    assert "memory" in p.stderr


def test_duplicate_key(tmpdir_):
    conf = tmpdir_ / "dup.conf"
    conf.write_text("timeout = 10\ntimeout = 20\n")
    p = serve(["-n", "-c", str(conf)], cwd=tmpdir_)
    assert p.returncode != 0
    assert "%s:2:" % conf in p.stderr and "timeout" in p.stderr, p.stderr


def test_unknown_env_variable(tmpdir_):
    p = serve(["-n"], env={"SANDPOOL_NO_SUCH_KEY": "1"}, cwd=tmpdir_)
    assert p.returncode != 0
    assert "SANDPOOL_NO_SUCH_KEY" in p.stderr


def test_bad_env_value(tmpdir_):
    p = serve(["-n"], env={"SANDPOOL_HTTP_MAX_BODY": "100T"}, cwd=tmpdir_)
    assert p.returncode != 0
    assert "SANDPOOL_HTTP_MAX_BODY" in p.stderr
    assert "http.max_body" in p.stderr


def test_missing_config_file(tmpdir_):
    p = serve(["-n", "-c", str(tmpdir_ / "nope.conf")], cwd=tmpdir_)
    assert p.returncode != 0
    assert "nope.conf" in p.stderr


def test_unexpected_argument(tmpdir_):
    p = serve(["-n", "extra"], cwd=tmpdir_)
    assert p.returncode != 0
    assert "extra" in p.stderr


# ---- pool sections ----

def test_pool_sections_show_up(tmpdir_):
    conf = tmpdir_ / "pools.conf"
    conf.write_text("timeout = 100\n[pool.x]\nready = 0\nmemory = 256M\n"
                    "[pool.y-2]\nmax_sessions = 5\n")
    p = serve(["-n", "-c", str(conf)], cwd=tmpdir_)
    assert p.returncode == 0, p.stderr
    s = sections(p.stdout)
    assert "[pool.x]" in p.stdout.splitlines()
    assert "[pool.y-2]" in p.stdout.splitlines()
    assert s["pool.x"]["memory"] == "256M"
    assert s["pool.x"]["ready"] == "0"
    assert s["pool.default"]["memory"] == "1G"
    # Named pools inherit the default pool's final values.
    assert s["pool.x"]["timeout"] == "100"
    assert s["pool.y-2"]["timeout"] == "100"
    assert s["pool.y-2"]["max_sessions"] == "5"
    assert s["pool.y-2"]["memory"] == "1G"


def test_named_pool_serves_requests(make_server):
    srv = make_server(config="[pool.small]\nready = 0\noutput_max = 1K\n"
                             "timeout = 1\n")
    s = "cli-" + uuid.uuid4().hex[:8]
    st, _, b = srv.json("POST", "/pools/small/executions?identifier=%s"
                        "&api-version=%s" % (s, GEN2),
                        {"code": "print('z' * 2000)"})
    assert st == 200, b
    assert b["error"]["code"] == "OutputTruncated"
    assert "1024 bytes" in b["result"]["stdout"]
    st, _, g = srv.json("GET", "/pools/small/session?identifier=%s" % s)
    assert st == 200 and g["pool"] == "small"
    # The same identifier in the default pool is another session.
    st, _, g = srv.json("GET", "/session?identifier=%s" % s)
    assert st == 404
    # The pool's timeout caps a longer timeoutInSeconds.
    t = time.time()
    st, _, b = srv.json("POST", "/pools/small/executions?identifier=%s" % s,
                        {"code": "import time\ntime.sleep(8)",
                         "timeoutInSeconds": 100})
    assert st == 200 and b["error"]["code"] == "Timeout", b
    assert "1 s" in b["error"]["message"]
    assert time.time() - t < 6


# ---- signals ----

def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if str(path) in line]


def test_sigterm_exits_0_and_cleans_up(make_server):
    srv = make_server()
    for i in range(2):
        s = "term-%d-%s" % (i, uuid.uuid4().hex[:6])
        b = srv.gen2({"code": "open('f.txt', 'w').write('x' * 1000)\n1"}, s)
        assert b["status"] == "Succeeded", b
    sessions = srv.state / "sessions"
    assert len(list(sessions.iterdir())) >= 2
    assert mounts_under(srv.state), "the data dirs are expected as mounts"
    # Leave one execution running; SIGTERM drains it.
    st, _, b = srv.json("POST", "/executions?identifier=busy",
                        {"code": "import time\ntime.sleep(1)",
                         "executionType": "Asynchronous"})
    assert st == 202
    t = time.time()
    log = srv.stop(signal.SIGTERM)  # asserts exit status 0
    assert time.time() - t < 20
    assert srv.proc.returncode == 0
    assert "stopped" in log
    assert mounts_under(srv.state) == []
    left = list(sessions.iterdir()) if sessions.exists() else []
    assert left == [], left


def test_sigint_exits_0(make_server):
    srv = make_server()
    srv.gen2({"code": "1"}, "int-1")
    srv.stop(signal.SIGINT)
    assert srv.proc.returncode == 0
    assert mounts_under(srv.state) == []
    sessions = srv.state / "sessions"
    assert not sessions.exists() or list(sessions.iterdir()) == []


def test_sighup_is_ignored(make_server):
    """SIGHUP is ignored: the server keeps serving."""
    srv = make_server()
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert srv.proc.poll() is None
    st, _, b = srv.json("GET", "/health")
    assert st == 200 and b == {"status": "healthy"}


def test_invalid_api_key_flag(tmpdir_):
    for key in ("short", "bad name:secret-key-long-enough-01",
                'x:secret"with-quote-000001'):
        p = serve(["-n", "--api-key", key], cwd=tmpdir_)
        assert p.returncode != 0, key
        assert "api_key" in p.stderr, p.stderr
        assert "secret-key" not in p.stdout
