// SPDX-License-Identifier: MIT
/*
 * itest_control.c - the control socket and reuseportctl on a live daemon with real traffic:
 * every command and error path with its exit code, drain exactness, weighted shares, abuse
 * (garbage, huge lines, unfinished lines, floods, many clients) and access control.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static char out[1 << 18];

static const char *const four[] = { "--workers", "4",
				    "--user",	 "root",
				    "--listen",	 "tcp://127.0.0.1:8080",
				    "--listen",	 "udp://127.0.0.1:8080",
				    NULL };

/* reuseportctl --control <daemon's> ARGS...; returns its exit code, output in out. */
static int ctl_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strncpy(sun.sun_path, path, sizeof(sun.sun_path) - 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = -errno;

		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

/* Read one line (or until EOF / timeout); returns its length, 0 on EOF, -ETIMEDOUT. */
static int read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t used = 0;

	while (used + 1 < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		n = recv(fd, buf + used, 1, 0);
		if (n <= 0)
			break;
		used++;
		if (buf[used - 1] == '\n')
			break;
	}
	buf[used] = '\0';
	return (int)used;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_commands_and_exit_codes(void **state)
{
	struct h_daemon d;

	(void)state;
	h_daemon_up(&d, four);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "status", NULL), 0);
	assert_non_null(strstr(out, "policy hash"));
	assert_non_null(strstr(out, "tcp:127.0.0.1:8080"));
	assert_non_null(strstr(out, "ready"));
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "status", NULL), 0);
	assert_non_null(strstr(out, "\"ok\":true"));
	assert_non_null(strstr(out, "\"workers\":[{\"slot\":0,"));
	assert_non_null(strstr(out, "\"protocol\":1"));
	assert_int_equal(h_ctl(&d, out, sizeof(out), "stats", NULL), 0);
	assert_non_null(strstr(out, "SELECTED"));
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "stats", NULL), 0);
	assert_non_null(strstr(out, "\"drops\""));
	assert_int_equal(h_ctl(&d, out, sizeof(out), "drain", "2", NULL), 0);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "drain", "2", NULL), 0);
	assert_non_null(strstr(out, "\"changed\":false"));
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "status", NULL), 0);
	assert_non_null(strstr(out, "\"state\":\"draining\""));
	assert_non_null(strstr(out, "\"excluded\":\"drained\""));
	assert_int_equal(h_ctl(&d, out, sizeof(out), "undrain", "2", NULL), 0);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "weight", "1", "7", NULL), 0);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "policy", "hash", NULL), 0);

	/* Refused by the daemon: exit 1 with its reason. */
	assert_int_equal(h_ctl(&d, out, sizeof(out), "weight", "9", "1", NULL), 1);
	assert_non_null(strstr(out, "unknown slot 9: slots are 0..3"));
	assert_int_equal(h_ctl(&d, out, sizeof(out), "drain", "4", NULL), 1);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "policy", "roundrobin", NULL), 1);
	assert_non_null(strstr(out, "unknown policy 'roundrobin'"));
	/* Usage: exit 2. */
	assert_int_equal(h_ctl(&d, out, sizeof(out), "weight", "1", "1001", NULL), 2);
	assert_non_null(strstr(out, "1001"));
	assert_int_equal(h_ctl(&d, out, sizeof(out), "weight", "-1", "3", NULL), 2);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "weight", "1", NULL), 2);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "frobnicate", NULL), 2);
	/* Unreachable: exit 3. */
	{
		const char *argv[] = { H_CTL, "--control", "/nonexistent/ctl.sock", "status",
				       NULL };

		assert_int_equal(h_run(argv, out, sizeof(out), 20000, NULL), 3);
		assert_non_null(strstr(out, "cannot reach reuseportd"));
	}
	/* Every change was logged with who asked. */
	assert_non_null(strstr(h_daemon_log(&d), "control: uid=0 pid="));
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

