// SPDX-License-Identifier: MIT
/*
 * supervisor.c - starts, watches, restarts and stops the worker processes.
 *
 * Owns: the workers' processes (pidfds), their environment, credentials and capabilities, the
 * notify socket and readiness, respawn backoff. Never touches the BPF maps: it raises
 * sup->changed and the daemon rebuilds the table.
 */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "log.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* A run at least this long resets the backoff. */
#define RPD_STABLE_MS 10000
#define RPD_BACKOFF_BASE_MS 100

static const char *const wstate_names[] = {
	[RPD_W_STOPPED] = "stopped", [RPD_W_STARTING] = "starting", [RPD_W_READY] = "ready",
	[RPD_W_BACKOFF] = "backoff", [RPD_W_STOPPING] = "stopping",
};

const char *rpd_wstate_name(enum rpd_wstate st)
{
	return st <= RPD_W_STOPPING ? wstate_names[st] : "unknown";
}

int64_t rpd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rpd_backoff_ms(uint32_t failures, int max_ms)
{
	int64_t d = RPD_BACKOFF_BASE_MS;

	for (uint32_t i = 0; i < failures && d < max_ms; i++)
		d *= 2;
	return d > max_ms ? max_ms : (int)d;
}

int rpd_sup_init(struct rpd_supervisor *sup)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1, err, len;

	sup->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sup->notify_fd < 0) {
		err = -errno;
		pr_err("notify socket: cannot create: %s", strerror(errno));
		return err;
	}
	/* Abstract: no file to clean up, and workers under any uid can reach it. */
	len = snprintf(sup->notify_name, sizeof(sup->notify_name), "@reuseportd/%d/notify",
		       (int)getpid());
	memcpy(sun.sun_path + 1, sup->notify_name + 1, len - 1);
	if (setsockopt(sup->notify_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(sup->notify_fd, (struct sockaddr *)&sun,
		 offsetof(struct sockaddr_un, sun_path) + len) < 0) {
		err = -errno;
		pr_err("notify socket %s: cannot bind: %s", sup->notify_name, strerror(errno));
		goto fail;
	}
	ev.data.u64 = rpd_tag(RPD_TAG_NOTIFY, 0);
	if (epoll_ctl(sup->epfd, EPOLL_CTL_ADD, sup->notify_fd, &ev) < 0) {
		err = -errno;
		pr_err("notify socket: cannot watch: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(sup->notify_fd);
	sup->notify_fd = -1;
	return err;
}

void rpd_sup_fini(struct rpd_supervisor *sup)
{
	for (unsigned int s = 0; s < RPD_MAX_SLOTS; s++) {
		if (sup->w[s].pidfd >= 0)
			close(sup->w[s].pidfd);
		sup->w[s].pidfd = -1;
	}
	if (sup->notify_fd >= 0)
		close(sup->notify_fd);
	sup->notify_fd = -1;
}

/* Messages from the child to the parent when it cannot exec. */
struct spawn_error {
	int stage; /* index into spawn_stages */
	int err;
};

static const char *const spawn_stages[] = { "arrange its sockets",     "set its environment",
					    "drop capabilities",       "switch to its user",
					    "exec the worker command", "pin it to its CPU" };

static void child_fail(int pipefd, int stage, int err)
{
	struct spawn_error e = { stage, err };
	ssize_t n = write(pipefd, &e, sizeof(e));

	(void)n;
	_exit(127);
}

/* Runs in the child between fork and exec: only async-signal-safe work plus setenv. */
static void child_exec(struct rpd_supervisor *sup, unsigned int slot, uint32_t generation,
		       const int *src, int pipefd, pid_t parent)
{
	static const int drop[] = { CAP_BPF,	   CAP_PERFMON,	   CAP_SYS_ADMIN,
				    CAP_NET_ADMIN, CAP_SYS_MODULE, CAP_SYS_PTRACE };
	unsigned int n = sup->nfds, i;
	int tmp[RPD_MAX_LISTENERS], errfd;
	char buf[32];
	sigset_t all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Own session: a terminal's ^C reaches the daemon, which stops workers gracefully. */
	setsid();

	/* Move the sockets to 3..3+n-1 and the error pipe above them; close everything else. */
	for (i = 0; i < n; i++) {
		tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3 + n + 1);
		if (tmp[i] < 0)
			child_fail(pipefd, 0, errno);
	}
	errfd = fcntl(pipefd, F_DUPFD_CLOEXEC, 3 + n + 1);
	if (errfd < 0)
		child_fail(pipefd, 0, errno);
	for (i = 0; i < n; i++) {
		if (dup2(tmp[i], 3 + i) < 0) /* dup2 clears close-on-exec on the copy */
			child_fail(errfd, 0, errno);
	}
	if (dup3(errfd, 3 + n, O_CLOEXEC) < 0)
		child_fail(errfd, 0, errno);
	errfd = 3 + n;
	if (syscall(SYS_close_range, 3 + n + 1, ~0U, 0) < 0)
		child_fail(errfd, 0, errno);

	snprintf(buf, sizeof(buf), "%u", n);
	if (setenv("LISTEN_FDS", buf, 1))
		child_fail(errfd, 1, errno);
	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	if (setenv("LISTEN_PID", buf, 1))
		child_fail(errfd, 1, errno);
	snprintf(buf, sizeof(buf), "%u", slot);
	if (setenv("LISTEN_FDNAMES", sup->fdnames, 1) || setenv("REUSEPORTD_SLOT", buf, 1))
		child_fail(errfd, 1, errno);
	snprintf(buf, sizeof(buf), "%u", generation);
	if (setenv("REUSEPORTD_GENERATION", buf, 1) || setenv("NOTIFY_SOCKET", sup->notify_name, 1))
		child_fail(errfd, 1, errno);

	if (sup->pin_cpu[slot] >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(sup->pin_cpu[slot], &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			child_fail(errfd, 5, errno);
	}

	/* Workers never keep the daemon's BPF or admin capabilities, not even as root. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		child_fail(errfd, 2, errno);
	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		if (prctl(PR_CAPBSET_DROP, drop[i], 0, 0, 0) < 0 && errno != EINVAL &&
		    errno != EPERM)
			child_fail(errfd, 2, errno);
	}
	if (sup->set_user) {
		if (initgroups(sup->user_name, sup->gid) < 0 && setgroups(0, NULL) < 0)
			child_fail(errfd, 3, errno);
		if (setresgid(sup->gid, sup->gid, sup->gid) < 0 ||
		    setresuid(sup->uid, sup->uid, sup->uid) < 0)
			child_fail(errfd, 3, errno);
	}
	/* Set after the credential change, which clears it; then close the race with exit. */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() != parent)
		_exit(0);

	execvp(sup->argv[0], sup->argv);
	child_fail(errfd, 4, errno);
}

static void enter_backoff(struct rpd_supervisor *sup, unsigned int slot, int64_t now)
{
	struct rpd_worker *w = &sup->w[slot];
	int delay;

	if (w->started_ms && now - w->started_ms >= RPD_STABLE_MS)
		w->failures = 0;
	delay = rpd_backoff_ms(w->failures, sup->backoff_max_ms);
	w->failures++;
	w->state = RPD_W_BACKOFF;
	w->deadline_ms = now + delay;
	pr_info("worker slot=%u: respawn in %d ms (consecutive failures %u)", slot, delay,
		w->failures);
}

/*
 * Fork and exec a worker for slot with the given start number; its pidfd is registered with
 * tag. Returns 0 with *p filled in, or -errno (reported).
 */
static int launch(struct rpd_supervisor *sup, unsigned int slot, uint32_t generation, uint64_t tag,
		  struct rpd_proc *p)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	int fds[RPD_MAX_LISTENERS], pipefd[2], err, status;
	pid_t parent = getpid(), pid;
	struct spawn_error se;
	ssize_t n;

	err = sup->slot_fds(sup->ctx, slot, fds);
	if (err)
		return err;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		err = -errno;
		pr_err("worker slot=%u: cannot create a pipe: %s", slot, strerror(errno));
		return err;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		pr_err("worker slot=%u: cannot fork: %s", slot, strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (pid == 0) {
		close(pipefd[0]);
		child_exec(sup, slot, generation, fds, pipefd[1], parent);
	}
	close(pipefd[1]);
	do
		n = read(pipefd[0], &se, sizeof(se));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n == sizeof(se)) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		pr_err("worker slot=%u: cannot %s '%s'%s%s: %s; check the command and --user", slot,
		       spawn_stages[se.stage < 6 && se.stage >= 0 ? se.stage : 4], sup->argv[0],
		       sup->set_user ? " as user " : "", sup->set_user ? sup->user_name : "",
		       strerror(se.err));
		return -se.err;
	}

	p->pid = pid;
	p->generation = generation;
	p->started_ms = rpd_now_ms();
	p->pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd >= 0 && epoll_ctl(sup->epfd, EPOLL_CTL_ADD, p->pidfd, &ev) < 0) {
		close(p->pidfd);
		p->pidfd = -1;
	}
	/* Without a pidfd (seccomp, valgrind) the exit arrives as SIGCHLD: rpd_sup_reap_all. */
	sup->have_pidfd = p->pidfd >= 0;
	if (p->pidfd < 0)
		pr_debug("worker slot=%u pid=%d: no pidfd (%s); watching it through SIGCHLD", slot,
			 (int)pid, strerror(errno));
	return 0;
}

