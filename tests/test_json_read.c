// SPDX-License-Identifier: MIT
/*
 * test_json_read.c - unit tests of the JSON reader (user/json_read.c) and of reuseportctl's
 * pure half (user/ctl_render.c): documents of every kind, escapes, limits, malformed and
 * mutated input; the command line with its messages; the rendering of every response.
 *
 * Every text is parsed from an exact-size heap copy without a NUL, so the sanitizers catch
 * any read past its end.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctl_render.h"
#include "json_read.h"

/* The examples of docs/control-protocol.md. */
static const char status_doc[] =
	"{\"ok\": true, \"protocol\": 1, \"version\": \"0.1.0\", \"pid\": 4242, \"uptime_s\": 12.5,"
	" \"features\": {\"kernel\": \"6.18.44\", \"select_or_migrate\": true, \"pidfd\": true},"
	" \"policy\": \"hash\", \"policies\": [\"hash\"], \"table_size\": 4001,"
	" \"table_generation\": 7, \"listeners\": [{\"name\": \"tcp:127.0.0.1:8080\", \"proto\":"
	" \"tcp\", \"address\": \"127.0.0.1\", \"port\": 8080}], \"workers\": [{\"slot\": 0,"
	" \"pid\": 4243, \"state\": \"ready\", \"weight\": 1, \"drained\": false,"
	" \"generation\": 1,"
	" \"restarts\": 0, \"share\": 0.25, \"excluded\": null, \"steered\": 1234}]}";
static const char stats_doc[] =
	"{\"ok\": true, \"listeners\": [{\"name\": \"tcp:127.0.0.1:8080\","
	" \"slots\": [{\"slot\": 0,"
	" \"selected\": 100, \"migrated\": 0, \"probed\": 0, \"src\": 0, \"src_noaddr\": 0,"
	" \"cpu\": 7, \"cpu_fallback\": 1}], \"drops\": {\"no_ready\": 0,"
	" \"select_error\": 0, \"no_table\": 0}}]}";
static const char slot_doc[] = "{\"ok\": true, \"slot\": 3, \"weight\": 1, \"drained\": true,"
			       " \"changed\": true, \"table_generation\": 8}";
static const char policy_doc[] =
	"{\"ok\": true, \"policy\": \"hash\", \"changed\": false, \"table_generation\": 8}";

/* Parse len bytes from an exact-size copy (no NUL after it). Sets errno like the parser. */
static struct rpd_jv *parse_n(const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);
	struct rpd_jv *v;
	int saved;

	assert_non_null(copy);
	memcpy(copy, text, len);
	v = rpd_jv_parse(copy, len);
	saved = errno;
	free(copy);
	errno = saved;
	return v;
}

static struct rpd_jv *parse(const char *text)
{
	return parse_n(text, strlen(text));
}

#define BAD(text)                                                                                  \
	do {                                                                                       \
		struct rpd_jv *v_;                                                                 \
		errno = 0;                                                                         \
		v_ = parse(text);                                                                  \
		if (v_) {                                                                          \
			rpd_jv_free(v_);                                                           \
			fail_msg("accepted malformed '%s'", text);                                 \
		}                                                                                  \
		assert_int_equal(errno, EINVAL);                                                   \
	} while (0)

/* Walk a tree and check its invariants; returns the number of values. */
static size_t walk(const struct rpd_jv *v, int depth)
{
	size_t n = 1;

	assert_true(depth <= RPD_JV_MAX_DEPTH + 1);
	switch (v->type) {
	case RPD_JV_STRING:
		assert_non_null(v->str);
		assert_int_equal(v->str[v->len], '\0');
		break;
	case RPD_JV_NUMBER:
		assert_true(isfinite(v->number));
		if (v->integral)
			assert_true(v->number == floor(v->number));
		break;
	case RPD_JV_ARRAY:
	case RPD_JV_OBJECT:
		for (size_t i = 0; i < v->len; i++) {
			if (v->type == RPD_JV_OBJECT)
				assert_non_null(v->items[i]->key);
			else
				assert_null(v->items[i]->key);
			n += walk(v->items[i], depth + 1);
		}
		break;
	default:
		break;
	}
	return n;
}

/* ---- the JSON reader ---- */

static void test_scalars(void **state)
{
	struct rpd_jv *v;

	(void)state;
	v = parse("null");
	assert_int_equal(rpd_jv_type(v), RPD_JV_NULL);
	assert_true(rpd_jv_is_null(v));
	rpd_jv_free(v);

	v = parse(" true ");
	assert_int_equal(rpd_jv_type(v), RPD_JV_BOOL);
	assert_true(rpd_jv_bool(v, false));
	rpd_jv_free(v);

	v = parse("\t\r\nfalse\n");
	assert_false(rpd_jv_bool(v, true));
	rpd_jv_free(v);

	v = parse("42");
	assert_int_equal(rpd_jv_type(v), RPD_JV_NUMBER);
	assert_true(v->integral);
	assert_int_equal(rpd_jv_int(v, -1), 42);
	rpd_jv_free(v);

	v = parse("-0");
	assert_true(v->integral);
	assert_true(v->number == 0 && signbit(v->number));
	rpd_jv_free(v);

	v = parse("-12.5e3");
	assert_false(v->integral);
	assert_true(rpd_jv_number(v, 0) == -12500.0);
	assert_int_equal(rpd_jv_int(v, -7), -7); /* not written as an integer */
	rpd_jv_free(v);

	v = parse("1E+2");
	assert_true(rpd_jv_number(v, 0) == 100.0);
	assert_false(v->integral);
	rpd_jv_free(v);

	v = parse("0.25");
	assert_true(rpd_jv_number(v, 0) == 0.25);
	rpd_jv_free(v);

	v = parse("\"hello\"");
	assert_int_equal(rpd_jv_type(v), RPD_JV_STRING);
	assert_string_equal(rpd_jv_string(v, NULL), "hello");
	assert_int_equal(v->len, 5);
	rpd_jv_free(v);

	v = parse("\"\"");
	assert_string_equal(rpd_jv_string(v, NULL), "");
	rpd_jv_free(v);
}

