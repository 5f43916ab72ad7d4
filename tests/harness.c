// SPDX-License-Identifier: MIT
/*
 * harness.c - namespace, process and log plumbing for the integration tests.
 *
 * Owns: entering a private network namespace per test, starting and stopping the daemon under
 * test, running helper commands with deadlines. Never asserts a test's outcome.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char test_dir[64];

/* Daemons a test started and has not stopped: teardown stops them even when it failed. */
static pid_t live[16];

static void track(pid_t pid, bool add)
{
	for (int i = 0; i < 16; i++) {
		if (add ? live[i] == 0 : live[i] == pid) {
			live[i] = add ? pid : 0;
			return;
		}
	}
}

void h_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

int h_setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		const char *ci = getenv("CI");

		if (ci && !strcmp(ci, "true"))
			fail_msg("integration tests need root (network namespaces, BPF); CI=true "
				 "does not allow skipping them: run the suite as root");
		print_message("skipped: integration tests need root for network namespaces and "
			      "BPF; run them as root\n");
		skip();
	}
	if (unshare(CLONE_NEWNET) < 0)
		fail_msg("unshare(CLONE_NEWNET): %s", strerror(errno));
	if (lo_up())
		fail_msg("cannot bring lo up in the test namespace");
	strcpy(test_dir, "/tmp/rpd-itest-XXXXXX");
	if (!mkdtemp(test_dir))
		fail_msg("mkdtemp: %s", strerror(errno));
	return 0;
}

int h_teardown(void **state)
{
	char cmd[128];
	int r;

	(void)state;
	for (int i = 0; i < 16; i++) {
		if (live[i] > 0) {
			kill(live[i], SIGTERM);
			h_wait(live[i], 10000);
		}
		live[i] = 0;
	}
	if (test_dir[0] && !getenv("RPD_KEEP_TEST_DIR")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
		r = system(cmd);
		(void)r;
	}
	test_dir[0] = '\0';
	return 0;
}

int h_daemon_start(struct h_daemon *d, const char *const *args, int wait_ms)
{
	return h_daemon_start_wrapped(d, NULL, args, wait_ms);
}

int h_daemon_start_wrapped(struct h_daemon *d, const char *const *wrapper, const char *const *args,
			   int wait_ms)
{
	static unsigned int counter;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *argv[64];
	char name[80];
	int argc = 0, len;
	int64_t deadline;

	memset(d, 0, sizeof(*d));
	snprintf(d->dir, sizeof(d->dir), "%s", test_dir);
	snprintf(d->control, sizeof(d->control), "%s/ctl%u/control.sock", test_dir, counter);
	snprintf(d->log, sizeof(d->log), "%s/daemon%u.log", test_dir, counter);
	len = snprintf(name, sizeof(name), "@rpd-itest/%d/%u", (int)getpid(), counter++);

	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d->notify_fd < 0)
		return -errno;
	memcpy(sun.sun_path + 1, name + 1, len - 1);
	if (bind(d->notify_fd, (struct sockaddr *)&sun,
		 offsetof(struct sockaddr_un, sun_path) + len) < 0)
		return -errno;

	for (; wrapper && *wrapper && argc < 16; wrapper++)
		argv[argc++] = *wrapper;
	argv[argc++] = H_DAEMON;
	argv[argc++] = "--control";
	argv[argc++] = d->control;
	for (; *args && argc < 62; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;

	fflush(NULL);
	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("NOTIFY_SOCKET", name, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	track(d->pid, true);
	if (!wait_ms)
		return 0;
	deadline = now_ms() + wait_ms;
	while (now_ms() < deadline) {
		struct pollfd p = { d->notify_fd, POLLIN, 0 };
		char buf[256];
		ssize_t n;
		int status;

		if (poll(&p, 1, 50) == 1) {
			n = recv(d->notify_fd, buf, sizeof(buf) - 1, 0);
			if (n > 0) {
				buf[n] = '\0';
				if (strstr(buf, "READY=1"))
					return 0;
			}
		}
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			track(d->pid, false);
			d->pid = 0;
			return -ECHILD;
		}
	}
	return -ETIMEDOUT;
}

int h_wait(pid_t pid, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (r < 0)
			return -errno;
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -ETIMEDOUT;
		}
		h_sleep_ms(10);
	}
}

