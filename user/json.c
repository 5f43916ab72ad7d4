// SPDX-License-Identifier: MIT
/*
 * json.c - a bounded JSON writer. Every string is escaped, so nothing a peer sends can break
 * the framing of a response line.
 */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void put(struct rpd_json *j, const char *s, size_t n)
{
	if (j->err)
		return;
	if (j->len + n >= j->cap) {
		j->err = -ENOSPC;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void putf(struct rpd_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct rpd_json *j, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(j, tmp, n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void put_string(struct rpd_json *j, const char *s)
{
	put(j, "\"", 1);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			put(j, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			putf(j, "\\u%04x", c);
		} else {
			put(j, (const char *)&c, 1);
		}
	}
	put(j, "\"", 1);
}

/* Comma and key before a value. */
static void member(struct rpd_json *j, const char *key)
{
	if (j->err)
		return;
	if (j->depth < 1) {
		j->err = -EINVAL;
		return;
	}
	if (!j->first[j->depth - 1])
		put(j, ",", 1);
	j->first[j->depth - 1] = false;
	if (key) {
		put_string(j, key);
		put(j, ":", 1);
	}
}

static void open_(struct rpd_json *j, const char *key, const char *brace)
{
	member(j, key);
	if (j->err)
		return;
	if (j->depth >= RPD_JSON_DEPTH) {
		j->err = -EINVAL;
		return;
	}
	put(j, brace, 1);
	j->close[j->depth] = brace[0] == '{' ? '}' : ']';
	j->first[j->depth++] = true;
}

void rpd_json_init(struct rpd_json *j, char *buf, size_t cap)
{
	memset(j, 0, sizeof(*j));
	j->buf = buf;
	j->cap = cap;
	if (cap)
		buf[0] = '\0';
	put(j, "{", 1);
	j->close[0] = '}';
	j->first[j->depth++] = true;
}

int rpd_json_finish(struct rpd_json *j)
{
	if (!j->err && j->depth != 1)
		j->err = -EINVAL;
	put(j, "}\n", 2);
	return j->err ? j->err : (int)j->len;
}

void rpd_json_obj(struct rpd_json *j, const char *key)
{
	open_(j, key, "{");
}

void rpd_json_arr(struct rpd_json *j, const char *key)
{
	open_(j, key, "[");
}

void rpd_json_end(struct rpd_json *j)
{
	if (j->err)
		return;
	if (j->depth <= 1) {
		j->err = -EINVAL;
		return;
	}
	j->depth--;
	put(j, &j->close[j->depth], 1);
}

void rpd_json_str(struct rpd_json *j, const char *key, const char *val)
{
	member(j, key);
	if (val)
		put_string(j, val);
	else
		put(j, "null", 4);
}

void rpd_json_int(struct rpd_json *j, const char *key, int64_t val)
{
	member(j, key);
	putf(j, "%" PRId64, val);
}

void rpd_json_uint(struct rpd_json *j, const char *key, uint64_t val)
{
	member(j, key);
	putf(j, "%" PRIu64, val);
}

void rpd_json_double(struct rpd_json *j, const char *key, double val)
{
	member(j, key);
	if (isfinite(val))
		putf(j, "%.6g", val);
	else
		put(j, "null", 4);
}

void rpd_json_bool(struct rpd_json *j, const char *key, bool val)
{
	member(j, key);
	put(j, val ? "true" : "false", val ? 4 : 5);
}

void rpd_json_null(struct rpd_json *j, const char *key)
{
	member(j, key);
	put(j, "null", 4);
}

int rpd_json_error(char *buf, size_t cap, const char *msg)
{
	struct rpd_json j;

	rpd_json_init(&j, buf, cap);
	rpd_json_bool(&j, "ok", false);
	rpd_json_str(&j, "error", msg);
	return rpd_json_finish(&j);
}