int rpd_sup_spawn(struct rpd_supervisor *sup, unsigned int slot)
{
	struct rpd_worker *w = &sup->w[slot];
	struct rpd_proc p = { .pidfd = -1 };
	int64_t now = rpd_now_ms();
	int err;

	err = launch(sup, slot, ++w->starts, rpd_tag(RPD_TAG_PIDFD, slot), &p);
	if (err) {
		w->started_ms = now;
		enter_backoff(sup, slot, now);
		return err;
	}
	w->pid = p.pid;
	w->pidfd = p.pidfd;
	w->generation = p.generation;
	w->started_ms = p.started_ms;
	w->state = RPD_W_STARTING;
	w->deadline_ms = sup->ready_delay_ms >= 0 ? now + sup->ready_delay_ms : 0;
	pr_info("worker slot=%u pid=%d gen=%u started", slot, (int)p.pid, p.generation);
	return 0;
}

int rpd_sup_spawn_candidate(struct rpd_supervisor *sup, unsigned int slot)
{
	struct rpd_worker *w = &sup->w[slot];
	int64_t now = rpd_now_ms();
	int err;

	if (w->cand.pid)
		return -EBUSY;
	w->cand_ready = false;
	w->cand_error = 0;
	err = launch(sup, slot, ++w->starts, rpd_tag(RPD_TAG_CAND_PIDFD, slot), &w->cand);
	if (err) {
		w->cand_error = err;
		return err;
	}
	w->cand_ready_at = sup->ready_delay_ms >= 0 ? now + sup->ready_delay_ms : 0;
	w->cand_fail_at = now + sup->ready_timeout_ms;
	pr_info("worker slot=%u pid=%d gen=%u started as the replacement of pid %d", slot,
		(int)w->cand.pid, w->cand.generation, (int)w->pid);
	return 0;
}

