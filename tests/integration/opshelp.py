# SPDX-License-Identifier: MIT
"""Helpers for the operations tests (issue 6): the CLI, the admin commands
on a server's state directory, audit rows, multipart uploads with a key,
and a strict parser of the Prometheus text format."""
import json
import math
import os
import re
import subprocess
import time
import urllib.parse
import uuid

from conftest import SANDPOOL

GEN2 = "2025-02-02-preview"


def ident(prefix="op"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def q(s):
    return urllib.parse.quote(s, safe="")


def cli_env(srv=None, key=None, extra=None):
    """A clean environment for the CLI: no SANDPOOL_* from outside."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("SANDPOOL_")}
    e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    if srv is not None:
        e["SANDPOOL_URL"] = "http://%s:%d" % (srv.host, srv.port)
        e["SANDPOOL_STATE_DIR"] = str(srv.state)
    if key is not None:
        e["SANDPOOL_API_KEY"] = key
    if extra:
        e.update(extra)
    return e


def cli(*args, srv=None, key=None, env=None, input=None, timeout=120,
        cwd=None):
    """Run `sandpool ARGS`; returns CompletedProcess (text)."""
    return subprocess.run([str(SANDPOOL)] + [str(a) for a in args],
                          env=cli_env(srv, key, env), input=input,
                          capture_output=True, text=True, timeout=timeout,
                          cwd=cwd)


def no_sanitizer(p):
    assert "Sanitizer" not in p.stderr and "runtime error" not in p.stderr, \
        p.stderr


def create_key(state, name, scopes=None, pool=None):
    args = ["keys", "create", name, "--state-dir", state, "--json"]
    if scopes:
        args += ["--scopes", scopes]
    if pool:
        args += ["--pool", pool]
    p = cli(*args)
    no_sanitizer(p)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["name"] == name
    return out["key"]


def audit_rows(srv, *args):
    p = cli("audit", "--json", "--state-dir", srv.state, *args)
    no_sanitizer(p)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def wait_rows(srv, pred, *args, timeout=15):
    """Poll the audit log until pred(rows) holds; returns the rows."""
    deadline = time.time() + timeout
    rows = []
    while time.time() < deadline:
        rows = audit_rows(srv, *args)
        if pred(rows):
            return rows
        time.sleep(0.1)
    raise AssertionError("audit rows never matched: %r" % rows[-10:])


def gen2(srv, code, s, key=None, headers=None, **kw):
    body = {"code": code} if code is not None else {}
    body.update(kw)
    return srv.json("POST", "/executions?identifier=%s&api-version=%s"
                    % (q(s), GEN2), body, key=key, headers=headers)


def multipart(filename, data):
    b = "----sp" + uuid.uuid4().hex
    body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; "
             "filename=\"%s\"\r\nContent-Type: application/octet-stream"
             "\r\n\r\n") % (b, filename)).encode() + data + \
        ("\r\n--%s--\r\n" % b).encode()
    return body, "multipart/form-data; boundary=" + b


def upload(srv, s, filename, data, key=None, headers=None):
    body, ctype = multipart(filename, data)
    h = {"Content-Type": ctype}
    h.update(headers or {})
    return srv.json("POST", "/files?identifier=%s&api-version=%s"
                    % (q(s), GEN2), body, key=key, headers=h, fresh=True)


def files_api(srv, key=None):
    """True when this build serves the files API (issue 3)."""
    st, _, b = srv.json("GET", "/files?identifier=%s&api-version=%s"
                        % (ident("probe"), GEN2), key=key)
    return st == 200


def mcp_api(srv, key=None):
    st, _, _ = srv.request("POST", "/mcp", b"{}",
                           {"Content-Type": "application/json",
                            "Accept": "application/json, "
                                      "text/event-stream"}, key=key)
    return st not in (404, 405)


# ---- MCP over Streamable HTTP (JSON answers) ----

def mcp_call(srv, key, method, params, sid=None, id_=1):
    h = {"Content-Type": "application/json", "Accept": "application/json"}
    if sid:
        h["Mcp-Session-Id"] = sid
        h["MCP-Protocol-Version"] = "2025-06-18"
    body = {"jsonrpc": "2.0", "method": method, "params": params}
    if id_ is not None:
        body["id"] = id_
    st, hdrs, data = srv.request("POST", "/mcp", json.dumps(body).encode(),
                                 h, key=key)
    out = json.loads(data) if data and data.strip()[:1] == b"{" else None
    return st, hdrs, out


def mcp_session(srv, key, client=("tenant-test", "1")):
    st, h, b = mcp_call(srv, key, "initialize", {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": client[0], "version": client[1]}})
    assert st == 200, (st, b)
    sid = h.get("mcp-session-id")
    assert sid
    st, _, _ = mcp_call(srv, key, "notifications/initialized", {}, sid,
                        None)
    assert st == 202
    return sid


def tool(srv, key, sid, name, args):
    st, _, b = mcp_call(srv, key, "tools/call",
                        {"name": name, "arguments": args}, sid,
                        uuid.uuid4().int % 1000000)
    assert st == 200, (st, b)
    return b["result"]



# ---- Prometheus text format, parsed strictly ----

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (\S+)$" % (NAME, LABEL,
                                                             LABEL))
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_metrics(text):
    """Parse exposition text strictly.  Returns {family: {"type", "help",
    "samples": {(name, labels tuple): value}}}; raises AssertionError on
    anything the format (0.0.4) does not allow."""
    assert text.endswith("\n"), "the text must end with a newline"
    fams = {}
    seen = set()
    cur = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d: %r" % (n, line)
        assert line, "empty line " + where
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            assert re.fullmatch(NAME, name), where
            assert help_, "empty HELP " + where
            assert name not in fams, "family repeated " + where
            fams[name] = {"help": help_, "type": None, "samples": {}}
            cur = name
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert name == cur, "TYPE must follow its HELP " + where
            assert typ in TYPES, where
            assert fams[name]["type"] is None, where
            fams[name]["type"] = typ
            continue
        assert not line.startswith("#"), "stray comment " + where
        m = SAMPLE.match(line)
        assert m, "bad sample " + where
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        assert cur is not None and fams[cur]["type"], where
        typ = fams[cur]["type"]
        if typ == "histogram":
            assert name in (cur + "_bucket", cur + "_sum", cur + "_count"), \
                where
        else:
            assert name == cur, "sample outside its family " + where
        if typ == "counter":
            assert name.endswith("_total"), where
        lab = tuple(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|'
                               r'\\.)*)"', labels))
        assert len({k for k, _ in lab}) == len(lab), "dup label " + where
        key = (name, lab)
        assert key not in seen, "duplicate series " + where
        seen.add(key)
        v = float(value)
        assert not math.isnan(v), where
        if typ in ("counter", "histogram"):
            assert v >= 0, where
        fams[cur]["samples"][key] = v
    for name, f in fams.items():
        assert f["type"], "family without TYPE: " + name
        if f["type"] == "histogram":
            check_histogram(name, f["samples"])
    return fams


def check_histogram(name, samples):
    groups = {}
    for (sname, lab), v in samples.items():
        rest = tuple(kv for kv in lab if kv[0] != "le")
        g = groups.setdefault(rest, {"buckets": [], "sum": None,
                                     "count": None})
        if sname == name + "_bucket":
            le = dict(lab)["le"]
            g["buckets"].append((math.inf if le == "+Inf" else float(le),
                                 v))
        elif sname == name + "_sum":
            g["sum"] = v
        else:
            g["count"] = v
    for rest, g in groups.items():
        b = g["buckets"]
        assert b and b[-1][0] == math.inf, name + ": no +Inf bucket"
        les = [le for le, _ in b]
        assert les == sorted(les) and len(set(les)) == len(les), name
        counts = [c for _, c in b]
        assert counts == sorted(counts), name + ": not cumulative"
        assert g["count"] == b[-1][1], name + ": _count != +Inf bucket"
        assert g["sum"] is not None and g["sum"] >= 0, name


def value(fams, family, name=None, **labels):
    """One sample's value (0 when the series is absent)."""
    f = fams[family]
    want = tuple(sorted(labels.items()))
    for (sname, lab), v in f["samples"].items():
        if sname == (name or family) and tuple(sorted(lab)) == want:
            return v
    return 0.0


def metrics(srv, key=None):
    st, h, body = srv.request("GET", "/metrics", key=key)
    assert st == 200, (st, body[:300])
    assert h["content-type"].startswith("text/plain; version=0.0.4"), h
    return parse_metrics(body.decode())
