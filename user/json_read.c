// SPDX-License-Identifier: MIT
/*
 * json_read.c - a strict JSON reader that builds a read-only tree (see json_read.h).
 *
 * Owns: the grammar, string escapes and UTF-8 validation, number conversion, the depth and
 * size limits, and freeing the tree. Pure: no system calls and no global state. Numbers are
 * converted with strtod(), so the caller must keep the C locale's decimal point (no program
 * here calls setlocale()). What the members mean is left to the callers.
 */
#include "json_read.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Integers below this magnitude are exact in a double. */
#define EXACT_INT_LIMIT 9007199254740992.0 /* 2^53 */

struct parser {
	const unsigned char *p;
	const unsigned char *end;
	size_t values; /* values created so far */
	int err; /* EINVAL or ENOMEM once something failed */
};

static struct rpd_jv *parse_value(struct parser *ps, int depth);

static void *fail(struct parser *ps, int err)
{
	if (!ps->err)
		ps->err = err;
	return NULL;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct rpd_jv *new_value(struct parser *ps, enum rpd_jv_type type)
{
	struct rpd_jv *v;

	if (ps->values >= RPD_JV_MAX_VALUES)
		return fail(ps, EINVAL);
	v = calloc(1, sizeof(*v));
	if (!v)
		return fail(ps, ENOMEM);
	ps->values++;
	v->type = type;
	return v;
}

void rpd_jv_free(struct rpd_jv *root)
{
	if (!root)
		return;
	/* Recursion is bounded by RPD_JV_MAX_DEPTH. */
	if (root->type == RPD_JV_ARRAY || root->type == RPD_JV_OBJECT) {
		for (size_t i = 0; i < root->len; i++)
			rpd_jv_free(root->items[i]);
	}
	free(root->items);
	free(root->str);
	free(root->key);
	free(root);
}

/* Length of the valid UTF-8 sequence at s (at least one byte before end), or 0. */
static size_t utf8_seq(const unsigned char *s, const unsigned char *end)
{
	size_t avail = end - s, n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0; /* no overlong forms */
		else if (s[0] == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90; /* no overlong forms */
		else if (s[0] == 0xf4)
			hi = 0x8f; /* nothing above U+10FFFF */
	} else {
		return 0;
	}
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return n;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Four hex digits at s (which has at least four bytes) into *out; -EINVAL if not hex. */
static int hex4(const unsigned char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/*
 * A \uXXXX escape (or a surrogate pair of two) at ps->p, which points just past the 'u'.
 * Writes the UTF-8 encoding to out and returns its length, or 0 when malformed.
 */
static size_t unicode_escape(struct parser *ps, char *out)
{
	uint32_t cp, lo;

	if (ps->end - ps->p < 4 || hex4(ps->p, &cp))
		return 0;
	ps->p += 4;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return 0; /* a low surrogate alone */
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
		    hex4(ps->p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return 0; /* a high surrogate without its low half */
		ps->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return utf8_put(out, cp);
}

/* A string at ps->p (on its opening quote) into a new NUL-terminated buffer. */
static char *parse_string(struct parser *ps, size_t *len)
{
	const unsigned char *q;
	char *buf = NULL;
	size_t n = 0, span, k;

	if (ps->p >= ps->end || *ps->p != '"')
		return fail(ps, EINVAL);
	ps->p++;
	/* Find the closing quote; the decoded text is never longer than the span. */
	for (q = ps->p; q < ps->end && *q != '"'; q++) {
		if (*q == '\\' && ++q == ps->end)
			break;
	}
	if (q >= ps->end)
		goto malformed;
	span = q - ps->p;
	buf = malloc(span + 1);
	if (!buf)
		return fail(ps, ENOMEM);

	while (ps->p < q) {
		unsigned char c = *ps->p;

		if (c < 0x20)
			goto malformed; /* raw control characters must be escaped */
		if (c != '\\') {
			k = utf8_seq(ps->p, q);
			if (!k)
				goto malformed;
			memcpy(buf + n, ps->p, k);
			n += k;
			ps->p += k;
			continue;
		}
		ps->p++; /* the escape's letter is before q: the scan above made sure */
		c = *ps->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			buf[n++] = (char)c;
			break;
		case 'b':
			buf[n++] = '\b';
			break;
		case 'f':
			buf[n++] = '\f';
			break;
		case 'n':
			buf[n++] = '\n';
			break;
		case 'r':
			buf[n++] = '\r';
			break;
		case 't':
			buf[n++] = '\t';
			break;
		case 'u':
			/* Hex digits never include the quote, so they stay before q. */
			k = unicode_escape(ps, buf + n);
			if (!k)
				goto malformed;
			n += k;
			break;
		default:
			goto malformed;
		}
	}
	ps->p = q + 1;
	buf[n] = '\0';
	*len = n;
	return buf;

malformed:
	free(buf);
	return fail(ps, EINVAL);
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static struct rpd_jv *parse_number(struct parser *ps)
{
	const unsigned char *s = ps->p, *q = ps->p;
	struct rpd_jv *v = NULL;
	char small[64], *tok = small;
	bool plain = true;
	size_t n;
	double d;

	if (q < ps->end && *q == '-')
		q++;
	if (q < ps->end && *q == '0') {
		q++;
	} else if (q < ps->end && is_digit(*q)) {
		while (q < ps->end && is_digit(*q))
			q++;
	} else {
		return fail(ps, EINVAL);
	}
	if (q < ps->end && *q == '.') {
		plain = false;
		if (++q == ps->end || !is_digit(*q))
			return fail(ps, EINVAL);
		while (q < ps->end && is_digit(*q))
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		plain = false;
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (q == ps->end || !is_digit(*q))
			return fail(ps, EINVAL);
		while (q < ps->end && is_digit(*q))
			q++;
	}

	/* The text need not be NUL-terminated: convert a copy of the token. */
	n = q - s;
	if (n >= sizeof(small)) {
		tok = malloc(n + 1);
		if (!tok)
			return fail(ps, ENOMEM);
	}
	memcpy(tok, s, n);
	tok[n] = '\0';
	d = strtod(tok, NULL); /* underflow gives 0 or a denormal, which is fine */
	if (!isfinite(d)) {
		fail(ps, EINVAL); /* too large for a double */
		goto out;
	}
	v = new_value(ps, RPD_JV_NUMBER);
	if (!v)
		goto out;
	v->number = d;
	v->integral = plain && fabs(d) < EXACT_INT_LIMIT;
	ps->p = q;
out:
	if (tok != small)
		free(tok);
	return v;
}

static struct rpd_jv *parse_literal(struct parser *ps)
{
	static const struct {
		const char *word;
		enum rpd_jv_type type;
		bool value;
	} words[] = {
		{ "true", RPD_JV_BOOL, true },
		{ "false", RPD_JV_BOOL, false },
		{ "null", RPD_JV_NULL, false },
	};
	size_t avail = ps->end - ps->p;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].word);
		struct rpd_jv *v;

		if (avail < n || memcmp(ps->p, words[i].word, n))
			continue;
		v = new_value(ps, words[i].type);
		if (!v)
			return NULL;
		v->boolean = words[i].value;
		ps->p += n;
		return v;
	}
	return fail(ps, EINVAL);
}

/* Append child to container c (whose len counts its items); frees child on failure. */
static int append(struct parser *ps, struct rpd_jv *c, size_t *cap, struct rpd_jv *child)
{
	struct rpd_jv **items;
	size_t ncap;

	if (c->len == *cap) {
		ncap = *cap ? *cap * 2 : 4;
		if (ncap > SIZE_MAX / sizeof(*items)) {
			rpd_jv_free(child);
			fail(ps, ENOMEM);
			return -ENOMEM;
		}
		items = realloc(c->items, ncap * sizeof(*items));
		if (!items) {
			rpd_jv_free(child);
			fail(ps, ENOMEM);
			return -ENOMEM;
		}
		c->items = items;
		*cap = ncap;
	}
	c->items[c->len++] = child;
	return 0;
}

/* An array or object at ps->p (on its opening bracket), nested depth deep (1 at the top). */
static struct rpd_jv *parse_container(struct parser *ps, int depth)
{
	bool object = *ps->p == '{';
	unsigned char close = object ? '}' : ']';
	struct rpd_jv *c, *child;
	size_t cap = 0;

	if (depth > RPD_JV_MAX_DEPTH)
		return fail(ps, EINVAL);
	c = new_value(ps, object ? RPD_JV_OBJECT : RPD_JV_ARRAY);
	if (!c)
		return NULL;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return c;
	}
	for (;;) {
		char *key = NULL;
		size_t key_len = 0;

		if (object) {
			skip_ws(ps);
			key = parse_string(ps, &key_len);
			if (!key)
				goto out_free;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				fail(ps, EINVAL);
				goto out_free;
			}
			ps->p++;
		}
		child = parse_value(ps, depth);
		if (!child) {
			free(key);
			goto out_free;
		}
		child->key = key;
		child->key_len = key_len;
		if (append(ps, c, &cap, child))
			goto out_free;
		skip_ws(ps);
		if (ps->p >= ps->end) {
			fail(ps, EINVAL);
			goto out_free;
		}
		if (*ps->p == close) {
			ps->p++;
			return c;
		}
		if (*ps->p != ',') {
			fail(ps, EINVAL);
			goto out_free;
		}
		ps->p++;
	}
