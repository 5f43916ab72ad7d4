/* SPDX-License-Identifier: MIT */
/*
 * control.h - the control path and socket: ownership lock, access control, framing of
 * requests and responses, and protection against clients that misbehave.
 *
 * Owns: PATH.lock, the socket file and its mode, SO_PEERCRED checks, per-client buffers and
 * limits. Leaves request syntax to ctlproto.c and executing requests to the daemon (the
 * handler callback).
 */
#ifndef RPD_CONTROL_H
#define RPD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ctlproto.h"

#define RPD_CTL_MAX_CLIENTS 128
#define RPD_CTL_TURN_LINES 64 /* requests served per client per loop turn */
#define RPD_CTL_PARTIAL_MS 5000 /* an unfinished line may wait this long */
#define RPD_CTL_OUT_MAX (1 << 20) /* pending responses before a client is dropped */
#define RPD_CTL_RESP_MAX (1 << 20) /* one response */

struct rpd_ctl_client;

/*
 * Executes req for peer; writes one response line into buf[cap] and returns its length, or
 * returns -EINPROGRESS to answer later with rpd_control_complete() (one at a time).
 */
typedef int (*rpd_ctl_handler)(void *ctx, const struct rpd_ctl_req *req, const struct ucred *peer,
			       char *buf, size_t cap);

struct rpd_control {
	int lockfd;
	int lfd;
	int epfd;
	char path[108];
	bool has_group;
	gid_t group;
	uid_t self_uid;
	struct rpd_ctl_client *clients[RPD_CTL_MAX_CLIENTS];
	unsigned int nclients;
	rpd_ctl_handler handle;
	void *ctx;
	char *resp;
	uint64_t next_id;
	unsigned int pending_index; /* client waiting for a deferred reply; MAX when none */
	uint64_t pending_id;
};

/* Create the directory and take PATH.lock; returns the lock fd or -errno (reported). */
int rpd_control_lock(const char *path);

/*
 * Bind the control socket at path (the caller holds the lock), mode 0600, or 0660 with group
 * ownership when group_name is given; register it in epfd. Reports its errors.
 */
int rpd_control_open(struct rpd_control *c, const char *path, const char *group_name, int epfd,
		     rpd_ctl_handler handle, void *ctx);
void rpd_control_close(struct rpd_control *c);

/* An epoll event with a control tag. */
void rpd_control_event(struct rpd_control *c, uint32_t kind, uint32_t index, uint32_t events);

/* The deferred reply; dropped if its client has gone. */
void rpd_control_complete(struct rpd_control *c, const char *buf, size_t len);

/* Serve leftover requests and enforce timeouts; returns ms until the next deadline or -1. */
int rpd_control_tick(struct rpd_control *c, int64_t now);

#endif /* RPD_CONTROL_H */