/* Put p on the retired list with its stop signal sent; p is cleared. */
static void retire(struct rpd_supervisor *sup, unsigned int slot, struct rpd_proc *p, int sig,
		   int64_t kill_at)
{
	unsigned int i;

	for (i = 0; i < RPD_MAX_RETIRED && sup->retired[i].p.pid; i++)
		;
	kill(p->pid, sig);
	if (i == RPD_MAX_RETIRED) {
		/* No room to watch it drain: it must go now (cannot happen with one change at a
		 * time, which never retires more than a slot's worth). */
		pr_warn("worker slot=%u pid=%d: too many retired workers; killing it", slot,
			(int)p->pid);
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (p->pidfd >= 0) {
			epoll_ctl(sup->epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
			close(p->pidfd);
		}
		*p = (struct rpd_proc){ .pidfd = -1 };
		return;
	}
	if (p->pidfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = rpd_tag(RPD_TAG_RETIRED_PIDFD, i) };

		epoll_ctl(sup->epfd, EPOLL_CTL_MOD, p->pidfd, &ev);
	}
	sup->retired[i].p = *p;
	sup->retired[i].slot = slot;
	sup->retired[i].kill_at = kill_at;
	sup->nretired++;
	pr_info("worker slot=%u pid=%d gen=%u retired: signal %d, SIGKILL in %d ms unless it "
		"exits",
		slot, (int)p->pid, p->generation, sig, (int)(kill_at - rpd_now_ms()));
	*p = (struct rpd_proc){ .pidfd = -1 };
}

