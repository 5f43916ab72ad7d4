// SPDX-License-Identifier: MIT
/*
 * daemon.c - the event loop that ties the groups, the supervisor and the table together.
 *
 * Owns: the loop, signal handling, when to rebuild the table, the stop sequence. Single
 * threaded: every source (signalfd, pidfds, notify socket) is an epoll event and every
 * timer is a deadline folded into the epoll timeout.
 */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>

#include "daemon_int.h"
#include "events.h"
#include "json.h"
#include "log.h"
#include "table.h"

/* Tell our own supervisor (systemd, a test) about our state, if it asked. */
static void notify_parent(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || !*path)
		return;
	len = strlen(path);
	if (len >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun,
		   offsetof(struct sockaddr_un, sun_path) + len) < 0)
		pr_debug("notify %s: %s", path, strerror(errno));
	close(fd);
}

/* --pin-workers: slot s runs on the (s mod n)-th CPU the daemon may use. */
static void pin_workers(struct rpd_daemon *d)
{
	int cpus[CPU_SETSIZE], n = 0;
	cpu_set_t set;

	for (unsigned int s = 0; s < RPD_MAX_SLOTS; s++)
		d->sup.pin_cpu[s] = -1;
	if (!d->run->opt->pin_workers)
		goto out;
	if (sched_getaffinity(0, sizeof(set), &set) < 0) {
		pr_warn("--pin-workers: cannot read this process's CPUs (%s); workers are not "
			"pinned",
			strerror(errno));
		goto out;
	}
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	for (unsigned int s = 0; s < RPD_MAX_SLOTS && n; s++)
		d->sup.pin_cpu[s] = cpus[s % n];
	pr_info("workers pinned: slot s runs on CPU %d + (s mod %d) of the allowed set", cpus[0],
		n);
out:
	if (d->policy == RPD_POLICY_CPU && d->sup.pin_cpu[0] < 0)
		pr_warn("policy cpu without --pin-workers: no slot belongs to a CPU, so every "
			"decision falls back to hash");
}

static int slot_fds(void *ctx, unsigned int slot, int *fds)
{
	struct rpd_daemon *d = ctx;

	for (unsigned int i = 0; i < d->ngroups; i++) {
		fds[i] = d->groups[i].fds[slot];
		if (fds[i] < 0)
			return -EBADF;
	}
	return 0;
}

/* systemd fd names may not contain ':'; "tcp:[::1]:80" becomes "tcp-[__1]-80". */
static void build_fdnames(struct rpd_daemon *d)
{
	const struct rpd_options *o = d->run->opt;
	size_t pos = 0;

	for (unsigned int i = 0; i < o->nlisten; i++) {
		int inside = 0;

		if (i)
			d->fdnames[pos++] = ':';
		for (const char *c = o->listen[i].name; *c; c++) {
			inside += *c == '[' ? 1 : *c == ']' ? -1 : 0;
			d->fdnames[pos++] = *c != ':' ? *c : inside ? '_' : '-';
		}
	}
	d->fdnames[pos] = '\0';
}

static unsigned int excluded_by_operator(const struct rpd_daemon *d)
{
	unsigned int n = 0;

	for (unsigned int s = 0; s < d->active; s++)
		n += d->drained[s] || !d->weight[s];
	return n;
}

