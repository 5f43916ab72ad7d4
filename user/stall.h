/* SPDX-License-Identifier: MIT */
/*
 * stall.h - decides from queue samples whether a slot's worker has stopped draining.
 *
 * Owns: the rule. A slot is stalled when, on any of its sockets, the queue (TCP: connections
 * waiting in the accept queue; UDP: bytes in the receive queue) has been non-empty and has
 * not shrunk for stall_ms. It is healthy again as soon as that queue shrinks or empties.
 * Pure: samples in, verdicts out; the daemon takes them with getsockopt and keeps stalled
 * slots out of the table (but never all usable slots: that is overload, not a stall).
 */
#ifndef RPD_STALL_H
#define RPD_STALL_H

#include <stdbool.h>
#include <stdint.h>

#include "options.h"

struct rpd_stall {
	uint32_t last[RPD_MAX_LISTENERS]; /* previous sample per socket */
	int64_t since[RPD_MAX_LISTENERS]; /* non-empty and not shrinking since (if stuck[i]) */
	bool stuck[RPD_MAX_LISTENERS];
	bool stalled;
};

/* Feed one sample of the slot's n sockets taken at now; returns the verdict. */
bool rpd_stall_sample(struct rpd_stall *st, const uint32_t *queue, unsigned int n, int64_t now,
		      int stall_ms);

/* Forget the history (a new worker, or the slot left). */
void rpd_stall_reset(struct rpd_stall *st);

#endif /* RPD_STALL_H */