static void load(int count, long *slots, int nslots)
{
	char n[16];
	const char *argv[] = { H_LOADGEN,	"--tcp", "127.0.0.1:8080", "--count", n,
			       "--concurrency", "16",	 "--json",	   NULL };
	int r;

	snprintf(n, sizeof(n), "%d", count);
	r = h_run(argv, out, sizeof(out), 120000, NULL);
	if (r != 0 || h_json_int(out, "ok") != count)
		fail_msg("load of %d: exit %d: %s", count, r, out);
	h_json_slots(out, slots, nslots);
}

static void test_drain_is_exact(void **state)
{
	struct h_daemon d;
	long slots[4];

	(void)state;
	h_daemon_up(&d, four);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "drain", "3", NULL), 0);
	load(2000, slots, 4);
	assert_int_equal(slots[3], 0);
	assert_int_equal(slots[0] + slots[1] + slots[2], 2000);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "undrain", "3", NULL), 0);
	load(2000, slots, 4);
	assert_true(slots[3] > 300);
	/* Weight 0 is the same as drain. */
	assert_int_equal(h_ctl(&d, out, sizeof(out), "weight", "1", "0", NULL), 0);
	load(1000, slots, 4);
	assert_int_equal(slots[1], 0);
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

static void test_weights_share(void **state)
{
	struct h_daemon d;
	long slots[4];
	double share;

	(void)state;
	h_daemon_up(&d, four);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "weight", "0", "4", NULL), 0);
	load(2800, slots, 4);
	share = slots[0] / 2800.0;
	if (share < 4.0 / 7 - 0.05 || share > 4.0 / 7 + 0.05)
		fail_msg("slot 0 got %.3f of new connections, expected 4/7 +- 0.05", share);
	for (int s = 1; s < 4; s++)
		assert_true(slots[s] > 2800 / 7 * 0.6);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "status", NULL), 0);
	assert_non_null(strstr(out, "\"weight\":4"));
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

/* status answered within 1 s and traffic still served. */
static void assert_healthy(struct h_daemon *d)
{
	double t0 = now_s();
	long slots[4];

	assert_int_equal(h_ctl(d, out, sizeof(out), "--json", "status", NULL), 0);
	if (now_s() - t0 > 1.0)
		fail_msg("status took %.3f s under abuse", now_s() - t0);
	load(200, slots, 4);
}

