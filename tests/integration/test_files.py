# SPDX-License-Identifier: MIT
"""Session files against the real server (GitHub issue 3).

Gen1 (files/upload, files, files/content/NAME) and Gen2 (files,
files/NAME, files/NAME/content) shapes; the exact multipart bodies each
real client sends (aca-api.md §4.1, §14); streaming limits, quota and
memory; the escapes of the Judge0 2024 CVEs (symlinks, "..", NUL, long
names); URL inputs; persistence across kernel deaths and after DELETE.
"""
import base64
import hashlib
import http.client
import http.server
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from conftest import GEN1, GEN2, SANDPOOL, Server  # noqa: E402

V10 = "2025-10-02-preview"
MiB = 1 << 20


def ident():
    return "f-" + uuid.uuid4().hex[:12]


def q(s):
    return urllib.parse.quote(s, safe="")


def part(boundary, filename, data, name='"file"',
         ctype="application/octet-stream", disposition=None):
    """One multipart body with a single part, as the clients build it."""
    disp = disposition or ('form-data; name=%s; filename="%s"'
                           % (name, filename))
    head = "--%s\r\nContent-Disposition: %s\r\n" % (boundary, disp)
    if ctype:
        head += "Content-Type: %s\r\n" % ctype
    return (head.encode() + b"\r\n" + data + b"\r\n--"
            + boundary.encode() + b"--\r\n")


def send(srv, method, path, body=b"", headers=None, chunked=False,
         timeout=300):
    """One request on a fresh connection; returns (status, headers, body).
    A generator body is sent with chunked transfer encoding."""
    h = dict(headers or {})
    c = http.client.HTTPConnection(srv.host, srv.port, timeout=timeout)
    try:
        if chunked and isinstance(body, bytes):
            data = body

            def gen():
                for i in range(0, len(data), 1000):
                    yield data[i:i + 1000]
            body = gen()
        c.request(method, path, body=body, headers=h,
                  encode_chunked=chunked or not isinstance(
                      body, (bytes, str, type(None))))
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


def upload(srv, s, filename, data, version=GEN1, route="files/upload",
           query=""):
    b = "----sp" + uuid.uuid4().hex
    st, h, body = send(srv, "POST", "/%s?identifier=%s&api-version=%s%s"
                       % (route, s, version, query),
                       part(b, filename, data),
                       {"Content-Type":
                        "multipart/form-data; boundary=" + b})
    return st, (json.loads(body) if body else None)


def download(srv, s, name, version=GEN1):
    return send(srv, "GET", "/files/content/%s?identifier=%s&api-version=%s"
                % (q(name), s, version))


def gen1_names(srv, s, version=GEN1):
    st, _, b = srv.json("GET", "/files?identifier=%s&api-version=%s"
                        % (s, version))
    assert st == 200, b
    return {v["properties"]["filename"]: v["properties"] for v in b["value"]}


def gen2_list(srv, s, query=""):
    st, _, b = srv.json("GET", "/files?identifier=%s&api-version=%s%s"
                        % (s, V10, query))
    assert st == 200, b
    assert set(b) == {"value", "nextLink"} and b["nextLink"] is None, b
    return b["value"]


def run(srv, s, code, **kw):
    p = srv.gen1(code, s, **kw)
    return p


def data_dir(srv, s):
    st, _, info = srv.json("GET", "/session?identifier=%s&api-version=%s"
                           % (s, V10))
    assert st == 200, info
    return srv.state / "sessions" / info["etag"] / "data"


def assert_error(st, body, status, code=None, words=()):
    assert st == status, (st, body)
    doc = json.loads(body) if isinstance(body, bytes) else body
    assert set(doc) == {"error"}, doc
    if code:
        assert doc["error"]["code"] == code, doc
    for w in words:
        assert w in doc["error"]["message"], doc
    return doc["error"]["message"]


# ---------------------------------------------------------------------
# Gen1
# ---------------------------------------------------------------------

def test_gen1_upload_list_download_shapes(server):
    s = ident()
    assert gen1_names(server, s) == {}  # a fresh session lists []
    st, b = upload(server, s, "test1.txt", b"hello, world\n")
    assert st == 200, b
    assert b["$id"] == "1" and len(b["value"]) == 1
    v = b["value"][0]
    assert v["$id"] == "2"
    p = v["properties"]
    assert p["$id"] == "3"
    assert p["filename"] == "test1.txt" and p["size"] == 13
    assert p["lastModifiedTime"].endswith("Z")
    assert len(p["lastModifiedTime"].split(".")[1]) == 8  # 7 digits + Z
    upload(server, s, "b.csv", b"a,b\n")
    st, _, lst = server.json("GET", "/files?identifier=%s&api-version=%s"
                             % (s, GEN1))
    assert st == 200 and lst["$id"] == "1"
    ids = [x["$id"] for x in lst["value"]] + \
        [x["properties"]["$id"] for x in lst["value"]]
    assert sorted(ids, key=int) == ["2", "3", "4", "5"]
    names = gen1_names(server, s)
    assert names["test1.txt"]["size"] == 13 and names["b.csv"]["size"] == 4
    st, h, data = download(server, s, "test1.txt")
    assert st == 200 and data == b"hello, world\n"
    assert h["content-type"].startswith("text/plain")
    st, h, data = download(server, s, "b.csv")
    assert h["content-type"].startswith("text/csv")
    st, h, data = download(server, s, "/mnt/data/b.csv")
    assert st == 200 and data == b"a,b\n"


