// SPDX-License-Identifier: MIT
/*
 * test_multipart.c: the multipart parser against the bodies the real ACA
 * clients send (aca-api.md §4.1), fed whole, byte by byte and split at
 * every position, plus the malformed bodies and the caps.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "multipart.h"
#include "t.h"

#define NPARTS 8

struct got {
	int n;
	struct {
		char name[MP_FIELD_MAX + 1];
		char filename[MP_FILENAME_MAX + 1];
		bool has_filename;
		char ctype[MP_CTYPE_MAX + 1];
		struct buf data;
		bool ended;
	} p[NPARTS];
};

static int
g_begin(void *arg, const struct mp_part *part, struct sp_err *err)
{
	struct got *g = arg;

	(void)err;
	if (g->n >= NPARTS)
		return -E2BIG;
	snprintf(g->p[g->n].name, sizeof(g->p[g->n].name), "%s", part->name);
	snprintf(g->p[g->n].filename, sizeof(g->p[g->n].filename), "%s",
		 part->filename);
	g->p[g->n].has_filename = part->has_filename;
	snprintf(g->p[g->n].ctype, sizeof(g->p[g->n].ctype), "%s",
		 part->content_type);
	buf_init(&g->p[g->n].data, 1 << 20);
	g->n++;
	return 0;
}

static int
g_data(void *arg, const char *p, size_t n, struct sp_err *err)
{
	struct got *g = arg;

	(void)err;
	if (n == 0)
		return -EINVAL; /* never called with nothing */
	return buf_append(&g->p[g->n - 1].data, p, n);
}

static int
g_end(void *arg, struct sp_err *err)
{
	struct got *g = arg;

	(void)err;
	g->p[g->n - 1].ended = true;
	return 0;
}

static const struct mp_callbacks cbs = {g_begin, g_data, g_end};

static void
got_free(struct got *g)
{
	int i;

	for (i = 0; i < g->n; i++)
		buf_fini(&g->p[i].data);
	memset(g, 0, sizeof(*g));
}

/* Parse body in chunks: split > 0 gives two chunks, step > 0 chunks of
 * step bytes, neither the whole body at once. */
static int
run(const char *ct, const char *body, size_t len, size_t split, size_t step,
    struct got *g, struct sp_err *err)
{
	struct mp_parser *p = NULL;
	size_t off = 0;
	int rc;

	memset(g, 0, sizeof(*g));
	rc = mp_new(ct, &cbs, g, &p, err);
	if (rc < 0)
		return rc;
	while (rc == 0 && off < len) {
		size_t n = len - off;

		if (split > 0 && off == 0)
			n = split;
		else if (step > 0 && n > step)
			n = step;
		rc = mp_feed(p, body + off, n, err);
		off += n;
	}
	if (rc == 0)
		rc = mp_finish(p, err);
	mp_free(p);
	return rc;
}

struct vec {
	const char *name;
	const char *ct;   /* request Content-Type */
	const char *body;
	int ok;
	int nparts;
	int file;         /* index of the file part */
	const char *field, *filename, *data, *ctype;
	const char *errsub; /* !ok: in the message */
};

#define HEXB "9f3c1e2a7b5d4c6e8a0b1c2d3e4f5a6b"
#define GUID "6d2b1a4e-9f0c-4f4e-8b3a-2c1d0e9f8a7b"
#define UNDICI "----formdata-undici-046349741238"

