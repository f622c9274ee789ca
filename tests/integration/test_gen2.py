# SPDX-License-Identifier: MIT
"""Gen2 POST executions against the real server: the flat body, the reply
shape field by field, status codes per api-version, executionResult as a
string, InlineBase64, output truncation, shell commands, asynchronous runs
and GET executions/{id}."""
import base64
import time
import uuid

from conftest import GEN2


def ident():
    return "g2-" + uuid.uuid4().hex[:12]


def post(server, body, s, version=GEN2, fresh=False):
    path = "/executions?identifier=%s" % s
    if version is not None:
        path += "&api-version=%s" % version
    return server.json("POST", path, body, fresh=fresh)


# ---- the reply shape ----

def test_shape_field_by_field(server):
    s = ident()
    st, h, b = post(server, {"codeInputType": "Inline",
                             "executionType": "Synchronous",
                             "code": "print('hi')\n6 * 7",
                             "timeoutInSeconds": 60}, s)
    assert st == 200, b
    assert h["content-type"].startswith("application/json")
    assert set(b) == {"id", "identifier", "executionType", "status",
                      "result"}, b
    uuid.UUID(b["id"])  # a UUID
    assert h["operation-id"] == b["id"]
    assert b["identifier"] == s
    assert b["executionType"] == "Synchronous"
    assert b["status"] == "Succeeded"
    r = b["result"]
    assert set(r) == {"stdout", "stderr", "executionResult",
                      "executionTimeInMilliseconds", "outputs"}, r
    assert r["stdout"] == "hi\n"
    assert r["stderr"] == ""
    assert r["executionResult"] == "42"
    assert isinstance(r["executionTimeInMilliseconds"], int)
    assert 0 <= r["executionTimeInMilliseconds"] < 10000
    assert r["outputs"] == []


def test_ids_differ_per_execution(server):
    s = ident()
    a = server.gen2({"code": "1"}, s)
    b = server.gen2({"code": "2"}, s)
    assert a["id"] != b["id"]
    assert a["result"]["executionResult"] == "1"
    assert b["result"]["executionResult"] == "2"


def test_failure_has_error_object(server):
    s = ident()
    b = server.gen2({"code": "x = 1\ndef f():\n    raise KeyError('kk')\nf()"},
                    s)
    assert b["status"] == "Failed"
    assert set(b["error"]) == {"code", "message", "stack"}
    assert b["error"]["code"] == "PythonError"
    assert b["error"]["message"] == "KeyError: 'kk'"
    assert "raise KeyError('kk')" in b["error"]["stack"]
    assert "Traceback" in b["error"]["stack"]
    assert b["result"]["stderr"].endswith("KeyError: 'kk'\n")
    assert "Traceback" in b["result"]["stderr"]
    assert b["result"]["stdout"] == ""
    assert b["result"]["executionResult"] == ""
    # The state before the exception is kept.
    assert server.gen2({"code": "x + 1"}, s)["result"]["executionResult"] \
        == "2"


def test_success_has_no_error_object(server):
    b = server.gen2({"code": "print(1)"}, ident())
    assert b["status"] == "Succeeded"
    assert "error" not in b


def test_timeout_in_gen2(server):
    s = ident()
    server.gen2({"code": "kept = 5"}, s)
    t = time.time()
    b = server.gen2({"code": "while True:\n    pass", "timeoutInSeconds": 1},
                    s)
    assert time.time() - t < 10
    assert b["status"] == "Failed"
    assert b["error"]["code"] == "Timeout"
    assert "KeyboardInterrupt" in b["result"]["stderr"]
    assert server.gen2({"code": "kept"}, s)["result"]["executionResult"] \
        == "5"


# ---- api-version and status codes ----

