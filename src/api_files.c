// SPDX-License-Identifier: MIT
/*
 * api_files.c: the session-files endpoints (aca-api.md §4, §6).
 *
 *   Gen1  POST files/upload, GET files, GET files/content/{name}
 *   Gen2  POST files, GET files, GET/DELETE files/{name},
 *         GET files/{name}/content
 *
 * GET files and POST files are shared by both generations: the reply has
 * the Gen1 shape when api-version is a Gen1 version (2024-02-02-preview,
 * 2024-08-02-preview), the Gen2 shape otherwise, a missing version
 * included; files/upload always answers Gen1.
 *
 * Uploads stream: http.c hands the body to api_upload_data() as it
 * arrives, the multipart parser (multipart.c) splits it, and each file
 * part is written to an O_TMPFILE in its destination directory.  Only
 * when the whole body is in and well-formed (api_files_upload) are the
 * files linked into place, each replacing any file or symlink of that
 * name atomically; any failure leaves nothing behind.  A JSON body or
 * ?url= instead asks the server to fetch a URL (files_fetch_url).
 *
 * Every name goes through files_normalize before any file is touched, and
 * every file operation through files.c (openat2 beneath the session's
 * data directory).
 */
#define _GNU_SOURCE
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "multipart.h"

#define UPLOAD_FILES_MAX 64        /* file parts in one upload */
#define UPLOAD_OTHER_MAX (1 * MiB) /* bytes of parts that are not files */

/* ------------------------------------------------------------------ */
/* common                                                              */
/* ------------------------------------------------------------------ */

/* Gen1 shape?  By route for the Gen1-only paths, else by api-version. */
static bool
gen1(const struct api_ctx *c)
{
	const char *v = c->api_version;

	if (c->rq->route.id == ROUTE_GEN1_UPLOAD ||
	    c->rq->route.id == ROUTE_GEN1_CONTENT)
		return true;
	return v && (strcmp(v, "2024-02-02-preview") == 0 ||
		     strcmp(v, "2024-08-02-preview") == 0);
}

/* The session's files, open for one request. */
struct target {
	struct session *s; /* a reference */
	int root;          /* the data directory */
	uid_t uid;         /* the sandbox user's host uid */
};

static int
target_open(struct api_ctx *c, struct target *t, struct sp_err *err)
{
	int rc;

	t->s = NULL;
	t->root = -1;
	rc = session_get(c->sp, c->principal, c->pool, c->identifier, true,
			 &t->s, err);
	if (rc < 0)
		return rc;
	return session_open_files(c->sp, t->s, &t->root, &t->uid, err);
}

static void
target_close(struct api_ctx *c, struct target *t)
{
	if (t->s)
		snprintf(c->rq->sid, sizeof(c->rq->sid), "%s", t->s->sid);
	if (t->root >= 0)
		close(t->root);
	t->root = -1;
	session_unref(c->sp, t->s);
	t->s = NULL;
}

/*
 * The audit row and the byte counters of one file operation (issue 6):
 * op is an AUDIT_OP_FILE_*, rc/err the outcome (a 5xx is our "Error",
 * any other refusal "Failed"), names the files involved, in and out the
 * bytes stored and sent.
 */
static void
account(struct api_ctx *c, const char *op, int rc, const struct sp_err *err,
	const char *const *names, size_t n, int64_t in, int64_t out)
{
	struct audit_row row = {
		.op = op,
		.sid = c->rq->sid,
		.duration_ms = (int64_t)(now_ms() - c->rq->start_ms),
		.cpu_ms = -1,
		.peak_mem = -1,
		.bytes_in = rc < 0 ? 0 : in,
		.bytes_out = rc < 0 ? 0 : out,
		.files = names,
		.nfiles = n,
	};

	if (rc < 0) {
		row.status = err->http >= 500 ? AUDIT_ERROR : AUDIT_FAILED;
		row.error_code = err->code;
		row.http_status = err->http;
	} else {
		row.status = AUDIT_SUCCEEDED;
		row.http_status = 200;
		metrics_file_bytes(c->sp->metrics, (uint64_t)(in > 0 ? in : 0),
				   (uint64_t)(out > 0 ? out : 0));
	}
	api_audit(c, &row);
}

