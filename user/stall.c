// SPDX-License-Identifier: MIT
/*
 * stall.c - the stalled-worker rule (see stall.h). A queue that shrinks between two samples
 * proves that someone is taking from it; a queue that only stays or grows for stall_ms while
 * non-empty does not.
 */
#include "stall.h"

#include <string.h>

bool rpd_stall_sample(struct rpd_stall *st, const uint32_t *queue, unsigned int n, int64_t now,
		      int stall_ms)
{
	bool stalled = false;

	for (unsigned int i = 0; i < n && i < RPD_MAX_LISTENERS; i++) {
		if (!queue[i] || queue[i] < st->last[i]) {
			st->stuck[i] = false; /* empty, or drained some: progress */
		} else if (!st->stuck[i]) {
			st->stuck[i] = true;
			st->since[i] = now;
		}
		st->last[i] = queue[i];
		if (st->stuck[i] && now - st->since[i] >= stall_ms)
			stalled = true;
	}
	st->stalled = stalled;
	return stalled;
}

void rpd_stall_reset(struct rpd_stall *st)
{
	memset(st, 0, sizeof(*st));
}