def test_status_202_for_2024_10_02_preview(server):
    s = ident()
    st, h, b = post(server, {"code": "3 * 3"}, s,
                    version="2024-10-02-preview")
    assert st == 202, b
    # Still a finished synchronous run, not an async acceptance.
    assert b["status"] == "Succeeded"
    assert b["executionType"] == "Synchronous"
    assert b["result"]["executionResult"] == "9"
    assert h["operation-id"] == b["id"]


def test_status_200_for_other_versions(server):
    s = ident()
    for v in ("2025-02-02-preview", "2025-10-02-preview", None,
              "2099-01-01-preview", "bogus"):
        st, _, b = post(server, {"code": "7 + 1"}, s, version=v)
        assert st == 200, (v, st, b)
        assert b["status"] == "Succeeded", (v, b)
        assert b["result"]["executionResult"] == "8", (v, b)


def test_enums_are_case_insensitive(server):
    s = ident()
    for cit, et in (("inline", "synchronous"), ("INLINE", "SYNCHRONOUS"),
                    ("Inline", "synchronous"), ("inlinetext", "Synchronous"),
                    ("INLINEBASE64", "sYnChRoNoUs")):
        code = "40 + 2"
        if cit.lower() == "inlinebase64":
            code = base64.b64encode(code.encode()).decode()
        b = server.gen2({"codeInputType": cit, "executionType": et,
                         "code": code}, s)
        assert b["status"] == "Succeeded", (cit, et, b)
        assert b["executionType"] == "Synchronous", (cit, et, b)
        assert b["result"]["executionResult"] == "42", (cit, et, b)


def test_minimal_body_only_code(server):
    b = server.gen2({"code": "'minimal'"}, ident())
    assert b["status"] == "Succeeded"
    assert b["result"]["executionResult"] == "minimal"


# ---- executionResult ----

def test_execution_result_is_a_string(server):
    s = ident()
    cases = [("42", "42"), ("4.0", "4.0"), ("float('nan')", "nan"),
             ("float('inf')", "inf"), ("'abc'", "abc"),
             ("2**80", str(2**80)), ("True", "True"), ("[1, 2]", "[1, 2]"),
             ("x = 1", ""), ("import os", ""), ("None", None)]
    for code, want in cases:
        b = server.gen2({"code": code}, s)
        assert b["status"] == "Succeeded", (code, b)
        got = b["result"]["executionResult"]
        assert got == want, (code, got, want)
        if want is None:
            assert "executionResult" in b["result"]
        else:
            assert isinstance(got, str), (code, got)


def test_print_as_last_line_gives_empty_string(server):
    """docs/API.md's own Gen2 example: code "print(7*9)" answers
    stdout "63\n" and executionResult "" (not null)."""
    b = server.gen2({"codeInputType": "Inline", "executionType": "Synchronous",
                     "code": "print(7*9)", "timeoutInSeconds": 60,
                     "outputStreamsMaxLength": 4096}, ident())
    assert b["status"] == "Succeeded"
    assert b["result"]["stdout"] == "63\n"
    assert b["result"]["stderr"] == ""
    assert b["result"]["executionResult"] == "", b


def test_execution_result_none_is_json_null(server):
    st, _, raw = server.request(
        "POST", "/executions?identifier=%s&api-version=%s" % (ident(), GEN2),
        {"code": "None"})
    assert st == 200
    assert b'"executionResult":null' in raw.replace(b" ", b"")


def test_dataframe_outputs_html(server):
    b = server.gen2({"code": "import pandas as pd\n"
                              "pd.DataFrame({'a': [1, 2]})"}, ident())
    assert b["status"] == "Succeeded", b
    html = [o for o in b["result"]["outputs"] if o["type"] == "html"]
    assert len(html) == 1 and "<table" in html[0]["data"]
    assert isinstance(b["result"]["executionResult"], str)
    assert "a" in b["result"]["executionResult"]


# ---- InlineBase64 ----