static const struct vec vecs[] = {
	{"langchain_py", "multipart/form-data; boundary=" HEXB,
	 "--" HEXB "\r\n"
	 "Content-Disposition: form-data; name=\"file\"; "
	 "filename=\"test1.txt\"\r\n"
	 "Content-Type: application/octet-stream\r\n\r\n"
	 "hello, world\n\r\n"
	 "--" HEXB "--\r\n",
	 1, 1, 0, "file", "test1.txt", "hello, world\n",
	 "application/octet-stream", NULL},
	{"langchain_js_undici", "multipart/form-data; boundary=" UNDICI,
	 "--" UNDICI "\r\n"
	 "Content-Disposition: form-data; name=\"file\"; "
	 "filename=\"test.txt\"\r\n"
	 "Content-Type: application/octet-stream\r\n\r\n"
	 "from js\r\n"
	 "--" UNDICI "--",
	 1, 1, 0, "file", "test.txt", "from js", "application/octet-stream",
	 NULL},
	{"llama_index_absolute", "multipart/form-data; boundary=" HEXB,
	 "--" HEXB "\r\n"
	 "Content-Disposition: form-data; name=\"file\"; "
	 "filename=\"/mnt/data/test.csv\"\r\n"
	 "Content-Type: application/octet-stream\r\n\r\n"
	 "a,b\n1,2\n\r\n"
	 "--" HEXB "--\r\n",
	 1, 1, 0, "file", "/mnt/data/test.csv", "a,b\n1,2\n",
	 "application/octet-stream", NULL},
	{"sk_python_json_content_type", "application/json",
	 "--" HEXB "\r\n"
	 "Content-Disposition: form-data; name=\"file\"; "
	 "filename=\"/mnt/data/hello.py\"\r\n"
	 "Content-Type: application/octet-stream\r\n\r\n"
	 "print('hi')\n\r\n"
	 "--" HEXB "--\r\n",
	 1, 1, 0, "file", "/mnt/data/hello.py", "print('hi')\n",
	 "application/octet-stream", NULL},
	{"autogen_aiohttp", "multipart/form-data; boundary=" HEXB,
	 "--" HEXB "\r\n"
	 "Content-Type: application/octet-stream\r\n"
	 "Content-Disposition: form-data; name=\"file\"; "
	 "filename=\"data.bin\"; filename*=utf-8''data.bin\r\n\r\n"
	 "xyz\r\n"
	 "--" HEXB "--\r\n",
	 1, 1, 0, "file", "data.bin", "xyz", "application/octet-stream",
	 NULL},
	{"dotnet_quoted_boundary_filename_star",
	 "multipart/form-data; boundary=\"" GUID "\"",
	 "--" GUID "\r\n"
	 "Content-Disposition: form-data; name=file; "
	 "filename=\"=?utf-8?B?Y2Fmw6kudHh0?=\"; "
	 "filename*=utf-8''caf%C3%A9.txt\r\n\r\n"
	 "dotnet\r\n"
	 "--" GUID "--\r\n",
	 1, 1, 0, "file", "caf\xc3\xa9.txt", "dotnet", "", NULL},
	{"filename_star_first_then_plain", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; filename*=UTF-8''a%20b.txt; "
	 "name=\"file\"; filename=\"ignored.txt\"\r\n\r\nX\r\n--b--\r\n",
	 1, 1, 0, "file", "a b.txt", "X", "", NULL},
	{"latin1_filename_star", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; name=file; "
	 "filename*=iso-8859-1'en'%E9.txt\r\n\r\nX\r\n--b--\r\n",
	 1, 1, 0, "file", "\xc3\xa9.txt", "X", "", NULL},
	{"field_then_file", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n"
	 "--b\r\nContent-Disposition: form-data; name=\"file\"; "
	 "filename=\"f.txt\"\r\n\r\ncontent\r\n--b--\r\n",
	 1, 2, 1, "file", "f.txt", "content", "", NULL},
	{"preamble_padding_epilogue", "multipart/form-data; boundary=b",
	 "this is a preamble\r\n--b \t\r\nContent-Disposition: form-data; "
	 "name=file; filename=x\r\n\r\nbody\r\n--b--\r\nepilogue --b junk",
	 1, 1, 0, "file", "x", "body", "", NULL},
	{"data_looks_like_boundary", "multipart/form-data; boundary=bound",
	 "--bound\r\nContent-Disposition: form-data; name=file; "
	 "filename=x\r\n\r\n\r\n--boun\r\r\n-\r\n--\r--bound\n--bounX"
	 "\r\n\r\n--bound--",
	 1, 1, 0, "file", "x", "\r\n--boun\r\r\n-\r\n--\r--bound\n--bounX\r\n",
	 "", NULL},
	{"empty_file", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; name=file; "
	 "filename=empty\r\n\r\n\r\n--b--\r\n",
	 1, 1, 0, "file", "empty", "", "", NULL},
	{"sniff_leading_crlf", NULL,
	 "\r\n--xyz\r\nContent-Disposition: form-data; name=file; "
	 "filename=a\r\n\r\n1\r\n--xyz--\r\n",
	 1, 1, 0, "file", "a", "1", "", NULL},
	{"quoted_escapes", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; name=\"file\"; "
	 "filename=\"a\\\"b\\\\c.txt\"\r\n\r\nq\r\n--b--\r\n",
	 1, 1, 0, "file", "a\"b\\c.txt", "q", "", NULL},
	{"windows_path_unescaped", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; name=\"file\"; "
	 "filename=\"C:\\dir\\x.txt\"\r\n\r\nw\r\n--b--\r\n",
	 1, 1, 0, "file", "C:\\dir\\x.txt", "w", "", NULL},
	/* errors */
	{"no_close", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; name=file; "
	 "filename=x\r\n\r\ncut short",
	 0, 0, 0, NULL, NULL, NULL, NULL, "closing boundary"},
	{"no_boundary_at_all", "multipart/form-data; boundary=b",
	 "just some text", 0, 0, 0, NULL, NULL, NULL, NULL,
	 "no multipart"},
	{"json_not_multipart", "application/json", "{\"code\": 1}", 0, 0, 0,
	 NULL, NULL, NULL, NULL, "--BOUNDARY"},
	{"nul_in_filename_star", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; name=file; "
	 "filename*=utf-8''a%00b\r\n\r\nx\r\n--b--\r\n",
	 0, 0, 0, NULL, NULL, NULL, NULL, "NUL"},
	{"bad_charset", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; name=file; "
	 "filename*=koi8-r''a\r\n\r\nx\r\n--b--\r\n",
	 0, 0, 0, NULL, NULL, NULL, NULL, "charset"},
	{"bad_pct", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; name=file; "
	 "filename*=utf-8''a%zz\r\n\r\nx\r\n--b--\r\n",
	 0, 0, 0, NULL, NULL, NULL, NULL, "escape"},
	{"header_without_colon", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition form-data\r\n\r\nx\r\n--b--\r\n", 0, 0,
	 0, NULL, NULL, NULL, NULL, "':'"},
	{"unterminated_quote", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; name=\"file\r\n\r\nx\r\n"
	 "--b--\r\n",
	 0, 0, 0, NULL, NULL, NULL, NULL, "unterminated"},
	{"junk_after_boundary", "multipart/form-data; boundary=b",
	 "--b\r\nContent-Disposition: form-data; name=file; filename=x"
	 "\r\n\r\nx\r\n--bjunk\r\n--b--\r\n",
	 0, 0, 0, NULL, NULL, NULL, NULL, "after a multipart boundary"},
};

