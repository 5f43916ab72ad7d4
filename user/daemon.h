/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - the running daemon: its event loop and the glue between workers and steering.
 *
 * Owns: the epoll loop (signals, pidfds, notify socket, deadlines), rebuilding and publishing
 * the table when a slot's readiness changes, the graceful stop, and the daemon's own
 * readiness report to its supervisor (NOTIFY_SOCKET). Leaves sockets and BPF to group.c,
 * processes to supervisor.c and arithmetic to table.c.
 */
#ifndef RPD_DAEMON_H
#define RPD_DAEMON_H

#include "options.h"

#define RPD_VERSION "0.1.0"

struct rpd_run {
	const struct rpd_options *opt;
	char *const *argv; /* resolved worker command */
	int set_user;
	unsigned int uid, gid;
	const char *user_name;
};

/* Run until stopped. Returns 0 after a graceful stop, -errno if it could not start. */
int rpd_daemon_run(const struct rpd_run *run);

#endif /* RPD_DAEMON_H */