/* The ?path= directory, normalised ("" when absent). */
static int
query_dir(struct api_ctx *c, char *out, size_t outsz, struct sp_err *err)
{
	const char *p = http_query(c->rq, "path");

	return files_normalize(p ? p : "", FILES_DIR, out, outsz, NULL, err);
}

/*
 * The file a files/{name} route names: the name under ?path=, or, for a
 * name given under /mnt/data, that name alone.  *dirlen gets the length
 * of the directory prefix the reply's "directory" is relative to.
 */
static int
route_file(struct api_ctx *c, char *out, size_t outsz, size_t *dirlen,
	   struct sp_err *err)
{
	char dir[FILES_PATH_MAX + 1], name[FILES_PATH_MAX + 1];
	bool abs = false;
	int rc;

	rc = files_normalize(c->rq->route.arg, 0, name, sizeof(name), &abs,
			     err);
	if (rc == 0 && !abs)
		rc = query_dir(c, dir, sizeof(dir), err);
	if (rc < 0)
		return rc;
	if (abs)
		dir[0] = '\0';
	*dirlen = strlen(dir);
	return files_join(dir, name, out, outsz, err);
}

/* A JSON string for a name the sandbox may have made: bytes that are not
 * UTF-8 become U+FFFD instead of failing the whole reply. */
static json_t *
jname(const char *s)
{
	json_t *j = json_string(s);
	struct buf b;
	size_t i;

	if (j)
		return j;
	buf_init(&b, strlen(s) * 3 + 1);
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x80)
			buf_append(&b, s + i, 1);
		else
			buf_append(&b, "\xef\xbf\xbd", 3);
	}
	j = json_string(b.data ? b.data : "");
	buf_fini(&b);
	return j;
}

static const char *
type_name(const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return "file";
	if (S_ISDIR(st->st_mode))
		return "directory";
	if (S_ISLNK(st->st_mode))
		return "symlink";
	return "other";
}

/* Gen1 time: .NET's 7 fractional digits, "2026-11-22T02:00:00.0000000Z" */
static void
gen1_time(const struct stat *st, char *out, size_t n)
{
	time_t t = st->st_mtim.tv_sec;
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%07ldZ", s, st->st_mtim.tv_nsec / 100);
}

/* {"$id":"N","properties":{"$id":"N+1","filename","size",...}} */
static json_t *
gen1_entry(int *id, const char *rel, const struct stat *st)
{
	char a[16], b[16], t[48];

	snprintf(a, sizeof(a), "%d", (*id)++);
	snprintf(b, sizeof(b), "%d", (*id)++);
	gen1_time(st, t, sizeof(t));
	return json_pack("{s:s, s:{s:s, s:o, s:I, s:s, s:s}}", "$id", a,
			 "properties", "$id", b, "filename", jname(rel), "size",
			 (json_int_t)st->st_size, "lastModifiedTime", t, "type",
			 type_name(st));
}

/* The Gen2 file object.  dir is relative to the directory the request
 * named; name is the last component. */
static json_t *
gen2_entry(const char *dir, const char *name, const struct stat *st)
{
	char t[40];
	uint64_t ms = (uint64_t)st->st_mtim.tv_sec * 1000u +
		      (uint64_t)st->st_mtim.tv_nsec / 1000000u;
	const char *ctype = "application/octet-stream";
	json_t *o;

	if (S_ISREG(st->st_mode))
		ctype = files_content_type(name);
	else if (S_ISDIR(st->st_mode))
		ctype = "inode/directory";
	else if (S_ISLNK(st->st_mode))
		ctype = "inode/symlink";
	fmt_time_rfc3339(ms, t, sizeof(t));
	o = json_pack("{s:o, s:s, s:s, s:s, s:o}", "name", jname(name), "type",
		      type_name(st), "contentType", ctype, "lastModifiedAt", t,
		      "directory", jname(dir));
	if (!S_ISDIR(st->st_mode))
		json_object_set_new(o, "sizeInBytes",
				    json_integer((json_int_t)st->st_size));
	return o;
}

/* Gen2 object of rel, its "directory" relative to rel's first dirlen
 * bytes (the directory the request named). */