/* Build the table from the workers' states and swap it into every group. */
int rpd_daemon_publish(struct rpd_daemon *d)
{
	uint8_t usable[RPD_MAX_SLOTS] = { 0 };
	uint32_t weight[RPD_MAX_SLOTS];
	unsigned int n = d->table_slots;
	int nusable, err;

	unsigned int healthy = 0;

	for (unsigned int s = 0; s < n; s++) {
		weight[s] = d->weight[s];
		usable[s] = s < d->active && !d->sup.stopping && !d->drained[s] &&
			    d->sup.w[s].state == RPD_W_READY;
		healthy += usable[s] && weight[s] && !d->stalled[s];
	}
	/* Stalled slots leave the table, unless every usable one is stalled: that is overload,
	 * and dropping everything would be worse than queueing. */
	for (unsigned int s = 0; s < n && healthy; s++)
		usable[s] = usable[s] && !d->stalled[s];
	d->table->policy = d->policy;
	if (d->policy == RPD_POLICY_CPU)
		rpd_cpu_table_build(d->table->cpu_slot, n, weight, usable, d->sup.pin_cpu);
	nusable = rpd_table_build(d->table->slot, d->table->size, n, weight, usable);
	if (nusable < 0) {
		pr_err("policy table: cannot build: %s", strerror(-nusable));
		return nusable;
	}
	d->table->generation = d->tables_published + 1;
	err = rpd_pub_publish(&d->pub, d->table);
	if (err)
		return err;
	d->tables_published++;
	pr_info("policy table rebuilt: %d of %u slots usable (table %llu)", nusable, d->active,
		(unsigned long long)d->tables_published);
	if (!d->announced && nusable == (int)d->active - (int)excluded_by_operator(d)) {
		d->announced = 1;
		notify_parent("READY=1");
	}
	return err;
}

/* ---- control requests ---- */

static const char *const reason_keys[RPD_R_MAX] = {
	[RPD_R_SELECTED] = "selected",
	[RPD_R_MIGRATED] = "migrated",
	[RPD_R_PROBED] = "probed",
	[RPD_R_NO_READY] = "no_ready",
	[RPD_R_SELECT_ERR] = "select_error",
	[RPD_R_NO_TABLE] = "no_table",
	[RPD_R_SRC] = "src",
	[RPD_R_SRC_NOADDR] = "src_noaddr",
	[RPD_R_CPU] = "cpu",
	[RPD_R_CPU_FALLBACK] = "cpu_fallback",
};

/* Decisions that reached a slot; the others are drops (counted under no slot). */
static bool reason_steers(int r)
{
	return r != RPD_R_NO_READY && r != RPD_R_SELECT_ERR && r != RPD_R_NO_TABLE;
}

static const char *slot_state(const struct rpd_daemon *d, unsigned int s)
{
	const struct rpd_worker *w = &d->sup.w[s];

	if (w->state == RPD_W_READY && (d->drained[s] || !d->weight[s]))
		return "draining";
	return rpd_wstate_name(w->state);
}

static const char *slot_excluded(const struct rpd_daemon *d, unsigned int s)
{
	if (d->sup.stopping)
		return "stopping";
	if (d->drained[s])
		return "drained";
	if (!d->weight[s])
		return "weight 0";
	if (d->sup.w[s].state != RPD_W_READY)
		return "not ready";
	if (d->stalled[s])
		return "stalled";
	return NULL;
}

/* Sum of every group's counters; NULL-safe on a failed read (counts stay zero). */
static void read_all_stats(struct rpd_daemon *d, struct rpd_slot_stats *sum,
			   struct rpd_slot_stats *tmp)
{
	memset(sum, 0, RPD_STATS_ENTRIES * sizeof(*sum));
	for (unsigned int i = 0; i < d->ngroups; i++) {
		if (rpd_group_read_stats(&d->groups[i], tmp))
			continue;
		for (unsigned int k = 0; k < RPD_STATS_ENTRIES; k++)
			for (int r = 0; r < RPD_R_MAX; r++)
				sum[k].reason[r] += tmp[k].reason[r];
	}
}

