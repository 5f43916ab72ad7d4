// SPDX-License-Identifier: MIT
/*
 * ctlproto.c - parses control requests. Every byte of the line is checked before any word is
 * interpreted, and numbers are checked for range before they reach the daemon.
 */
#include "ctlproto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rpd_abi.h"
#include "errmsg.h"

static const char *const policy_names[RPD_POLICY_MAX] = {
	[RPD_POLICY_HASH] = "hash",
	[RPD_POLICY_SRC] = "src",
	[RPD_POLICY_CPU] = "cpu",
};

int rpd_policy_parse(const char *name)
{
	for (int i = 0; i < RPD_POLICY_MAX; i++) {
		if (policy_names[i] && !strcmp(name, policy_names[i]))
			return i;
	}
	return -EINVAL;
}

const char *rpd_policy_name(int policy)
{
	return policy >= 0 && policy < RPD_POLICY_MAX ? policy_names[policy] : "unknown";
}

#define fail rpd_errorf

/* A decimal number without sign or leading junk, at most max. */
static int parse_num(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -ERANGE;
	}
	*out = (uint32_t)v;
	return 0;
}

#define MAX_WORDS 4

int rpd_ctl_parse(const char *line, size_t len, struct rpd_ctl_req *req, char *err, size_t errlen)
{
	char buf[RPD_CTL_LINE_MAX], *words[MAX_WORDS];
	int n = 0, r;
	size_t i;
	char *p;

	memset(req, 0, sizeof(*req));
	if (len && line[len - 1] == '\r')
		len--;
	if (len >= sizeof(buf))
		return fail(err, errlen, -EBADMSG, "request line too long: at most %d bytes",
			    RPD_CTL_LINE_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c > 0x7e)
			return fail(err, errlen, -EBADMSG,
				    "request has a byte 0x%02x that is not printable ASCII", c);
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (p = strtok(buf, " \t"); p; p = strtok(NULL, " \t")) {
		if (n == MAX_WORDS)
			return fail(err, errlen, -EINVAL, "too many words in the request");
		words[n++] = p;
	}
	if (!n) {
		req->cmd = RPD_CTL_NONE;
		return 0;
	}

#define ARGS(want, usage)                                                                          \
	do {                                                                                       \
		if (n != (want))                                                                   \
			return fail(err, errlen, -EINVAL, "usage: %s", usage);                     \
	} while (0)

	if (!strcmp(words[0], "status")) {
		ARGS(1, "status");
		req->cmd = RPD_CTL_STATUS;
	} else if (!strcmp(words[0], "stats")) {
		ARGS(1, "stats");
		req->cmd = RPD_CTL_STATS;
	} else if (!strcmp(words[0], "drain") || !strcmp(words[0], "undrain")) {
		req->cmd = words[0][0] == 'd' ? RPD_CTL_DRAIN : RPD_CTL_UNDRAIN;
		ARGS(2, req->cmd == RPD_CTL_DRAIN ? "drain SLOT" : "undrain SLOT");
		if (parse_num(words[1], RPD_MAX_SLOTS - 1, &req->slot))
			return fail(err, errlen, -EINVAL, "%s: bad slot '%.32s': expected 0..%d",
				    words[0], words[1], RPD_MAX_SLOTS - 1);
	} else if (!strcmp(words[0], "weight")) {
		ARGS(3, "weight SLOT W");
		req->cmd = RPD_CTL_WEIGHT;
		if (parse_num(words[1], RPD_MAX_SLOTS - 1, &req->slot))
			return fail(err, errlen, -EINVAL,
				    "weight: bad slot '%.32s': expected 0..%d", words[1],
				    RPD_MAX_SLOTS - 1);
		r = parse_num(words[2], RPD_WEIGHT_MAX, &req->weight);
		if (r)
			return fail(err, errlen, -EINVAL,
				    "weight: W must be an integer from 0 to %d, got '%.32s'",
				    RPD_WEIGHT_MAX, words[2]);
	} else if (!strcmp(words[0], "policy")) {
		ARGS(2, "policy NAME");
		req->cmd = RPD_CTL_POLICY;
		req->policy = rpd_policy_parse(words[1]);
		if (req->policy < 0)
			return fail(err, errlen, -EINVAL,
				    "unknown policy '%.32s'; known: hash, src, cpu", words[1]);
	} else if (!strcmp(words[0], "restart")) {
		ARGS(2, "restart SLOT|all");
		req->cmd = RPD_CTL_RESTART;
		if (!strcmp(words[1], "all"))
			req->all = true;
		else if (parse_num(words[1], RPD_MAX_SLOTS - 1, &req->slot))
			return fail(err, errlen, -EINVAL,
				    "restart: bad slot '%.32s': expected 0..%d or all", words[1],
				    RPD_MAX_SLOTS - 1);
	} else if (!strcmp(words[0], "scale")) {
		ARGS(2, "scale N");
		req->cmd = RPD_CTL_SCALE;
		if (parse_num(words[1], RPD_MAX_SLOTS, &req->count) || req->count < 1)
			return fail(
				err, errlen, -EINVAL,
				"scale: N must be a number of workers from 1 to %d, got '%.32s'",
				RPD_MAX_SLOTS, words[1]);
	} else {
		return fail(err, errlen, -EINVAL,
			    "unknown command '%.32s'; commands: status, stats, drain, undrain, "
			    "weight, policy, restart, scale",
			    words[0]);
	}
#undef ARGS
	return 0;
}