def test_gen1_missing_file_404_json(server):
    st, h, body = download(server, ident(), "nope.txt")
    assert h["content-type"].startswith("application/json")
    assert h["x-ms-error-code"] == "FileNotFound"
    assert_error(st, body, 404, "FileNotFound", ["nope.txt"])


def test_content_types_by_extension(server):
    s = ident()
    for name, ctype in (("x.png", "image/png"), ("x.json",
                        "application/json"), ("x.bin",
                        "application/octet-stream"),
                        ("x.html", "text/html")):
        assert upload(server, s, name, b"1")[0] == 200
        st, h, _ = download(server, s, name)
        assert st == 200 and h["content-type"].startswith(ctype), h
        assert h["x-content-type-options"] == "nosniff"
        assert h["content-disposition"].startswith("attachment")


def test_head_download(server):
    s = ident()
    upload(server, s, "h.txt", b"12345")
    st, h, data = send(server, "HEAD", "/files/content/h.txt?identifier="
                       + s)
    assert st == 200 and data == b"" and h["content-length"] == "5"


# ---------------------------------------------------------------------
# The real clients' bodies
# ---------------------------------------------------------------------

HEXB = "9f3c1e2a7b5d4c6e8a0b1c2d3e4f5a6b"


def test_client_langchain_python(server):
    s = ident()
    body = part(HEXB, "test1.txt", b"lc-py\n")
    st, _, b = send(server, "POST", "/files/upload?api-version=%s&"
                    "identifier=%s" % (GEN1, s), body,
                    {"Content-Type": "multipart/form-data; boundary="
                     + HEXB,
                     "User-Agent": "langchain-azure-dynamic-sessions/0.0.0 "
                     "(Language=Python)"})
    assert st == 200, b
    assert json.loads(b)["value"][0]["properties"]["filename"] == \
        "test1.txt"
    # langchain percent-encodes the name in the download URL.
    upload(server, s, "a b%.txt", b"spaces")
    st, _, data = send(server, "GET", "/files/content/%s?identifier=%s&"
                       "api-version=%s" % (urllib.parse.quote("a b%.txt"),
                                            s, GEN1))
    assert st == 200 and data == b"spaces"


def test_client_langchain_js_undici(server):
    s = ident()
    b = "----formdata-undici-046349741238"
    body = part(b, "test.txt", b"from js")[:-2]  # undici: no final CRLF
    st, _, out = send(server, "POST", "/files/upload?identifier=%s&"
                      "api-version=%s" % (s, GEN1), body,
                      {"content-type": "multipart/form-data; boundary=" + b,
                       "accept": "*/*", "accept-language": "*",
                       "sec-fetch-mode": "cors"})
    assert st == 200, out
    assert download(server, s, "test.txt")[2] == b"from js"


def test_client_llama_index_absolute_filename(server):
    s = ident()
    body = part(HEXB, "/mnt/data/test.csv", b"a,b\n1,2\n")
    st, _, out = send(server, "POST", "/files/upload?identifier=%s&"
                      "api-version=%s" % (s, GEN1), body,
                      {"Content-Type": "multipart/form-data; boundary="
                       + HEXB, "User-Agent": "python-requests/2.31.0"})
    assert st == 200, out
    p = json.loads(out)["value"][0]["properties"]
    assert p["filename"] == "test.csv" and p["size"] == 8
    assert download(server, s, "test.csv")[2] == b"a,b\n1,2\n"


def test_client_sk_python_json_content_type(server):
    """SK Python's sticky Content-Type: application/json on a multipart
    body; it then looks for /mnt/data/<filename> in GET files."""
    s = ident()
    run(server, s, "1")  # SK executes first; the header sticks after
    body = part(HEXB, "/mnt/data/hello.py", b"print('hi')\n")
    st, _, out = send(server, "POST", "/files/upload?identifier=%s&"
                      "api-version=%s" % (s, GEN1), body,
                      {"Content-Type": "application/json",
                       "User-Agent": "semantic-kernel-python/1.0 "
                       "(Language=Python)"})
    assert st == 200, out
    st, _, lst = send(server, "GET", "/files?identifier=%s&api-version=%s"
                      % (s, GEN1), headers={"Content-Type":
                                            "application/json"})
    full = ["/mnt/data/" + v["properties"]["filename"]
            for v in json.loads(lst)["value"]]
    assert "/mnt/data/hello.py" in full
    p = run(server, s, "exec(open('hello.py').read())")
    assert p["stdout"] == "hi\n"


def test_client_dotnet_quoted_boundary_filename_star(server):
    s = ident()
    g = str(uuid.uuid4())
    disp = ("form-data; name=file; filename=\"=?utf-8?B?Y2Fmw6kudHh0?=\"; "
            "filename*=utf-8''caf%C3%A9.txt")
    body = part(g, None, "été".encode(), ctype=None, disposition=disp)
    st, _, out = send(server, "POST", "/files?identifier=%s&api-version="
                      "2024-10-02-preview" % s, body,
                      {"Content-Type": 'multipart/form-data; boundary="%s"'
                       % g})
    assert st == 200, out
    o = json.loads(out)
    assert o["name"] == "café.txt" and o["type"] == "file"
    assert o["sizeInBytes"] == len("été".encode())
    st, _, data = send(server, "GET", "/files/%s/content?identifier=%s&"
                       "api-version=2024-10-02-preview" % (q("café.txt"), s))
    assert st == 200 and data == "été".encode()