void rpd_sup_promote(struct rpd_supervisor *sup, unsigned int slot)
{
	struct rpd_worker *w = &sup->w[slot];
	int64_t now = rpd_now_ms();

	if (!w->cand.pid)
		return;
	if (w->pid) {
		struct rpd_proc old = { w->pid, w->pidfd, w->generation, w->started_ms };

		retire(sup, slot, &old, sup->stop_signal, now + sup->drain_timeout_ms);
	}
	/* Its pidfd now speaks for the slot's current worker. */
	if (w->cand.pidfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = rpd_tag(RPD_TAG_PIDFD, slot) };

		epoll_ctl(sup->epfd, EPOLL_CTL_MOD, w->cand.pidfd, &ev);
	}
	w->pid = w->cand.pid;
	w->pidfd = w->cand.pidfd;
	w->generation = w->cand.generation;
	w->started_ms = w->cand.started_ms;
	w->cand = (struct rpd_proc){ .pidfd = -1 };
	w->cand_ready = false;
	if (w->state != RPD_W_READY)
		sup->changed = true;
	w->state = RPD_W_READY;
	w->deadline_ms = 0;
	w->failures = 0;
	pr_info("worker slot=%u pid=%d gen=%u is now the slot's worker", slot, (int)w->pid,
		w->generation);
}

void rpd_sup_abort_candidate(struct rpd_supervisor *sup, unsigned int slot)
{
	struct rpd_worker *w = &sup->w[slot];
	int64_t now = rpd_now_ms();

	if (w->cand.pid)
		retire(sup, slot, &w->cand, SIGKILL, now);
	w->cand_ready = false;
	/* The old worker died while its replacement was starting: respawn as after a crash. */
	if (!w->pid && w->state != RPD_W_BACKOFF && !sup->stopping) {
		w->started_ms = now;
		enter_backoff(sup, slot, now);
	}
}

void rpd_sup_retire_slot(struct rpd_supervisor *sup, unsigned int slot)
{
	struct rpd_worker *w = &sup->w[slot];
	int64_t now = rpd_now_ms();

	rpd_sup_abort_candidate(sup, slot);
	if (w->pid) {
		struct rpd_proc old = { w->pid, w->pidfd, w->generation, w->started_ms };

		retire(sup, slot, &old, sup->stop_signal, now + sup->drain_timeout_ms);
	}
	if (w->state == RPD_W_READY)
		sup->changed = true;
	w->pid = 0;
	w->pidfd = -1;
	w->state = RPD_W_STOPPED;
	w->deadline_ms = 0;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "ended with wait status 0x%x", status);
}

/*
 * Reap p if it has exited: 1 (p cleared, how describes the exit), 0 if it still runs.
 */
