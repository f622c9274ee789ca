# SPDX-License-Identifier: MIT
"""Small MCP clients for the integration tests: Streamable HTTP over
http.client (JSON and SSE answers, with arrival times) and stdio over a
real `sandpool mcp` process (every stdout line recorded raw, so a test can
check that nothing but JSON-RPC ever reached stdout)."""
import http.client
import json
import os
import queue
import subprocess
import threading
import time

from conftest import SANDPOOL

V_LATEST = "2025-11-25"
VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
ACCEPT_BOTH = "application/json, text/event-stream"


def init_params(version=V_LATEST):
    return {"protocolVersion": version, "capabilities": {},
            "clientInfo": {"name": "sandpool-tests", "version": "1"}}


def parse_sse(resp):
    """Read an SSE body incrementally: a list of (time, kind, data) where
    kind is 'event' (data = parsed JSON), 'priming' (an id with empty
    data), 'retry' or 'comment'."""
    out, data, ev_id, retry = [], [], None, None
    while True:
        line = resp.readline()
        if not line:
            break
        line = line.decode().rstrip("\r\n")
        if line == "":
            now = time.time()
            if retry is not None:
                out.append((now, "retry", retry))
            if data:
                text = "\n".join(data)
                if text.strip() == "":
                    out.append((now, "priming", ev_id))
                else:
                    out.append((now, "event", json.loads(text)))
            elif ev_id is not None:
                out.append((now, "priming", ev_id))
            data, ev_id, retry = [], None, None
            continue
        if line.startswith(":"):
            out.append((time.time(), "comment", line))
        elif line.startswith("data:"):
            data.append(line[5:].lstrip(" ") if line[5:6] == " " else
                        line[5:])
        elif line.startswith("id:"):
            ev_id = line[3:].strip()
        elif line.startswith("retry:"):
            retry = int(line[6:].strip())
    return out


class Reply:
    def __init__(self, status, headers, body, sse=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.sse = sse            # list from parse_sse, or None

    @property
    def messages(self):
        if self.sse is not None:
            return [d for _, k, d in self.sse if k == "event"]
        if not self.body:
            return []
        v = json.loads(self.body)
        return v if isinstance(v, list) else [v]

    @property
    def json(self):
        return json.loads(self.body)

    def response(self, rid=None):
        for m in self.messages:
            if "id" in m and ("result" in m or "error" in m) and \
                    (rid is None or m["id"] == rid):
                return m
        raise AssertionError("no response in %r" % (self.body or self.sse))


class HttpClient:
    """One MCP session over Streamable HTTP."""

    def __init__(self, server, version=V_LATEST, key=None, path="/mcp",
                 accept=ACCEPT_BOTH):
        self.server = server
        self.version = version
        self.key = key
        self.path = path
        self.accept = accept
        self.sid = None
        self.next_id = 1

    def headers(self, extra=None, session=True):
        h = {"Content-Type": "application/json"}
        if self.accept is not None:
            h["Accept"] = self.accept
        if self.key:
            h["x-ms-apikey"] = self.key
        if session and self.sid:
            h["Mcp-Session-Id"] = self.sid
            h["MCP-Protocol-Version"] = self.version
        h.update(extra or {})
        return h

    def post(self, msg, headers=None, session=True, raw=None, method="POST"):
        """Send one message on a fresh connection; SSE bodies are read
        event by event with arrival times."""
        c = http.client.HTTPConnection(self.server.host, self.server.port,
                                       timeout=300)
        body = raw if raw is not None else (
            None if msg is None else json.dumps(msg).encode())
        c.request(method, self.path, body=body,
                  headers=self.headers(headers, session))
        r = c.getresponse()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if hdrs.get("content-type", "").startswith("text/event-stream"):
            rep = Reply(r.status, hdrs, b"", parse_sse(r))
        else:
            rep = Reply(r.status, hdrs, r.read())
        c.close()
        return rep

    def initialize(self):
        r = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                       "params": init_params(self.version)}, session=False)
        assert r.status == 200, (r.status, r.body)
        self.sid = r.headers["mcp-session-id"]
        n = self.post({"jsonrpc": "2.0",
                       "method": "notifications/initialized"})
        assert n.status == 202, (n.status, n.body)
        return r.response()["result"]

    def request(self, method, params=None, meta=None, headers=None):
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = dict(params)
        if meta:
            msg.setdefault("params", {})["_meta"] = meta
        r = self.post(msg, headers=headers)
        assert r.status == 200, (r.status, r.body)
        return r.response(rid)

    def call(self, name, args=None, **kw):
        m = self.request("tools/call", {"name": name,
                                        "arguments": args or {}}, **kw)
        assert "result" in m, m
        return m["result"]

    def delete(self):
        return self.post(None, method="DELETE")


