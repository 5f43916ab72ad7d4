/* SPDX-License-Identifier: MIT */
/*
 * publisher.h - puts a new steering table in front of every listener's program, atomically
 * and without blocking the event loop.
 *
 * Owns: the table maps all groups share (rpd_tables, RPD_TABLE_BUFS buffers, and rpd_active),
 * the choice of the buffer to write, and the RCU grace periods that make rewriting a buffer
 * safe (waited for by a helper thread). Leaves what the table says to table.c and the daemon.
 */
#ifndef RPD_PUBLISHER_H
#define RPD_PUBLISHER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "rpd_abi.h"

struct rpd_publisher {
	int tables_fd;
	int active_fd;
	volatile uint32_t *active; /* rpd_active[0], mapped */
	uint32_t cur; /* the active buffer */
	uint64_t flips;
	uint64_t deactivated[RPD_TABLE_BUFS]; /* flip number that last deactivated a buffer */

	/* grace periods: the thread waits for one per request, off the event loop */
	int gp_outer, gp_inner;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t wake, done;
	uint64_t gp_requested, gp_completed; /* flip numbers */
	bool stop;
	uint64_t waits; /* publishes that had to wait for a grace period */
};

/* Create the maps and the thread, and make `initial` active. Reports its errors. */
int rpd_pub_init(struct rpd_publisher *p, const struct rpd_table *initial);
void rpd_pub_fini(struct rpd_publisher *p);

/* Make t the table every program uses, atomically. Returns 0 or -errno (reported). */
int rpd_pub_publish(struct rpd_publisher *p, const struct rpd_table *t);

#endif /* RPD_PUBLISHER_H */
