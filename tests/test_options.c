// SPDX-License-Identifier: MIT
/*
 * test_options.c - unit tests of the daemon's command line (user/options.c): every accepted
 * form and every mistake with its message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "options.h"
#include "rpd_abi.h"

static char err[512];

static int parse(struct rpd_options *o, const char *const *args)
{
	char *argv[32] = { "reuseportd" };
	int argc = 1;

	for (; *args; args++)
		argv[argc++] = (char *)*args;
	rpd_options_init(o, 2);
	err[0] = '\0';
	return rpd_options_parse(o, argc, argv, err, sizeof(err));
}

#define PARSE_OK(o, ...)                                                                           \
	do {                                                                                       \
		const char *const a_[] = { __VA_ARGS__, NULL };                                    \
		int r_ = parse(o, a_);                                                             \
		if (r_)                                                                            \
			fail_msg("unexpected error: %s", err);                                     \
	} while (0)

#define PARSE_ERR(needle, ...)                                                                     \
	do {                                                                                       \
		struct rpd_options o_;                                                             \
		const char *const a_[] = { __VA_ARGS__, NULL };                                    \
		assert_int_equal(parse(&o_, a_), -EINVAL);                                         \
		if (!strstr(err, needle))                                                          \
			fail_msg("message '%s' lacks '%s'", err, needle);                          \
		assert_null(strchr(err, '\n'));                                                    \
	} while (0)

static void test_defaults(void **state)
{
	struct rpd_options o;
	const char *const none[] = { NULL };

	(void)state;
	assert_int_equal(parse(&o, none), 0);
	assert_int_equal(o.nlisten, 1);
	assert_string_equal(o.listen[0].name, "tcp:127.0.0.1:8080");
	assert_int_equal(o.listen[0].type, SOCK_STREAM);
	assert_int_equal(o.workers, 2);
	assert_string_equal(o.control, "/run/reuseportd/control.sock");
	assert_null(o.command);
	assert_null(o.user);
	assert_int_equal(o.stop_signal, SIGTERM);
	assert_int_equal(o.ready_delay_ms, 1000);
	assert_int_equal(o.log_level, RPD_LOG_INFO);
	assert_int_equal(o.policy, RPD_POLICY_HASH);
	assert_true(o.avoid_stall);
	assert_int_equal(o.stall_ms, 100);
	assert_int_equal(o.ready_timeout_ms, 30000);
	assert_int_equal(o.drain_timeout_ms, 30000);
}

static void test_listen_urls(void **state)
{
	struct rpd_listen l;

	(void)state;
	assert_int_equal(rpd_parse_listen("tcp://127.0.0.1:8080", &l, err, sizeof(err)), 0);
	assert_int_equal(l.family, AF_INET);
	assert_int_equal(ntohs(l.addr.in4.sin_port), 8080);
	assert_int_equal(rpd_parse_listen("udp://[::1]:53", &l, err, sizeof(err)), 0);
	assert_int_equal(l.family, AF_INET6);
	assert_int_equal(l.type, SOCK_DGRAM);
	assert_string_equal(l.name, "udp:[::1]:53");
	assert_int_equal(rpd_parse_listen("tcp://[0:0::1]:65535", &l, err, sizeof(err)), 0);
	assert_string_equal(l.name, "tcp:[::1]:65535");
	assert_int_equal(rpd_parse_listen("tcp://0.0.0.0:1", &l, err, sizeof(err)), 0);
}

static void test_listen_errors(void **state)
{
	(void)state;
	PARSE_ERR("unknown scheme", "--listen", "http://127.0.0.1:80");
	PARSE_ERR("missing port", "--listen", "tcp://127.0.0.1");
	PARSE_ERR("port must be a number from 1 to 65535", "--listen", "tcp://127.0.0.1:0");
	PARSE_ERR("port must be a number from 1 to 65535", "--listen", "tcp://127.0.0.1:65536");
	PARSE_ERR("port must be a number from 1 to 65535", "--listen", "tcp://127.0.0.1:80x");
	PARSE_ERR("port must be a number from 1 to 65535", "--listen", "tcp://127.0.0.1:");
	PARSE_ERR("not a numeric IPv4 address", "--listen", "tcp://localhost:80");
	PARSE_ERR("not a numeric IPv4 address", "--listen", "tcp://256.1.1.1:80");
	PARSE_ERR("brackets", "--listen", "tcp://::1:80");
	PARSE_ERR("brackets", "--listen", "tcp://[::1]80");
	PARSE_ERR("not a numeric IPv6 address", "--listen", "tcp://[zz]:80");
	PARSE_ERR("missing or overlong host", "--listen", "tcp://:80");
	PARSE_ERR("given twice", "--listen", "tcp://127.0.0.1:80", "--listen",
		  "tcp://127.0.0.1:80");
}

static void test_many_listeners(void **state)
{
	struct rpd_options o;

	(void)state;
	PARSE_OK(&o, "--listen", "tcp://127.0.0.1:8080", "--listen=udp://127.0.0.1:8080",
		 "--listen", "tcp://[::1]:8080");
	assert_int_equal(o.nlisten, 3);
	assert_string_equal(o.listen[1].name, "udp:127.0.0.1:8080");
	assert_string_equal(o.listen[2].name, "tcp:[::1]:8080");
}

static void test_flags(void **state)
{
	struct rpd_options o;

	(void)state;
	PARSE_OK(&o, "--workers", "256", "--control", "/tmp/x/c.sock", "--user", "www:www",
		 "--stop-signal", "SIGQUIT", "--ready-delay", "250ms", "--stop-timeout", "1.5",
		 "--backoff-max=2m", "--backlog", "128", "--log-level", "debug");
	assert_int_equal(o.workers, 256);
	assert_string_equal(o.control, "/tmp/x/c.sock");
	assert_string_equal(o.user, "www:www");
	assert_int_equal(o.stop_signal, SIGQUIT);
	assert_int_equal(o.ready_delay_ms, 250);
	assert_int_equal(o.stop_timeout_ms, 1500);
	assert_int_equal(o.backoff_max_ms, 120000);
	assert_int_equal(o.backlog, 128);
	assert_int_equal(o.log_level, RPD_LOG_DEBUG);
	PARSE_OK(&o, "--policy", "src", "--pin-workers", "--no-avoid-stall", "--stall-after",
		 "250ms", "--stall-interval", "5ms", "--ready-timeout", "3s", "--drain-timeout",
		 "1m");
	assert_int_equal(o.policy, RPD_POLICY_SRC);
	assert_true(o.pin_workers);
	assert_false(o.avoid_stall);
	assert_int_equal(o.stall_ms, 250);
	assert_int_equal(o.stall_interval_ms, 5);
	assert_int_equal(o.ready_timeout_ms, 3000);
	assert_int_equal(o.drain_timeout_ms, 60000);
	PARSE_OK(&o, "--ready-delay", "notify", "--stop-signal", "usr1");
	assert_int_equal(o.ready_delay_ms, -1);
	assert_int_equal(o.stop_signal, SIGUSR1);
	PARSE_OK(&o, "-h");
	assert_true(o.help);
	PARSE_OK(&o, "--version");
	assert_true(o.version);
}

static void test_command(void **state)
{
	struct rpd_options o;

	(void)state;
	PARSE_OK(&o, "--workers", "3", "--", "/usr/sbin/nginx", "-g", "daemon off;");
	assert_non_null(o.command);
	assert_string_equal(o.command[0], "/usr/sbin/nginx");
	assert_string_equal(o.command[2], "daemon off;");
	assert_null(o.command[3]);
	/* "--" ends the options: what follows belongs to the worker, even if it looks like ours. */
	PARSE_OK(&o, "--", "server", "--workers", "9");
	assert_int_equal(o.workers, 2);
	assert_string_equal(o.command[1], "--workers");
	PARSE_OK(&o, "myserver", "--port", "1");
	assert_string_equal(o.command[0], "myserver");
}