out_free:
	rpd_jv_free(c);
	return NULL;
}

/* Any value, with the whitespace before it; containers inside it are nested deeper. */
static struct rpd_jv *parse_value(struct parser *ps, int depth)
{
	struct rpd_jv *v;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, EINVAL);
	switch (*ps->p) {
	case '{':
	case '[':
		return parse_container(ps, depth + 1);
	case '"':
		v = new_value(ps, RPD_JV_STRING);
		if (!v)
			return NULL;
		v->str = parse_string(ps, &v->len);
		if (!v->str) {
			rpd_jv_free(v);
			return NULL;
		}
		return v;
	case 't':
	case 'f':
	case 'n':
		return parse_literal(ps);
	default:
		return parse_number(ps);
	}
}

struct rpd_jv *rpd_jv_parse(const char *text, size_t len)
{
	struct parser ps = { 0 };
	struct rpd_jv *root;

	if (!text || len > RPD_JV_MAX_TEXT) {
		errno = EINVAL;
		return NULL;
	}
	ps.p = (const unsigned char *)text;
	ps.end = ps.p + len;
	root = parse_value(&ps, 0);
	if (root) {
		skip_ws(&ps);
		if (ps.p == ps.end)
			return root;
		rpd_jv_free(root);
		fail(&ps, EINVAL); /* something follows the value */
	}
	errno = ps.err ? ps.err : EINVAL;
	return NULL;
}