static void test_abuse(void **state)
{
	static char junk[1 << 20];
	struct h_daemon d;
	int fds[100], hold, fd;
	pid_t flood;
	char line[512];
	FILE *rnd;

	(void)state;
	h_daemon_up(&d, four);

	/* 64 KiB of random bytes: one error line, then closed. */
	rnd = fopen("/dev/urandom", "r");
	assert_non_null(rnd);
	assert_int_equal(fread(junk, 1, 65536, rnd), 65536);
	fclose(rnd);
	fd = ctl_connect(d.control);
	assert_true(fd >= 0);
	/* The daemon may close before taking it all: the send's result does not matter. */
	(void)!send(fd, junk, 65536, MSG_NOSIGNAL);
	assert_true(read_line(fd, line, sizeof(line), 5000) > 0);
	assert_non_null(strstr(line, "\"ok\":false"));
	assert_int_equal(read_line(fd, line, sizeof(line), 5000), 0); /* closed */
	close(fd);
	assert_healthy(&d);

	/* A 1 MB line: "too long", closed. */
	memset(junk, 'a', sizeof(junk));
	fd = ctl_connect(d.control);
	assert_true(fd >= 0);
	(void)!send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
	assert_true(read_line(fd, line, sizeof(line), 5000) > 0);
	assert_non_null(strstr(line, "too long"));
	close(fd);
	assert_healthy(&d);

	/* A client that never finishes its line, and one that floods requests without reading
	 * the responses for up to 20 s: the daemon must drop it. */
	hold = ctl_connect(d.control);
	assert_true(hold >= 0);
	assert_int_equal(send(hold, "stat", 4, MSG_NOSIGNAL), 4);
	flood = fork();
	if (flood == 0) {
		double until = now_s() + 20;
		int f = ctl_connect(d.control);

		if (f < 0)
			_exit(2);
		while (now_s() < until) {
			struct pollfd p = { f, POLLOUT, 0 };

			if (poll(&p, 1, 100) < 0)
				_exit(3);
			if (p.revents & (POLLERR | POLLHUP))
				_exit(0);
			if ((p.revents & POLLOUT) &&
			    send(f, "status\nstatus\nstatus\nstatus\n", 28,
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
			    errno != EAGAIN)
				_exit(0); /* dropped by the daemon */
		}
		_exit(1);
	}
	assert_healthy(&d);

	/* 100 concurrent clients, each asking for status. */
	for (int i = 0; i < 100; i++) {
		fds[i] = ctl_connect(d.control);
		assert_true(fds[i] >= 0);
	}
	for (int i = 0; i < 100; i++)
		assert_int_equal(send(fds[i], "status\n", 7, MSG_NOSIGNAL), 7);
	for (int i = 0; i < 100; i++) {
		assert_true(read_line(fds[i], line, sizeof(line), 10000) > 0);
		assert_non_null(strstr(line, "\"ok\":true"));
		close(fds[i]);
	}
	assert_healthy(&d);

	/* The unfinished line is cut off after 5 s; the flooder has been dropped. */
	assert_true(read_line(hold, line, sizeof(line), 8000) > 0);
	assert_non_null(strstr(line, "not finished in time"));
	close(hold);
	{
		int status;

		assert_int_equal(waitpid(flood, &status, 0), flood);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(h_log_wait(&d, "does not read its responses", 5000), 0);
	assert_healthy(&d);
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

/* A peer that can reach the socket file but is neither root, the daemon's uid nor in the
 * control group: the SO_PEERCRED check refuses it. */
static void connect_as_nobody_with_dac_override(const char *path, int *result)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2] = { 0 };
	char line[512];
	int fd, status;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
		if (setresgid(65534, 65534, 65534) || setgroups(0, NULL) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		caps[0].effective = caps[0].permitted = 1u << CAP_DAC_OVERRIDE;
		if (syscall(SYS_capset, &h, caps))
			_exit(11);
		fd = ctl_connect(path);
		if (fd < 0)
			_exit(12);
		/* Refused and closed before the request: the reason is still there to read. */
		(void)!send(fd, "status\n", 7, MSG_NOSIGNAL);
		if (read_line(fd, line, sizeof(line), 5000) <= 0)
			_exit(13);
		_exit(strstr(line, "permission denied: uid 65534") ? 0 : 14);
	}
	waitpid(pid, &status, 0);
	*result = WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

static void test_peer_credentials(void **state)
{
	struct h_daemon d;
	struct stat st;
	int r;

	(void)state;
	h_daemon_up(&d, four);
	assert_int_equal(stat(d.control, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	connect_as_nobody_with_dac_override(d.control, &r);
	assert_int_equal(r, 0);
	assert_int_equal(h_log_wait(&d, "control: refused uid=65534", 5000), 0);
	assert_healthy(&d);
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
	/* The socket file goes with the daemon. */
	assert_int_equal(stat(d.control, &st), -1);
}

/* With --control-group the socket is 0660 and members are served. */
static void test_control_group(void **state)
{
	char dir[64], path[96], gname[] = "nogroup";
	const char *args[] = {
		"--workers",	   "2",	  "--user",    "root", "--listen", "tcp://127.0.0.1:8080",
		"--control-group", gname, "--control", path,   NULL
	};
	struct h_daemon d;
	struct stat st;
	int status;
	pid_t pid;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/rpd-ctlgrp-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	mkdir(dir, 0755);
	chmod(dir, 0755);
	h_daemon_up(&d, args);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, 65534);
	pid = fork();
	if (pid == 0) {
		char line[4096];
		int fd;

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		fd = ctl_connect(path);
		if (fd < 0)
			_exit(11);
		if (send(fd, "status\n", 7, MSG_NOSIGNAL) != 7)
			_exit(12);
		if (read_line(fd, line, sizeof(line), 5000) <= 0)
			_exit(13);
		_exit(strstr(line, "\"ok\":true") ? 0 : 14);
	}
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commands_and_exit_codes, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_drain_is_exact, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_weights_share, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_abuse, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_peer_credentials, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_control_group, h_setup, h_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
