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

/* A worker process. */
struct rpd_proc {
	pid_t pid; /* 0 when none */
	int pidfd; /* -1 when none (or watched through SIGCHLD) */
	uint32_t generation; /* which start of the slot it is */
	int64_t started_ms;
};

struct rpd_worker {
	/* the slot's current worker: the one the table steers to when it is ready */
	enum rpd_wstate state;
	pid_t pid; /* 0 when no process */
	int pidfd; /* -1 when no process */
	uint32_t generation; /* the current worker's start number */
	uint32_t starts; /* how many times the slot has been started */
	uint32_t restarts; /* respawns after an exit */
	uint32_t failures; /* consecutive short-lived runs, for the backoff */
	int64_t started_ms;
	int64_t deadline_ms; /* STARTING: ready delay; BACKOFF: respawn; STOPPING: SIGKILL */
	int last_status; /* wait status of the last exit */

	/* a replacement being started by a restart; it shares the slot's sockets */
	struct rpd_proc cand;
	bool cand_ready;
	int cand_error; /* -errno once the replacement failed (exited, timed out) */
	int64_t cand_ready_at; /* ready delay, when it does not speak the notify protocol */
	int64_t cand_fail_at; /* --ready-timeout */
};

/* A replaced or removed worker finishing its open connections. */
struct rpd_retired {
	struct rpd_proc p;
	unsigned int slot;
	int64_t kill_at; /* SIGKILL after --drain-timeout */
};

#define RPD_MAX_RETIRED (2 * RPD_MAX_SLOTS)

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

	struct rpd_retired retired[RPD_MAX_RETIRED];
	unsigned int nretired;

	int pin_cpu[RPD_MAX_SLOTS]; /* CPU a slot's workers run on, or -1 */

	int stop_signal;
	int ready_delay_ms;
	int ready_timeout_ms; /* a replacement not ready by then has failed */
	int drain_timeout_ms; /* a retired worker is killed after this */
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

/* The slot's replacement's pidfd fired. */
void rpd_sup_reap_candidate(struct rpd_supervisor *sup, unsigned int slot);

/* SIGCHLD arrived: reap the workers that have no pidfd. */
void rpd_sup_reap_all(struct rpd_supervisor *sup);

/* Read every pending notify message. */
void rpd_sup_notify_read(struct rpd_supervisor *sup);

/* Act on deadlines due at now; returns ms until the next deadline, or -1 if none. */
int rpd_sup_tick(struct rpd_supervisor *sup, int64_t now);

/* Send every worker its stop signal; SIGKILL follows after stop_timeout_ms. */
void rpd_sup_stop_all(struct rpd_supervisor *sup);

/* Start a replacement for the slot's worker (next generation, same sockets). */
int rpd_sup_spawn_candidate(struct rpd_supervisor *sup, unsigned int slot);

/* The replacement is ready: it becomes the slot's worker; the old one is retired. */
void rpd_sup_promote(struct rpd_supervisor *sup, unsigned int slot);

/* The replacement failed or is no longer wanted: kill it; the old worker stays. */
void rpd_sup_abort_candidate(struct rpd_supervisor *sup, unsigned int slot);

/* Retire the slot's worker (stop signal, SIGKILL after the drain timeout); no respawn. */
void rpd_sup_retire_slot(struct rpd_supervisor *sup, unsigned int slot);

/* A retired worker's pidfd fired. */
void rpd_sup_reap_retired(struct rpd_supervisor *sup, unsigned int index);

/* Number of slots that still have a process. */
unsigned int rpd_sup_running(const struct rpd_supervisor *sup);

#endif /* RPD_SUPERVISOR_H */