def test_client_autogen_chunked(server):
    s = ident()
    b = uuid.uuid4().hex
    disp = 'form-data; name="file"; filename="script.py"'
    body = ("--%s\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: %s\r\n\r\n" % (b, disp)).encode() + \
        b"x = 1\n" * 5000 + ("\r\n--%s--\r\n" % b).encode()
    st, _, out = send(server, "POST", "/files/upload?identifier=%s&"
                      "api-version=%s" % (s, GEN1), body,
                      {"Content-Type": "multipart/form-data; boundary=" + b,
                       "User-Agent": "Python/3.11 aiohttp/3.9.5"},
                      chunked=True)
    assert st == 200, out
    assert download(server, s, "script.py")[2] == b"x = 1\n" * 5000


def test_form_field_besides_file_and_several_files(server):
    s = ident()
    b = "bnd"
    body = ("--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n"
            "ignored\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"file\"; "
            "filename=\"one.txt\"\r\n\r\n1\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"file\"; "
            "filename=\"two.txt\"\r\n\r\n22\r\n--b--\r\n").replace(
                "--b", "--" + b).encode()
    st, _, out = send(server, "POST", "/files/upload?identifier=" + s, body,
                      {"Content-Type": "multipart/form-data; boundary=" + b})
    assert st == 200, out
    vals = json.loads(out)["value"]
    assert [v["properties"]["filename"] for v in vals] == ["one.txt",
                                                            "two.txt"]
    assert [v["$id"] for v in vals] == ["2", "4"]


def test_malformed_bodies(server):
    s = ident()
    ct = {"Content-Type": "multipart/form-data; boundary=b"}
    cases = [
        (b"--b\r\nContent-Disposition: form-data; name=file; filename=x"
         b"\r\n\r\ncut short", 400, "closing boundary"),
        (b"--b\r\nContent-Disposition: form-data; name=file\r\n\r\nx\r\n"
         b"--b--\r\n", 400, "no filename"),
        (b"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nx\r\n"
         b"--b--\r\n", 400, "no file part"),
        (b"", 400, "empty"),
    ]
    for body, status, words in cases:
        st, _, out = send(server, "POST", "/files/upload?identifier=" + s,
                          body, ct)
        assert_error(st, out, status, words=[words])
    st, _, out = send(server, "POST", "/files?identifier=" + s, b"hello",
                      {"Content-Type": "text/plain"})
    assert_error(st, out, 415, "UnsupportedMediaType", ["multipart"])
    assert gen1_names(server, s) == {}


# ---------------------------------------------------------------------
# Gen2
# ---------------------------------------------------------------------

def test_gen2_upload_list_metadata_content_delete(server):
    s = ident()
    st, o = upload(server, s, "report.csv", b"x,y\n1,2\n", version=V10,
                   route="files")
    assert st == 200, o
    assert set(o) >= {"name", "type", "contentType", "sizeInBytes",
                      "lastModifiedAt", "directory"}
    assert o["name"] == "report.csv" and o["type"] == "file"
    assert o["contentType"].startswith("text/csv")
    assert o["sizeInBytes"] == 8 and o["directory"] == ""
    assert o["lastModifiedAt"].endswith("Z") and "T" in o["lastModifiedAt"]
    v = gen2_list(server, s)
    assert [x["name"] for x in v] == ["report.csv"]
    st, _, m = server.json("GET", "/files/report.csv?identifier=%s&"
                           "api-version=%s" % (s, V10))
    assert st == 200 and m["name"] == "report.csv" and m["sizeInBytes"] == 8
    st, h, data = send(server, "GET", "/files/report.csv/content?"
                       "identifier=%s&api-version=%s" % (s, V10))
    assert st == 200 and data == b"x,y\n1,2\n"
    st, _, data = send(server, "DELETE", "/files/report.csv?identifier=%s&"
                       "api-version=%s" % (s, V10))
    assert st == 204 and data == b""
    st, _, data = send(server, "DELETE", "/files/report.csv?identifier=%s"
                       % s)
    assert_error(st, data, 404, "FileNotFound")
    assert gen2_list(server, s) == []