static void
check_vec(const struct vec *v, const struct got *g, int rc,
	  const struct sp_err *err, const char *how)
{
	if (!v->ok) {
		if (rc == 0)
			T_FAIL("%s/%s: parsed, expected an error", v->name,
			       how);
		else if (err->http != 400 || strstr(err->msg, v->errsub) == NULL)
			T_FAIL("%s/%s: error %d \"%s\", wanted \"%s\"", v->name,
			       how, err->http, err->msg, v->errsub);
		return;
	}
	if (rc != 0) {
		T_FAIL("%s/%s: rc %d: %s", v->name, how, rc, err->msg);
		return;
	}
	CHECK_INT(g->n, ==, v->nparts);
	if (g->n != v->nparts)
		return;
	CHECK_STR(g->p[v->file].name, v->field);
	CHECK_STR(g->p[v->file].filename, v->filename);
	CHECK(g->p[v->file].has_filename);
	CHECK_STR(g->p[v->file].ctype, v->ctype);
	CHECK(g->p[v->file].ended);
	if (g->p[v->file].data.len != strlen(v->data) ||
	    memcmp(g->p[v->file].data.data ? g->p[v->file].data.data : "",
		   v->data, strlen(v->data)) != 0)
		T_FAIL("%s/%s: data \"%.*s\" vs \"%s\"", v->name, how,
		       (int)g->p[v->file].data.len,
		       g->p[v->file].data.data ? g->p[v->file].data.data : "",
		       v->data);
}