static json_t *
gen2_of(const char *rel, size_t dirlen, const struct stat *st)
{
	const char *slash = strrchr(rel, '/');
	const char *name = slash ? slash + 1 : rel;
	char dir[FILES_PATH_MAX + 1];
	size_t dl = slash ? (size_t)(slash - rel) : 0, skip;

	skip = dirlen < dl ? dirlen + 1 : dl;
	if (dirlen == 0)
		skip = 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(dl - skip), rel + skip);
	return gen2_entry(dir, name, st);
}

/* ------------------------------------------------------------------ */
/* list, metadata, download, delete                                    */
/* ------------------------------------------------------------------ */

struct list_ctx {
	json_t *arr;
	bool gen1;
	int id;          /* Gen1 $id counter */
	const char *dir; /* the listed directory, relative to /mnt/data */
};

static int
list_entry(void *arg, const char *dir, const char *name, const struct stat *st)
{
	struct list_ctx *l = arg;
	char *rel;

	if (!l->gen1) {
		json_array_append_new(l->arr, gen2_entry(dir, name, st));
		return 0;
	}
	if (S_ISDIR(st->st_mode))
		return 0; /* Gen1 has files only, named from /mnt/data */
	rel = xasprintf("%s%s%s%s%s", l->dir, l->dir[0] ? "/" : "", dir,
			dir[0] ? "/" : "", name);
	json_array_append_new(l->arr, gen1_entry(&l->id, rel, st));
	free(rel);
	return 0;
}

void
api_files_list(struct api_ctx *c)
{
	char dir[FILES_PATH_MAX + 1] = "";
	struct list_ctx l = {.gen1 = gen1(c), .id = 2, .dir = dir};
	const char *r = http_query(c->rq, "recursive");
	struct target t = {NULL, -1, 0};
	bool truncated = false, recursive;
	struct sp_err err;
	json_t *body;
	int rc;

	/* Gen1 lists every file below the directory (it has no notion of
	 * directories); Gen2 one level unless recursive=true. */
	recursive = l.gen1 ||
		    (r && (strcasecmp(r, "true") == 0 || strcmp(r, "1") == 0));
	rc = query_dir(c, dir, sizeof(dir), &err);
	if (rc == 0)
		rc = target_open(c, &t, &err);
	if (rc == 0) {
		l.arr = json_array();
		rc = files_list(t.root, dir, recursive, list_entry, &l,
				&truncated, &err);
	}
	target_close(c, &t);
	{
		const char *names[] = {dir};

		account(c, AUDIT_OP_FILE_LIST, rc, &err, names, 1, 0, 0);
	}
	if (rc < 0) {
		json_decref(l.arr);
		http_reply_error(c->rq, &err);
		return;
	}
	if (truncated)
		log_info("req=%llu listing truncated at %d entries",
			 (unsigned long long)c->rq->id, FILES_LIST_MAX);
	if (l.gen1)
		body = json_pack("{s:s, s:o}", "$id", "1", "value", l.arr);
	else
		body = json_pack("{s:o, s:n}", "value", l.arr, "nextLink");
	http_reply_json(c->rq, 200, body, NULL);
}

void
api_files_get(struct api_ctx *c)
{
	char rel[FILES_PATH_MAX + 1] = "";
	struct target t = {NULL, -1, 0};
	struct sp_err err;
	struct stat st;
	size_t dirlen = 0;
	int rc;

	rc = route_file(c, rel, sizeof(rel), &dirlen, &err);
	if (rc == 0)
		rc = target_open(c, &t, &err);
	if (rc == 0)
		rc = files_stat(t.root, rel, &st, &err);
	target_close(c, &t);
	{
		const char *names[] = {rel};

		account(c, AUDIT_OP_FILE_GET, rc, &err, names, rel[0] ? 1 : 0,
			0, 0);
	}
	if (rc < 0) {
		http_reply_error(c->rq, &err);
		return;
	}
	http_reply_json(c->rq, 200, gen2_of(rel, dirlen, &st), NULL);
}

/* attachment; filename*=UTF-8''<percent-encoded last component> */
static void
disposition(const char *rel, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *base = strrchr(rel, '/'), *s;
	size_t o;

	base = base ? base + 1 : rel;
	o = (size_t)snprintf(out, outsz, "attachment; filename*=UTF-8''");
	for (s = base; *s != '\0' && o + 4 < outsz; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("!#$&+-.^_`|~", ch)) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
}