def test_gen2_path_and_recursive(server):
    s = ident()
    # langchain's Bash tool sends path=/mnt/data; swagger uses dirs.
    st, o = upload(server, s, "top.txt", b"t", version=GEN2, route="files",
                   query="&path=/mnt/data")
    assert st == 200 and o["directory"] == "", o
    st, o = upload(server, s, "in.txt", b"in", version=GEN2, route="files",
                   query="&path=test-directory")
    assert st == 200 and o["name"] == "in.txt" and o["directory"] == "", o
    st, o = upload(server, s, "deep.txt", b"deep", version=GEN2,
                   route="files", query="&path=/mnt/data/test-directory/sub")
    assert st == 200, o
    top = gen2_list(server, s)
    assert [(x["name"], x["type"]) for x in top] == [
        ("test-directory", "directory"), ("top.txt", "file")]
    assert "sizeInBytes" not in top[0]
    inner = gen2_list(server, s, "&path=test-directory")
    assert [x["name"] for x in inner] == ["in.txt", "sub"]
    rec = gen2_list(server, s, "&recursive=true")
    assert [(x["directory"], x["name"]) for x in rec] == [
        ("", "test-directory"), ("test-directory", "in.txt"),
        ("test-directory", "sub"), ("test-directory/sub", "deep.txt"),
        ("", "top.txt")]
    st, _, data = send(server, "GET", "/files/deep.txt/content?identifier="
                       "%s&api-version=%s&path=test-directory/sub"
                       % (s, V10))
    assert st == 200 and data == b"deep"
    st, _, m = server.json("GET", "/files/sub?identifier=%s&path="
                           "test-directory" % s)
    assert st == 200 and m["type"] == "directory", m
    # Gen1 sees every file, named from /mnt/data.
    assert set(gen1_names(server, s)) == {
        "top.txt", "test-directory/in.txt", "test-directory/sub/deep.txt"}
    st, _, out = send(server, "DELETE", "/files/test-directory/sub?"
                      "identifier=%s" % s)
    assert_error(st, out, 409, "DirectoryNotEmpty")
    st, _, out = server.json("GET", "/files?identifier=%s&path=nope" % s)
    assert st == 404, out


def test_generation_is_chosen_by_api_version(server):
    s = ident()
    upload(server, s, "g.txt", b"g")
    for version, gen1 in ((GEN1, True), ("2024-08-02-preview", True),
                          ("2024-10-02-preview", False), (GEN2, False),
                          (V10, False), (None, False), ("2099-01-01", False)):
        path = "/files?identifier=" + s
        if version:
            path += "&api-version=" + version
        st, _, b = server.json("GET", path)
        assert st == 200
        assert ("$id" in b) == gen1, (version, b)
        assert ("nextLink" in b) != gen1, (version, b)
    # POST files follows the same rule; files/upload is always Gen1.
    st, o = upload(server, s, "p.txt", b"p", version="2024-08-02-preview",
                   route="files")
    assert st == 200 and o["$id"] == "1"
    st, o = upload(server, s, "p.txt", b"p", version=V10,
                   route="files/upload")
    assert st == 200 and o["$id"] == "1"


def test_upload_replaces_atomically_and_code_can_modify(server):
    s = ident()
    upload(server, s, "r.txt", b"first version, long\n")
    assert upload(server, s, "r.txt", b"second\n")[0] == 200
    assert download(server, s, "r.txt")[2] == b"second\n"
    # Owned by the sandbox user: code can append, chmod and delete it.
    p = run(server, s, "import os\nopen('r.txt', 'a').write('appended\\n')\n"
            "os.chmod('r.txt', 0o600)\n(os.stat('r.txt').st_uid, "
            "os.getuid())")
    assert p["status"] == "Success", p
    uid, me = eval(p["result"])
    assert uid == me == 1000
    assert download(server, s, "r.txt")[2] == b"second\nappended\n"
    st, o = upload(server, s, "/mnt/data/d1/d2/n.txt", b"n")
    assert st == 200
    p = run(server, s, "import os\nopen('d1/d2/new.txt', 'w').write('w')\n"
            "os.stat('d1').st_uid")
    assert p["status"] == "Success" and p["result"] == 1000, p


def test_files_written_by_code(server):
    s = ident()
    p = run(server, s, """
import hashlib, pandas as pd, matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
df = pd.DataFrame({'a': range(100), 'b': [x * x for x in range(100)]})
df.to_csv('out.csv', index=False)
plt.plot(df.a, df.b)
plt.savefig('chart.png')
{n: hashlib.sha256(open(n, 'rb').read()).hexdigest()
 for n in ('out.csv', 'chart.png')}
""")
    assert p["status"] == "Success", p
    sums = eval(p["result"])
    names = gen1_names(server, s)
    assert {"out.csv", "chart.png"} <= set(names)
    for n, want in sums.items():
        st, h, data = download(server, s, n)
        assert st == 200 and hashlib.sha256(data).hexdigest() == want
        assert names[n]["size"] == len(data)
    assert download(server, s, "chart.png")[1]["content-type"] == \
        "image/png"


# ---------------------------------------------------------------------
# Escapes (Judge0 2024): symlinks, "..", NUL, long names
# ---------------------------------------------------------------------