def test_inline_base64(server):
    s = ident()
    code = "y = 'b64 ok'\nprint('é')\ny"
    b = server.gen2({"codeInputType": "InlineBase64",
                     "code": base64.b64encode(code.encode()).decode()}, s)
    assert b["status"] == "Succeeded", b
    assert b["result"]["stdout"] == "é\n"
    assert b["result"]["executionResult"] == "b64 ok"
    # The decoded code ran in the session: y exists.
    assert server.gen2({"code": "y"}, s)["result"]["executionResult"] \
        == "b64 ok"


def test_inline_text_is_plain_code(server):
    b = server.gen2({"codeInputType": "InlineText", "code": "'QUJD'"},
                    ident())
    assert b["result"]["executionResult"] == "QUJD"


# ---- output truncation ----

def test_output_streams_max_length_truncates(server):
    s = ident()
    b = server.gen2({"code": "print('x' * 1000)\n'done'",
                     "outputStreamsMaxLength": 100}, s)
    assert b["status"] == "Succeeded", b
    assert b["error"]["code"] == "OutputTruncated"
    assert "100" in b["error"]["message"]
    out = b["result"]["stdout"]
    assert out == ("x" * 100 + "\n[sandpool: output truncated at 100 bytes;"
                   " 901 bytes dropped]\n"), out
    assert b["result"]["stderr"] == ""
    assert b["result"]["executionResult"] == "done"


def test_truncation_of_stderr(server):
    b = server.gen2({"code": "import sys\nsys.stderr.write('e' * 50)",
                     "outputStreamsMaxLength": 10}, ident())
    assert b["status"] == "Succeeded", b
    assert b["error"]["code"] == "OutputTruncated"
    assert b["result"]["stderr"] == ("e" * 10 + "\n[sandpool: output "
                                     "truncated at 10 bytes; 40 bytes "
                                     "dropped]\n")


def test_output_under_limit_is_not_truncated(server):
    b = server.gen2({"code": "print('y' * 99)", "outputStreamsMaxLength": 100},
                    ident())
    assert b["status"] == "Succeeded"
    assert b["result"]["stdout"] == "y" * 99 + "\n"
    assert "error" not in b


# ---- shell commands ----

def test_shell_exit_code_and_streams(server):
    s = ident()
    st, h, b = post(server, {"shellCommand":
                             "echo out; echo err >&2; exit 3"}, s)
    assert st == 200, b
    assert h["operation-id"] == b["id"]
    assert b["identifier"] == s
    assert b["executionType"] == "Synchronous"
    assert b["status"] == "3"
    assert b["exitCode"] == 3 and isinstance(b["exitCode"], int)
    assert b["result"]["stdout"] == "out\n"
    assert b["result"]["stderr"] == "err\n"
    assert isinstance(b["result"]["executionTimeInMilliseconds"], int)


def test_shell_success_is_status_0(server):
    b = server.gen2({"shellCommand": "printf 'a\\nb\\n'"}, ident())
    assert b["status"] == "0"
    assert b["exitCode"] == 0
    assert b["result"]["stdout"] == "a\nb\n"
    assert b["result"]["stderr"] == ""
    assert "error" not in b


def test_shell_with_docs_body_and_lowercase_enums(server):
    b = server.gen2({"codeInputType": "inline", "executionType": "synchronous",
                     "shellCommand": "echo Hello world!",
                     "timeoutInSeconds": 600}, ident())
    assert b["status"] == "0"
    assert b["result"]["stdout"] == "Hello world!\n"


def test_shell_runs_in_mnt_data_with_bash(server):
    b = server.gen2({"shellCommand": "pwd; echo $BASH_VERSION | cut -c1"},
                    ident())
    lines = b["result"]["stdout"].splitlines()
    assert lines[0] == "/mnt/data"
    assert lines[1].isdigit()