static int reply_status(struct rpd_daemon *d, struct rpd_json *j)
{
	static struct rpd_slot_stats sum[RPD_STATS_ENTRIES], tmp[RPD_STATS_ENTRIES];
	uint32_t counts[RPD_MAX_SLOTS];
	const struct rpd_options *o = d->run->opt;
	struct utsname un;

	read_all_stats(d, sum, tmp);
	rpd_table_shares(d->table->slot, d->table->size, d->table_slots, counts);
	rpd_json_bool(j, "ok", true);
	rpd_json_int(j, "protocol", RPD_CTL_PROTOCOL);
	rpd_json_str(j, "version", RPD_VERSION);
	rpd_json_int(j, "pid", getpid());
	rpd_json_double(j, "uptime_s", (rpd_now_ms() - d->started_ms) / 1000.0);
	rpd_json_obj(j, "features");
	rpd_json_str(j, "kernel", uname(&un) ? "unknown" : un.release);
	rpd_json_bool(j, "select_or_migrate", true);
	rpd_json_bool(j, "pidfd", d->sup.have_pidfd);
	rpd_json_end(j);
	rpd_json_str(j, "policy", rpd_policy_name(d->policy));
	rpd_json_arr(j, "policies");
	for (int p = 0; p < RPD_POLICY_MAX; p++)
		rpd_json_str(j, NULL, rpd_policy_name(p));
	rpd_json_end(j);
	rpd_json_uint(j, "table_size", d->table->size);
	rpd_json_uint(j, "table_generation", d->tables_published);
	rpd_json_arr(j, "listeners");
	for (unsigned int i = 0; i < o->nlisten; i++) {
		const struct rpd_listen *l = &o->listen[i];
		char addr[64];

		inet_ntop(l->family,
			  l->family == AF_INET ? (const void *)&l->addr.in4.sin_addr
					       : (const void *)&l->addr.in6.sin6_addr,
			  addr, sizeof(addr));
		rpd_json_obj(j, NULL);
		rpd_json_str(j, "name", l->name);
		rpd_json_str(j, "proto", l->type == SOCK_STREAM ? "tcp" : "udp");
		rpd_json_str(j, "address", addr);
		rpd_json_uint(
			j, "port",
			ntohs(l->family == AF_INET ? l->addr.in4.sin_port : l->addr.in6.sin6_port));
		rpd_json_end(j);
	}
	rpd_json_end(j);
	rpd_rollout_status(d, j);
	rpd_json_arr(j, "retired");
	for (unsigned int i = 0; i < RPD_MAX_RETIRED; i++) {
		const struct rpd_retired *r = &d->sup.retired[i];

		if (!r->p.pid)
			continue;
		rpd_json_obj(j, NULL);
		rpd_json_uint(j, "slot", r->slot);
		rpd_json_int(j, "pid", r->p.pid);
		rpd_json_uint(j, "generation", r->p.generation);
		rpd_json_end(j);
	}
	rpd_json_end(j);
	rpd_json_arr(j, "workers");
	for (unsigned int s = 0; s < d->active; s++) {
		const struct rpd_worker *w = &d->sup.w[s];
		const struct rpd_slot_stats *st = &sum[s];

		rpd_json_obj(j, NULL);
		rpd_json_uint(j, "slot", s);
		if (w->pid)
			rpd_json_int(j, "pid", w->pid);
		else
			rpd_json_null(j, "pid");
		rpd_json_str(j, "state", slot_state(d, s));
		rpd_json_uint(j, "weight", d->weight[s]);
		rpd_json_bool(j, "drained", d->drained[s]);
		rpd_json_uint(j, "generation", w->generation);
		rpd_json_uint(j, "restarts", w->restarts);
		rpd_json_double(j, "share", (double)counts[s] / d->table->size);
		rpd_json_str(j, "excluded", slot_excluded(d, s));
		if (w->cand.pid) {
			rpd_json_obj(j, "replacement");
			rpd_json_int(j, "pid", w->cand.pid);
			rpd_json_uint(j, "generation", w->cand.generation);
			rpd_json_bool(j, "ready", w->cand_ready);
			rpd_json_end(j);
		} else {
			rpd_json_null(j, "replacement");
		}
		{
			uint64_t steered = 0;

			for (int r = 0; r < RPD_R_MAX; r++)
				steered += reason_steers(r) ? st->reason[r] : 0;
			rpd_json_uint(j, "steered", steered);
		}
		rpd_json_end(j);
	}
	rpd_json_end(j);
	return 0;
}