static void test_flag_errors(void **state)
{
	(void)state;
	PARSE_ERR("unknown option '--frobnicate'", "--frobnicate");
	PARSE_ERR("unknown option '-x'", "-x");
	PARSE_ERR("--workers: expected a number from 1 to 256, got '0'", "--workers", "0");
	PARSE_ERR("--workers: expected a number from 1 to 256, got '257'", "--workers", "257");
	PARSE_ERR("--workers: expected a number from 1 to 256, got '-1'", "--workers", "-1");
	PARSE_ERR("--workers: expected a number from 1 to 256, got 'four'", "--workers", "four");
	PARSE_ERR("option --workers needs a value", "--workers");
	PARSE_ERR("--control: expected an absolute path", "--control", "relative/c.sock");
	PARSE_ERR("--user: expected USER or USER:GROUP", "--user", ":grp");
	PARSE_ERR("--stop-signal: unknown signal 'TERMINATE'", "--stop-signal", "TERMINATE");
	PARSE_ERR("--ready-delay: expected a duration", "--ready-delay", "soon");
	PARSE_ERR("--stop-timeout: expected a duration", "--stop-timeout", "-1s");
	PARSE_ERR("--backoff-max: expected a duration", "--backoff-max", "5h");
	PARSE_ERR("--backlog: expected a number from 1 to 65535", "--backlog", "0");
	PARSE_ERR("--log-level: expected error, warn, info or debug", "--log-level", "loud");
	PARSE_ERR("--policy: unknown policy 'rr'; known: hash, src, cpu", "--policy", "rr");
	PARSE_ERR("--stall-after: expected a duration of at least 1ms", "--stall-after", "0");
	PARSE_ERR("--drain-timeout: expected a duration", "--drain-timeout", "soon");
}

static void test_durations_and_signals(void **state)
{
	int ms, sig;

	(void)state;
	assert_int_equal(rpd_parse_duration_ms("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(rpd_parse_duration_ms("30s", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(rpd_parse_duration_ms(".5", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(rpd_parse_duration_ms("7ms", &ms), 0);
	assert_int_equal(ms, 7);
	assert_int_equal(rpd_parse_duration_ms("", &ms), -EINVAL);
	assert_int_equal(rpd_parse_duration_ms("1e99", &ms), -EINVAL);
	assert_int_equal(rpd_parse_duration_ms("s", &ms), -EINVAL);
	assert_int_equal(rpd_parse_signal("15", &sig), 0);
	assert_int_equal(sig, 15);
	assert_int_equal(rpd_parse_signal("hup", &sig), 0);
	assert_int_equal(sig, SIGHUP);
	assert_int_equal(rpd_parse_signal("0", &sig), -EINVAL);
	assert_int_equal(rpd_parse_signal("65", &sig), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),      cmocka_unit_test(test_listen_urls),
		cmocka_unit_test(test_listen_errors), cmocka_unit_test(test_many_listeners),
		cmocka_unit_test(test_flags),	      cmocka_unit_test(test_command),
		cmocka_unit_test(test_flag_errors),   cmocka_unit_test(test_durations_and_signals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
