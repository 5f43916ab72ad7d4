// SPDX-License-Identifier: MIT
/*
 * daemon.c - the event loop that ties the groups, the supervisor and the table together.
 *
 * Owns: the loop, signal handling, when to rebuild the table, the stop sequence. Single
 * threaded: every source (signalfd, pidfds, notify socket) is an epoll event and every
 * timer is a deadline folded into the epoll timeout.
 */
#include "daemon.h"

#include <errno.h>
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

#include "group.h"
#include "log.h"
#include "supervisor.h"
#include "table.h"

#define RPD_TAG_SIGNAL 3u

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
};

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

/* Build the table from the workers' states and swap it into every group. */
static int publish(struct rpd_daemon *d)
{
	uint8_t usable[RPD_MAX_SLOTS] = { 0 };
	uint32_t weight[RPD_MAX_SLOTS];
	unsigned int n = d->sup.nslots;
	int nusable, fd, err = 0;

	for (unsigned int s = 0; s < n; s++) {
		weight[s] = 1;
		usable[s] = !d->sup.stopping && d->sup.w[s].state == RPD_W_READY;
	}
	nusable = rpd_table_build(d->table->slot, d->table->size, n, weight, usable);
	if (nusable < 0) {
		pr_err("policy table: cannot build: %s", strerror(-nusable));
		return nusable;
	}
	d->table->generation = d->tables_published + 1;
	fd = rpd_table_map_create(d->table);
	if (fd < 0)
		return fd;
	for (unsigned int i = 0; i < d->ngroups; i++) {
		int e = rpd_group_set_table(&d->groups[i], fd);

		if (e && !err)
			err = e;
	}
	close(fd);
	d->tables_published++;
	pr_info("policy table rebuilt: %d of %u slots usable (table %llu)", nusable, n,
		(unsigned long long)d->tables_published);
	if (!d->announced && nusable == (int)n) {
		d->announced = 1;
		notify_parent("READY=1");
	}
	return err;
}

static int setup_signals(struct rpd_daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = rpd_sup_tag(RPD_TAG_SIGNAL, 0) };
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
	rpd_sup_stop_all(&d->sup);
	publish(d);
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
		case SIGHUP:
			pr_info("SIGHUP: nothing to reload yet");
			break;
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
		int timeout = rpd_sup_tick(&d->sup, rpd_now_ms()), n;

		if (d->sup.changed) {
			d->sup.changed = false;
			publish(d);
		}
		if (d->sup.stopping && !rpd_sup_running(&d->sup))
			return 0;
		n = epoll_wait(d->epfd, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pr_err("event loop: epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			uint32_t kind = evs[i].data.u64 >> 32, slot = (uint32_t)evs[i].data.u64;

			if (kind == RPD_TAG_PIDFD)
				rpd_sup_reap(&d->sup, slot);
			else if (kind == RPD_TAG_NOTIFY)
				rpd_sup_notify_read(&d->sup);
			else if (kind == RPD_TAG_SIGNAL)
				handle_signals(d);
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
	err = setup_signals(d);
	if (err)
		goto out;

	/* Every address is checked before any socket is created, so a failure leaves nothing. */
	for (unsigned int i = 0; i < o->nlisten; i++) {
		err = rpd_group_check_free(&o->listen[i]);
		if (err)
			goto out;
	}
	for (unsigned int i = 0; i < o->nlisten; i++) {
		err = rpd_group_open(&d->groups[i], &o->listen[i], o->workers, o->backlog);
		if (err)
			goto out;
		d->ngroups++;
	}
	build_fdnames(d);

	d->sup.nslots = o->workers;
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
	d->sup.backoff_max_ms = o->backoff_max_ms;
	err = rpd_sup_init(&d->sup);
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
	rpd_sup_fini(&d->sup);
	for (unsigned int i = 0; i < RPD_MAX_LISTENERS; i++)
		rpd_group_close(&d->groups[i]);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->epfd >= 0)
		close(d->epfd);
	free(d->table);
	free(d);
	return err;
}