def test_symlinks_from_the_sandbox_are_never_followed(server):
    victim, s = ident(), ident()
    upload(server, victim, "secret.txt", b"other session's secret")
    other = data_dir(server, victim) / "secret.txt"
    p = run(server, s, """
import os
os.symlink('/etc/passwd', 'passwd')
os.symlink('/proc/1/environ', 'environ')
os.symlink(%r, 'other')
os.symlink('/etc', 'etcdir')
os.symlink('..', 'up')
sorted(os.listdir('.'))
""" % str(other))
    assert p["status"] == "Success", p
    for name in ("passwd", "environ", "other", "etcdir/passwd",
                 "up/sandpool.db"):
        st, h, body = download(server, s, name)
        assert st in (400, 404), (name, st, body[:200])
        assert b"root:" not in body and b"secret" not in body
        msg = json.loads(body)["error"]["message"]
        assert "symbolic link" in msg or "does not exist" in msg, msg
        st, _, body = send(server, "GET", "/files/%s/content?identifier=%s"
                           % (name, s))
        assert st in (400, 404) and b"root:" not in body
    # Listing shows links as links, without resolving them.
    kinds = {x["name"]: x for x in gen2_list(server, s)}
    assert kinds["passwd"]["type"] == "symlink"
    assert kinds["etcdir"]["type"] == "symlink"
    assert kinds["passwd"]["sizeInBytes"] == len("/etc/passwd")
    rec = gen2_list(server, s, "&recursive=true")
    assert all(x["directory"] == "" for x in rec)  # not descended into
    st, _, m = server.json("GET", "/files/passwd?identifier=" + s)
    assert st == 200 and m["type"] == "symlink"
    # A listing through a link is refused.
    st, _, out = server.json("GET", "/files?identifier=%s&path=etcdir" % s)
    assert st == 400 and out["error"]["code"] == "SymlinkNotFollowed"
    # Upload over a link replaces the link, never its target.
    passwd = open("/etc/passwd", "rb").read()
    st, o = upload(server, s, "passwd", b"mine")
    assert st == 200, o
    assert open("/etc/passwd", "rb").read() == passwd
    assert download(server, s, "passwd")[2] == b"mine"
    st, o = upload(server, s, "other", b"overwritten?")
    assert st == 200
    assert other.read_bytes() == b"other session's secret"
    # Upload into a linked directory is refused.
    st, o = upload(server, s, "etcdir/evil.conf", b"x")
    assert st == 400 and o["error"]["code"] == "SymlinkNotFollowed", o
    assert not os.path.exists("/etc/evil.conf")
    # Delete removes the link, never the target.
    st, _, _ = send(server, "DELETE", "/files/environ?identifier=" + s)
    assert st == 204
    st, _, _ = send(server, "DELETE", "/files/etcdir?identifier=" + s)
    assert st == 204
    assert os.path.isdir("/etc") and os.path.exists("/etc/passwd")
    assert other.read_bytes() == b"other session's secret"


def test_dotdot_is_refused(server):
    s = ident()
    upload(server, s, "ok.txt", b"ok")
    for path in ("/files/content/../../etc/passwd",
                 "/files/content/%2e%2e/%2e%2e/etc/passwd",
                 "/files/content/sub/..%2F..%2Fetc/passwd",
                 "/files/..%2Fetc%2Fpasswd/content",
                 "/files/mnt/data/../x"):
        st, _, body = send(server, "GET", path + "?identifier=" + s)
        assert_error(st, body, 400, "InvalidFileName", [".."])
    st, o = upload(server, s, "../escape.txt", b"x")
    assert st == 400 and ".." in o["error"]["message"], o
    st, o = upload(server, s, "/mnt/data/../../etc/x", b"x")
    assert st == 400, o
    st, o = upload(server, s, "/etc/cron.d/x", b"x")
    assert st == 400 and "/mnt/data" in o["error"]["message"], o
    st, o = upload(server, s, "x.txt", b"x", route="files",
                   query="&path=../..")
    assert st == 400 and ".." in o["error"]["message"], o
    st, _, out = server.json("GET", "/files?identifier=%s&path=.." % s)
    assert st == 400
    assert set(gen1_names(server, s)) == {"ok.txt"}


def test_nul_is_refused(server):
    s = ident()
    upload(server, s, "a", b"the file a")
    st, _, body = send(server, "GET", "/files/content/a%00.png?identifier="
                       + s)
    assert_error(st, body, 400, "InvalidFileName", ["NUL"])
    st, _, body = send(server, "GET", "/files/a%00.png/content?identifier="
                       + s)
    assert_error(st, body, 400, "InvalidFileName", ["NUL"])
    disp = "form-data; name=file; filename*=utf-8''a%00.png"
    st, _, body = send(server, "POST", "/files/upload?identifier=" + s,
                       part("b", None, b"x", disposition=disp),
                       {"Content-Type": "multipart/form-data; boundary=b"})
    assert_error(st, body, 400, None, ["NUL"])
    st, _, body = send(server, "POST", "/files/upload?identifier=" + s,
                       part("b", "a\x00.png", b"x"),
                       {"Content-Type": "multipart/form-data; boundary=b"})
    assert_error(st, body, 400, None, ["NUL"])
    assert download(server, s, "a")[2] == b"the file a"


def test_control_characters_and_long_names(server):
    s = ident()
    st, o = upload(server, s, "tab\there", b"x")
    assert st == 400 and "control character" in o["error"]["message"], o
    st, _, body = send(server, "GET", "/files/content/a%01b?identifier=" + s)
    assert_error(st, body, 400, "InvalidFileName", ["control"])
    assert upload(server, s, "n" * 255, b"x")[0] == 200
    st, o = upload(server, s, "n" * 256, b"x")
    assert st == 400 and "255" in o["error"]["message"], o
    st, _, body = send(server, "GET", "/files/content/%s?identifier=%s"
                       % ("n" * 256, s))
    assert_error(st, body, 400, "InvalidFileName", ["255"])
    long_path = "/".join(["d" * 200] * 21)  # 4220 bytes
    st, o = upload(server, s, long_path, b"x")
    assert st == 400 and "4096" in o["error"]["message"], o
    st, _, body = send(server, "GET", "/files?identifier=%s&path=%s"
                       % (s, long_path))
    assert_error(st, body, 400, "InvalidFileName", ["4096"])


