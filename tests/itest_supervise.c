// SPDX-License-Identifier: MIT
/*
 * itest_supervise.c - integration tests of the supervisor on real processes and sockets:
 * socket activation and fd hygiene, the workers' account and capabilities, respawn after
 * SIGKILL without refused connections, crash loops, graceful stop leaving no child.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>

#include "harness.h"

/* A field of /proc/PID/status, read as a number in base (16 for the capability masks). */
static unsigned long long status_field(pid_t pid, const char *field, int base)
{
	char path[64];
	const char *s, *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	s = h_read_file(path);
	assert_non_null(s);
	p = strstr(s, field);
	assert_non_null(p);
	return strtoull(p + strlen(field), NULL, base);
}

#define status_hex(pid, field) status_field(pid, field, 16)
#define status_dec(pid, field) ((long)status_field(pid, field, 10))

#define CAP_BIT(c) (1ull << (c))
#define ADMIN_CAPS                                                                                 \
	(CAP_BIT(39) | CAP_BIT(38) | CAP_BIT(21) |                                                 \
	 CAP_BIT(12)) /* BPF PERFMON SYS_ADMIN NET_ADMIN */

static bool environ_has(pid_t pid, const char *entry)
{
	char path[64];
	const char *s;
	static char buf[1 << 16];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (s = buf; s < buf + n; s += strlen(s) + 1) {
		if (!strcmp(s, entry))
			return true;
	}
	return false;
}

/* The worker sees exactly fds 0-2 plus its slot's sockets, and the activation variables. */
static void test_socket_activation_and_fds(void **state)
{
	const char *args[] = { "--workers",
			       "2",
			       "--user",
			       "root",
			       "--ready-delay",
			       "100ms",
			       "--listen",
			       "tcp://127.0.0.1:8080",
			       "--listen",
			       "udp://[::1]:5353",
			       "--",
			       "/bin/sleep",
			       "60",
			       NULL };
	struct h_daemon d;
	char path[64], entry[64];
	struct dirent *de;
	int fds = 0;
	pid_t pid;
	DIR *dir;

	(void)state;
	h_daemon_up(&d, args);
	pid = h_worker_pid(&d, 1);
	assert_true(pid > 0);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		assert_true(atoi(de->d_name) <= 4);
		fds++;
	}
	closedir(dir);
	assert_int_equal(fds, 5);
	assert_true(environ_has(pid, "LISTEN_FDS=2"));
	snprintf(entry, sizeof(entry), "LISTEN_PID=%d", (int)pid);
	assert_true(environ_has(pid, entry));
	assert_true(environ_has(pid, "LISTEN_FDNAMES=tcp-127.0.0.1-8080:udp-[__1]-5353"));
	assert_true(environ_has(pid, "REUSEPORTD_SLOT=1"));
	assert_true(environ_has(pid, "REUSEPORTD_GENERATION=1"));
	/* Root workers exist only on request, and even they lose the admin capabilities. */
	assert_int_equal(status_dec(pid, "Uid:\t"), 0);
	assert_int_equal(status_hex(pid, "CapEff:\t") & ADMIN_CAPS, 0);
	assert_int_equal(status_hex(pid, "CapBnd:\t") & ADMIN_CAPS, 0);
	h_daemon_down(&d);
}

/* Without --user a root daemon runs its workers as nobody, with no capabilities. */
static void test_default_user_is_nobody(void **state)
{
	const char *args[] = { "--workers", "1", "--ready-delay", "100ms", "--", "/bin/sleep",
			       "60",	    NULL };
	struct h_daemon d;
	pid_t pid;

	(void)state;
	h_daemon_up(&d, args);
	pid = h_worker_pid(&d, 0);
	assert_true(pid > 0);
	assert_int_equal(status_dec(pid, "Uid:\t"), 65534);
	assert_int_equal(status_hex(pid, "CapEff:\t"), 0);
	assert_int_equal(status_hex(pid, "CapPrm:\t"), 0);
	assert_int_equal(status_hex(pid, "CapBnd:\t") & ADMIN_CAPS, 0);
	h_daemon_down(&d);
}