static int reply_stats(struct rpd_daemon *d, struct rpd_json *j)
{
	static struct rpd_slot_stats st[RPD_STATS_ENTRIES];

	rpd_json_bool(j, "ok", true);
	rpd_json_arr(j, "listeners");
	for (unsigned int i = 0; i < d->ngroups; i++) {
		const struct rpd_slot_stats *drops = &st[RPD_STATS_NOSLOT];

		if (rpd_group_read_stats(&d->groups[i], st))
			return -EIO;
		rpd_json_obj(j, NULL);
		rpd_json_str(j, "name", d->groups[i].l->name);
		rpd_json_arr(j, "slots");
		for (unsigned int s = 0; s < d->active; s++) {
			rpd_json_obj(j, NULL);
			rpd_json_uint(j, "slot", s);
			for (int r = 0; r < RPD_R_MAX; r++)
				if (reason_steers(r))
					rpd_json_uint(j, reason_keys[r], st[s].reason[r]);
			rpd_json_end(j);
		}
		rpd_json_end(j);
		rpd_json_obj(j, "drops");
		for (int r = 0; r < RPD_R_MAX; r++)
			if (!reason_steers(r))
				rpd_json_uint(j, reason_keys[r], drops->reason[r]);
		rpd_json_end(j);
		rpd_json_end(j);
	}
	rpd_json_end(j);
	return 0;
}

/* drain, undrain, weight: validate, apply, publish, log who asked. */
static int apply_slot_change(struct rpd_daemon *d, const struct rpd_ctl_req *req,
			     const struct ucred *peer, struct rpd_json *j, char *err, size_t errlen)
{
	unsigned int s = req->slot;
	uint32_t old_w, new_w;
	bool old_d, new_d, changed;
	int r;

	if (s >= d->active) {
		snprintf(err, errlen, "unknown slot %u: slots are 0..%u", s, d->active - 1);
		return -EINVAL;
	}
	old_w = new_w = d->weight[s];
	old_d = new_d = d->drained[s];
	if (req->cmd == RPD_CTL_DRAIN)
		new_d = true;
	else if (req->cmd == RPD_CTL_UNDRAIN)
		new_d = false;
	else
		new_w = req->weight;
	changed = new_w != old_w || new_d != old_d;
	if (changed) {
		d->weight[s] = new_w;
		d->drained[s] = new_d;
		r = rpd_daemon_publish(d);
		if (r) {
			d->weight[s] = old_w;
			d->drained[s] = old_d;
			rpd_daemon_publish(d);
			snprintf(err, errlen, "slot %u: the new table could not be installed: %s",
				 s, strerror(-r));
			return r;
		}
	}
	pr_info("control: uid=%u pid=%d: slot %u: weight %u -> %u, %s -> %s%s", peer->uid,
		(int)peer->pid, s, old_w, new_w, old_d ? "drained" : "undrained",
		new_d ? "drained" : "undrained", changed ? "" : " (no change)");
	rpd_json_bool(j, "ok", true);
	rpd_json_uint(j, "slot", s);
	rpd_json_uint(j, "weight", new_w);
	rpd_json_bool(j, "drained", new_d);
	rpd_json_bool(j, "changed", changed);
	rpd_json_uint(j, "table_generation", d->tables_published);
	return 0;
}

static int apply_policy(struct rpd_daemon *d, const struct rpd_ctl_req *req,
			const struct ucred *peer, struct rpd_json *j)
{
	bool changed = req->policy != d->policy;
	int old = d->policy;

	if (changed) {
		d->policy = req->policy;
		if (rpd_daemon_publish(d)) {
			d->policy = old;
			rpd_daemon_publish(d);
			return -EIO;
		}
	}
	pr_info("control: uid=%u pid=%d: policy %s -> %s%s", peer->uid, (int)peer->pid,
		rpd_policy_name(old), rpd_policy_name(d->policy), changed ? "" : " (no change)");
	if (changed && d->policy == RPD_POLICY_CPU && d->sup.pin_cpu[0] < 0)
		pr_warn("policy cpu without --pin-workers: no slot belongs to a CPU, so every "
			"decision falls back to hash");
	rpd_json_bool(j, "ok", true);
	rpd_json_str(j, "policy", rpd_policy_name(d->policy));
	rpd_json_bool(j, "changed", changed);
	rpd_json_uint(j, "table_generation", d->tables_published);
	return 0;
}