static int reap_proc(struct rpd_supervisor *sup, struct rpd_proc *p, int *status, char *how,
		     size_t len)
{
	pid_t r;

	if (!p->pid)
		return 0;
	do
		r = waitpid(p->pid, status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 0; /* not yet: the pidfd fires again */
	if (r < 0)
		*status = 0;
	if (p->pidfd >= 0) {
		epoll_ctl(sup->epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
		close(p->pidfd);
	}
	p->pidfd = -1;
	describe_status(*status, how, len);
	return 1;
}

void rpd_sup_reap(struct rpd_supervisor *sup, unsigned int slot)
{
	struct rpd_worker *w = &sup->w[slot];
	struct rpd_proc p = { w->pid, w->pidfd, w->generation, w->started_ms };
	int64_t now = rpd_now_ms();
	char how[96];
	int status;

	if (!reap_proc(sup, &p, &status, how, sizeof(how)))
		return;
	pr_info("worker slot=%u pid=%d gen=%u %s after %lld ms", slot, (int)w->pid, w->generation,
		how, (long long)(now - w->started_ms));
	w->pid = 0;
	w->pidfd = -1;
	w->last_status = status;
	if (w->state == RPD_W_READY)
		sup->changed = true;
	if (sup->stopping || w->state == RPD_W_STOPPING) {
		w->state = RPD_W_STOPPED;
		return;
	}
	w->restarts++;
	if (w->cand.pid) {
		/* A replacement is starting: it takes over when ready (the restart promotes it). */
		w->state = RPD_W_STARTING;
		w->deadline_ms = 0;
		return;
	}
	enter_backoff(sup, slot, now);
}

void rpd_sup_reap_candidate(struct rpd_supervisor *sup, unsigned int slot)
{
	struct rpd_worker *w = &sup->w[slot];
	char how[96];
	int status;

	if (!reap_proc(sup, &w->cand, &status, how, sizeof(how)))
		return;
	pr_warn("worker slot=%u pid=%d gen=%u (replacement) %s before it was ready", slot,
		(int)w->cand.pid, w->cand.generation, how);
	w->cand = (struct rpd_proc){ .pidfd = -1 };
	w->cand_ready = false;
	w->cand_error = -ECHILD;
	/* The old worker died meanwhile too: the slot respawns as after a crash. */
	if (!w->pid && !sup->stopping && w->state != RPD_W_BACKOFF) {
		w->started_ms = rpd_now_ms();
		enter_backoff(sup, slot, w->started_ms);
	}
}

void rpd_sup_reap_retired(struct rpd_supervisor *sup, unsigned int index)
{
	struct rpd_retired *r;
	char how[96];
	int status;

	if (index >= RPD_MAX_RETIRED)
		return;
	r = &sup->retired[index];
	if (!reap_proc(sup, &r->p, &status, how, sizeof(how)))
		return;
	pr_info("worker slot=%u pid=%d gen=%u (retired) %s", r->slot, (int)r->p.pid,
		r->p.generation, how);
	r->p = (struct rpd_proc){ .pidfd = -1 };
	sup->nretired--;
}

void rpd_sup_reap_all(struct rpd_supervisor *sup)
{
	for (unsigned int s = 0; s < RPD_MAX_SLOTS; s++) {
		if (sup->w[s].pid && sup->w[s].pidfd < 0)
			rpd_sup_reap(sup, s);
		if (sup->w[s].cand.pid && sup->w[s].cand.pidfd < 0)
			rpd_sup_reap_candidate(sup, s);
	}
	for (unsigned int i = 0; i < RPD_MAX_RETIRED; i++) {
		if (sup->retired[i].p.pid && sup->retired[i].p.pidfd < 0)
			rpd_sup_reap_retired(sup, i);
	}
}

static void mark_ready(struct rpd_supervisor *sup, unsigned int slot, const char *how)
{
	struct rpd_worker *w = &sup->w[slot];

	if (w->state != RPD_W_STARTING)
		return;
	w->state = RPD_W_READY;
	w->deadline_ms = 0;
	sup->changed = true;
	pr_info("worker slot=%u pid=%d gen=%u ready (%s)", slot, (int)w->pid, w->generation, how);
}

/* Slot of a current worker's pid, or -(slot + 2) for a replacement's; -1 if neither. */
static int slot_of_pid(const struct rpd_supervisor *sup, pid_t pid)
{
	for (unsigned int s = 0; s < RPD_MAX_SLOTS; s++) {
		if (sup->w[s].pid == pid)
			return (int)s;
		if (sup->w[s].cand.pid == pid)
			return -(int)s - 2;
	}
	return -1;
}

static void mark_cand_ready(struct rpd_supervisor *sup, unsigned int slot, const char *how)
{
	struct rpd_worker *w = &sup->w[slot];

	if (!w->cand.pid || w->cand_ready)
		return;
	w->cand_ready = true;
	pr_info("worker slot=%u pid=%d gen=%u (replacement) ready (%s)", slot, (int)w->cand.pid,
		w->cand.generation, how);
}

void rpd_sup_notify_read(struct rpd_supervisor *sup)
{
	char buf[4096], cbuf[CMSG_SPACE(sizeof(struct ucred))];

	for (;;) {
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr msg = { .msg_iov = &iov,
				      .msg_iovlen = 1,
				      .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		struct ucred *cred = NULL;
		struct cmsghdr *c;
		ssize_t n;
		int slot;

		n = recvmsg(sup->notify_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				pr_warn("notify socket: cannot receive: %s", strerror(errno));
			if (errno != EINTR)
				return;
			continue;
		}
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
				cred = (struct ucred *)CMSG_DATA(c);
			else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
				/* Nobody may park fds on us. */
				int *fd = (int *)CMSG_DATA(c);
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				while (k--)
					close(fd[k]);
			}
		}
		if ((size_t)n >= sizeof(buf) || (msg.msg_flags & MSG_TRUNC)) {
			pr_warn("notify socket: ignoring an oversized message");
			continue;
		}
		slot = cred ? slot_of_pid(sup, cred->pid) : -1;
		if (slot <= -2) {
			buf[n] = '\0';
			if (strstr(buf, "READY=1"))
				mark_cand_ready(sup, -slot - 2, "READY=1");
			continue;
		}
		if (slot < 0) {
			pr_debug("notify socket: ignoring a message from pid %d, not a worker",
				 cred ? (int)cred->pid : -1);
			continue;
		}
		buf[n] = '\0';
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			if (!strcmp(line, "READY=1"))
				mark_ready(sup, slot, "READY=1");
			else if (!strcmp(line, "STOPPING=1"))
				pr_debug("worker slot=%d: stopping", slot);
			else if (!strncmp(line, "STATUS=", 7))
				pr_debug("worker slot=%d: status %.200s", slot, line + 7);
		}
	}
}