int h_daemon_stop(struct h_daemon *d, int timeout_ms)
{
	int r;

	if (d->notify_fd > 0)
		close(d->notify_fd);
	d->notify_fd = -1;
	if (d->pid <= 0)
		return -ECHILD;
	kill(d->pid, SIGTERM);
	r = h_wait(d->pid, timeout_ms);
	track(d->pid, false);
	d->pid = 0;
	return r;
}

void h_daemon_up(struct h_daemon *d, const char *const *args)
{
	int r = h_daemon_start(d, args, 15000);

	if (r)
		fail_msg("daemon did not become ready (%s); log:\n%s", strerror(-r),
			 h_daemon_log(d));
}

void h_daemon_down(struct h_daemon *d)
{
	int r = h_daemon_stop(d, 20000);

	if (r != 0)
		fail_msg("daemon stop returned %d; log:\n%s", r, h_daemon_log(d));
}

int h_ctl(struct h_daemon *d, char *out, size_t len, ...)
{
	const char *argv[16] = { H_CTL, "--control", d->control };
	int argc = 3;
	va_list ap;

	va_start(ap, len);
	while (argc < 15 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	return h_run(argv, out, len, 120000, NULL);
}

const char *h_read_file(const char *path)
{
	static char buf[1 << 20];
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf + total, sizeof(buf) - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return buf;
}

const char *h_daemon_log(struct h_daemon *d)
{
	const char *s = h_read_file(d->log);

	return s ? s : "";
}

int h_log_wait(struct h_daemon *d, const char *needle, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	do {
		if (strstr(h_daemon_log(d), needle))
			return 0;
		h_sleep_ms(20);
	} while (now_ms() < deadline);
	return -ETIMEDOUT;
}

pid_t h_worker_pid(struct h_daemon *d, int slot)
{
	const char *log = h_daemon_log(d), *p = log;
	char needle[48];
	pid_t pid = 0;

	snprintf(needle, sizeof(needle), "worker slot=%d pid=", slot);
	while ((p = strstr(p, needle))) {
		int v;
		const char *line_end = strchr(p, '\n');

		p += strlen(needle);
		if (sscanf(p, "%d", &v) == 1 && line_end && strstr(p, " started") &&
		    strstr(p, " started") < line_end)
			pid = v;
	}
	return pid;
}

int h_run(const char *const *argv, char *out, size_t outlen, int timeout_ms, void (*pre_exec)(void))
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t used = 0;
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (pre_exec)
			pre_exec();
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		int64_t left = deadline - now_ms();
		char sink[4096];
		ssize_t n;

		if (left <= 0)
			break;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if (used + 1 < outlen)
			n = read(pfd[0], out + used, outlen - 1 - used);
		else
			n = read(pfd[0], sink, sizeof(sink));
		if (n <= 0)
			break;
		if (used + 1 < outlen)
			used += n;
	}
	close(pfd[0]);
	if (outlen)
		out[used] = '\0';
	return h_wait(pid, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 1));
}

pid_t h_spawn(const char *const *argv, const char *out_path)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

long h_json_int(const char *json, const char *key)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	p = strstr(json, needle);
	if (!p)
		return -1;
	p += strlen(needle);
	while (*p == ' ')
		p++;
	return strtol(p, NULL, 10);
}

int h_json_slots(const char *json, long *counts, int n)
{
	const char *p = strstr(json, "\"slots\":");
	int seen = 0;

	memset(counts, 0, n * sizeof(*counts));
	if (!p || !(p = strchr(p, '{')))
		return 0;
	p++;
	while (*p && *p != '}') {
		long slot, count;
		char *end;

		while (*p == ' ' || *p == ',' || *p == '"')
			p++;
		slot = strtol(p, &end, 10);
		if (end == p)
			break;
		p = strchr(end, ':');
		if (!p)
			break;
		count = strtol(p + 1, &end, 10);
		p = end;
		if (slot >= 0 && slot < n) {
			counts[slot] = count;
			seen++;
		}
	}
	return seen;
}

int h_http_get(const char *ip, int port, char *buf, size_t len)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { 2, 0 };
	size_t used = 0;
	char *body;
	ssize_t n;
	int fd, err = 0;

	inet_pton(AF_INET, ip, &sin.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0) {
		err = -errno;
		goto out;
	}
	while (used + 1 < len && (n = recv(fd, buf + used, len - 1 - used, 0)) > 0)
		used += n;
	buf[used] = '\0';
	body = strstr(buf, "\r\n\r\n");
	if (!body) {
		err = -EPROTO;
		goto out;
	}
	memmove(buf, body + 4, strlen(body + 4) + 1);
out:
	close(fd);
	return err;
}