static void test_numbers_huge(void **state)
{
	char big[512];
	struct rpd_jv *v;

	(void)state;
	v = parse("9007199254740991"); /* 2^53 - 1: exact */
	assert_true(v->integral);
	assert_int_equal(rpd_jv_int(v, 0), 9007199254740991LL);
	rpd_jv_free(v);

	v = parse("-9007199254740991");
	assert_true(v->integral);
	rpd_jv_free(v);

	v = parse("9007199254740993"); /* not exact in a double */
	assert_non_null(v);
	assert_false(v->integral);
	assert_int_equal(rpd_jv_int(v, -1), -1);
	rpd_jv_free(v);

	v = parse("18446744073709551615");
	assert_false(v->integral);
	assert_true(v->number > 1.8e19);
	rpd_jv_free(v);

	v = parse("1.7976931348623157e308");
	assert_non_null(v);
	rpd_jv_free(v);

	v = parse("1e-400"); /* underflow reads as zero */
	assert_non_null(v);
	assert_true(v->number == 0);
	rpd_jv_free(v);

	BAD("1e309");
	BAD("-1e309");
	BAD("[1e999999999999]");

	/* 400 digits overflow a double; 300 do not. Both are longer than a short token. */
	memset(big, '9', 400);
	big[400] = '\0';
	BAD(big);
	big[300] = '\0';
	v = parse(big);
	assert_non_null(v);
	assert_false(v->integral);
	rpd_jv_free(v);

	/* A long fraction. */
	big[0] = '0';
	big[1] = '.';
	memset(big + 2, '0', 200);
	big[202] = '1';
	big[203] = '\0';
	v = parse(big);
	assert_non_null(v);
	assert_true(v->number > 0 && v->number < 1e-199);
	rpd_jv_free(v);
}

