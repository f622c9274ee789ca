# SPDX-License-Identifier: MIT
"""Data-driven malformed requests: one JSON file per case in cases/.

A case is
  {"name", "method", "path", "headers", "body" (sent raw), "status", "code"}
plus optional keys:
  "config"           extra server config; such cases get their own server
                     (one per distinct config, shared by its cases)
  "repeat"           [{"marker", "text", "count"}]: marker is replaced by
                     text * count in the path, header values and body
  "chunked"          send the body with Transfer-Encoding: chunked
  "status_only"      check only the status (answers made by libmicrohttpd)
  "response_headers" headers the answer must carry, exact values
  "expect"           for 2xx cases: a subset the JSON answer must match

For an error case the answer must be exactly `status` with a JSON body
{"error":{"code","message"}}, a non-empty message and x-ms-error-code equal
to error.code.  After every case the server must still answer GET /health.
"""
import http.client
import json
import pathlib
import socket

import pytest

from conftest import Server

CASES_DIR = pathlib.Path(__file__).resolve().parent / "cases"


def load_cases():
    cases = []
    for f in sorted(CASES_DIR.glob("*.json")):
        c = json.loads(f.read_text())
        assert c["name"] == f.stem, f
        for k in ("method", "path", "headers", "body", "status", "code"):
            assert k in c, (f, k)
        assert isinstance(c["body"], str), f
        cases.append(c)
    return cases


CASES = load_cases()


def expand(text, case):
    for r in case.get("repeat", []):
        text = text.replace(r["marker"], r["text"] * r["count"])
    return text


def raw_request(host, port, method, path, headers, body, chunked=False,
                timeout=120):
    """Send one request exactly as given; returns (status, headers, body).
    Content-Length is added unless the body is chunked."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (host, port),
             "Connection: close"]
    for k, v in headers.items():
        lines.append("%s: %s" % (k, v))
    data = body.encode()
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        payload = b""
        step = 1000
        for i in range(0, len(data), step):
            piece = data[i:i + step]
            payload += b"%x\r\n%s\r\n" % (len(piece), piece)
        payload += b"0\r\n\r\n"
    else:
        if data or method in ("POST", "PUT"):
            lines.append("Content-Length: %d" % len(data))
        payload = data
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        try:
            sock.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading it all
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        out = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, hdrs, out
    finally:
        sock.close()


def subset(want, got, where="$"):
    if isinstance(want, dict):
        assert isinstance(got, dict), (where, got)
        for k, v in want.items():
            assert k in got, (where, k, got)
            subset(v, got[k], where + "." + k)
    else:
        assert got == want and type(got) is type(want), (where, got, want)


@pytest.fixture(scope="module")
def servers(server):
    made = {"": server}

    def get(config):
        if config not in made:
            made[config] = Server(config=config)
        return made[config]
    yield get
    errors = []
    for config, s in made.items():
        if config == "":
            continue
        try:
            s.stop()
        except AssertionError as e:
            errors.append(str(e))
        finally:
            s.cleanup()
    assert not errors, errors


def test_at_least_24_error_cases():
    errors = [c for c in CASES if c["status"] >= 400]
    assert len(errors) >= 24, len(errors)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case, servers):
    srv = servers(case.get("config", ""))
    path = expand(case["path"], case)
    headers = {k: expand(v, case) for k, v in case["headers"].items()}
    body = expand(case["body"], case)
    st, h, data = raw_request(srv.host, srv.port, case["method"], path,
                              headers, body, chunked=case.get("chunked",
                                                              False))
    assert st == case["status"], (st, data[:2000])
    for k, v in case.get("response_headers", {}).items():
        assert h.get(k.lower()) == v, (k, h)
    if not case.get("status_only"):
        assert h.get("content-type", "").startswith("application/json"), h
        doc = json.loads(data)
        if st >= 400:
            assert set(doc) == {"error"}, doc
            err = doc["error"]
            assert err["code"] == case["code"], err
            assert isinstance(err["message"], str) and err["message"], err
            assert h.get("x-ms-error-code") == err["code"], h
        if "expect" in case:
            subset(case["expect"], doc)
    # The server is still alive.
    st, _, data = raw_request(srv.host, srv.port, "GET", "/health", {}, "")
    assert st == 200, data
    assert json.loads(data) == {"status": "healthy"}


def test_error_messages_name_the_field(server):
    """Spot checks that a 4xx message says what was wrong."""
    st, _, b = server.json(
        "POST", "/code/execute?identifier=msg1",
        {"properties": {"code": "1", "timeoutInSeconds": "10"}})
    assert st == 400 and "timeoutInSeconds" in b["error"]["message"]
    st, _, b = server.json(
        "POST", "/executions?identifier=msg1",
        {"code": "1", "codeInputType": "Blob"})
    assert st == 400 and "codeInputType" in b["error"]["message"]
    assert "InlineBase64" in b["error"]["message"]
    st, _, b = server.json("GET", "/code/execute?identifier=msg1")
    assert st == 405 and "POST" in b["error"]["message"]


def test_rejected_request_does_not_create_a_session(server):
    st, _, _ = server.json("POST", "/executions?identifier=never-made-1",
                           {"code": "1", "shellCommand": "true"})
    assert st == 400
    st, _, b = server.json("GET", "/session?identifier=never-made-1")
    assert st == 404 and b["error"]["code"] == "SessionNotFound"