void
api_files_content(struct api_ctx *c)
{
	char rel[FILES_PATH_MAX + 1] = "", cd[FILES_NAME_MAX * 3 + 64];
	struct target t = {NULL, -1, 0};
	struct sp_err err;
	struct stat st;
	size_t dirlen;
	int rc, fd = -1;

	rc = route_file(c, rel, sizeof(rel), &dirlen, &err);
	if (rc == 0)
		rc = target_open(c, &t, &err);
	if (rc == 0)
		rc = files_open_read(t.root, rel, &fd, &st, &err);
	target_close(c, &t);
	{
		const char *names[] = {rel};

		account(c, AUDIT_OP_FILE_DOWNLOAD, rc, &err, names,
			rel[0] ? 1 : 0, 0, rc < 0 ? 0 : (int64_t)st.st_size);
	}
	if (rc < 0) {
		http_reply_error(c->rq, &err);
		return;
	}
	disposition(rel, cd, sizeof(cd));
	{
		const char *hdr[] = {"Content-Type",
				     files_content_type(rel),
				     "Content-Disposition",
				     cd,
				     "X-Content-Type-Options",
				     "nosniff",
				     NULL};

		http_reply_fd(c->rq, 200, fd, (uint64_t)st.st_size, hdr);
	}
}

void
api_files_delete(struct api_ctx *c)
{
	char rel[FILES_PATH_MAX + 1] = "";
	struct target t = {NULL, -1, 0};
	struct sp_err err;
	size_t dirlen;
	int rc;

	rc = route_file(c, rel, sizeof(rel), &dirlen, &err);
	if (rc == 0)
		rc = target_open(c, &t, &err);
	if (rc == 0)
		rc = files_delete(t.root, rel, &err);
	target_close(c, &t);
	{
		const char *names[] = {rel};

		account(c, AUDIT_OP_FILE_DELETE, rc, &err, names,
			rel[0] ? 1 : 0, 0, 0);
	}
	if (rc < 0) {
		http_reply_error(c->rq, &err);
		return;
	}
	http_reply_empty(c->rq, 204);
}

/* ------------------------------------------------------------------ */
/* uploads: streaming                                                  */
/* ------------------------------------------------------------------ */

/* One file part: written to tmp, linked as rel at the end. */
struct pending {
	struct files_tmp tmp;
	int dirfd;     /* rel's parent directory */
	size_t dirlen; /* "directory" is relative to this */
	char rel[FILES_PATH_MAX + 1];
};

struct api_upload {
	struct api_ctx c; /* the caller, checked before any byte */
	enum {
		UP_UNDECIDED, /* no byte yet, type unknown */
		UP_MULTIPART,
		UP_JSON, /* a URL input: the body goes to rq->body */
	} mode;
	int rc; /* first error; later bytes are dropped */
	struct sp_err err;
	struct target t; /* opened at the first file part */
	bool t_open;
	char dir[FILES_PATH_MAX + 1]; /* ?path=, normalised */
	struct mp_parser *mp;
	struct pending *cur; /* the file part being written */
	bool skipping;       /* the current part is not a file */
	uint64_t other;      /* bytes of non-file parts */
	struct pending *done[UPLOAD_FILES_MAX];
	unsigned ndone;
};

static void
pending_free(struct pending *p)
{
	if (p == NULL)
		return;
	files_tmp_discard(&p->tmp);
	if (p->dirfd >= 0)
		close(p->dirfd);
	free(p);
}

/* Record the first error and drop everything written so far. */
static int
up_fail(struct api_upload *up, int rc, const struct sp_err *err)
{
	unsigned i;

	if (up->rc == 0) {
		up->rc = rc < 0 ? rc : -EINVAL;
		up->err = *err;
	}
	pending_free(up->cur);
	up->cur = NULL;
	for (i = 0; i < up->ndone; i++)
		pending_free(up->done[i]);
	up->ndone = 0;
	return up->rc;
}

