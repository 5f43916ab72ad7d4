/* SPDX-License-Identifier: MIT */
/*
 * ctlproto.h - the control protocol's requests (docs/control-protocol.md): parsing one line
 * into a request, and the names of policies.
 *
 * Owns: request syntax and its error messages. Pure: no system calls; unit tested and fuzzed
 * (tests/fuzz/fuzz_ctlproto.c). Executing a request is the daemon's; framing and access
 * control are control.c's.
 */
#ifndef RPD_CTLPROTO_H
#define RPD_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RPD_CTL_PROTOCOL 1
#define RPD_CTL_LINE_MAX 4096
#define RPD_WEIGHT_MAX 1000

enum rpd_ctl_cmd {
	RPD_CTL_NONE = 0, /* empty line: no response */
	RPD_CTL_STATUS,
	RPD_CTL_STATS,
	RPD_CTL_DRAIN,
	RPD_CTL_UNDRAIN,
	RPD_CTL_WEIGHT,
	RPD_CTL_POLICY,
	RPD_CTL_RESTART, /* slot, or all */
	RPD_CTL_SCALE, /* count */
};

struct rpd_ctl_req {
	enum rpd_ctl_cmd cmd;
	uint32_t slot;
	uint32_t weight;
	int policy; /* enum rpd_policy */
	bool all; /* restart all */
	uint32_t count; /* scale */
};

/*
 * Parse one line (without its '\n'; a trailing '\r' is ignored). Returns 0, -EINVAL for a
 * well-formed line that asks for something wrong (err says what; the connection stays), or
 * -EBADMSG for bytes that are not printable ASCII, space or tab (err says so; the connection
 * is closed).
 */
int rpd_ctl_parse(const char *line, size_t len, struct rpd_ctl_req *req, char *err, size_t errlen);

/* Policy names: "hash". */
int rpd_policy_parse(const char *name);
const char *rpd_policy_name(int policy);

#endif /* RPD_CTLPROTO_H */
