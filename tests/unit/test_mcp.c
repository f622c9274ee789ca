// SPDX-License-Identifier: MIT
/*
 * Unit tests for the transport-independent parts of mcp.c and the tool
 * table of mcp_tools.c: parsing, scanning, version negotiation, error
 * objects, the built-in schemas and the prompt.  The protocol end to end
 * is in tests/integration/test_mcp_*.py.
 */
#include <string.h>

#include "mcp.h"
#include "mcp_tools.h"
#include "t.h"

static json_t *
parse(const char *s, json_t **err)
{
	json_t *v = NULL;

	*err = NULL;
	if (mcp_parse(s, strlen(s), 16, &v, err) < 0)
		return NULL;
	return v;
}

TEST(versions)
{
	CHECK(mcp_version_ok("2025-11-25"));
	CHECK(mcp_version_ok("2025-06-18"));
	CHECK(mcp_version_ok("2025-03-26"));
	CHECK(!mcp_version_ok("2024-11-05"));
	CHECK(!mcp_version_ok("2026-07-28"));
	CHECK(!mcp_version_ok(""));
	CHECK(!mcp_version_ok(NULL));
}

TEST(parse_errors_are_32700_with_null_id)
{
	static const char *const bad[] = {
		"",
		"{",
		"nope",
		"{\"a\":1,\"a\":2}",
		"[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]",
		"1",
		"\"s\"",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *err, *v = parse(bad[i], &err);

		CHECK(v == NULL);
		CHECK(err != NULL);
		CHECK_INT(json_integer_value(json_object_get(
				  json_object_get(err, "error"), "code")),
			  ==, -32700);
		CHECK(json_is_null(json_object_get(err, "id")));
		json_decref(err);
	}
	/* a raw NUL byte */
	{
		json_t *v = NULL, *err = NULL;

		CHECK(mcp_parse("{\"a\":\"\0\"}", 9, 16, &v, &err) < 0);
		CHECK(v == NULL && err != NULL);
		json_decref(err);
	}
}

TEST(scan)
{
	struct mcp_scan sc;
	json_t *err, *v;

	v = parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", &err);
	mcp_scan(v, &sc);
	CHECK(!sc.batch && sc.has_request && sc.is_request && !sc.progress);
	CHECK_STR(sc.method, "ping");
	json_decref(v);

	v = parse("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
		  "initialized\"}",
		  &err);
	mcp_scan(v, &sc);
	CHECK(!sc.has_request && !sc.is_request);
	json_decref(v);

	/* a response from the client: nothing to answer */
	v = parse("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}", &err);
	mcp_scan(v, &sc);
	CHECK(!sc.has_request);
	json_decref(v);

	/* an invalid message gets an error answer */
	v = parse("{\"jsonrpc\":\"2.0\",\"id\":3}", &err);
	mcp_scan(v, &sc);
	CHECK(sc.has_request);
	json_decref(v);

	/* null and real ids are not valid request ids */
	v = parse("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
		  &err);
	mcp_scan(v, &sc);
	CHECK(!sc.is_request && sc.has_request);
	json_decref(v);

	v = parse("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/call\","
		  "\"params\":{\"name\":\"x\",\"_meta\":{\"progressToken\":"
		  "7}}}",
		  &err);
	mcp_scan(v, &sc);
	CHECK(sc.progress && sc.is_request);
	json_decref(v);

	v = parse("[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}]",
		  &err);
	mcp_scan(v, &sc);
	CHECK(sc.batch && !sc.has_request && sc.method == NULL);
	json_decref(v);

	v = parse("[]", &err);
	mcp_scan(v, &sc);
	CHECK(sc.batch && sc.has_request); /* an empty batch is an error */
	json_decref(v);
}

TEST(error_object)
{
	json_t *id = json_string("x");
	json_t *e = mcp_error(id, -32602, "bad %s", "thing");

	CHECK_STR(json_string_value(json_object_get(e, "jsonrpc")), "2.0");
	CHECK_STR(json_string_value(json_object_get(e, "id")), "x");
	CHECK_INT(json_integer_value(
			  json_object_get(json_object_get(e, "error"), "code")),
		  ==, -32602);
	CHECK_STR(json_string_value(json_object_get(json_object_get(e, "error"),
						    "message")),
		  "bad thing");
	json_decref(e);
	json_decref(id);
	e = mcp_error(NULL, -32600, "x");
	CHECK(json_is_null(json_object_get(e, "id")));
	json_decref(e);
}

TEST(tool_table)
{
	json_t *tools = mcp_tools_list(), *t;
	size_t i;

	CHECK_INT(json_array_size(tools), >=, 9);
	json_array_foreach (tools, i, t) {
		const char *name =
			json_string_value(json_object_get(t, "name"));
		json_t *in = json_object_get(t, "inputSchema");
		json_t *out = json_object_get(t, "outputSchema");

		CHECK(name != NULL && mcp_tool_find(name) != NULL);
		CHECK(strspn(name,
			     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
			     "OPQRSTUVWXYZ0123456789_-.") == strlen(name));
		CHECK_STR(json_string_value(json_object_get(in, "type")),
			  "object");
		CHECK(json_is_false(
			json_object_get(in, "additionalProperties")));
		CHECK_STR(json_string_value(json_object_get(out, "type")),
			  "object");
		/* every output key optional: error results conform too */
		CHECK(json_object_get(out, "required") == NULL);
		CHECK(json_is_object(json_object_get(t, "annotations")));
		CHECK(strlen(json_string_value(
			      json_object_get(t, "description"))) > 40);
	}
	json_decref(tools);
	CHECK(mcp_tool_find("nope") == NULL);
	CHECK(mcp_tool_find("launchPythonEnvironment") != NULL);
}

TEST(prompt)
{
	json_t *p = mcp_prompt_get("code_interpreter");
	const char *text;

	CHECK(p != NULL);
	text = json_string_value(json_object_get(
		json_object_get(
			json_array_get(json_object_get(p, "messages"), 0),
			"content"),
		"text"));
	CHECK(text != NULL);
	CHECK(strstr(text, "twice") != NULL);
	CHECK(strstr(text, "ImportNotAllowed") != NULL);
	CHECK(strstr(text, "standard library") != NULL);
	CHECK(strstr(text, "never make up") != NULL);
	json_decref(p);
	CHECK(mcp_prompt_get("other") == NULL);
	p = mcp_prompts_list();
	CHECK_INT(json_array_size(p), ==, 1);
	json_decref(p);
}

T_MAIN()