TEST(client_bodies_whole_bytewise_and_every_split)
{
	size_t i, s;

	for (i = 0; i < ARRAY_SIZE(vecs); i++) {
		const struct vec *v = &vecs[i];
		size_t len = strlen(v->body);
		struct sp_err err = {0, NULL, ""};
		struct got g;
		char how[32];
		int rc;

		rc = run(v->ct, v->body, len, 0, 0, &g, &err);
		check_vec(v, &g, rc, &err, "whole");
		got_free(&g);
		rc = run(v->ct, v->body, len, 0, 1, &g, &err);
		check_vec(v, &g, rc, &err, "bytewise");
		got_free(&g);
		for (s = 1; s < len; s++) {
			snprintf(how, sizeof(how), "split@%zu", s);
			rc = run(v->ct, v->body, len, s, 0, &g, &err);
			check_vec(v, &g, rc, &err, how);
			got_free(&g);
		}
	}
}

TEST(binary_data_with_nul_and_cr)
{
	char body[600];
	unsigned char data[256];
	struct sp_err err;
	struct got g;
	size_t n = 0, i;
	int rc;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(255 - i); /* includes \r and NUL */
	n += (size_t)snprintf(body, sizeof(body),
			      "--zz\r\nContent-Disposition: form-data; "
			      "name=file; filename=bin\r\n\r\n");
	memcpy(body + n, data, sizeof(data));
	n += sizeof(data);
	memcpy(body + n, "\r\n--zz--\r\n", 10);
	n += 10;
	for (i = 1; i < 40; i++) {
		rc = run("multipart/form-data; boundary=zz", body, n, 0, i, &g,
			 &err);
		CHECK_INT(rc, ==, 0);
		CHECK_INT(g.n, ==, 1);
		CHECK_INT(g.p[0].data.len, ==, sizeof(data));
		CHECK(g.p[0].data.data &&
		      memcmp(g.p[0].data.data, data, sizeof(data)) == 0);
		got_free(&g);
	}
}

TEST(boundary_parameter)
{
	static const struct {
		const char *ct;
		int rc;
		const char *b;
	} v[] = {
		{"multipart/form-data; boundary=abc", 0, "abc"},
		{"Multipart/Form-Data;BOUNDARY=\"a b:c\"", 0, "a b:c"},
		{"multipart/form-data; charset=utf-8; boundary=x1; q=2", 0,
		 "x1"},
		{"multipart/form-data; boundary=\"" GUID "\"", 0, GUID},
		{"multipart/form-data", -ENOENT, NULL},
		{"application/json", -ENOENT, NULL},
		{NULL, -ENOENT, NULL},
		{"multipart/form-data; boundary=", -EINVAL, NULL},
		{"multipart/form-data; boundary=\"\"", -EINVAL, NULL},
		{"multipart/form-data; boundary=\"a\x01\"", -EINVAL, NULL},
	};
	char out[MP_BOUNDARY_MAX + 1];
	struct sp_err err;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		int rc = mp_boundary(v[i].ct, out, sizeof(out), &err);

		if (rc != v[i].rc)
			T_FAIL("%s: rc %d, wanted %d", v[i].ct ? v[i].ct : "-",
			       rc, v[i].rc);
		else if (rc == 0)
			CHECK_STR(out, v[i].b);
	}
}

TEST(long_boundary_refused)
{
	char ct[400], b[MP_BOUNDARY_MAX + 2];
	struct mp_parser *p = NULL;
	struct sp_err err;

	memset(b, 'x', sizeof(b) - 1);
	b[sizeof(b) - 1] = '\0';
	snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%s", b);
	CHECK_INT(mp_new(ct, &cbs, NULL, &p, &err), <, 0);
	CHECK(p == NULL);
	CHECK_INT(err.http, ==, 400);
}

TEST(header_block_cap)
{
	struct buf body;
	struct sp_err err;
	struct got g;
	int rc, i;

	buf_init(&body, 1 << 20);
	buf_printf(&body, "--b\r\nContent-Disposition: form-data; name=file; "
			  "filename=x\r\n");
	for (i = 0; i < 400; i++)
		buf_printf(&body, "X-Pad-%03d: %060d\r\n", i, i);
	buf_printf(&body, "\r\ndata\r\n--b--\r\n");
	rc = run("multipart/form-data; boundary=b", body.data, body.len, 0,
		 4096, &g, &err);
	CHECK_INT(rc, <, 0);
	CHECK(strstr(err.msg, "larger than") != NULL);
	got_free(&g);
	buf_fini(&body);
}

