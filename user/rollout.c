// SPDX-License-Identifier: MIT
/*
 * rollout.c - restarts, rolling restarts and scaling, one change at a time.
 *
 * A restart never leaves a slot without an accepting worker: the replacement (next generation)
 * gets the same slot sockets, the old worker is told to stop only once the replacement is
 * ready, and it keeps its open connections for up to --drain-timeout. Because the daemon
 * holds the sockets, nothing queued on them is lost whichever worker accepts it.
 *
 * Scaling down first takes the leaving slots out of the table, waits for their UDP receive
 * queues to empty (UDP has no migration), then retires their workers and drops the daemon's
 * reference to their sockets; the kernel migrates any TCP connection still queued when the
 * last reference closes to a ready slot through the SELECT_OR_MIGRATE program. Scaling up
 * opens the new slots' sockets, starts their workers and lets them into the table when ready.
 */
#include "rollout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon_int.h"
#include "json.h"
#include "log.h"
#include "table.h"

#define RPD_UDP_DRAIN_POLL_MS 10

enum { SCALE_START, SCALE_WAIT_READY, SCALE_DRAIN_UDP };

static const char *kind_name(const struct rpd_rollout *r)
{
	if (r->kind == RPD_ROLL_SCALE)
		return "scale";
	return r->all ? "restart all" : "restart";
}

static int busy(const struct rpd_daemon *d, char *err, size_t errlen)
{
	const struct rpd_rollout *r = &d->roll;

	if (d->sup.stopping) {
		snprintf(err, errlen, "the daemon is stopping");
		return -EBUSY;
	}
	if (r->kind == RPD_ROLL_NONE)
		return 0;
	if (r->kind == RPD_ROLL_SCALE)
		snprintf(err, errlen,
			 "a scale from %u to %u workers is in progress; try again when it finishes",
			 r->from, r->to);
	else
		snprintf(err, errlen,
			 "a %s is in progress (%u of %u slots done); try again when it finishes",
			 kind_name(r), r->pos, r->nqueue);
	return -EBUSY;
}

/* End the change: log, answer whoever asked, clear. */
static void finish(struct rpd_daemon *d, int err, const char *msg)
{
	struct rpd_rollout *r = &d->roll;
	char buf[8192];
	struct rpd_json j;
	int n;

	if (err)
		pr_warn("%s (asked by %s) failed: %s", kind_name(r), r->who, msg);
	else
		pr_info("%s (asked by %s) done in %lld ms", kind_name(r), r->who,
			(long long)(rpd_now_ms() - r->started_ms));
	if (r->reply) {
		if (err) {
			n = rpd_json_error(buf, sizeof(buf), msg);
		} else {
			rpd_json_init(&j, buf, sizeof(buf));
			rpd_json_bool(&j, "ok", true);
			rpd_json_str(&j, "operation", kind_name(r));
			if (r->kind == RPD_ROLL_RESTART) {
				rpd_json_arr(&j, "restarted");
				for (unsigned int i = 0; i < r->nqueue; i++) {
					rpd_json_obj(&j, NULL);
					rpd_json_uint(&j, "slot", r->queue[i]);
					rpd_json_uint(&j, "generation", r->generations[i]);
					rpd_json_end(&j);
				}
				rpd_json_end(&j);
			} else {
				rpd_json_uint(&j, "workers", r->to);
			}
			rpd_json_uint(&j, "elapsed_ms", (uint64_t)(rpd_now_ms() - r->started_ms));
			n = rpd_json_finish(&j);
		}
		if (n > 0)
			rpd_control_complete(&d->ctl, buf, n);
	}
	memset(r, 0, sizeof(*r));
}

int rpd_rollout_restart(struct rpd_daemon *d, bool all, unsigned int slot, bool reply,
			const char *who, char *err, size_t errlen)
{
	struct rpd_rollout *r = &d->roll;
	int e = busy(d, err, errlen);

	if (e)
		return e;
	if (!all && slot >= d->active) {
		snprintf(err, errlen, "unknown slot %u: slots are 0..%u", slot, d->active - 1);
		return -EINVAL;
	}
	memset(r, 0, sizeof(*r));
	r->kind = RPD_ROLL_RESTART;
	r->all = all;
	r->reply = reply;
	snprintf(r->who, sizeof(r->who), "%s", who);
	r->started_ms = rpd_now_ms();
	if (all) {
		for (unsigned int s = 0; s < d->active; s++)
			r->queue[r->nqueue++] = s;
	} else {
		r->queue[r->nqueue++] = slot;
	}
	pr_info("%s (asked by %s): %u slot%s", kind_name(r), who, r->nqueue,
		r->nqueue == 1 ? "" : "s, one at a time");
	return 0;
}

