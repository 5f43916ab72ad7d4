/* SPDX-License-Identifier: MIT */
/*
 * group.h - one listener's reuseport group: its sockets, its steering program and maps.
 *
 * Owns: creating, binding and listening the slot sockets, keeping the daemon's reference to
 * each, loading and attaching the program, the sockarray and reading counters. Leaves to
 * others: the tables (publisher.c), what they say (table.c, daemon.c) and who gets the
 * sockets (supervisor.c).
 */
#ifndef RPD_GROUP_H
#define RPD_GROUP_H

#include <stdint.h>

#include "options.h"
#include "publisher.h"
#include "rpd_abi.h"

struct steer;

struct rpd_group {
	const struct rpd_listen *l;
	struct steer *skel;
	int fds[RPD_MAX_SLOTS]; /* the daemon's own reference; -1 when the slot has none */
	unsigned int nslots;
	int backlog;
};

/* Refuse (and report) an address that any socket already uses. */
int rpd_group_check_free(const struct rpd_listen *l);

/*
 * Create and bind nslots sockets for l, load the program sharing pub's table maps, put every
 * socket in the sockarray and attach the program to the group. On failure reports the cause
 * once (naming the listener and the fix), leaves nothing behind and returns -errno.
 */
int rpd_group_open(struct rpd_group *g, const struct rpd_listen *l, unsigned int nslots,
		   int backlog, const struct rpd_publisher *pub);

/* Open, bind and insert the socket of a new slot (scaling up). */
int rpd_group_open_slot(struct rpd_group *g, unsigned int slot);

/* Drop the daemon's reference to a slot's socket (scaling down). */
void rpd_group_close_slot(struct rpd_group *g, unsigned int slot);

/* Bytes waiting in a UDP slot socket's receive queue (0 for TCP or no socket). */
int rpd_group_queued(const struct rpd_group *g, unsigned int slot);

/* A slot socket's queue: TCP connections waiting to be accepted, UDP bytes to be read. */
uint32_t rpd_group_queue_len(const struct rpd_group *g, unsigned int slot);

/* Close the sockets and release the program and maps. Safe on a zeroed or failed group. */
void rpd_group_close(struct rpd_group *g);

/* Sum the per-CPU counters into out[RPD_STATS_ENTRIES]. */
int rpd_group_read_stats(struct rpd_group *g, struct rpd_slot_stats *out);

/* The program's fd (for queries). */
int rpd_group_prog_fd(const struct rpd_group *g);

#endif /* RPD_GROUP_H */