static void test_numbers_bad(void **state)
{
	static const char *const bad[] = {
		"01",	"-",	 "+1",	     ".5",	  "1.",	   "1e",  "1e+",
		"0x10", "NaN",	 "Infinity", "-Infinity", "1.5.5", "- 1", "1 2",
		"--1",	"1e5e5", "00",	     "-01",	  "1.e3",  "0.",  "\"1\"x",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		BAD(bad[i]);
}

static void test_string_escapes(void **state)
{
	struct rpd_jv *v;

	(void)state;
	v = parse("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
	assert_string_equal(v->str, "\" \\ / \b \f \n \r \t");
	rpd_jv_free(v);

	v = parse("\"\\u0041\\u00e9\\u20AC\"");
	assert_string_equal(v->str, "A\xc3\xa9\xe2\x82\xac");
	rpd_jv_free(v);

	v = parse("\"\\ud83d\\ude00!\""); /* U+1F600 as a surrogate pair */
	assert_string_equal(v->str, "\xf0\x9f\x98\x80!");
	rpd_jv_free(v);

	v = parse("\"\\udbff\\udfff\""); /* U+10FFFF */
	assert_string_equal(v->str, "\xf4\x8f\xbf\xbf");
	rpd_jv_free(v);

	v = parse("\"a\\u0000b\"");
	assert_int_equal(v->len, 3);
	assert_memory_equal(v->str, "a\0b", 4);
	rpd_jv_free(v);

	v = parse("\"\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""); /* raw UTF-8 */
	assert_string_equal(v->str, "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	rpd_jv_free(v);
}

static void test_string_bad(void **state)
{
	static const char *const bad[] = {
		"\"abc",
		"\"abc\\\"",
		"\"\\",
		"\"\\x\"",
		"\"\\u12\"",
		"\"\\u12G4\"",
		"\"\\ud800\"",
		"\"\\udc00\"",
		"\"\\ud800\\u0041\"",
		"\"\\ud800\\\"",
		"\"\\ud800x\"",
		"\"\\ud800\\udbff\"",
		"\"\\U0041\"",
		"\"tab\there\"",
		"\"nl\nhere\"",
		"\"\xff\"",
		"\"\xc0\xaf\"",
		"\"\xed\xa0\x80\"",
		"\"\xe2\x82\"",
		"\"\xf4\x90\x80\x80\"",
		"\"\x80\"",
		"\"\xe0\x80\x80\"",
		"\"\xf0\x80\x80\x80\"",
		"'single'",
		"\"\\u\"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		BAD(bad[i]);
	BAD("\"\x1f\"");
	/* A NUL inside the text is not allowed anywhere. */
	assert_null(parse_n("\"a\0b\"", 5));
	assert_int_equal(errno, EINVAL);
	assert_null(parse_n("[1,\0 2]", 7));
	assert_null(parse_n("1\0", 2));
}

static void test_objects_arrays(void **state)
{
	struct rpd_jv *v;
	const struct rpd_jv *m;

	(void)state;
	v = parse(
		"{\"b\": 1, \"a\": [true, null, \"x\", {}], \"b\": 2, \"k\\u00e9y\": {\"n\": []}}");
	assert_non_null(v);
	assert_int_equal(rpd_jv_type(v), RPD_JV_OBJECT);
	assert_int_equal(rpd_jv_len(v), 4);
	assert_string_equal(rpd_jv_key(v, 0), "b");
	assert_string_equal(rpd_jv_key(v, 1), "a");
	assert_string_equal(rpd_jv_key(v, 3), "k\xc3\xa9y");
	assert_null(rpd_jv_key(v, 4));
	assert_int_equal(rpd_jv_int(rpd_jv_get(v, "b"), 0), 1); /* the first one */
	m = rpd_jv_get(v, "a");
	assert_int_equal(rpd_jv_len(m), 4);
	assert_true(rpd_jv_bool(rpd_jv_at(m, 0), false));
	assert_true(rpd_jv_is_null(rpd_jv_at(m, 1)));
	assert_string_equal(rpd_jv_string(rpd_jv_at(m, 2), NULL), "x");
	assert_int_equal(rpd_jv_type(rpd_jv_at(m, 3)), RPD_JV_OBJECT);
	assert_int_equal(rpd_jv_len(rpd_jv_at(m, 3)), 0);
	assert_null(rpd_jv_at(m, 4));
	assert_null(rpd_jv_key(m, 0)); /* not an object */
	assert_int_equal(rpd_jv_type(rpd_jv_get(rpd_jv_get(v, "k\xc3\xa9y"), "n")), RPD_JV_ARRAY);
	assert_null(rpd_jv_get(v, "missing"));
	assert_null(rpd_jv_get(v, "")); /* no such key */
	assert_null(rpd_jv_get(m, "a")); /* arrays have no keys */
	rpd_jv_free(v);

	v = parse(" [ ] ");
	assert_int_equal(rpd_jv_type(v), RPD_JV_ARRAY);
	assert_int_equal(rpd_jv_len(v), 0);
	assert_null(rpd_jv_at(v, 0));
	rpd_jv_free(v);

	/* A key holding \u0000 is not found by a shorter C string. */
	v = parse("{\"a\\u0000b\": 1, \"\": 2}");
	assert_null(rpd_jv_get(v, "a"));
	assert_int_equal(rpd_jv_int(rpd_jv_get(v, ""), 0), 2);
	rpd_jv_free(v);

	/* Many members: the arrays grow. */
	{
		char text[4096];
		size_t n = 0;

		n += snprintf(text + n, sizeof(text) - n, "[");
		for (int i = 0; i < 500; i++)
			n += snprintf(text + n, sizeof(text) - n, "%s%d", i ? "," : "", i);
		snprintf(text + n, sizeof(text) - n, "]");
		v = parse(text);
		assert_int_equal(rpd_jv_len(v), 500);
		assert_int_equal(rpd_jv_int(rpd_jv_at(v, 499), 0), 499);
		rpd_jv_free(v);
	}
}

static void test_helpers_defaults(void **state)
{
	struct rpd_jv *v;

	(void)state;
	assert_int_equal(rpd_jv_type(NULL), -1);
	assert_null(rpd_jv_get(NULL, "a"));
	assert_int_equal(rpd_jv_len(NULL), 0);
	assert_null(rpd_jv_at(NULL, 0));
	assert_null(rpd_jv_key(NULL, 0));
	assert_true(rpd_jv_number(NULL, 1.5) == 1.5);
	assert_int_equal(rpd_jv_int(NULL, 7), 7);
	assert_string_equal(rpd_jv_string(NULL, "d"), "d");
	assert_true(rpd_jv_bool(NULL, true));
	assert_false(rpd_jv_is_null(NULL));
	rpd_jv_free(NULL);

	v = parse("{\"s\": \"1\", \"n\": 1, \"b\": true, \"z\": null}");
	assert_true(rpd_jv_number(rpd_jv_get(v, "s"), -1) == -1);
	assert_int_equal(rpd_jv_int(rpd_jv_get(v, "b"), -1), -1);
	assert_string_equal(rpd_jv_string(rpd_jv_get(v, "n"), "d"), "d");
	assert_false(rpd_jv_bool(rpd_jv_get(v, "z"), false));
	assert_false(rpd_jv_is_null(rpd_jv_get(v, "n")));
	assert_int_equal(rpd_jv_len(rpd_jv_get(v, "s")), 0); /* a string has no members */
	assert_null(rpd_jv_get(rpd_jv_get(v, "s"), "x"));
	rpd_jv_free(v);
}

static void nest(char *buf, int depth, const char *open, const char *close)
{
	size_t n = 0;

	for (int i = 0; i < depth; i++)
		n += sprintf(buf + n, "%s", open);
	n += sprintf(buf + n, "1");
	for (int i = 0; i < depth; i++)
		n += sprintf(buf + n, "%s", close);
}

static void test_depth_limit(void **state)
{
	char buf[4096];
	struct rpd_jv *v;

	(void)state;
	nest(buf, RPD_JV_MAX_DEPTH, "[", "]");
	v = parse(buf);
	assert_non_null(v);
	walk(v, 1);
	rpd_jv_free(v);
	nest(buf, RPD_JV_MAX_DEPTH + 1, "[", "]");
	BAD(buf);

	nest(buf, RPD_JV_MAX_DEPTH, "{\"a\":", "}");
	v = parse(buf);
	assert_non_null(v);
	rpd_jv_free(v);
	nest(buf, RPD_JV_MAX_DEPTH + 1, "{\"a\":", "}");
	BAD(buf);

	nest(buf, RPD_JV_MAX_DEPTH / 2, "[{\"a\":", "}]");
	v = parse(buf);
	assert_non_null(v);
	rpd_jv_free(v);
	nest(buf, RPD_JV_MAX_DEPTH / 2 + 1, "[{\"a\":", "}]");
	BAD(buf);

	/* Deep nesting far past the limit fails without deep recursion. */
	memset(buf, '[', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	BAD(buf);
}

static void test_size_limits(void **state)
{
	size_t n = RPD_JV_MAX_VALUES, len = 2 * n + 1;
	char *text = malloc(len);
	struct rpd_jv *v;

	(void)state;
	/* Longer than the text limit: refused before anything is read. */
	errno = 0;
	assert_null(rpd_jv_parse("1", (size_t)RPD_JV_MAX_TEXT + 1));
	assert_int_equal(errno, EINVAL);
	assert_null(rpd_jv_parse(NULL, 1));
	assert_int_equal(errno, EINVAL);

	/* An array of RPD_JV_MAX_VALUES numbers: one value too many. */
	assert_non_null(text);
	text[0] = '[';
	for (size_t i = 0; i < n; i++) {
		text[1 + 2 * i] = '0';
		text[2 + 2 * i] = ',';
	}
	text[len - 1] = ']';
	assert_null(parse_n(text, len));
	assert_int_equal(errno, EINVAL);
	/* One number fewer: exactly at the limit. */
	text[len - 3] = ']';
	v = parse_n(text, len - 2);
	assert_non_null(v);
	assert_int_equal(rpd_jv_len(v), RPD_JV_MAX_VALUES - 1);
	rpd_jv_free(v);
	free(text);
}

static void test_garbage(void **state)
{
	static const char *const bad[] = {
		"",
		"   ",
		"{} x",
		"{}{}",
		",",
		"[1,]",
		"[,1]",
		"[1 2]",
		"{\"a\":1,}",
		"{\"a\"}",
		"{\"a\":}",
		"{1:2}",
		"{a:1}",
		"[",
		"]",
		"{",
		"}",
		"nul",
		"truex",
		"True",
		"nulll",
		"[1]]",
		"{\"a\" 1}",
		"{\"a\"::1}",
		"{,}",
		"[\"a\"",
		"/*c*/1",
		"1 // c",
		"\xef\xbb\xbf{}",
		"{\"a\":1 \"b\":2}",
		"[1,,2]",
		"@",
		"[-]",
		"[true false]",
		"{\"a\":1}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		BAD(bad[i]);
}

static void test_truncated(void **state)
{
	const char *docs[] = { status_doc, stats_doc, slot_doc, policy_doc,
			       "[\"\\ud83d\\ude00\", -1.5e-3, {\"a\": [null, true]}]" };
	struct rpd_jv *v;

	(void)state;
	for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		size_t len = strlen(docs[d]);

		v = parse_n(docs[d], len);
		assert_non_null(v);
		walk(v, 0);
		rpd_jv_free(v);
		for (size_t n = 0; n < len; n++) {
			errno = 0;
			v = parse_n(docs[d], n);
			if (v) {
				rpd_jv_free(v);
				fail_msg("accepted a prefix of %zu bytes of document %zu", n, d);
			}
			assert_int_equal(errno, EINVAL);
		}
	}
}

/* Every renderer must cope with any tree. */
static void render_all(const struct rpd_jv *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(rpd_cli_render_status(v, f), 0);
	assert_int_equal(rpd_cli_render_stats(v, f), 0);
	assert_int_equal(rpd_cli_render_slot(v, f), 0);
	assert_int_equal(rpd_cli_render_policy(v, f), 0);
	assert_int_equal(fclose(f), 0);
	free(buf);
}

/*
 * Deterministic mutations of valid documents: never a crash; when accepted, a valid tree that
 * every renderer prints.
 */
static void test_mutations(void **state)
{
	static const char alphabet[] = "{}[]\",:\\u0123456789abcdefEe+-.tfnrl \t\n\x80\xc3\xff";
	const char *docs[] = { status_doc, stats_doc, slot_doc, policy_doc };
	uint32_t seed = 12345;
	char buf[2048];
	int accepted = 0;

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		const char *doc = docs[iter % 4];
		size_t len = strlen(doc);
		int edits = 1 + iter % 4;
		struct rpd_jv *v;

		assert_true(len < sizeof(buf));
		memcpy(buf, doc, len);
		for (int e = 0; e < edits; e++) {
			size_t at;

			seed = seed * 1103515245u + 12345u;
			at = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			switch ((seed >> 16) % 3) {
			case 0: /* replace a byte */
				buf[at] = alphabet[(seed >> 4) % (sizeof(alphabet) - 1)];
				break;
			case 1: /* cut */
				len = at ? at : 1;
				break;
			default: /* duplicate a byte */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, len - at);
					len++;
				}
				break;
			}
		}
		v = parse_n(buf, len);
		if (v) {
			accepted++;
			walk(v, 0);
			render_all(v);
			rpd_jv_free(v);
		} else {
			assert_int_equal(errno, EINVAL);
		}
	}
	assert_true(accepted > 0); /* some mutations keep a document valid */
}

/* ---- reuseportctl: command line ---- */

static char err[512];

static int ctl_parse(struct rpd_cli_args *a, const char *env, const char *const *args)
{
	char *argv[32] = { "reuseportctl" };
	int argc = 1;

	for (; *args; args++)
		argv[argc++] = (char *)*args;
	err[0] = '\0';
	return rpd_cli_parse_args(a, argc, argv, env, err, sizeof(err));
}

#define CTL_OK(a, env, ...)                                                                        \
	do {                                                                                       \
		const char *const a_[] = { __VA_ARGS__, NULL };                                    \
		if (ctl_parse(a, env, a_))                                                         \
			fail_msg("unexpected error: %s", err);                                     \
	} while (0)

#define CTL_ERR(msg, ...)                                                                          \
	do {                                                                                       \
		struct rpd_cli_args a_;                                                            \
		const char *const v_[] = { __VA_ARGS__, NULL };                                    \
		assert_int_equal(ctl_parse(&a_, NULL, v_), -EINVAL);                               \
		if (strcmp(err, msg))                                                              \
			fail_msg("message '%s' is not '%s'", err, msg);                            \
	} while (0)

#define CTL_ERR_HAS(needle, ...)                                                                   \
	do {                                                                                       \
		struct rpd_cli_args a_;                                                            \
		const char *const v_[] = { __VA_ARGS__, NULL };                                    \
		assert_int_equal(ctl_parse(&a_, NULL, v_), -EINVAL);                               \
		if (!strstr(err, needle))                                                          \
			fail_msg("message '%s' lacks '%s'", err, needle);                          \
		assert_null(strchr(err, '\n'));                                                    \
	} while (0)

static void test_ctl_requests(void **state)
{
	static const struct {
		const char *args[4];
		enum rpd_cli_cmd cmd;
		const char *line;
	} ok[] = {
		{ { "status" }, RPD_CLI_STATUS, "status\n" },
		{ { "stats" }, RPD_CLI_STATS, "stats\n" },
		{ { "drain", "3" }, RPD_CLI_DRAIN, "drain 3\n" },
		{ { "undrain", "0" }, RPD_CLI_UNDRAIN, "undrain 0\n" },
		{ { "drain", "007" }, RPD_CLI_DRAIN, "drain 7\n" },
		{ { "drain", "99" }, RPD_CLI_DRAIN, "drain 99\n" }, /* the daemon decides */
		{ { "weight", "2", "5" }, RPD_CLI_WEIGHT, "weight 2 5\n" },
		{ { "weight", "2", "0" }, RPD_CLI_WEIGHT, "weight 2 0\n" },
		{ { "weight", "0", "1000" }, RPD_CLI_WEIGHT, "weight 0 1000\n" },
		{ { "policy", "hash" }, RPD_CLI_POLICY, "policy hash\n" },
		{ { "policy", "round_robin-2" }, RPD_CLI_POLICY, "policy round_robin-2\n" },
	};
	char line[64];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int argc = 0;

		while (argc < 4 && ok[i].args[argc])
			argc++;
		assert_int_equal(rpd_cli_build_request(argc, (char **)ok[i].args, line,
						       sizeof(line), err, sizeof(err)),
				 ok[i].cmd);
		assert_string_equal(line, ok[i].line);
	}
	/* The line must fit. */
	{
		char *args[] = { "status" };

		assert_int_equal(rpd_cli_build_request(1, args, line, 4, err, sizeof(err)),
				 -ENOSPC);
	}
}

static void test_ctl_request_errors(void **state)
{
	(void)state;
	CTL_ERR("weight: W must be an integer from 0 to 1000, got '1001'", "weight", "1", "1001");
	CTL_ERR("weight: W must be an integer from 0 to 1000, got '-1'", "weight", "1", "-1");
	CTL_ERR("weight: W must be an integer from 0 to 1000, got '1.5'", "weight", "1", "1.5");
	CTL_ERR("weight: W must be an integer from 0 to 1000, got ''", "weight", "1", "");
	CTL_ERR("weight: W must be an integer from 0 to 1000, got '99999999999999999999'", "weight",
		"1", "99999999999999999999");
	CTL_ERR("drain: SLOT must be a non-negative integer, got '-1'", "drain", "-1");
	CTL_ERR("drain: SLOT must be a non-negative integer, got 'x'", "drain", "x");
	CTL_ERR("undrain: SLOT must be a non-negative integer, got ' 1'", "undrain", " 1");
	CTL_ERR("weight: SLOT must be a non-negative integer, got '+2'", "weight", "+2", "1");
	CTL_ERR("drain: SLOT must be a non-negative integer, got '99999999999'", "drain",
		"99999999999");
	CTL_ERR("drain: missing SLOT; usage: reuseportctl drain SLOT", "drain");
	CTL_ERR("weight: missing SLOT; usage: reuseportctl weight SLOT W", "weight");
	CTL_ERR("weight: missing W; usage: reuseportctl weight SLOT W", "weight", "1");
	CTL_ERR("policy: missing NAME; usage: reuseportctl policy NAME", "policy");
	CTL_ERR("status: unexpected argument 'now'; usage: reuseportctl status", "status", "now");
	CTL_ERR("drain: unexpected argument '2'; usage: reuseportctl drain SLOT", "drain", "1",
		"2");
	CTL_ERR("weight: unexpected argument '3'; usage: reuseportctl weight SLOT W", "weight", "1",
		"2", "3", "4", "5", "6");
	CTL_ERR("policy: NAME must be a word of letters, digits, '-' or '_', got 'a b'", "policy",
		"a b");
	CTL_ERR("policy: NAME must be a word of letters, digits, '-' or '_', got ''", "policy", "");
	CTL_ERR("policy: NAME must be a word of letters, digits, '-' or '_', got 'a?b'", "policy",
		"a\nb"); /* a newline would split the request; it is shown as '?' */
	CTL_ERR("restart: missing SLOT|all; usage: reuseportctl restart SLOT|all", "restart");
	CTL_ERR("restart: SLOT must be a non-negative integer or 'all', got 'some'", "restart",
		"some");
	CTL_ERR("scale: N must be a number of workers from 1 to 256, got '0'", "scale", "0");
	CTL_ERR("scale: N must be a number of workers from 1 to 256, got '257'", "scale", "257");
	CTL_ERR("unknown command 'Status'; commands: status, stats, drain SLOT, undrain SLOT, "
		"weight SLOT W, policy NAME, restart SLOT|all, scale N",
		"Status");
	CTL_ERR_HAS("missing COMMAND; commands: status, stats", "--json");
	{
		struct rpd_cli_args a;
		const char *none[] = { NULL };

		assert_int_equal(ctl_parse(&a, NULL, none), -EINVAL);
		assert_string_equal(err,
				    "missing COMMAND; commands: status, stats, drain SLOT, "
				    "undrain SLOT, weight SLOT W, policy NAME, restart SLOT|all, "
				    "scale N");
	}
	/* Overlong arguments are cut in the message. */
	{
		char longname[300];

		memset(longname, 'x', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		CTL_ERR_HAS("got 'xxxx", "policy", longname);
		assert_non_null(strstr(err, "...'"));
		assert_true(strlen(err) < 200);
	}
}

static void test_ctl_options(void **state)
{
	struct rpd_cli_args a;

	(void)state;
	CTL_OK(&a, NULL, "status");
	assert_string_equal(a.control, "/run/reuseportd/control.sock");
	assert_int_equal(a.timeout_ms, 5000);
	assert_false(a.json);
	assert_int_equal(a.cmd, RPD_CLI_STATUS);
	assert_string_equal(a.request, "status\n");

	CTL_OK(&a, "/tmp/env.sock", "stats");
	assert_string_equal(a.control, "/tmp/env.sock");
	assert_string_equal(a.control_from, "REUSEPORTD_CONTROL");
	CTL_OK(&a, "", "stats"); /* empty: as if unset */
	assert_string_equal(a.control, "/run/reuseportd/control.sock");
	CTL_OK(&a, "/tmp/env.sock", "--control", "/tmp/flag.sock", "stats");
	assert_string_equal(a.control, "/tmp/flag.sock");
	CTL_OK(&a, NULL, "--control=rel.sock", "stats");
	assert_string_equal(a.control, "rel.sock");

	CTL_OK(&a, NULL, "--json", "--timeout", "500ms", "weight", "2", "5");
	assert_true(a.json);
	assert_int_equal(a.timeout_ms, 500);
	assert_int_equal(a.cmd, RPD_CLI_WEIGHT);
	assert_string_equal(a.request, "weight 2 5\n");
	CTL_OK(&a, NULL, "--timeout=2s", "status");
	assert_int_equal(a.timeout_ms, 2000);
	CTL_OK(&a, NULL, "--timeout", "1.5", "status");
	assert_int_equal(a.timeout_ms, 1500);
	CTL_OK(&a, NULL, "--timeout", "1m", "status");
	assert_int_equal(a.timeout_ms, 60000);

	/* Options after COMMAND, and "--". */
	CTL_OK(&a, NULL, "drain", "--json", "4");
	assert_true(a.json);
	assert_string_equal(a.request, "drain 4\n");
	CTL_OK(&a, NULL, "--", "drain", "4");
	assert_string_equal(a.request, "drain 4\n");

	/* --help and --version win over whatever follows. */
	CTL_OK(&a, NULL, "--help", "bogus");
	assert_true(a.help);
	CTL_OK(&a, NULL, "weight", "1", "5000", "-h");
	assert_true(a.help);
	CTL_OK(&a, NULL, "--version");
	assert_true(a.version);
	CTL_OK(&a, NULL, "-V");
	assert_true(a.version);

	CTL_ERR("unknown option '--bogus'; see reuseportctl --help", "--bogus", "status");
	CTL_ERR("unknown option '-j'; see reuseportctl --help", "-j", "status");
	CTL_ERR("option --json takes no value", "--json=yes", "status");
	CTL_ERR("option --control needs a value; see reuseportctl --help", "status", "--control");
	CTL_ERR("option --timeout needs a value; see reuseportctl --help", "status", "--timeout");
	CTL_ERR("--timeout: expected a duration above 0 such as 500ms or 2s, got '0'", "--timeout",
		"0", "status");
	CTL_ERR("--timeout: expected a duration above 0 such as 500ms or 2s, got '-1s'",
		"--timeout", "-1s", "status");
	CTL_ERR("--timeout: expected a duration above 0 such as 500ms or 2s, got '5 s'",
		"--timeout", "5 s", "status");
	CTL_ERR("--timeout: expected a duration above 0 such as 500ms or 2s, got 'soon'",
		"--timeout=soon", "status");
	CTL_ERR_HAS("--control: expected a socket path shorter than 108 bytes, got ''",
		    "--control=", "status");
	{
		char path[200];
		struct rpd_cli_args b;
		const char *args[] = { "status", NULL };

		memset(path, 'p', sizeof(path) - 1);
		path[sizeof(path) - 1] = '\0';
		CTL_ERR_HAS("--control: expected a socket path shorter than 108 bytes", "--control",
			    path, "status");
		assert_int_equal(ctl_parse(&b, path, args), -EINVAL);
		assert_non_null(strstr(err, "REUSEPORTD_CONTROL: expected a socket path"));
		path[107] = '\0'; /* 107 bytes and the NUL fit */
		assert_int_equal(ctl_parse(&b, path, args), 0);
	}
}

static void test_ctl_timeout(void **state)
{
	int ms = 0;

	(void)state;
	assert_int_equal(rpd_cli_parse_timeout("500ms", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(rpd_cli_parse_timeout("2s", &ms), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(rpd_cli_parse_timeout("1.5", &ms), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(rpd_cli_parse_timeout("0.0001", &ms), -EINVAL); /* rounds to 0 */
	assert_int_equal(rpd_cli_parse_timeout("0", &ms), -EINVAL);
	assert_int_equal(rpd_cli_parse_timeout("", &ms), -EINVAL);
	assert_int_equal(rpd_cli_parse_timeout("1h", &ms), -EINVAL);
	assert_int_equal(rpd_cli_parse_timeout("1e99", &ms), -EINVAL);
}

/* ---- reuseportctl: responses ---- */

static void test_ctl_check_response(void **state)
{
	struct rpd_jv *v;

	(void)state;
	v = parse(slot_doc);
	assert_int_equal(rpd_cli_check_response(v, err, sizeof(err)), 0);
	rpd_jv_free(v);

	v = parse("{\"ok\": false, \"error\": \"unknown slot 9: slots are 0..3\"}");
	assert_int_equal(rpd_cli_check_response(v, err, sizeof(err)), -EREMOTEIO);
	assert_string_equal(err, "unknown slot 9: slots are 0..3");
	rpd_jv_free(v);

	/* Terminal escapes and newlines from the daemon are defused. */
	v = parse("{\"ok\": false, \"error\": \"a\\u001b[31mb\\nc\\u009bd \\u00e9\"}");
	assert_int_equal(rpd_cli_check_response(v, err, sizeof(err)), -EREMOTEIO);
	assert_string_equal(err, "a?[31mb?c?d \xc3\xa9");
	rpd_jv_free(v);

	v = parse("{\"ok\": false}");
	assert_int_equal(rpd_cli_check_response(v, err, sizeof(err)), -EREMOTEIO);
	assert_string_equal(err, "the daemon refused the request without saying why");
	rpd_jv_free(v);

	v = parse("{\"ok\": false, \"error\": 5}");
	assert_int_equal(rpd_cli_check_response(v, err, sizeof(err)), -EREMOTEIO);
	rpd_jv_free(v);

	v = parse("{\"ok\": 1}");
	assert_int_equal(rpd_cli_check_response(v, err, sizeof(err)), -EPROTO);
	assert_string_equal(err, "response has no boolean \"ok\"");
	rpd_jv_free(v);

	v = parse("[{\"ok\": true}]");
	assert_int_equal(rpd_cli_check_response(v, err, sizeof(err)), -EPROTO);
	assert_string_equal(err, "response is not a JSON object");
	rpd_jv_free(v);

	assert_int_equal(rpd_cli_check_response(NULL, err, sizeof(err)), -EPROTO);
}

/* Render text with fn into a string (to be freed). */
static char *render(int (*fn)(const struct rpd_jv *, FILE *), const char *text)
{
	struct rpd_jv *v = text ? parse(text) : NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (text)
		assert_non_null(v);
	assert_int_equal(fn(v, f), 0);
	assert_int_equal(fclose(f), 0);
	rpd_jv_free(v);
	return buf;
}

#define RENDERS(fn, text, expected)                                                                \
	do {                                                                                       \
		char *out_ = render(fn, text);                                                     \
		if (strcmp(out_, expected))                                                        \
			fail_msg("rendered:\n%s\nexpected:\n%s", out_, expected);                  \
		free(out_);                                                                        \
	} while (0)

static void test_render_status(void **state)
{
	(void)state;
	RENDERS(rpd_cli_render_status, status_doc,
		"reuseportd 0.1.0  pid 4242  up 12.5s  protocol 1  policy hash  table 4001 "
		"entries (generation 7)\n"
		"kernel 6.18.44  select_or_migrate yes  pidfd yes\n"
		"listeners: tcp:127.0.0.1:8080\n"
		"SLOT   PID  STATE  WEIGHT  GEN  RESTARTS  SHARE  STEERED  EXCLUDED\n"
		"   0  4243  ready       1    1         0  25.0%     1234  -\n");

	/* Several workers: columns align to the widest cell. */
	RENDERS(rpd_cli_render_status,
		"{\"ok\": true, \"version\": \"0.1.0\", \"pid\": 1, \"uptime_s\": 3725,"
		" \"protocol\": 1, \"policy\": \"hash\", \"table_size\": 65537,"
		" \"table_generation\": 12, \"features\": {\"kernel\": \"6.1.0\","
		" \"select_or_migrate\": false, \"pidfd\": true},"
		" \"listeners\": [{\"name\": \"tcp:[::1]:53\"}, {\"name\": \"udp:[::1]:53\"}],"
		" \"workers\": [{\"slot\": 0, \"pid\": 10, \"state\": \"ready\", \"weight\": 1,"
		" \"generation\": 1, \"restarts\": 0, \"share\": 1, \"excluded\": null,"
		" \"steered\": 123456789},"
		" {\"slot\": 1, \"pid\": 11, \"state\": \"backoff\", \"weight\": 1000,"
		" \"generation\": 14, \"restarts\": 13, \"share\": 0, \"excluded\": \"not ready\","
		" \"steered\": 0}]}",
		"reuseportd 0.1.0  pid 1  up 1h02m  protocol 1  policy hash  table 65537 entries "
		"(generation 12)\n"
		"kernel 6.1.0  select_or_migrate no  pidfd yes\n"
		"listeners: tcp:[::1]:53 udp:[::1]:53\n"
		"SLOT  PID  STATE    WEIGHT  GEN  RESTARTS   SHARE    STEERED  EXCLUDED\n"
		"   0   10  ready         1    1         0  100.0%  123456789  -\n"
		"   1   11  backoff    1000   14        13    0.0%          0  not ready\n");
}

static void test_render_status_sparse(void **state)
{
	(void)state;
	/* Nothing at all: every field is '-'. */
	RENDERS(rpd_cli_render_status, "{\"ok\": true}",
		"reuseportd -  pid -  up -  protocol -  policy -  table - entries (generation -)\n"
		"features -\n"
		"listeners: -\n"
		"SLOT  PID  STATE  WEIGHT  GEN  RESTARTS  SHARE  STEERED  EXCLUDED\n");
	RENDERS(rpd_cli_render_status, NULL,
		"reuseportd -  pid -  up -  protocol -  policy -  table - entries (generation -)\n"
		"features -\n"
		"listeners: -\n"
		"SLOT  PID  STATE  WEIGHT  GEN  RESTARTS  SHARE  STEERED  EXCLUDED\n");

	/* Mistyped fields, odd rows, odd features; control characters shown as '?'. */
	RENDERS(rpd_cli_render_status,
		"{\"version\": 2, \"pid\": \"x\", \"uptime_s\": \"long\", \"protocol\": 1.5,"
		" \"policy\": \"a\\u001bb\", \"table_size\": null, \"table_generation\": [],"
		" \"features\": {\"w\\n\": [1, \"a\", [2], {}], \"o\": {}, \"n\": null,"
		" \"s\": \"\"},"
		" \"listeners\": [{}, 3], \"workers\": [{}, 5, {\"slot\": \"x\", \"share\": \"y\","
		" \"state\": \"r\\u00e9ady\", \"excluded\": true}]}",
		"reuseportd 2  pid x  up -  protocol 1.5  policy a?b  table - entries "
		"(generation -)\n"
		"w? 1,a,-,-  o -  n -  s -\n"
		"listeners: - -\n"
		"SLOT  PID  STATE  WEIGHT  GEN  RESTARTS  SHARE  STEERED  EXCLUDED\n"
		"   -    -  -           -    -         -      -        -  -\n"
		"   -    -  -           -    -         -      -        -  -\n"
		"   x    -  r\xc3\xa9"
		"ady       -    -         -      -        -  yes\n");

	/* workers that is not an array has no rows; uptimes of minutes and days. */
	RENDERS(rpd_cli_render_status, "{\"uptime_s\": 303.9, \"workers\": {\"slot\": 1}}",
		"reuseportd -  pid -  up 5m03s  protocol -  policy -  table - entries "
		"(generation -)\n"
		"features -\n"
		"listeners: -\n"
		"SLOT  PID  STATE  WEIGHT  GEN  RESTARTS  SHARE  STEERED  EXCLUDED\n");
	RENDERS(rpd_cli_render_status, "{\"uptime_s\": 273600, \"features\": {}}",
		"reuseportd -  pid -  up 3d04h  protocol -  policy -  table - entries "
		"(generation -)\n"
		"features -\n"
		"listeners: -\n"
		"SLOT  PID  STATE  WEIGHT  GEN  RESTARTS  SHARE  STEERED  EXCLUDED\n");
}

/* Replacements, retired workers and the change in progress appear under the table. */
static void test_render_status_changes(void **state)
{
	(void)state;
	RENDERS(rpd_cli_render_status,
		"{\"workers\": [{\"slot\": 2, \"replacement\": {\"pid\": 77, \"generation\": 3,"
		" \"ready\": false}}], \"retired\": [{\"slot\": 1, \"pid\": 55, \"generation\": "
		"1}],"
		" \"operation\": {\"kind\": \"restart all\", \"asked_by\": \"SIGHUP\", \"done\": 1,"
		" \"total\": 4, \"slot\": 2}}",
		"reuseportd -  pid -  up -  protocol -  policy -  table - entries (generation -)\n"
		"features -\n"
		"listeners: -\n"
		"SLOT  PID  STATE  WEIGHT  GEN  RESTARTS  SHARE  STEERED  EXCLUDED\n"
		"   2    -  -           -    -         -      -        -  -\n"
		"replacing slot 2: pid 77 gen 3 starting\n"
		"draining: slot 1 pid 55 gen 1 (retired, finishing its connections)\n"
		"operation: restart all, 1 of 4 slots done, asked by SIGHUP\n");
	RENDERS(rpd_cli_render_status,
		"{\"operation\": {\"kind\": \"scale\", \"asked_by\": \"uid=0 pid=9\", \"from\": 4,"
		" \"to\": 2, \"phase\": \"draining udp queues\"}}",
		"reuseportd -  pid -  up -  protocol -  policy -  table - entries (generation -)\n"
		"features -\n"
		"listeners: -\n"
		"SLOT  PID  STATE  WEIGHT  GEN  RESTARTS  SHARE  STEERED  EXCLUDED\n"
		"operation: scale 4 -> 2 workers (draining udp queues), asked by uid=0 pid=9\n");
}

static void test_render_stats(void **state)
{
	(void)state;
	RENDERS(rpd_cli_render_stats, stats_doc,
		"listener tcp:127.0.0.1:8080\n"
		"SLOT  SELECTED  MIGRATED  PROBED  SRC  SRC_NOADDR  CPU  CPU_FALLBACK\n"
		"   0       100         0       0    0           0    7             1\n"
		"drops: no_ready 0  select_error 0  no_table 0\n");

	RENDERS(rpd_cli_render_stats,
		"{\"ok\": true, \"listeners\": [{\"name\": \"tcp:127.0.0.1:8080\", \"slots\": ["
		"{\"slot\": 0, \"selected\": 1234567, \"migrated\": 3, \"probed\": 12},"
		"{\"slot\": 12, \"selected\": 9, \"migrated\": 0, \"probed\": 0}],"
		" \"drops\": {\"no_ready\": 5, \"select_error\": 1, \"no_table\": 2}},"
		" {\"name\": \"udp:127.0.0.1:8080\"}]}",
		"listener tcp:127.0.0.1:8080\n"
		"SLOT  SELECTED  MIGRATED  PROBED  SRC  SRC_NOADDR  CPU  CPU_FALLBACK\n"
		"   0   1234567         3      12    -           -    -             -\n"
		"  12         9         0       0    -           -    -             -\n"
		"drops: no_ready 5  select_error 1  no_table 2\n"
		"\n"
		"listener udp:127.0.0.1:8080\n"
		"SLOT  SELECTED  MIGRATED  PROBED  SRC  SRC_NOADDR  CPU  CPU_FALLBACK\n"
		"drops: no_ready -  select_error -  no_table -\n");

	RENDERS(rpd_cli_render_stats, "{\"ok\": true}", "listeners: -\n");
	RENDERS(rpd_cli_render_stats, "{\"ok\": true, \"listeners\": []}", "listeners: -\n");
	RENDERS(rpd_cli_render_stats, NULL, "listeners: -\n");
	RENDERS(rpd_cli_render_stats, "{\"listeners\": [7]}",
		"listener -\n"
		"SLOT  SELECTED  MIGRATED  PROBED  SRC  SRC_NOADDR  CPU  CPU_FALLBACK\n"
		"drops: no_ready -  select_error -  no_table -\n");
}

static void test_render_changes(void **state)
{
	(void)state;
	RENDERS(rpd_cli_render_slot, slot_doc, "slot 3: drained, weight 1 (table generation 8)\n");
	RENDERS(rpd_cli_render_slot,
		"{\"ok\": true, \"slot\": 3, \"weight\": 1, \"drained\": false, \"changed\": false,"
		" \"table_generation\": 8}",
		"slot 3: undrained, weight 1 (unchanged)\n");
	RENDERS(rpd_cli_render_slot,
		"{\"ok\": true, \"slot\": 2, \"weight\": 5, \"drained\": false, \"changed\": true,"
		" \"table_generation\": 9}",
		"slot 2: undrained, weight 5 (table generation 9)\n");
	RENDERS(rpd_cli_render_slot, "{\"ok\": true}",
		"slot -: -, weight - (table generation -)\n");
	RENDERS(rpd_cli_render_slot, NULL, "slot -: -, weight - (table generation -)\n");

	RENDERS(rpd_cli_render_policy, policy_doc, "policy hash (unchanged)\n");
	RENDERS(rpd_cli_render_policy,
		"{\"ok\": true, \"policy\": \"hash\", \"changed\": true, \"table_generation\": 9}",
		"policy hash (table generation 9)\n");
	RENDERS(rpd_cli_render_policy, "{}", "policy - (table generation -)\n");
}

static void test_render_dispatch(void **state)
{
	static const struct {
		enum rpd_cli_cmd cmd;
		const char *doc;
		const char *start;
	} cases[] = {
		{ RPD_CLI_STATUS, status_doc, "reuseportd 0.1.0" },
		{ RPD_CLI_STATS, stats_doc, "listener tcp:" },
		{ RPD_CLI_DRAIN, slot_doc, "slot 3: drained" },
		{ RPD_CLI_UNDRAIN, slot_doc, "slot 3: drained" },
		{ RPD_CLI_WEIGHT, slot_doc, "slot 3: drained" },
		{ RPD_CLI_POLICY, policy_doc, "policy hash" },
	};
	FILE *ro;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rpd_jv *v = parse(cases[i].doc);
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		assert_non_null(f);
		assert_int_equal(rpd_cli_render(cases[i].cmd, v, f), 0);
		fclose(f);
		assert_memory_equal(buf, cases[i].start, strlen(cases[i].start));
		free(buf);
		rpd_jv_free(v);
	}
	assert_int_equal(rpd_cli_render((enum rpd_cli_cmd)99, NULL, stdout), -EINVAL);

	/* A stream that fails is reported. */
	ro = fopen("/dev/null", "r");
	assert_non_null(ro);
	assert_int_equal(rpd_cli_render_policy(NULL, ro), -EIO);
	fclose(ro);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_numbers_huge),
		cmocka_unit_test(test_numbers_bad),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_string_bad),
		cmocka_unit_test(test_objects_arrays),
		cmocka_unit_test(test_helpers_defaults),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_ctl_requests),
		cmocka_unit_test(test_ctl_request_errors),
		cmocka_unit_test(test_ctl_options),
		cmocka_unit_test(test_ctl_timeout),
		cmocka_unit_test(test_ctl_check_response),
		cmocka_unit_test(test_render_status),
		cmocka_unit_test(test_render_status_sparse),
		cmocka_unit_test(test_render_status_changes),
		cmocka_unit_test(test_render_stats),
		cmocka_unit_test(test_render_changes),
		cmocka_unit_test(test_render_dispatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