static int control_handle(void *ctx, const struct rpd_ctl_req *req, const struct ucred *peer,
			  char *buf, size_t cap)
{
	struct rpd_daemon *d = ctx;
	struct rpd_json j;
	char err[256] = "";
	int r;

	rpd_json_init(&j, buf, cap);
	switch (req->cmd) {
	case RPD_CTL_STATUS:
		r = reply_status(d, &j);
		break;
	case RPD_CTL_STATS:
		r = reply_stats(d, &j);
		if (r)
			snprintf(err, sizeof(err), "cannot read the program's counters");
		break;
	case RPD_CTL_DRAIN:
	case RPD_CTL_UNDRAIN:
	case RPD_CTL_WEIGHT:
		r = apply_slot_change(d, req, peer, &j, err, sizeof(err));
		break;
	case RPD_CTL_POLICY:
		r = apply_policy(d, req, peer, &j);
		if (r)
			snprintf(err, sizeof(err), "the new table could not be installed");
		break;
	case RPD_CTL_RESTART:
	case RPD_CTL_SCALE: {
		char who[64];

		snprintf(who, sizeof(who), "uid=%u pid=%d", peer->uid, (int)peer->pid);
		if (req->cmd == RPD_CTL_RESTART)
			r = rpd_rollout_restart(d, req->all, req->slot, true, who, err,
						sizeof(err));
		else
			r = rpd_rollout_scale(d, req->count, true, who, err, sizeof(err));
		if (!r)
			return -EINPROGRESS; /* answered when it ends */
		break;
	}
	default:
		r = -EINVAL;
		snprintf(err, sizeof(err), "unsupported request");
	}
	if (r)
		return rpd_json_error(buf, cap, err[0] ? err : strerror(-r));
	r = rpd_json_finish(&j);
	return r > 0 ? r : rpd_json_error(buf, cap, "response too large");
}

/*
 * Stalled-worker avoidance: sample every active slot's queues; a slot whose queue stopped
 * draining leaves the table until it drains again. Returns ms until the next sample, or -1.
 */
static int sample_stalls(struct rpd_daemon *d, int64_t now)
{
	const struct rpd_options *o = d->run->opt;
	bool changed = false;

	if (!o->avoid_stall || d->sup.stopping)
		return -1;
	if (now < d->next_sample_ms)
		return (int)(d->next_sample_ms - now);
	d->next_sample_ms = now + o->stall_interval_ms;
	for (unsigned int s = 0; s < d->table_slots; s++) {
		const struct rpd_worker *w = &d->sup.w[s];
		uint32_t q[RPD_MAX_LISTENERS];
		bool v;

		if (s >= d->active || w->state != RPD_W_READY || d->stall_pid[s] != w->pid) {
			/* A new worker (or none) starts with a clean history. */
			rpd_stall_reset(&d->stall[s]);
			d->stall_pid[s] = s < d->active && w->state == RPD_W_READY ? w->pid : 0;
			changed |= d->stalled[s];
			d->stalled[s] = false;
			if (!d->stall_pid[s])
				continue;
		}
		for (unsigned int i = 0; i < d->ngroups; i++)
			q[i] = rpd_group_queue_len(&d->groups[i], s);
		v = rpd_stall_sample(&d->stall[s], q, d->ngroups, now, o->stall_ms);
		if (v == d->stalled[s])
			continue;
		d->stalled[s] = v;
		changed = true;
		if (v)
			pr_warn("slot %u pid=%d stalled: its queue (%u on %s) has not drained for "
				"%d ms; "
				"steering around it until it drains",
				s, (int)w->pid, q[0], d->groups[0].l->name, o->stall_ms);
		else
			pr_info("slot %u pid=%d drains again: back in the table", s, (int)w->pid);
	}
	if (changed)
		rpd_daemon_publish(d);
	return o->stall_interval_ms;
}

