/* SPDX-License-Identifier: MIT */
/*
 * json.h - writes one JSON object into a bounded buffer: the daemon's control responses.
 *
 * Owns: syntax (commas, escaping, nesting) and the size bound. Pure, no allocation. What the
 * objects say is the caller's.
 */
#ifndef RPD_JSON_H
#define RPD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RPD_JSON_DEPTH 16

struct rpd_json {
	char *buf;
	size_t cap;
	size_t len;
	int err; /* -ENOSPC once the buffer is full, -EINVAL on misuse; the text is then unusable */
	int depth;
	bool first[RPD_JSON_DEPTH];
	char close[RPD_JSON_DEPTH]; /* '}' or ']' for each open level */
};

/* Start a document in buf[cap] with its outer object open. */
void rpd_json_init(struct rpd_json *j, char *buf, size_t cap);
/* Close the outer object, append '\n' and return the length, or j->err. */
int rpd_json_finish(struct rpd_json *j);

/* key is NULL inside arrays. */
void rpd_json_obj(struct rpd_json *j, const char *key);
void rpd_json_arr(struct rpd_json *j, const char *key);
void rpd_json_end(struct rpd_json *j); /* closes the innermost object or array */
void rpd_json_str(struct rpd_json *j, const char *key, const char *val);
void rpd_json_int(struct rpd_json *j, const char *key, int64_t val);
void rpd_json_uint(struct rpd_json *j, const char *key, uint64_t val);
void rpd_json_double(struct rpd_json *j, const char *key, double val);
void rpd_json_bool(struct rpd_json *j, const char *key, bool val);
void rpd_json_null(struct rpd_json *j, const char *key);

/* A whole {"ok":false,"error":"..."} line into buf; returns its length. */
int rpd_json_error(char *buf, size_t cap, const char *msg);

#endif /* RPD_JSON_H */