def text_of(result):
    return "\n".join(c["text"] for c in result["content"]
                     if c["type"] == "text")


class StdioClient:
    """A real `sandpool mcp` process; stdout lines are kept raw."""

    def __init__(self, args=(), env=None, config=None, tmpdir=None):
        cmd = [str(SANDPOOL), "mcp"] + list(args)
        if config is not None:
            path = os.path.join(tmpdir, "mcp.conf")
            with open(path, "w") as f:
                f.write(config)
            cmd += ["--config", path]
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("SANDPOOL_")}
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        e.update(env or {})
        self.stderr_path = os.path.join(tmpdir, "mcp-stderr.log")
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=e)
        self.raw = []            # every stdout line, bytes
        self.q = queue.Queue()
        self.t = threading.Thread(target=self._reader, daemon=True)
        self.t.start()
        self.next_id = 1
        self.pending = []        # messages read but not yet consumed

    def _reader(self):
        for line in self.proc.stdout:
            self.raw.append(line)
            try:
                self.q.put((time.time(), json.loads(line)))
            except ValueError:
                self.q.put((time.time(), {"_invalid": line}))
        self.q.put(None)

    def send(self, msg):
        data = msg if isinstance(msg, bytes) else json.dumps(msg).encode()
        self.proc.stdin.write(data + b"\n")
        self.proc.stdin.flush()

    def next(self, timeout=120):
        if self.pending:
            return self.pending.pop(0)
        item = self.q.get(timeout=timeout)
        if item is None:
            raise EOFError("sandpool mcp closed stdout")
        return item

    def wait_for(self, rid, timeout=120, notes=None):
        """The response to rid; other messages go to notes (with times)
        or back to pending."""
        deadline = time.time() + timeout
        keep = []
        while True:
            t, m = self.next(max(0.1, deadline - time.time()))
            if m.get("id") == rid and ("result" in m or "error" in m):
                self.pending = keep + self.pending
                return m
            if notes is not None and "method" in m:
                notes.append((t, m))
            else:
                keep.append((t, m))

    def request(self, method, params=None, meta=None):
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = dict(params)
        if meta:
            msg.setdefault("params", {})["_meta"] = meta
        self.send(msg)
        return rid

    def call(self, name, args=None, timeout=120):
        rid = self.request("tools/call", {"name": name,
                                          "arguments": args or {}})
        m = self.wait_for(rid, timeout)
        assert "result" in m, m
        return m["result"]

    def initialize(self, version=V_LATEST):
        rid = self.request("initialize", init_params(version))
        m = self.wait_for(rid, 60)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return m["result"]

    def close(self, timeout=60):
        """Close stdin and expect a clean exit; returns stderr text."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("sandpool mcp did not exit on EOF")
        self.t.join(10)
        self.stderr.close()
        text = open(self.stderr_path, errors="replace").read()
        assert "Sanitizer" not in text and "runtime error" not in text, \
            text[-6000:]
        assert self.proc.returncode == 0, (self.proc.returncode,
                                           text[-6000:])
        return text

    def check_stdout_only_jsonrpc(self):
        """The raw rule: every stdout line is one JSON-RPC 2.0 object."""
        assert self.raw, "no output at all"
        for line in self.raw:
            assert line.endswith(b"\n"), line
            m = json.loads(line)
            assert isinstance(m, (dict, list)), line
            for x in (m if isinstance(m, list) else [m]):
                assert x.get("jsonrpc") == "2.0", line
                assert ("method" in x) or ("id" in x and (
                    "result" in x or "error" in x)), line