def test_shell_and_python_share_files(server):
    s = ident()
    p = server.gen2({"code": "open('from_py.txt', 'w').write('written by "
                             "python\\n')"}, s)
    assert p["status"] == "Succeeded", p
    b = server.gen2({"shellCommand": "cat from_py.txt && cat "
                     "/mnt/data/from_py.txt"}, s)
    assert b["status"] == "0", b
    assert b["result"]["stdout"] == "written by python\n" * 2
    b = server.gen2({"shellCommand": "echo written by bash > from_sh.txt"}, s)
    assert b["status"] == "0", b
    p = server.gen2({"code": "open('/mnt/data/from_sh.txt').read()"}, s)
    assert p["result"]["executionResult"] == "written by bash\n"


def test_shell_does_not_touch_python_state(server):
    s = ident()
    server.gen2({"code": "z = 11"}, s)
    assert server.gen2({"shellCommand": "true"}, s)["status"] == "0"
    assert server.gen2({"code": "z"}, s)["result"]["executionResult"] == "11"


def test_shell_timeout_gives_124(server):
    s = ident()
    t = time.time()
    b = server.gen2({"shellCommand": "echo started; sleep 30",
                     "timeoutInSeconds": 1}, s)
    assert time.time() - t < 10
    assert b["status"] == "124", b
    assert b["exitCode"] == 124
    assert b["error"]["code"] == "Timeout"
    # The session still works afterwards.
    b = server.gen2({"shellCommand": "echo after"}, s)
    assert b["status"] == "0" and b["result"]["stdout"] == "after\n"


def test_shell_timeout_keeps_python_state(server):
    """The timeout message says "the session's state was kept"; a shell
    command that sleeps must not cost the Python kernel its variables."""
    s = ident()
    server.gen2({"code": "survivor = 'still here'"}, s)
    b = server.gen2({"shellCommand": "sleep 30", "timeoutInSeconds": 1}, s)
    assert b["status"] == "124", b
    assert "state was kept" in b["error"]["message"], b
    r = server.gen2({"code": "survivor"}, s)
    assert r["status"] == "Succeeded", r
    assert r["result"]["executionResult"] == "still here", r


def test_shell_output_truncation(server):
    b = server.gen2({"shellCommand": "head -c 300 /dev/zero | tr '\\0' z",
                     "outputStreamsMaxLength": 20}, ident())
    assert b["status"] == "0", b
    assert b["error"]["code"] == "OutputTruncated"
    assert b["result"]["stdout"] == ("z" * 20 + "\n[sandpool: output "
                                     "truncated at 20 bytes; 280 bytes "
                                     "dropped]\n")


# ---- asynchronous runs and GET executions/{id} ----