int rpd_rollout_scale(struct rpd_daemon *d, unsigned int count, bool reply, const char *who,
		      char *err, size_t errlen)
{
	struct rpd_rollout *r = &d->roll;
	int e = busy(d, err, errlen);

	if (e)
		return e;
	if (count < 1 || count > RPD_MAX_SLOTS) {
		snprintf(err, errlen, "scale: N must be from 1 to %d", RPD_MAX_SLOTS);
		return -EINVAL;
	}
	memset(r, 0, sizeof(*r));
	r->kind = RPD_ROLL_SCALE;
	r->reply = reply;
	snprintf(r->who, sizeof(r->who), "%s", who);
	r->started_ms = rpd_now_ms();
	r->from = d->active;
	r->to = count;
	r->phase = SCALE_START;
	pr_info("scale (asked by %s): %u -> %u workers", who, r->from, r->to);
	return 0;
}

void rpd_rollout_abort(struct rpd_daemon *d, const char *why)
{
	if (d->roll.kind != RPD_ROLL_NONE)
		finish(d, -ECANCELED, why);
}

/* One slot of a restart; returns 1 when the slot is done, 0 to wait, -1 on failure. */
static int restart_slot(struct rpd_daemon *d, unsigned int s, int64_t now, char *msg, size_t len)
{
	struct rpd_rollout *r = &d->roll;
	struct rpd_worker *w = &d->sup.w[s];
	int err;

	if (!r->launched) {
		r->launched = true;
		r->deadline_ms = now + d->sup.ready_timeout_ms;
		if (w->pid) {
			r->direct = false;
			err = rpd_sup_spawn_candidate(&d->sup, s);
			if (err) {
				snprintf(msg, len,
					 "restart of slot %u failed: cannot start a replacement: "
					 "%s; "
					 "the old worker keeps serving",
					 s, strerror(-err));
				return -1;
			}
			return 0;
		}
		/* No worker to replace (it is in backoff): start one now. */
		r->direct = true;
		if (w->state == RPD_W_BACKOFF || w->state == RPD_W_STOPPED)
			rpd_sup_spawn(&d->sup, s);
		return 0;
	}
	if (!r->direct) {
		if (w->cand_ready) {
			rpd_sup_promote(&d->sup, s);
			return 1;
		}
		if (w->cand_error) {
			snprintf(msg, len, "restart of slot %u failed: the replacement %s; %s", s,
				 w->cand_error == -ETIMEDOUT
					 ? "was not ready in time (--ready-timeout)"
					 : "exited before it was ready",
				 w->pid ? "the old worker keeps serving"
					: "the slot respawns as after a crash");
			w->cand_error = 0;
			return -1;
		}
		return 0;
	}
	if (w->state == RPD_W_READY)
		return 1;
	if (now >= r->deadline_ms) {
		snprintf(msg, len,
			 "restart of slot %u failed: its worker was not ready in time; it "
			 "keeps respawning",
			 s);
		return -1;
	}
	return 0;
}

static int step_restart(struct rpd_daemon *d, int64_t now)
{
	struct rpd_rollout *r = &d->roll;
	char msg[256];

	while (r->pos < r->nqueue) {
		unsigned int s = r->queue[r->pos];
		int done = restart_slot(d, s, now, msg, sizeof(msg));

		if (done < 0) {
			finish(d, -EIO, msg);
			return -1;
		}
		if (!done)
			return r->direct ? (int)(r->deadline_ms > now ? r->deadline_ms - now : 0)
					 : -1;
		r->generations[r->pos] = d->sup.w[s].generation;
		pr_info("%s: slot %u now runs generation %u (%u of %u)", kind_name(r), s,
			d->sup.w[s].generation, r->pos + 1, r->nqueue);
		r->pos++;
		r->launched = false;
	}
	finish(d, 0, NULL);
	return -1;
}

static void close_slot_sockets(struct rpd_daemon *d, unsigned int s)
{
	for (unsigned int i = 0; i < d->ngroups; i++)
		rpd_group_close_slot(&d->groups[i], s);
}