static int
part_begin(void *arg, const struct mp_part *part, struct sp_err *err)
{
	struct api_upload *up = arg;
	struct api_ctx *c = &up->c;
	char name[FILES_PATH_MAX + 1], parent[FILES_PATH_MAX + 1];
	struct pending *p;
	bool abs = false;
	const char *slash;
	int rc;

	up->skipping = false;
	if (!part->has_filename) {
		if (strcmp(part->name, "file") == 0)
			return sp_errf(err, 400, "InvalidMultipart",
				       "the part named \"file\" has no "
				       "filename in its Content-Disposition");
		up->skipping = true; /* a form field: ignored */
		return 0;
	}
	if (up->ndone >= UPLOAD_FILES_MAX)
		return sp_errf(err, 400, "InvalidMultipart",
			       "more than %d files in one upload",
			       UPLOAD_FILES_MAX);
	rc = files_normalize(part->filename, 0, name, sizeof(name), &abs, err);
	if (rc < 0)
		return rc;
	if (!up->t_open) {
		rc = target_open(c, &up->t, err);
		up->t_open = true;
		if (rc < 0)
			return rc;
	}
	p = xcalloc(1, sizeof(*p));
	files_tmp_init(&p->tmp);
	p->dirfd = -1;
	up->cur = p;
	p->dirlen = abs ? 0 : strlen(up->dir);
	rc = files_join(abs ? "" : up->dir, name, p->rel, sizeof(p->rel), err);
	if (rc < 0)
		return rc;
	slash = strrchr(p->rel, '/');
	snprintf(parent, sizeof(parent), "%.*s",
		 slash ? (int)(slash - p->rel) : 0, p->rel);
	rc = files_open_dir(up->t.root, parent, true, up->t.uid, &p->dirfd,
			    err);
	if (rc < 0)
		return rc;
	return files_tmp_open(p->dirfd, up->t.uid, c->sp->cfg->upload_max,
			      "files.upload_max", &p->tmp, err);
}

static int
part_data(void *arg, const char *d, size_t n, struct sp_err *err)
{
	struct api_upload *up = arg;

	if (up->cur)
		return files_tmp_write(&up->cur->tmp, d, n, err);
	up->other += n;
	if (up->other > UPLOAD_OTHER_MAX)
		return sp_errf(err, 413, "PayloadTooLarge",
			       "the form fields besides the files hold more "
			       "than %llu bytes",
			       (unsigned long long)UPLOAD_OTHER_MAX);
	return 0;
}

static int
part_end(void *arg, struct sp_err *err)
{
	struct api_upload *up = arg;

	(void)err;
	if (up->cur) {
		up->done[up->ndone++] = up->cur;
		up->cur = NULL;
	}
	up->skipping = false;
	return 0;
}

static const struct mp_callbacks up_callbacks = {part_begin, part_data,
						 part_end};

bool
api_upload_begin(struct http_req *rq)
{
	struct api_upload *up;
	struct sp_err err;
	const char *ct;
	int rc;

	if (strcmp(rq->method, "POST") != 0 ||
	    (rq->route.id != ROUTE_GEN1_UPLOAD && rq->route.id != ROUTE_FILES))
		return false;
	up = xcalloc(1, sizeof(*up));
	up->t.root = -1;
	rq->upload = up;
	/* Parse, then act: nothing is stored for a caller that fails
	 * here; api_dispatch will answer with the same error. */
	rc = api_context(rq, &up->c, &err);
	if (rc == 0)
		rc = query_dir(&up->c, up->dir, sizeof(up->dir), &err);
	if (rc < 0) {
		up_fail(up, rc, &err);
		return true;
	}
	ct = http_header(rq, "Content-Type");
	if (http_query(rq, "url")) {
		up->mode = UP_JSON;
	} else if (ct && strncasecmp(ct, "multipart/", 10) == 0) {
		rc = mp_new(ct, &up_callbacks, up, &up->mp, &err);
		if (rc < 0)
			up_fail(up, rc, &err);
		up->mode = UP_MULTIPART;
	}
	return true;
}

