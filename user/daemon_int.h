/* SPDX-License-Identifier: MIT */
/*
 * daemon_int.h - the daemon's state, shared by daemon.c (the loop, control requests) and
 * rollout.c (restarts and scaling). Not part of any interface outside the daemon.
 */
#ifndef RPD_DAEMON_INT_H
#define RPD_DAEMON_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "control.h"
#include "daemon.h"
#include "group.h"
#include "publisher.h"
#include "rollout.h"
#include "stall.h"
#include "supervisor.h"

struct rpd_daemon {
	const struct rpd_run *run;
	struct rpd_group groups[RPD_MAX_LISTENERS];
	unsigned int ngroups;
	struct rpd_supervisor sup;
	int epfd;
	int sigfd;
	struct rpd_table *table;
	char fdnames[RPD_MAX_LISTENERS * 72];
	int announced; /* READY=1 sent to our own supervisor */
	uint64_t tables_published;
	struct rpd_control ctl;
	struct rpd_publisher pub;
	bool pub_ready;
	uint32_t weight[RPD_MAX_SLOTS]; /* operator's weights, 0..RPD_WEIGHT_MAX */
	bool drained[RPD_MAX_SLOTS];
	int policy;
	int64_t started_ms;
	unsigned int active; /* slots 0..active-1 have workers (scale changes it) */
	unsigned int table_slots; /* slots the table's primary layer knows: the most ever */
	struct rpd_rollout roll;
	/* stalled-worker avoidance */
	struct rpd_stall stall[RPD_MAX_SLOTS];
	pid_t stall_pid[RPD_MAX_SLOTS]; /* the worker the history belongs to */
	bool stalled[RPD_MAX_SLOTS]; /* kept out of the table */
	int64_t next_sample_ms;
};

/* Rebuild the table from the workers' states and the operator's settings; publish it. */
int rpd_daemon_publish(struct rpd_daemon *d);

#endif /* RPD_DAEMON_INT_H */