# ---------------------------------------------------------------------
# Limits, streaming, quota
# ---------------------------------------------------------------------

def stream_body(boundary, filename, total, chunk=MiB, seed=b""):
    """A multipart body of total payload bytes, generated chunk by chunk
    (never all in memory); returns (generator, sha256 hasher)."""
    h = hashlib.sha256()
    block = hashlib.sha256(seed or b"x").digest() * (chunk // 32)

    def gen():
        yield ('--%s\r\nContent-Disposition: form-data; name="file"; '
               'filename="%s"\r\nContent-Type: application/octet-stream'
               '\r\n\r\n' % (boundary, filename)).encode()
        left = total
        i = 0
        while left > 0:
            n = min(chunk, left)
            piece = bytes([i & 0xff]) + block[1:n]
            h.update(piece)
            yield piece
            left -= n
            i += 1
        yield ("\r\n--%s--\r\n" % boundary).encode()
    return gen(), h


def no_leftovers(srv, s, allowed=()):
    left = sorted(p.name for p in data_dir(srv, s).iterdir())
    assert left == sorted(allowed), left


def test_upload_over_the_limit_413_and_nothing_left(server):
    s = ident()
    upload(server, s, "keep.txt", b"k")
    gen, _ = stream_body("lim", "huge.bin", 200 * MiB)
    t = time.time()
    st, _, body = send(server, "POST", "/files/upload?identifier=" + s, gen,
                       {"Content-Type": "multipart/form-data; boundary=lim"})
    assert_error(st, body, 413, "FileTooLarge", ["files.upload_max"])
    assert time.time() - t < 120
    assert set(gen1_names(server, s)) == {"keep.txt"}
    no_leftovers(server, s, ["keep.txt"])
    # Replacing an existing file with a too large one keeps the old one.
    gen, _ = stream_body("lim", "keep.txt", 129 * MiB)
    st, _, body = send(server, "POST", "/files/upload?identifier=" + s, gen,
                       {"Content-Type": "multipart/form-data; boundary=lim"})
    assert st == 413
    assert download(server, s, "keep.txt")[2] == b"k"
    assert server.request("GET", "/health")[0] == 200


def test_100mib_round_trip_sha256(server):
    s = ident()
    gen, h = stream_body("big", "big.bin", 100 * MiB, seed=b"rt")
    st, _, body = send(server, "POST", "/files?identifier=%s&api-version=%s"
                       % (s, V10), gen,
                       {"Content-Type": "multipart/form-data; boundary=big"})
    assert st == 200, body
    assert json.loads(body)["sizeInBytes"] == 100 * MiB
    c = http.client.HTTPConnection(server.host, server.port, timeout=300)
    c.request("GET", "/files/big.bin/content?identifier=" + s)
    r = c.getresponse()
    assert r.status == 200
    assert r.getheader("Content-Length") == str(100 * MiB)
    got = hashlib.sha256()
    n = 0
    while True:
        piece = r.read(MiB)
        if not piece:
            break
        got.update(piece)
        n += len(piece)
    c.close()
    assert n == 100 * MiB and got.hexdigest() == h.hexdigest()
    p = run(server, s, "import hashlib\nh = hashlib.sha256()\n"
            "f = open('big.bin', 'rb')\n"
            "for b in iter(lambda: f.read(1 << 20), b''): h.update(b)\n"
            "h.hexdigest()")
    assert p["result"] == h.hexdigest()
    assert send(server, "DELETE", "/files/big.bin?identifier=" + s)[0] == 204


def vmrss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_1gib_upload_rss_bound(make_server):
    if "asan" in str(SANDPOOL):
        pytest.skip("the RSS of an ASan process (shadow memory, quarantine) "
                    "says nothing about the server's own memory use")
    srv = make_server(config="files.upload_max = 2G\nfiles_quota = 2G\n")
    s = ident()
    # Warm the code paths (threads, buffers) before measuring.
    gen, _ = stream_body("w", "warm.bin", 8 * MiB)
    assert send(srv, "POST", "/files/upload?identifier=" + s, gen,
                {"Content-Type": "multipart/form-data; boundary=w"})[0] == 200
    before = vmrss_kib(srv.proc.pid)
    gen, h = stream_body("gig", "gig.bin", 1024 * MiB, seed=b"g")
    st, _, body = send(srv, "POST", "/files/upload?identifier=" + s, gen,
                       {"Content-Type": "multipart/form-data; boundary=gig"})
    after = vmrss_kib(srv.proc.pid)
    assert st == 200, body
    assert json.loads(body)["value"][0]["properties"]["size"] == 1024 * MiB
    growth = (after - before) / 1024.0
    print("VmRSS before %d KiB, after %d KiB, growth %.1f MiB"
          % (before, after, growth))
    assert growth < 16, (before, after)
    assert send(srv, "DELETE", "/files/gig.bin?identifier=" + s)[0] == 204


def test_quota_fill_from_code_and_upload_past_quota(make_server):
    srv = make_server(config="files_quota = 8M\n")
    other, s = ident(), ident()
    assert upload(srv, other, "intact.txt", b"other session")[0] == 200
    p = run(srv, s, """
import errno
n = 0
try:
    with open('fill.bin', 'wb') as f:
        while True:
            f.write(b'x' * 65536)
            f.flush()
            n += 65536
except OSError as e:
    err = e.errno
(err == errno.ENOSPC, n)
""")
    assert p["status"] == "Success", p
    full, n = eval(p["result"])
    assert full and 6 * MiB <= n <= 8 * MiB, p["result"]
    assert srv.request("GET", "/health")[0] == 200
    # An upload into the full area: 507 and no partial file.
    gen, _ = stream_body("q", "more.bin", 2 * MiB)
    st, _, body = send(srv, "POST", "/files/upload?identifier=" + s, gen,
                       {"Content-Type": "multipart/form-data; boundary=q"})
    assert_error(st, body, 507, "InsufficientStorage", ["quota", "8 MiB"])
    no_leftovers(srv, s, ["fill.bin"])
    # Room again after a delete; an upload larger than the quota fails.
    assert send(srv, "DELETE", "/files/fill.bin?identifier=" + s)[0] == 204
    gen, _ = stream_body("q", "toobig.bin", 9 * MiB)
    st, _, body = send(srv, "POST", "/files/upload?identifier=" + s, gen,
                       {"Content-Type": "multipart/form-data; boundary=q"})
    assert st == 507, body
    no_leftovers(srv, s)
    assert upload(srv, s, "fits.bin", b"y" * MiB)[0] == 200
    assert download(srv, other, "intact.txt")[2] == b"other session"
    p = run(srv, s, "len(open('fits.bin', 'rb').read())")
    assert p["result"] == MiB


def test_unauthenticated_upload_stores_nothing(make_server):
    srv = make_server(keys=["k1-0123456789abcdef"])
    s = ident()
    st, _, body = send(srv, "POST", "/files/upload?identifier=" + s,
                       part("b", "x.txt", b"x"),
                       {"Content-Type": "multipart/form-data; boundary=b"})
    assert st == 401, body
    st, _, body = srv.request("GET", "/session?identifier=" + s)
    assert st == 404  # not even a session was made
    st, _, body = send(srv, "POST", "/files/upload?identifier=" + s,
                       part("b", "x.txt", b"x"),
                       {"Content-Type": "multipart/form-data; boundary=b",
                        "Authorization": "Bearer k1-0123456789abcdef"})
    assert st == 200, body


# ---------------------------------------------------------------------
# URL inputs
# ---------------------------------------------------------------------

def test_data_urls(server):
    s = ident()
    url = "data:text/csv;base64," + base64.b64encode(b"a,b\n1,2\n").decode()
    st, _, o = server.json("POST", "/files?identifier=%s&api-version=%s&"
                           "url=%s&name=fetched.csv" % (s, V10, q(url)))
    assert st == 200, o
    assert o["name"] == "fetched.csv" and o["sizeInBytes"] == 8
    assert download(server, s, "fetched.csv")[2] == b"a,b\n1,2\n"
    st, _, o = server.json("POST", "/files?identifier=%s&api-version=%s"
                           % (s, V10),
                           {"url": "data:,hello%20world%0A",
                            "name": "/mnt/data/pct.txt"})
    assert st == 200 and o["name"] == "pct.txt", o
    assert download(server, s, "pct.txt")[2] == b"hello world\n"
    st, _, o = server.json("POST", "/files?identifier=%s&api-version=%s"
                           % (s, GEN1), {"url": "data:,x", "name": "g1.txt"})
    assert st == 200 and o["value"][0]["properties"]["filename"] == \
        "g1.txt"
    st, _, o = server.json("POST", "/files?identifier=" + s,
                           {"url": "data:;base64,!!!", "name": "bad"})
    assert st == 400 and o["error"]["code"] == "InvalidUrl", o
    st, _, o = server.json("POST", "/files?identifier=" + s,
                           {"url": "file:///etc/passwd", "name": "p"})
    assert st == 400 and o["error"]["code"] == "InvalidUrl", o
    st, _, o = server.json("POST", "/files?identifier=" + s,
                           {"url": "data:,x", "name": "../x"})
    assert st == 400 and o["error"]["code"] == "InvalidFileName", o
    assert "p" not in gen1_names(server, s)


class Handler(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):
        Handler.hits.append(self.path)
        if self.path == "/report.csv":
            body = b"x,y\n3,4\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/named":
            self.send_response(200)
            self.send_header("Content-Disposition",
                             'attachment; filename="from-header.txt"')
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"hd")
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, *a):
        pass