void
api_upload_data(struct http_req *rq, const char *d, size_t n)
{
	struct api_upload *up = rq->upload;
	struct sp_err err;
	int rc;

	if (up->rc < 0)
		return; /* drop the rest; the error is answered at the end */
	if (up->mode == UP_UNDECIDED) {
		/* Sniff the first byte that is not white space: SK Python
		 * sends its multipart body as application/json. */
		while (n > 0 && strchr(" \t\r\n", d[0]) != NULL)
			d++, n--;
		if (n == 0)
			return;
		if (d[0] == '{') {
			up->mode = UP_JSON;
		} else if (d[0] == '-') {
			up->mode = UP_MULTIPART;
			rc = mp_new(NULL, &up_callbacks, up, &up->mp, &err);
			if (rc < 0) {
				up_fail(up, rc, &err);
				return;
			}
		} else {
			sp_errf(&err, 415, "UnsupportedMediaType",
				"send multipart/form-data with a part named "
				"\"file\", or a JSON object {\"url\": ...}");
			up_fail(up, -EINVAL, &err);
			return;
		}
	}
	if (up->mode == UP_JSON) {
		if (buf_append(&rq->body, d, n) < 0) {
			sp_errf(&err, 413, "PayloadTooLarge",
				"the JSON body is larger than the %llu bytes "
				"accepted (http.max_body)",
				(unsigned long long)rq->sp->cfg->max_body);
			up_fail(up, -E2BIG, &err);
		}
		return;
	}
	rc = mp_feed(up->mp, d, n, &err);
	if (rc < 0)
		up_fail(up, rc, &err);
}

void
api_upload_free(struct api_upload *up)
{
	unsigned i;

	if (up == NULL)
		return;
	pending_free(up->cur);
	for (i = 0; i < up->ndone; i++)
		pending_free(up->done[i]);
	mp_free(up->mp);
	if (up->t_open)
		target_close(&up->c, &up->t);
	free(up);
}

/* ------------------------------------------------------------------ */
/* uploads: the answer                                                 */
/* ------------------------------------------------------------------ */

/* Reply with the stored files: Gen1 list, or one Gen2 object (a list
 * {"value":[...]} when several files came in one request). */
static void
reply_stored(struct api_ctx *c, char (*rels)[FILES_PATH_MAX + 1],
	     const size_t *dirlens, const struct stat *sts, unsigned n)
{
	json_t *arr = json_array(), *body;
	int id = 2;
	unsigned i;

	for (i = 0; i < n; i++)
		json_array_append_new(
			arr, gen1(c) ? gen1_entry(&id, rels[i], &sts[i])
				     : gen2_of(rels[i], dirlens[i], &sts[i]));
	if (gen1(c)) {
		body = json_pack("{s:s, s:o}", "$id", "1", "value", arr);
	} else if (n == 1) {
		body = json_incref(json_array_get(arr, 0));
		json_decref(arr);
	} else {
		body = json_pack("{s:o, s:n}", "value", arr, "nextLink");
	}
	http_reply_json(c->rq, 200, body, NULL);
}

/* POST files?url=... or a JSON body {"url", "name", "path"}. */
static void
url_input(struct api_ctx *c, struct api_upload *up)
{
	struct http_req *rq = c->rq;
	const char *url = http_query(rq, "url"), *name = http_query(rq, "name");
	const char *path = NULL;
	char dir[FILES_PATH_MAX + 1], rel[1][FILES_PATH_MAX + 1];
	struct target t = {NULL, -1, 0};
	struct files_fetch f;
	json_t *body = NULL;
	struct sp_err err;
	struct stat st;
	size_t dirlen;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s", up->dir);
	if (rq->body.len > 0) {
		rc = json_parse_object(rq->body.data, rq->body.len,
				       c->sp->cfg->max_json_depth, &body, &err);
		if (rc == 0 && url == NULL)
			rc = json_get_str(body, "url", "url", 1, &url, &err);
		if (rc == 0 && name == NULL)
			rc = json_get_str(body, "name", "name", 0, &name, &err);
		if (rc == 0)
			rc = json_get_str(body, "path", "path", 0, &path, &err);
		if (rc == 0 && path && http_query(rq, "path") == NULL)
			rc = files_normalize(path, FILES_DIR, dir, sizeof(dir),
					     NULL, &err);
	}
	if (rc == 0 && (url == NULL || url[0] == '\0'))
		rc = sp_errf(&err, 400, "InvalidRequest",
			     "send multipart/form-data with a part named "
			     "\"file\", or a URL to fetch as ?url= or a JSON "
			     "body {\"url\": ..., \"name\": ...}");
	if (rc == 0)
		rc = target_open(c, &t, &err);
	if (rc == 0) {
		f = (struct files_fetch){
			.url = url,
			.name = name,
			.dir = dir,
			.uid = t.uid,
			.max_bytes = c->sp->cfg->url_max_bytes,
			.timeout_s = c->sp->cfg->url_timeout,
			.allow_private = c->sp->cfg->url_allow_private,
		};
		rc = files_fetch_url(t.root, &f, rel[0], sizeof(rel[0]), &st,
				     &err);
	}
	target_close(c, &t);
	json_decref(body);
	{
		const char *names[] = {rel[0]};

		account(c, AUDIT_OP_FILE_UPLOAD, rc, &err, names,
			rc < 0 ? 0 : 1, rc < 0 ? 0 : (int64_t)st.st_size, 0);
	}
	if (rc < 0) {
		http_reply_error(rq, &err);
		return;
	}
	dirlen = strlen(dir);
	reply_stored(c, rel, &dirlen, &st, 1);
}