TEST(nul_in_part_header)
{
	static const char body[] = "--b\r\nContent-Disposition: form-data; "
				   "name=file; filename=\"a\0b\"\r\n\r\nx\r\n"
				   "--b--\r\n";
	struct sp_err err;
	struct got g;
	int rc;

	rc = run("multipart/form-data; boundary=b", body, sizeof(body) - 1, 0,
		 0, &g, &err);
	CHECK_INT(rc, <, 0);
	CHECK(strstr(err.msg, "NUL") != NULL);
	got_free(&g);
}

TEST(parts_cap)
{
	struct buf body;
	struct sp_err err;
	struct mp_parser *p = NULL;
	int i, rc;

	buf_init(&body, 1 << 20);
	for (i = 0; i < MP_PARTS_MAX + 1; i++)
		buf_printf(&body, "--b\r\nContent-Disposition: form-data; "
				  "name=f%d\r\n\r\nv\r\n",
			   i);
	buf_printf(&body, "--b--\r\n");
	CHECK_INT(mp_new("multipart/form-data; boundary=b", NULL, NULL, &p,
			 &err),
		  ==, 0);
	rc = mp_feed(p, body.data, body.len, &err);
	CHECK_INT(rc, <, 0);
	CHECK(strstr(err.msg, "parts") != NULL);
	/* The error sticks. */
	CHECK_INT(mp_feed(p, "x", 1, &err), ==, rc);
	CHECK_INT(mp_finish(p, &err), ==, rc);
	mp_free(p);
	buf_fini(&body);
}

static int
refuse(void *arg, const char *p, size_t n, struct sp_err *err)
{
	(void)arg;
	(void)p;
	(void)n;
	return sp_errf(err, 413, "FileTooLarge", "too big");
}

TEST(callback_error_stops_the_parse)
{
	static const char body[] = "--b\r\nContent-Disposition: form-data; "
				   "name=file; filename=x\r\n\r\nxyz\r\n"
				   "--b--\r\n";
	struct mp_callbacks cb = {NULL, refuse, NULL};
	struct mp_parser *p = NULL;
	struct sp_err err = {0, NULL, ""};

	CHECK_INT(mp_new("multipart/form-data; boundary=b", &cb, NULL, &p,
			 &err),
		  ==, 0);
	CHECK_INT(mp_feed(p, body, sizeof(body) - 1, &err), ==, -EINVAL);
	CHECK_INT(err.http, ==, 413);
	CHECK_INT(mp_finish(p, &err), ==, -EINVAL);
	CHECK_INT(err.http, ==, 413);
	mp_free(p);
}

TEST(disposition_for_http_responses)
{
	static const struct {
		const char *v;
		int has;
		const char *fn;
	} v[] = {
		{"attachment; filename=\"report.csv\"", 1, "report.csv"},
		{"attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf", 1,
		 "r\xc3\xa9sum\xc3\xa9.pdf"},
		{"inline", 0, ""},
		{"attachment;filename=plain.txt;", 1, "plain.txt"},
		{"attachment; size=3; filename = \"sp aced.txt\" ", 1,
		 "sp aced.txt"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		struct mp_part part;
		struct sp_err err;

		memset(&part, 0, sizeof(part));
		CHECK_INT(mp_parse_disposition(v[i].v, strlen(v[i].v), &part,
					       &err),
			  ==, 0);
		CHECK_INT(part.has_filename, ==, v[i].has);
		CHECK_STR(part.filename, v[i].fn);
	}
}

TEST(filename_cap)
{
	struct buf v;
	struct mp_part part;
	struct sp_err err;
	int i;

	buf_init(&v, 1 << 16);
	buf_printf(&v, "form-data; name=file; filename=\"");
	for (i = 0; i < MP_FILENAME_MAX + 1; i++)
		buf_append(&v, "a", 1);
	buf_printf(&v, "\"");
	memset(&part, 0, sizeof(part));
	CHECK_INT(mp_parse_disposition(v.data, v.len, &part, &err), <, 0);
	CHECK(strstr(err.msg, "longer") != NULL);
	buf_fini(&v);
}

T_MAIN()
