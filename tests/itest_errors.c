// SPDX-License-Identifier: MIT
/*
 * itest_errors.c - every start-up error a user can cause, on the real binary: one line naming
 * the cause and the fix, exit 2 (usage) or 1 (environment), and nothing left behind (no
 * child, no listening socket, the control path free for the next daemon).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static char out[1 << 16];

/* Run the daemon with args; assert its exit code and that its output is one line with needle. */
static void expect_failure(int code, const char *needle, const char *const *args,
			   void (*pre_exec)(void))
{
	const char *argv[32] = { H_DAEMON, "--control" };
	int argc = 3, r, lines = 0;
	char ctl[64];

	snprintf(ctl, sizeof(ctl), "/tmp/rpd-itest-errors-%d/ctl.sock", (int)getpid());
	argv[2] = ctl;
	for (; *args; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	r = h_run(argv, out, sizeof(out), 20000, pre_exec);
	if (r != code || !strstr(out, needle))
		fail_msg("expected exit %d and '%s', got exit %d: %s", code, needle, r, out);
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	if (lines != 1)
		fail_msg("expected one line, got %d: %s", lines, out);
}

static int listen_on(int port, int reuseport)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static void test_usage_errors(void **state)
{
	const char *bad_flag[] = { "--frobnicate", NULL };
	const char *bad_url[] = { "--listen", "tcp://127.0.0.1", NULL };
	const char *bad_scheme[] = { "--listen", "sctp://127.0.0.1:80", NULL };
	const char *bad_workers[] = { "--workers", "0", NULL };
	const char *missing[] = { "--workers", NULL };
	const char *help[] = { H_DAEMON, "--help", NULL };
	const char *version[] = { H_DAEMON, "--version", NULL };

	(void)state;
	expect_failure(2, "unknown option '--frobnicate'; see reuseportd --help", bad_flag, NULL);
	expect_failure(2, "missing port", bad_url, NULL);
	expect_failure(2, "unknown scheme; use tcp://HOST:PORT or udp://HOST:PORT", bad_scheme,
		       NULL);
	expect_failure(2, "--workers: expected a number from 1 to 256", bad_workers, NULL);
	expect_failure(2, "option --workers needs a value", missing, NULL);
	assert_int_equal(h_run(help, out, sizeof(out), 5000, NULL), 0);
	assert_non_null(strstr(out, "usage: reuseportd"));
	assert_int_equal(h_run(version, out, sizeof(out), 5000, NULL), 0);
	assert_non_null(strstr(out, "reuseportd 0."));
}

/* A taken port, by anybody, is refused; a same-user SO_REUSEPORT socket too (no hijack). */
static void test_port_taken(void **state)
{
	const char *args[] = { "--workers", "2",	"--user",
			       "root",	    "--listen", "tcp://127.0.0.1:8080",
			       NULL };
	const char *second[] = { "--workers", "2",
				 "--user",    "root",
				 "--listen",  "tcp://127.0.0.1:8081",
				 "--listen",  "tcp://127.0.0.1:8080",
				 NULL };
	int fd;

	(void)state;
	fd = listen_on(8080, 0);
	expect_failure(1, "listener tcp:127.0.0.1:8080: address already in use", args, NULL);
	close(fd);
	fd = listen_on(8080, 1);
	expect_failure(1, "address already in use; stop the process holding it", args, NULL);
	/* The first listener of a failed start is released: its port can be bound again. */
	expect_failure(1, "listener tcp:127.0.0.1:8080: address already in use", second, NULL);
	close(listen_on(8081, 0));
	close(fd);
}

static void drop_admin_caps(void)
{
	/* Root without CAP_BPF, CAP_SYS_ADMIN and CAP_NET_ADMIN after exec. */
	prctl(PR_CAPBSET_DROP, 39, 0, 0, 0);
	prctl(PR_CAPBSET_DROP, 21, 0, 0, 0);
	prctl(PR_CAPBSET_DROP, 12, 0, 0, 0);
}

static void test_missing_privilege(void **state)
{
	const char *args[] = { "--workers", "1", "--user", "root", NULL };

	(void)state;
	expect_failure(1, "missing privilege: reuseportd needs CAP_BPF and CAP_NET_ADMIN", args,
		       drop_admin_caps);
}

static void test_bad_worker_and_user(void **state)
{
	const char *nocmd[] = { "--workers", "1", "--", "no-such-server-xyz", NULL };
	const char *nouser[] = { "--workers", "1", "--user", "no-such-user-xyz", NULL };
	const char *nogroup[] = { "--workers", "1", "--user", "nobody:no-such-group-xyz", NULL };

	(void)state;
	expect_failure(1, "worker command 'no-such-server-xyz': not found", nocmd, NULL);
	expect_failure(1, "--user: no user 'no-such-user-xyz'", nouser, NULL);
	expect_failure(1, "--user: no group 'no-such-group-xyz'", nogroup, NULL);
}

/* A live daemon owns its control path; a second one is refused; once stopped, it is free. */
static void test_control_path_owned(void **state)
{
	const char *args[] = { "--workers", "1",	"--user",
			       "root",	    "--listen", "tcp://127.0.0.1:8080",
			       NULL };
	const char *argv[] = { H_DAEMON,    "--control", NULL,
			       "--workers", "1",	 "--user",
			       "root",	    "--listen",	 "tcp://127.0.0.1:9090",
			       NULL };
	struct h_daemon d, d2;
	char needle[128];
	int r;

	(void)state;
	r = h_daemon_start(&d, args, 15000);
	if (r)
		fail_msg("daemon did not start: %s", h_daemon_log(&d));
	argv[2] = d.control;
	r = h_run(argv, out, sizeof(out), 10000, NULL);
	snprintf(needle, sizeof(needle), "owned by a running reuseportd (pid %d)", (int)d.pid);
	if (r != 1 || !strstr(out, needle))
		fail_msg("second daemon: exit %d: %s", r, out);
	/* The first daemon still serves. */
	{
		char body[128];

		assert_int_equal(h_http_get("127.0.0.1", 8080, body, sizeof(body)), 0);
		assert_non_null(strstr(body, "slot=0"));
	}
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
	/* Stopped (or killed), the lock goes with the process: the path can be taken again. */
	{
		const char *again[] = { "--workers", "1",	 "--user",
					"root",	     "--listen", "tcp://127.0.0.1:8080",
					"--control", d.control,	 NULL };

		r = h_daemon_start(&d2, again, 15000);
		if (r)
			fail_msg("daemon on a released control path did not start: %s",
				 h_daemon_log(&d2));
		assert_int_equal(h_daemon_stop(&d2, 15000), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_usage_errors, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_port_taken, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_missing_privilege, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_bad_worker_and_user, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_control_path_owned, h_setup, h_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