int rpd_sup_tick(struct rpd_supervisor *sup, int64_t now)
{
	int64_t next = -1;

	for (unsigned int s = 0; s < sup->nslots; s++) {
		struct rpd_worker *w = &sup->w[s];

		if (w->deadline_ms && w->deadline_ms <= now) {
			switch (w->state) {
			case RPD_W_STARTING:
				mark_ready(sup, s, "ready delay elapsed");
				break;
			case RPD_W_BACKOFF:
				w->deadline_ms = 0;
				if (!sup->stopping)
					rpd_sup_spawn(sup, s);
				else
					w->state = RPD_W_STOPPED;
				break;
			case RPD_W_STOPPING:
				pr_warn("worker slot=%u pid=%d: still running %d ms after the stop "
					"signal; killing it",
					s, (int)w->pid, sup->stop_timeout_ms);
				kill(w->pid, SIGKILL);
				w->deadline_ms = 0;
				break;
			default:
				w->deadline_ms = 0;
			}
		}
		if (w->deadline_ms && (next < 0 || w->deadline_ms < next))
			next = w->deadline_ms;
		if (!w->cand.pid || w->cand_ready)
			continue;
		if (w->cand_ready_at && w->cand_ready_at <= now) {
			mark_cand_ready(sup, s, "ready delay elapsed");
			continue;
		}
		if (w->cand_fail_at <= now) {
			pr_warn("worker slot=%u pid=%d gen=%u (replacement): not ready after %d ms",
				s, (int)w->cand.pid, w->cand.generation, sup->ready_timeout_ms);
			w->cand_error = -ETIMEDOUT;
			rpd_sup_abort_candidate(sup, s);
			continue;
		}
		if (w->cand_ready_at && (next < 0 || w->cand_ready_at < next))
			next = w->cand_ready_at;
		if (next < 0 || w->cand_fail_at < next)
			next = w->cand_fail_at;
	}
	for (unsigned int i = 0; i < RPD_MAX_RETIRED; i++) {
		struct rpd_retired *r = &sup->retired[i];

		if (!r->p.pid || !r->kill_at)
			continue;
		if (r->kill_at <= now) {
			pr_warn("worker slot=%u pid=%d gen=%u (retired): still running; killing it",
				r->slot, (int)r->p.pid, r->p.generation);
			kill(r->p.pid, SIGKILL);
			r->kill_at = 0;
			continue;
		}
		if (next < 0 || r->kill_at < next)
			next = r->kill_at;
	}
	if (next < 0)
		return -1;
	return next > now ? (int)(next - now) : 0;
}

void rpd_sup_stop_all(struct rpd_supervisor *sup)
{
	int64_t now = rpd_now_ms();

	sup->stopping = true;
	for (unsigned int s = 0; s < RPD_MAX_SLOTS; s++) {
		if (sup->w[s].cand.pid)
			retire(sup, s, &sup->w[s].cand, sup->stop_signal,
			       now + sup->stop_timeout_ms);
	}
	for (unsigned int i = 0; i < RPD_MAX_RETIRED; i++) {
		struct rpd_retired *r = &sup->retired[i];

		if (r->p.pid && (!r->kill_at || r->kill_at > now + sup->stop_timeout_ms))
			r->kill_at = now + sup->stop_timeout_ms;
	}
	for (unsigned int s = 0; s < sup->nslots; s++) {
		struct rpd_worker *w = &sup->w[s];

		if (!w->pid) {
			w->state = RPD_W_STOPPED;
			w->deadline_ms = 0;
			continue;
		}
		if (w->state == RPD_W_READY)
			sup->changed = true;
		kill(w->pid, sup->stop_signal);
		w->state = RPD_W_STOPPING;
		w->deadline_ms = now + sup->stop_timeout_ms;
	}
}

unsigned int rpd_sup_running(const struct rpd_supervisor *sup)
{
	unsigned int n = sup->nretired;

	for (unsigned int s = 0; s < RPD_MAX_SLOTS; s++)
		n += (sup->w[s].pid != 0) + (sup->w[s].cand.pid != 0);
	return n;
}
