// SPDX-License-Identifier: MIT
/*
 * itest_valgrind.c - the daemon under valgrind memcheck through a whole life: start with TCP
 * and UDP listeners, traffic, a worker killed and respawned, graceful stop. Any memory error
 * or leak makes valgrind exit 99.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static char out[1 << 16];

static void test_daemon_leak_free(void **state)
{
	const char *vg[] = { "/usr/bin/valgrind",
			     "--quiet",
			     "--leak-check=full",
			     "--suppressions=" RPD_SOURCE_DIR "/tests/valgrind.supp",
			     "--show-leak-kinds=definite,indirect,possible",
			     "--errors-for-leak-kinds=definite,indirect,possible",
			     "--error-exitcode=99",
			     NULL };
	const char *args[] = { "--workers", "4",
			       "--user",    "root",
			       "--listen",  "tcp://127.0.0.1:8080",
			       "--listen",  "udp://127.0.0.1:8080",
			       NULL };
	const char *tcp[] = { H_LOADGEN,       "--tcp", "127.0.0.1:8080", "--count", "500",
			      "--concurrency", "8",	"--json",	  NULL };
	const char *udp[] = { H_LOADGEN, "--udp", "127.0.0.1:8080", "--count", "200",
			      "--flows", "50",	  "--json",	    NULL };
	struct h_daemon d;
	int r;

	(void)state;
	r = h_daemon_start_wrapped(&d, vg, args, 60000);
	if (r)
		fail_msg("daemon under valgrind did not become ready: %s", h_daemon_log(&d));
	assert_int_equal(h_run(tcp, out, sizeof(out), 60000, NULL), 0);
	assert_int_equal(h_run(udp, out, sizeof(out), 60000, NULL), 0);
	assert_int_equal(kill(h_worker_pid(&d, 1), SIGKILL), 0);
	assert_int_equal(h_log_wait(&d, "gen=2 ready", 20000), 0);
	assert_int_equal(h_run(tcp, out, sizeof(out), 60000, NULL), 0);
	/* Control requests, a rolling restart and scaling through every code path once. */
	{
		const char *cmds[][3] = { { "--json", "status", NULL }, { "--json", "stats", NULL },
					  { "weight", "0", "3" },	{ "drain", "1", NULL },
					  { "restart", "all", NULL },	{ "scale", "2", NULL },
					  { "scale", "5", NULL },	{ "undrain", "1", NULL } };

		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			const char *argv[] = { RPD_BUILD_DIR "/reuseportctl",
					       "--control",
					       d.control,
					       cmds[i][0],
					       cmds[i][1],
					       cmds[i][2],
					       NULL };

			r = h_run(argv, out, sizeof(out), 120000, NULL);
			if (r != 0)
				fail_msg("reuseportctl %s %s: exit %d: %s", cmds[i][0],
					 cmds[i][1] ? cmds[i][1] : "", r, out);
		}
	}
	assert_int_equal(h_run(tcp, out, sizeof(out), 60000, NULL), 0);
	r = h_daemon_stop(&d, 60000);
	if (r != 0)
		fail_msg("valgrind reported errors or leaks (exit %d):\n%s", r, h_daemon_log(&d));
	assert_null(strstr(h_daemon_log(&d), "definitely lost"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_daemon_leak_free, h_setup, h_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
