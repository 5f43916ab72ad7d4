/* SPDX-License-Identifier: MIT */
/*
 * rollout.h - changes to the set of workers, one at a time: restarting a slot, a rolling
 * restart of every slot, scaling up and down.
 *
 * Owns: the sequence of each change and its progress (what status shows), refusing a change
 * while another runs, and the reply to whoever asked. Leaves processes to supervisor.c,
 * sockets to group.c and the table to the daemon (rpd_daemon_publish).
 */
#ifndef RPD_ROLLOUT_H
#define RPD_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpd_abi.h"

struct rpd_daemon;
struct rpd_json;

enum rpd_rollout_kind { RPD_ROLL_NONE = 0, RPD_ROLL_RESTART, RPD_ROLL_SCALE };

struct rpd_rollout {
	enum rpd_rollout_kind kind;
	bool all; /* restart: every slot, in order */
	bool reply; /* a control client waits for the outcome */
	char who[64]; /* who asked, for the log */
	int64_t started_ms;
	int64_t deadline_ms;
	/* restart */
	unsigned int queue[RPD_MAX_SLOTS];
	unsigned int nqueue, pos;
	bool launched; /* the current slot's replacement (or first worker) has been started */
	bool direct; /* the slot had no worker: it was started, not replaced */
	uint32_t generations[RPD_MAX_SLOTS];
	/* scale */
	unsigned int from, to;
	int phase;
};

/* Start a change; on refusal returns -EBUSY/-EINVAL with err set (nothing was changed). */
int rpd_rollout_restart(struct rpd_daemon *d, bool all, unsigned int slot, bool reply,
			const char *who, char *err, size_t errlen);
int rpd_rollout_scale(struct rpd_daemon *d, unsigned int count, bool reply, const char *who,
		      char *err, size_t errlen);

/* Advance the change in progress; returns ms until it needs another look, or -1. */
int rpd_rollout_step(struct rpd_daemon *d, int64_t now);

/* The daemon is stopping: end the change in progress with an error. */
void rpd_rollout_abort(struct rpd_daemon *d, const char *why);

/* "operation" member of status: null or the change and its progress. */
void rpd_rollout_status(const struct rpd_daemon *d, struct rpd_json *j);

#endif /* RPD_ROLLOUT_H */