def http_server(host="127.0.0.1", port=0, handler=Handler):
    httpd = http.server.ThreadingHTTPServer((host, port), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    return httpd


def test_http_fetch_private_allowed_by_switch(make_server):
    httpd = http_server()
    try:
        port = httpd.server_address[1]
        url = "http://127.0.0.1:%d/report.csv" % port
        srv = make_server(config="files.url_allow_private = true\n")
        s = ident()
        st, _, o = srv.json("POST", "/files?identifier=%s&api-version=%s"
                            % (s, V10), {"url": url})
        assert st == 200, o
        assert o["name"] == "report.csv" and o["sizeInBytes"] == 8
        assert download(srv, s, "report.csv")[2] == b"x,y\n3,4\n"
        st, _, o = srv.json("POST", "/files?identifier=%s&url=%s"
                            % (s, q("http://127.0.0.1:%d/named" % port)))
        assert st == 200 and o["name"] == "from-header.txt", o
        st, _, o = srv.json("POST", "/files?identifier=%s" % s,
                            {"url": "http://127.0.0.1:%d/missing" % port})
        assert st == 502 and "404" in o["error"]["message"], o

        off = make_server()
        hits = len(Handler.hits)
        st, _, o = off.json("POST", "/files?identifier=%s" % s,
                            {"url": url})
        msg = assert_error(st, json.dumps(o).encode(), 400, "UrlNotAllowed",
                           ["127.0.0.1", "private", "url_allow_private"])
        assert "loopback" in msg
        st, _, o = off.json("POST", "/files?identifier=%s" % s,
                            {"url": url.replace("127.0.0.1", "localhost")})
        assert st == 400 and o["error"]["code"] == "UrlNotAllowed", o
        assert len(Handler.hits) == hits  # never connected
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_redirect_to_private_address_refused():
    """Needs a non-private address that serves locally: the scenario runs
    in a network namespace of its own (this file's __main__), where
    8.8.8.8 is put on lo; nothing leaves the host."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace")
    env = dict(os.environ)
    r = subprocess.run(["unshare", "-n", sys.executable, __file__,
                        "netns-redirect"], env=env, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "redirect refused" in r.stdout


def netns_redirect():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", "8.8.8.8/32", "dev", "lo"],
                   check=True)
    secret_hits = []

    class Public(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/hello.txt":
                self.send_response(200)
                self.send_header("Content-Length", "5")
                self.end_headers()
                self.wfile.write(b"hello")
                return
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:8081/secret"
                             if self.path == "/redir" else
                             "file:///etc/passwd")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    class Private(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            secret_hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"secret")

        def log_message(self, *a):
            pass

    pub = http_server("8.8.8.8", 8080, Public)
    priv = http_server("127.0.0.1", 8081, Private)
    srv = Server()
    try:
        s = ident()
        st, _, o = srv.json("POST", "/files?identifier=" + s,
                            {"url": "http://8.8.8.8:8080/hello.txt"})
        assert st == 200 and o["name"] == "hello.txt", o
        st, _, o = srv.json("POST", "/files?identifier=" + s,
                            {"url": "http://8.8.8.8:8080/redir",
                             "name": "stolen.txt"})
        assert st == 400, o
        assert o["error"]["code"] == "UrlNotAllowed", o
        assert "127.0.0.1" in o["error"]["message"], o
        assert secret_hits == [], secret_hits
        st, _, o = srv.json("POST", "/files?identifier=" + s,
                            {"url": "http://8.8.8.8:8080/to-file",
                             "name": "p.txt"})
        assert st == 400 and o["error"]["code"] == "InvalidUrl", o
        names = [x["name"] for x in gen2_list(srv, s)]
        assert names == ["hello.txt"], names
        print("redirect refused:", o["error"]["message"])
    finally:
        srv.stop()
        srv.cleanup()
        pub.shutdown()
        priv.shutdown()


# ---------------------------------------------------------------------
# Persistence
# ---------------------------------------------------------------------

def test_files_survive_kernel_death_and_timeout_kill(server):
    s = ident()
    upload(server, s, "up.txt", b"uploaded")
    run(server, s, "open('made.txt', 'w').write('made by code')")
    p = run(server, s, "import os\nos._exit(3)")
    assert p["error"]["code"] == "KernelDied", p
    assert download(server, s, "up.txt")[2] == b"uploaded"
    assert download(server, s, "made.txt")[2] == b"made by code"
    p = run(server, s, "import signal\nsignal.signal(signal.SIGINT, "
            "signal.SIG_IGN)\nwhile True:\n    pass", timeoutInSeconds=1)
    assert p["error"]["code"] == "Timeout" and "restarted" in \
        p["error"]["message"], p
    assert set(gen1_names(server, s)) == {"up.txt", "made.txt"}
    assert download(server, s, "up.txt")[2] == b"uploaded"
    p = run(server, s, "open('up.txt').read()")
    assert p["result"] == "uploaded"


def test_files_removed_after_delete_session(server):
    s = ident()
    upload(server, s, "gone.txt", b"bye")
    d = data_dir(server, s)
    sdir = d.parent
    assert (d / "gone.txt").read_bytes() == b"bye"
    assert server.request("DELETE", "/session?identifier=" + s)[0] == 204
    deadline = time.time() + 15
    while sdir.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert not sdir.exists()
    assert str(sdir) not in open("/proc/self/mountinfo").read()
    # Same identifier again: a new, empty session.
    assert gen1_names(server, s) == {}


def test_files_before_the_sandbox_started(make_server):
    """A brand-new session with no warm sandbox: the upload makes the data
    directory, and the sandbox that starts later sees the file."""
    srv = make_server(env={"SANDPOOL_POOL_READY": "0"})
    s = ident()
    assert upload(srv, s, "early.txt", b"early")[0] == 200
    p = run(srv, s, "open('early.txt').read()")
    assert p["result"] == "early", p


if __name__ == "__main__" and sys.argv[1:] == ["netns-redirect"]:
    netns_redirect()