static int setup_signals(struct rpd_daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = rpd_tag(RPD_TAG_SIGNAL, 0) };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &ev) < 0) {
		int err = -errno;

		pr_err("signals: cannot watch: %s", strerror(errno));
		return err;
	}
	return 0;
}

static void begin_stop(struct rpd_daemon *d, const char *why)
{
	if (d->sup.stopping) {
		pr_info("%s: already stopping; %u workers left", why, rpd_sup_running(&d->sup));
		return;
	}
	pr_info("%s: stopping: steering nothing new, stopping %u workers", why,
		rpd_sup_running(&d->sup));
	notify_parent("STOPPING=1");
	rpd_rollout_abort(d, "the daemon is stopping");
	rpd_sup_stop_all(&d->sup);
	rpd_daemon_publish(d);
	d->sup.changed = false;
}

static void handle_signals(struct rpd_daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			begin_stop(d, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		case SIGHUP: {
			char err[256];

			if (d->sup.stopping)
				break;
			if (rpd_rollout_restart(d, true, 0, false, "SIGHUP", err, sizeof(err)))
				pr_warn("SIGHUP: %s", err);
			break;
		}
		case SIGCHLD:
			rpd_sup_reap_all(&d->sup); /* exits usually arrive through pidfds */
			break;
		default:
			break;
		}
	}
}