void
api_files_upload(struct api_ctx *c)
{
	struct api_upload *up = c->rq->upload;
	char(*rels)[FILES_PATH_MAX + 1] = NULL;
	size_t dirlens[UPLOAD_FILES_MAX];
	struct stat sts[UPLOAD_FILES_MAX];
	struct sp_err err;
	const char *base;
	unsigned i, n;
	int rc;

	ENSURE(up != NULL); /* api_upload_begin takes every upload */
	if (up->rc < 0) {
		account(c, AUDIT_OP_FILE_UPLOAD, up->rc, &up->err, NULL, 0, 0,
			0);
		http_reply_error(c->rq, &up->err);
		return;
	}
	if (up->mode == UP_JSON ||
	    (up->mode == UP_UNDECIDED && http_query(c->rq, "url"))) {
		url_input(c, up);
		return;
	}
	if (up->mode == UP_UNDECIDED) {
		rc = sp_errf(&err, 400, "InvalidRequest",
			     "the body is empty; send multipart/form-data "
			     "with a part named \"file\", or a JSON body "
			     "{\"url\": ...}");
		account(c, AUDIT_OP_FILE_UPLOAD, rc, &err, NULL, 0, 0, 0);
		http_reply_error(c->rq, &err);
		return;
	}
	rc = mp_finish(up->mp, &err);
	if (rc == 0 && up->ndone == 0)
		rc = sp_errf(&err, 400, "InvalidMultipart",
			     "the body has no file part; send a part named "
			     "\"file\" with a filename");
	if (rc < 0) {
		account(c, AUDIT_OP_FILE_UPLOAD, rc, &err, NULL, 0, 0, 0);
		up_fail(up, rc, &err);
		http_reply_error(c->rq, &err);
		return;
	}
	/* Link every file into place, in the order they came. */
	n = up->ndone;
	rels = xcalloc(n, sizeof(*rels));
	for (i = 0; i < n; i++) {
		struct pending *p = up->done[i];

		base = strrchr(p->rel, '/');
		base = base ? base + 1 : p->rel;
		rc = files_tmp_commit(&p->tmp, p->dirfd, base, &sts[i], &err);
		if (rc < 0)
			break;
		memcpy(rels[i], p->rel, sizeof(rels[i]));
		dirlens[i] = p->dirlen;
	}
	if (rc < 0) {
		account(c, AUDIT_OP_FILE_UPLOAD, rc, &err, NULL, 0, 0, 0);
		up_fail(up, rc, &err);
		http_reply_error(c->rq, &err);
	} else {
		const char *names[UPLOAD_FILES_MAX];
		int64_t in = 0;

		for (i = 0; i < n; i++) {
			names[i] = rels[i];
			in += (int64_t)sts[i].st_size;
		}
		if (up->t_open && up->t.s)
			snprintf(c->rq->sid, sizeof(c->rq->sid), "%s",
				 up->t.s->sid);
		account(c, AUDIT_OP_FILE_UPLOAD, 0, &err, names, n, in, 0);
		reply_stored(c, rels, dirlens, sts, n);
	}
	free(rels);
}
