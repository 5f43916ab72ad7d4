/* SPDX-License-Identifier: MIT */
/*
 * supervisor.h - the worker processes: one per slot, started by socket activation.
 *
 * Owns: fork/exec of workers with their slot's sockets (LISTEN_FDS), credentials and
 * capabilities of workers, readiness (notify protocol or delay), exit handling with capped
 * exponential backoff, graceful stop. Leaves to others: the sockets themselves (group.c) and
 * what readiness means for steering (daemon.c rebuilds the table when a state changes).
 */
#ifndef RPD_SUPERVISOR_H
#define RPD_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "rpd_abi.h"
#include "options.h"
#include "events.h"

enum rpd_wstate {
	RPD_W_STOPPED = 0, /* no process, none wanted */
	RPD_W_STARTING, /* running, not ready yet */
	RPD_W_READY, /* running and taking new flows */
	RPD_W_BACKOFF, /* exited; waiting to respawn */
	RPD_W_STOPPING, /* told to stop; waiting for it to exit */
};

const char *rpd_wstate_name(enum rpd_wstate st);

struct rpd_worker {
	enum rpd_wstate state;
	pid_t pid; /* 0 when no process */
	int pidfd; /* -1 when no process */
	uint32_t generation; /* how many times the slot has been started */
	uint32_t restarts; /* respawns after an exit */
	uint32_t failures; /* consecutive short-lived runs, for the backoff */
	int64_t started_ms;
	int64_t deadline_ms; /* STARTING: ready delay; BACKOFF: respawn; STOPPING: SIGKILL */
	int last_status; /* wait status of the last exit */
};

struct rpd_supervisor {
	struct rpd_worker w[RPD_MAX_SLOTS];
	unsigned int nslots;
	int epfd; /* pidfds and the notify socket are registered here (events.h tags) */
	int notify_fd;
	char notify_name[64]; /* NOTIFY_SOCKET value given to workers ("@...") */

	/* spawning */
	char *const *argv;
	bool set_user;
	uid_t uid;
	gid_t gid;
	const char *user_name;
	const char *fdnames; /* LISTEN_FDNAMES */
	unsigned int nfds; /* sockets per slot */
	int (*slot_fds)(void *ctx, unsigned int slot, int *fds); /* fills fds[nfds] */
	void *ctx;

	int stop_signal;
	int ready_delay_ms;
	int stop_timeout_ms;
	int backoff_max_ms;
	bool stopping;
	bool have_pidfd; /* the last spawn got a pidfd (else exits come through SIGCHLD) */
	bool changed; /* a slot became ready or stopped being ready since the caller cleared it */
};

/* Monotonic milliseconds. */
int64_t rpd_now_ms(void);

/* Respawn delay after `failures` consecutive short runs: 100 ms doubling, capped. Pure. */
int rpd_backoff_ms(uint32_t failures, int max_ms);

/* Create the notify socket (registered in epfd). sup must be filled in except the workers. */
int rpd_sup_init(struct rpd_supervisor *sup);
void rpd_sup_fini(struct rpd_supervisor *sup);

/* Start the slot's worker now (from STOPPED or BACKOFF). */
int rpd_sup_spawn(struct rpd_supervisor *sup, unsigned int slot);

/* The slot's pidfd fired: reap and decide what comes next. */
void rpd_sup_reap(struct rpd_supervisor *sup, unsigned int slot);

/* SIGCHLD arrived: reap the workers that have no pidfd. */
void rpd_sup_reap_all(struct rpd_supervisor *sup);

/* Read every pending notify message. */
void rpd_sup_notify_read(struct rpd_supervisor *sup);

/* Act on deadlines due at now; returns ms until the next deadline, or -1 if none. */
int rpd_sup_tick(struct rpd_supervisor *sup, int64_t now);

/* Send every worker its stop signal; SIGKILL follows after stop_timeout_ms. */
void rpd_sup_stop_all(struct rpd_supervisor *sup);

/* Number of slots that still have a process. */
unsigned int rpd_sup_running(const struct rpd_supervisor *sup);

#endif /* RPD_SUPERVISOR_H */