static int loop(struct rpd_daemon *d)
{
	struct epoll_event evs[64];

	for (;;) {
		int64_t now = rpd_now_ms();
		int timeout, ctl_timeout, n;

		/* A change may start or promote workers (whose deadlines the tick must see), and
		 * the tick may decide a replacement failed (which the change must see). */
		rpd_rollout_step(d, now);
		timeout = rpd_sup_tick(&d->sup, now);

		if (d->sup.changed) {
			d->sup.changed = false;
			rpd_daemon_publish(d);
		}
		if (d->sup.stopping && !rpd_sup_running(&d->sup))
			return 0;
		ctl_timeout = rpd_control_tick(&d->ctl, now);
		if (ctl_timeout >= 0 && (timeout < 0 || ctl_timeout < timeout))
			timeout = ctl_timeout;
		ctl_timeout = rpd_rollout_step(d, now);
		if (ctl_timeout >= 0 && (timeout < 0 || ctl_timeout < timeout))
			timeout = ctl_timeout;
		ctl_timeout = sample_stalls(d, now);
		if (ctl_timeout >= 0 && (timeout < 0 || ctl_timeout < timeout))
			timeout = ctl_timeout;
		if (d->sup.changed) {
			/* A change promoted or retired a worker. */
			d->sup.changed = false;
			rpd_daemon_publish(d);
		}
		n = epoll_wait(d->epfd, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("event loop: epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			uint32_t kind = rpd_tag_kind(evs[i].data.u64);
			uint32_t slot = rpd_tag_index(evs[i].data.u64);

			if (kind == RPD_TAG_PIDFD)
				rpd_sup_reap(&d->sup, slot);
			else if (kind == RPD_TAG_CAND_PIDFD)
				rpd_sup_reap_candidate(&d->sup, slot);
			else if (kind == RPD_TAG_RETIRED_PIDFD)
				rpd_sup_reap_retired(&d->sup, slot);
			else if (kind == RPD_TAG_NOTIFY)
				rpd_sup_notify_read(&d->sup);
			else if (kind == RPD_TAG_SIGNAL)
				handle_signals(d);
			else if (kind == RPD_TAG_CTL_LISTEN || kind == RPD_TAG_CTL_CLIENT)
				rpd_control_event(&d->ctl, kind, slot, evs[i].events);
		}
	}
}

int rpd_daemon_run(const struct rpd_run *run)
{
	const struct rpd_options *o = run->opt;
	struct rpd_daemon *d;
	int err;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->run = run;
	d->sigfd = -1;
	d->sup.notify_fd = -1;
	d->ctl.lfd = -1;
	d->policy = run->opt->policy;
	d->started_ms = rpd_now_ms();
	for (unsigned int s = 0; s < RPD_MAX_SLOTS; s++)
		d->weight[s] = 1;
	for (unsigned int s = 0; s < RPD_MAX_SLOTS; s++)
		d->sup.w[s].pidfd = -1;
	d->table = calloc(1, sizeof(*d->table));
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!d->table || d->epfd < 0) {
		err = d->table ? -errno : -ENOMEM;
		pr_err("daemon: cannot allocate its state: %s", strerror(-err));
		goto out;
	}
	d->table->size = rpd_table_size_for(o->workers);
	d->table->policy = RPD_POLICY_HASH;
	d->table->nslots = o->workers;
	d->active = d->table_slots = o->workers;
	err = setup_signals(d);
	if (err)
		goto out;

	/* Nothing is ready yet: the first table steers nothing. */
	memset(d->table->slot, 0xff, sizeof(d->table->slot));
	err = rpd_pub_init(&d->pub, d->table);
	if (err)
		goto out;
	d->pub_ready = true;

	/* Every address is checked before any socket is created, so a failure leaves nothing. */
	for (unsigned int i = 0; i < o->nlisten; i++) {
		err = rpd_group_check_free(&o->listen[i]);
		if (err)
			goto out;
	}
	for (unsigned int i = 0; i < o->nlisten; i++) {
		err = rpd_group_open(&d->groups[i], &o->listen[i], o->workers, o->backlog, &d->pub);
		if (err)
			goto out;
		d->ngroups++;
	}
	build_fdnames(d);

	d->sup.nslots = o->workers;
	d->active = d->table_slots = o->workers;
	d->sup.epfd = d->epfd;
	d->sup.argv = run->argv;
	d->sup.set_user = run->set_user;
	d->sup.uid = run->uid;
	d->sup.gid = run->gid;
	d->sup.user_name = run->user_name;
	d->sup.fdnames = d->fdnames;
	d->sup.nfds = d->ngroups;
	d->sup.slot_fds = slot_fds;
	d->sup.ctx = d;
	d->sup.stop_signal = o->stop_signal;
	d->sup.ready_delay_ms = o->ready_delay_ms;
	d->sup.stop_timeout_ms = o->stop_timeout_ms;
	d->sup.ready_timeout_ms = o->ready_timeout_ms;
	pin_workers(d);
	d->sup.drain_timeout_ms = o->drain_timeout_ms;
	d->sup.backoff_max_ms = o->backoff_max_ms;
	err = rpd_sup_init(&d->sup);
	if (err)
		goto out;
	err = rpd_control_open(&d->ctl, o->control, o->control_group, d->epfd, control_handle, d);
	if (err)
		goto out;

	pr_info("starting %u workers: %s%s%s", o->workers, run->argv[0],
		run->set_user ? " as user " : "", run->set_user ? run->user_name : "");
	for (unsigned int s = 0; s < o->workers; s++)
		rpd_sup_spawn(&d->sup, s);
	err = loop(d);
	if (!err)
		pr_info("stopped: all workers exited");
out:
	rpd_control_close(&d->ctl);
	rpd_sup_fini(&d->sup);
	for (unsigned int i = 0; i < RPD_MAX_LISTENERS; i++)
		rpd_group_close(&d->groups[i]);
	if (d->pub_ready)
		rpd_pub_fini(&d->pub);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->epfd >= 0)
		close(d->epfd);
	free(d->table);
	free(d);
	return err;
}