/* A SIGKILLed worker is respawned (next generation) and no connection is refused meanwhile. */
static void test_respawn_without_refusals(void **state)
{
	const char *args[] = { "--workers", "4",	"--user",
			       "root",	    "--listen", "tcp://127.0.0.1:8080",
			       NULL };
	const char *load[] = { H_LOADGEN, "--tcp",	"127.0.0.1:8080",
			       "--count", "3000",	"--concurrency",
			       "8",	  "--duration", "60",
			       "--json",  NULL };
	char body[256], loadout[128];
	struct h_daemon d;
	pid_t victim, lg;
	int r, found = 0;

	(void)state;
	h_daemon_up(&d, args);
	victim = h_worker_pid(&d, 2);
	assert_true(victim > 0);
	snprintf(loadout, sizeof(loadout), "%s/load.json", d.dir);
	lg = h_spawn(load, loadout);
	h_sleep_ms(300);
	assert_int_equal(kill(victim, SIGKILL), 0);
	r = h_wait(lg, 90000);
	{
		const char *json = h_read_file(loadout);
		long lost = h_json_int(json, "requests") - h_json_int(json, "ok");

		/* Nothing refused or timed out; only what the killed worker had accepted (at most
		 * the 8 in flight) may be lost, as resets. */
		if (r < 0 || h_json_int(json, "requests") != 3000 ||
		    h_json_int(json, "refused") != 0 || h_json_int(json, "timeout") != 0 ||
		    h_json_int(json, "other") != 0 || lost > 8 || lost != h_json_int(json, "reset"))
			fail_msg("load during a worker kill: exit %d: %s\nlog:\n%s", r, json,
				 h_daemon_log(&d));
	}
	assert_int_equal(h_log_wait(&d, "worker slot=2 pid=", 1000), 0);
	assert_int_equal(h_log_wait(&d, "killed by signal 9", 5000), 0);
	assert_int_equal(h_log_wait(&d, "gen=2 ready", 10000), 0);
	/* The new generation serves: fresh connections reach slot 2 gen 2. */
	for (int i = 0; i < 400 && !found; i++) {
		if (h_http_get("127.0.0.1", 8080, body, sizeof(body)) == 0 &&
		    strstr(body, "slot=2 ") && strstr(body, "gen=2"))
			found = 1;
	}
	assert_true(found);
	h_daemon_down(&d);
}

/* A worker that never starts properly backs off, and the daemon stays up and stoppable. */
static void test_crash_loop_backs_off(void **state)
{
	const char *args[] = { "--workers", "2",  "--user",	"root", "--backoff-max",
			       "400ms",	    "--", "/bin/false", NULL };
	struct h_daemon d;
	const char *log;

	(void)state;
	assert_int_equal(h_daemon_start(&d, args, 0), 0);
	assert_int_equal(h_log_wait(&d, "respawn in 400 ms", 8000), 0);
	assert_int_equal(kill(d.pid, 0), 0);
	log = h_daemon_log(&d);
	assert_non_null(strstr(log, "exited with status 1"));
	assert_non_null(strstr(log, "respawn in 100 ms"));
	assert_non_null(strstr(log, "respawn in 200 ms"));
	h_daemon_down(&d);
}

/* A command that cannot be executed (as the workers' user) is reported and retried. */
static void test_exec_failure_reported(void **state)
{
	char script[128];
	const char *args[] = { "--workers", "1", "--user", "nobody", "--", script, NULL };
	struct h_daemon d;
	FILE *f;

	(void)state;
	/* Executable for root only: the nobody worker cannot exec it. */
	snprintf(script, sizeof(script), "/tmp/rpd-rootonly-%d.sh", (int)getpid());
	f = fopen(script, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\nexec sleep 60\n", f);
	fclose(f);
	chmod(script, 0700);
	assert_int_equal(h_daemon_start(&d, args, 0), 0);
	if (h_log_wait(&d, "cannot exec the worker command", 5000))
		fail_msg("no exec failure reported; log:\n%s", h_daemon_log(&d));
	assert_non_null(strstr(h_daemon_log(&d), "Permission denied"));
	h_daemon_down(&d);
	unlink(script);
}

/* SIGTERM: every worker gets its stop signal, exits, and the daemon exits 0 with no child. */
static void test_sigterm_leaves_no_child(void **state)
{
	const char *args[] = { "--workers", "4",
			       "--user",    "root",
			       "--listen",  "tcp://127.0.0.1:8080",
			       "--listen",  "udp://127.0.0.1:8080",
			       NULL };
	struct h_daemon d;
	pid_t pids[4];
	char body[256];

	(void)state;
	h_daemon_up(&d, args);
	for (int s = 0; s < 4; s++) {
		pids[s] = h_worker_pid(&d, s);
		assert_true(pids[s] > 0);
	}
	assert_int_equal(h_http_get("127.0.0.1", 8080, body, sizeof(body)), 0);
	h_daemon_down(&d);
	for (int s = 0; s < 4; s++)
		assert_int_equal(kill(pids[s], 0) < 0 && errno == ESRCH, 1);
	assert_non_null(strstr(h_daemon_log(&d), "stopped: all workers exited"));
	/* The port is free again: nothing was left listening. */
	assert_int_not_equal(h_http_get("127.0.0.1", 8080, body, sizeof(body)), 0);
}

/* A worker that ignores its stop signal is killed after --stop-timeout. */
static void test_stop_timeout_kills(void **state)
{
	const char *args[] = { "--workers",
			       "1",
			       "--user",
			       "root",
			       "--ready-delay",
			       "50ms",
			       "--stop-timeout",
			       "500ms",
			       "--",
			       "/bin/sh",
			       "-c",
			       "trap '' TERM; while :; do sleep 1; done",
			       NULL };
	struct h_daemon d;

	(void)state;
	h_daemon_up(&d, args);
	h_daemon_down(&d);
	assert_non_null(strstr(h_daemon_log(&d), "killing it"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_activation_and_fds, h_setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(test_default_user_is_nobody, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_respawn_without_refusals, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_crash_loop_backs_off, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_exec_failure_reported, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_leaves_no_child, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_stop_timeout_kills, h_setup, h_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