def wait_finished(server, s, exec_id, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, _, b = server.json("GET", "/executions/%s?identifier=%s"
                               "&api-version=%s" % (exec_id, s, GEN2))
        assert st == 200, b
        if b["status"] != "Running":
            return b
        time.sleep(0.1)
    raise AssertionError("execution %s still running" % exec_id)


def test_asynchronous_execution(server):
    s = ident()
    st, h, b = post(server, {"code": "import time\ntime.sleep(1.5)\n"
                             "print('async out')\n'async result'",
                             "executionType": "Asynchronous"}, s)
    assert st == 202, b
    assert b["status"] == "Running"
    assert b["executionType"] == "Asynchronous"
    assert b["identifier"] == s
    exec_id = b["id"]
    uuid.UUID(exec_id)
    assert h["operation-id"] == exec_id
    loc = h["operation-location"]
    assert loc.rstrip("/").split("?")[0].endswith("executions/" + exec_id)
    # Right away it is still running.
    st, _, now = server.json("GET", "/executions/%s?identifier=%s"
                             % (exec_id, s))
    assert st == 200 and now["status"] == "Running", now
    done = wait_finished(server, s, exec_id)
    assert done["id"] == exec_id
    assert done["identifier"] == s
    assert done["executionType"] == "Asynchronous"
    assert done["status"] == "Succeeded"
    assert done["result"]["stdout"] == "async out\n"
    assert done["result"]["executionResult"] == "async result"
    assert done["result"]["executionTimeInMilliseconds"] >= 1400


def test_asynchronous_failure_and_shell(server):
    s = ident()
    st, _, b = post(server, {"code": "1/0", "executionType": "asynchronous"},
                    s)
    assert st == 202 and b["status"] == "Running"
    done = wait_finished(server, s, b["id"])
    assert done["status"] == "Failed"
    assert done["error"]["code"] == "PythonError"
    assert done["error"]["message"] == "ZeroDivisionError: division by zero"
    st, _, b = post(server, {"shellCommand": "exit 5",
                             "executionType": "ASYNCHRONOUS"}, s)
    assert st == 202 and b["status"] == "Running"
    done = wait_finished(server, s, b["id"])
    assert done["status"] == "5" and done["exitCode"] == 5


def test_get_execution_of_sync_run_returns_same_body(server):
    s = ident()
    st, h, b = post(server, {"code": "print('again')\n5 * 5"}, s)
    assert st == 200
    st, h2, g = server.json("GET", "/executions/%s?identifier=%s"
                            "&api-version=%s" % (b["id"], s, GEN2))
    assert st == 200, g
    assert g == b
    # A shell run too.
    st, _, b = post(server, {"shellCommand": "echo sh; exit 2"}, s)
    st, _, g = server.json("GET", "/executions/%s?identifier=%s"
                           % (b["id"], s))
    assert st == 200 and g == b


def test_unknown_execution_id_404(server):
    s = ident()
    server.gen2({"code": "1"}, s)
    for exec_id, who in ((str(uuid.uuid4()), s),
                         ("not-a-real-id", s),
                         (str(uuid.uuid4()), ident())):
        st, h, b = server.json("GET", "/executions/%s?identifier=%s"
                               % (exec_id, who))
        assert st == 404, b
        assert b["error"]["code"] == "ExecutionNotFound"
        assert b["error"]["message"]
        assert h["x-ms-error-code"] == "ExecutionNotFound"


def test_execution_of_another_session_is_not_visible(server):
    a, b_ = ident(), ident()
    run = server.gen2({"code": "1"}, a)
    server.gen2({"code": "1"}, b_)
    st, _, body = server.json("GET", "/executions/%s?identifier=%s"
                              % (run["id"], b_))
    assert st == 404 and body["error"]["code"] == "ExecutionNotFound"


def test_history_keeps_last_16(server):
    s = ident()
    ids = [server.gen2({"code": str(i)}, s)["id"] for i in range(17)]
    st, _, b = server.json("GET", "/executions/%s?identifier=%s"
                           % (ids[0], s))
    assert st == 404 and b["error"]["code"] == "ExecutionNotFound"
    for i in (1, 16):
        st, _, b = server.json("GET", "/executions/%s?identifier=%s"
                               % (ids[i], s))
        assert st == 200 and b["result"]["executionResult"] == str(i)


def test_gen1_and_gen2_share_a_session(server):
    s = ident()
    assert server.gen1("shared = 'both'", s)["status"] == "Success"
    assert server.gen2({"code": "shared"}, s)["result"]["executionResult"] \
        == "both"


def test_identifier_in_body_is_ignored(server):
    s = ident()
    b = server.gen2({"code": "'q'", "identifier": "someone-else"}, s)
    assert b["identifier"] == s
    st, _, _ = server.json("GET", "/session?identifier=someone-else")
    assert st == 404


def test_trailing_slash_and_prefix(server):
    s = ident()
    st, h, b = server.json(
        "POST", "/subscriptions/x/resourceGroups/rg/sessionPools/default/"
        "executions/?identifier=%s&api-version=%s" % (s, GEN2),
        {"code": "'slash'"})
    assert st == 200, b
    assert b["result"]["executionResult"] == "slash"
    st, _, g = server.json("GET", "/any/prefix/executions/%s/?identifier=%s"
                           % (b["id"], s))
    assert st == 200 and g == b
