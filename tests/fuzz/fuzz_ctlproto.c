// SPDX-License-Identifier: MIT
/*
 * fuzz_ctlproto.c - libFuzzer target for the control request parser and the JSON error line
 * built from its messages: no input may crash, overrun, or produce a response that is not a
 * single line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpd_ctl_req req;
	char err[256], line[512];
	int r, n;

	r = rpd_ctl_parse((const char *)data, size, &req, err, sizeof(err));
	if (r == 0) {
		if (req.cmd == RPD_CTL_WEIGHT && req.weight > RPD_WEIGHT_MAX)
			abort();
		if (req.slot >= 256)
			abort();
		return 0;
	}
	n = rpd_json_error(line, sizeof(line), err);
	if (n <= 0 || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
		abort();
	return 0;
}