int rpd_jv_type(const struct rpd_jv *v)
{
	return v ? (int)v->type : -1;
}

const struct rpd_jv *rpd_jv_get(const struct rpd_jv *obj, const char *key)
{
	size_t n;

	if (!obj || obj->type != RPD_JV_OBJECT || !key)
		return NULL;
	n = strlen(key);
	for (size_t i = 0; i < obj->len; i++) {
		const struct rpd_jv *m = obj->items[i];

		if (m->key_len == n && !memcmp(m->key, key, n))
			return m;
	}
	return NULL;
}

size_t rpd_jv_len(const struct rpd_jv *v)
{
	if (!v || (v->type != RPD_JV_ARRAY && v->type != RPD_JV_OBJECT))
		return 0;
	return v->len;
}

const struct rpd_jv *rpd_jv_at(const struct rpd_jv *v, size_t i)
{
	if (i >= rpd_jv_len(v))
		return NULL;
	return v->items[i];
}

const char *rpd_jv_key(const struct rpd_jv *obj, size_t i)
{
	if (!obj || obj->type != RPD_JV_OBJECT || i >= obj->len)
		return NULL;
	return obj->items[i]->key;
}

double rpd_jv_number(const struct rpd_jv *v, double def)
{
	return v && v->type == RPD_JV_NUMBER ? v->number : def;
}

long long rpd_jv_int(const struct rpd_jv *v, long long def)
{
	return v && v->type == RPD_JV_NUMBER && v->integral ? (long long)v->number : def;
}

const char *rpd_jv_string(const struct rpd_jv *v, const char *def)
{
	return v && v->type == RPD_JV_STRING ? v->str : def;
}

bool rpd_jv_bool(const struct rpd_jv *v, bool def)
{
	return v && v->type == RPD_JV_BOOL ? v->boolean : def;
}

bool rpd_jv_is_null(const struct rpd_jv *v)
{
	return v && v->type == RPD_JV_NULL;
}
