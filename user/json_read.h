/* SPDX-License-Identifier: MIT */
/*
 * json_read.h - a small, strict JSON reader: text in, read-only tree out.
 *
 * Owns: the grammar of RFC 8259 (strict: no comments, no trailing commas, UTF-8 only), escapes
 * and \uXXXX surrogate pairs, the depth and size limits, and the lookup helpers that make
 * missing or mistyped members read as a default. Pure: no system calls. Writing JSON, and what
 * any member means, belong to the callers.
 */
#ifndef RPD_JV_READ_H
#define RPD_JV_READ_H

#include <stdbool.h>
#include <stddef.h>

/* At most this many arrays and objects nested in one another. */
#define RPD_JV_MAX_DEPTH 32
/* Longest text accepted, in bytes. */
#define RPD_JV_MAX_TEXT (16u << 20)
/* Most values (of any type, containers included) in one document. */
#define RPD_JV_MAX_VALUES (1u << 20)

enum rpd_jv_type {
	RPD_JV_NULL,
	RPD_JV_BOOL,
	RPD_JV_NUMBER,
	RPD_JV_STRING,
	RPD_JV_ARRAY,
	RPD_JV_OBJECT,
};

/* One value of the tree. Read-only for callers; prefer the helpers below, which accept NULL. */
struct rpd_jv {
	enum rpd_jv_type type;
	bool boolean; /* BOOL */
	bool integral; /* NUMBER: written without fraction or exponent, and |number| < 2^53 */
	double number; /* NUMBER: always finite */
	char *str; /* STRING: UTF-8, NUL-terminated; may hold NULs written as \u0000 */
	size_t len; /* STRING: bytes in str; ARRAY, OBJECT: members in items */
	struct rpd_jv **items; /* ARRAY, OBJECT: members in document order */
	char *key; /* member of an OBJECT: its key (NUL-terminated UTF-8); NULL otherwise */
	size_t key_len; /* bytes in key */
};

/*
 * Parse len bytes of text (no NUL needed). Returns the root, to be freed with rpd_jv_free(),
 * or NULL with errno EINVAL when the text is malformed or exceeds a limit, ENOMEM when memory
 * runs out. Whitespace may surround the value; nothing else may follow it.
 */
struct rpd_jv *rpd_jv_parse(const char *text, size_t len);

/* Free a tree returned by rpd_jv_parse(); NULL is fine. */
void rpd_jv_free(struct rpd_jv *root);

/* The type of v, or -1 when v is NULL (a missing member). */
int rpd_jv_type(const struct rpd_jv *v);

/*
 * The member of object obj named key (the first one if a key repeats), or NULL when obj is
 * NULL, not an object, or has no such member.
 */
const struct rpd_jv *rpd_jv_get(const struct rpd_jv *obj, const char *key);

/* Members of an array or object; 0 for anything else or NULL. */
size_t rpd_jv_len(const struct rpd_jv *v);

/* Member i of an array or object, or NULL when out of range or v is not a container. */
const struct rpd_jv *rpd_jv_at(const struct rpd_jv *v, size_t i);

/* The key of member i of an object, or NULL when out of range or obj is not an object. */
const char *rpd_jv_key(const struct rpd_jv *obj, size_t i);

/* v as a number, or def when v is NULL or not a number. */
double rpd_jv_number(const struct rpd_jv *v, double def);

/* v as an integer, or def when v is NULL, not a number, or not integral. */
long long rpd_jv_int(const struct rpd_jv *v, long long def);

/* v as a string, or def when v is NULL or not a string. */
const char *rpd_jv_string(const struct rpd_jv *v, const char *def);

/* v as a boolean, or def when v is NULL or not true or false. */
bool rpd_jv_bool(const struct rpd_jv *v, bool def);

/* True when v is present and is null. */
bool rpd_jv_is_null(const struct rpd_jv *v);

#endif /* RPD_JV_READ_H */