static int scale_start(struct rpd_daemon *d, int64_t now)
{
	struct rpd_rollout *r = &d->roll;
	char msg[256];

	if (r->to == r->from) {
		finish(d, 0, NULL);
		return -1;
	}
	if (r->to < r->from) {
		/* Steer nothing new to the leaving slots; then let UDP queues drain. */
		d->active = r->to;
		rpd_daemon_publish(d);
		r->phase = SCALE_DRAIN_UDP;
		r->deadline_ms = now + d->sup.drain_timeout_ms;
		return 0;
	}
	for (unsigned int s = r->from; s < r->to; s++) {
		for (unsigned int i = 0; i < d->ngroups; i++) {
			int err = rpd_group_open_slot(&d->groups[i], s);

			if (err) {
				for (unsigned int t = r->from; t <= s; t++)
					close_slot_sockets(d, t);
				snprintf(msg, sizeof(msg),
					 "scale to %u failed: cannot open slot %u's socket on %s: "
					 "%s",
					 r->to, s, d->groups[i].l->name, strerror(-err));
				finish(d, err, msg);
				return -1;
			}
		}
	}
	if (r->to > d->table_slots) {
		uint32_t size = rpd_table_size_for(r->to);

		if (size != d->table->size)
			pr_warn("scale: the table grows from %u to %u entries for %u slots; "
				"existing "
				"flows are rehashed once",
				d->table->size, size, r->to);
		d->table->size = size;
		d->table_slots = r->to;
		d->table->nslots = r->to;
		d->sup.nslots = r->to;
	}
	d->active = r->to;
	for (unsigned int s = r->from; s < r->to; s++) {
		d->sup.w[s].restarts = 0;
		d->sup.w[s].failures = 0;
		rpd_sup_spawn(&d->sup, s);
	}
	r->phase = SCALE_WAIT_READY;
	r->deadline_ms = now + d->sup.ready_timeout_ms;
	return 0;
}

static int step_scale(struct rpd_daemon *d, int64_t now)
{
	struct rpd_rollout *r = &d->roll;
	char msg[256];
	int queued = 0;

	switch (r->phase) {
	case SCALE_START:
		if (scale_start(d, now) < 0)
			return -1;
		return 0;
	case SCALE_WAIT_READY:
		for (unsigned int s = r->from; s < r->to; s++) {
			if (d->sup.w[s].state == RPD_W_READY)
				continue;
			if (now < r->deadline_ms)
				return (int)(r->deadline_ms - now);
			snprintf(msg, sizeof(msg),
				 "scale to %u: slot %u's worker was not ready in time; it keeps "
				 "respawning",
				 r->to, s);
			finish(d, -ETIMEDOUT, msg);
			return -1;
		}
		finish(d, 0, NULL);
		return -1;
	case SCALE_DRAIN_UDP:
		for (unsigned int s = r->to; s < r->from; s++)
			for (unsigned int i = 0; i < d->ngroups; i++)
				queued += rpd_group_queued(&d->groups[i], s);
		if (queued && now < r->deadline_ms)
			return RPD_UDP_DRAIN_POLL_MS;
		if (queued)
			pr_warn("scale: %d bytes still queued on leaving UDP sockets after %d ms",
				queued, d->sup.drain_timeout_ms);
		for (unsigned int s = r->to; s < r->from; s++) {
			rpd_sup_retire_slot(&d->sup, s);
			close_slot_sockets(d, s);
		}
		finish(d, 0, NULL);
		return -1;
	}
	return -1;
}

int rpd_rollout_step(struct rpd_daemon *d, int64_t now)
{
	switch (d->roll.kind) {
	case RPD_ROLL_RESTART:
		return step_restart(d, now);
	case RPD_ROLL_SCALE:
		return step_scale(d, now);
	default:
		return -1;
	}
}

void rpd_rollout_status(const struct rpd_daemon *d, struct rpd_json *j)
{
	const struct rpd_rollout *r = &d->roll;

	if (r->kind == RPD_ROLL_NONE) {
		rpd_json_null(j, "operation");
		return;
	}
	rpd_json_obj(j, "operation");
	rpd_json_str(j, "kind", kind_name(r));
	rpd_json_str(j, "asked_by", r->who);
	rpd_json_uint(j, "elapsed_ms", (uint64_t)(rpd_now_ms() - r->started_ms));
	if (r->kind == RPD_ROLL_RESTART) {
		rpd_json_uint(j, "done", r->pos);
		rpd_json_uint(j, "total", r->nqueue);
		if (r->pos < r->nqueue)
			rpd_json_uint(j, "slot", r->queue[r->pos]);
	} else {
		rpd_json_uint(j, "from", r->from);
		rpd_json_uint(j, "to", r->to);
		rpd_json_str(j, "phase",
			     r->phase == SCALE_DRAIN_UDP    ? "draining udp queues"
			     : r->phase == SCALE_WAIT_READY ? "waiting for new workers"
							    : "starting");
	}
	rpd_json_end(j);
}
