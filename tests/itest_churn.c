// SPDX-License-Identifier: MIT
/*
 * itest_churn.c - zero-drop worker churn on real sockets under bounded TCP and UDP load:
 * single and rolling restarts, SIGHUP, scaling 4 -> 2 -> 6 -> 4, SIGKILLed workers, failed
 * replacements, refused concurrent changes, and migration of connections queued on a slot
 * whose socket closes (ESTABLISHED, as in the kernel's migrate_reuseport selftest).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "harness.h"
#include "drop_ack.skel.h"

static char out[1 << 18];

struct load {
	pid_t tcp, udp;
	char tcp_out[128], udp_out[128];
};

/* Open-loop TCP and UDP load for secs seconds in the background. */
static void load_start(struct h_daemon *d, struct load *l, const char *secs)
{
	const char *tcp[] = { H_LOADGEN, "--tcp",  "127.0.0.1:8080", "--rate", "1500",
			      "--count", "0",	   "--duration",     secs,     "--timeout",
			      "5000",	 "--json", "--quiet",	     NULL };
	const char *udp[] = { H_LOADGEN, "--udp",     "127.0.0.1:8080", "--rate", "1000",
			      "--count", "0",	      "--duration",	secs,	  "--flows",
			      "200",	 "--timeout", "5000",		"--json", "--quiet",
			      NULL };

	snprintf(l->tcp_out, sizeof(l->tcp_out), "%s/tcp.json", d->dir);
	snprintf(l->udp_out, sizeof(l->udp_out), "%s/udp.json", d->dir);
	l->tcp = h_spawn(tcp, l->tcp_out);
	l->udp = h_spawn(udp, l->udp_out);
	h_sleep_ms(300);
}

/* Both loads finished with every request answered. */
static void load_expect_all_ok(struct h_daemon *d, struct load *l)
{
	int rt = h_wait(l->tcp, 120000), ru = h_wait(l->udp, 120000);
	char tcp[2048], udp[2048];

	snprintf(tcp, sizeof(tcp), "%s", h_read_file(l->tcp_out));
	snprintf(udp, sizeof(udp), "%s", h_read_file(l->udp_out));
	if (rt != 0 || ru != 0 || h_json_int(tcp, "ok") <= 0 ||
	    h_json_int(tcp, "ok") != h_json_int(tcp, "requests") ||
	    h_json_int(udp, "ok") != h_json_int(udp, "requests"))
		fail_msg("load lost requests:\ntcp (exit %d): %s\nudp (exit %d): %s\nlog:\n%s", rt,
			 tcp, ru, udp, h_daemon_log(d));
}

static const char *const four[] = { "--workers",
				    "4",
				    "--user",
				    "root",
				    "--drain-timeout",
				    "5s",
				    "--listen",
				    "tcp://127.0.0.1:8080",
				    "--listen",
				    "udp://127.0.0.1:8080",
				    NULL };

static void test_restarts_lose_nothing(void **state)
{
	struct h_daemon d;
	struct load l;

	(void)state;
	h_daemon_up(&d, four);
	load_start(&d, &l, "6");
	assert_int_equal(h_ctl(&d, out, sizeof(out), "restart", "2", NULL), 0);
	assert_non_null(strstr(out, "slot 2 (generation 2)"));
	h_sleep_ms(500);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "restart", "all", NULL), 0);
	assert_non_null(strstr(out, "slot 3 (generation 2)"));
	assert_non_null(strstr(out, "slot 2 (generation 3)"));
	h_sleep_ms(500);
	kill(d.pid, SIGHUP);
	assert_int_equal(h_log_wait(&d, "restart all (asked by SIGHUP) done", 20000), 0);
	load_expect_all_ok(&d, &l);
	/* Every old generation was told to stop and has gone. */
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "status", NULL), 0);
	assert_non_null(strstr(out, "\"retired\":[]"));
	assert_non_null(strstr(out, "\"generation\":4"));
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

static void test_scale_loses_nothing(void **state)
{
	struct h_daemon d;
	struct load l;

	(void)state;
	h_daemon_up(&d, four);
	load_start(&d, &l, "6");
	assert_int_equal(h_ctl(&d, out, sizeof(out), "scale", "2", NULL), 0);
	h_sleep_ms(700);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "scale", "6", NULL), 0);
	h_sleep_ms(700);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "scale", "4", NULL), 0);
	load_expect_all_ok(&d, &l);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "status", NULL), 0);
	assert_non_null(strstr(out, "{\"slot\":3,"));
	assert_null(strstr(out, "{\"slot\":4,\"pid\""));
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

/* SIGKILLed workers lose only the connections they had accepted. */
static void test_sigkill_loses_only_in_flight(void **state)
{
	const char *tcp[] = {
		H_LOADGEN,    "--tcp", "127.0.0.1:8080", "--concurrency", "8",	    "--count", "0",
		"--duration", "4",     "--timeout",	 "5000",	  "--json", "--quiet", NULL
	};
	struct h_daemon d;
	char path[128];
	const char *json;
	pid_t lg;
	int r;

	(void)state;
	h_daemon_up(&d, four);
	snprintf(path, sizeof(path), "%s/tcp.json", d.dir);
	lg = h_spawn(tcp, path);
	srand(getpid());
	for (int k = 0; k < 3; k++) {
		int slot = rand() % 4;

		h_sleep_ms(700);
		assert_int_equal(kill(h_worker_pid(&d, slot), SIGKILL), 0);
	}
	r = h_wait(lg, 60000);
	json = h_read_file(path);
	/* At most the 8 in flight per kill; none refused and none timed out (queued ones were
	 * served by the respawned worker). */
	if (h_json_int(json, "refused") != 0 || h_json_int(json, "timeout") != 0 ||
	    h_json_int(json, "requests") - h_json_int(json, "ok") > 3 * 8 ||
	    h_json_int(json, "ok") < 1000)
		fail_msg("load during SIGKILLs (exit %d): %s", r, json);
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

/* A replacement that exits or never becomes ready: the old worker keeps serving. */
static void test_failed_replacement_keeps_old(void **state)
{
	char cmd[512];
	const char *args[] = { "--workers",
			       "2",
			       "--user",
			       "root",
			       "--ready-timeout",
			       "1s",
			       "--ready-delay",
			       "notify",
			       "--listen",
			       "tcp://127.0.0.1:8080",
			       "--",
			       "/bin/sh",
			       "-c",
			       cmd,
			       NULL };
	struct h_daemon d;
	pid_t before;

	(void)state;
	/* Generation 2 exits at once, generation 3 never says READY=1, later ones are fine. */
	snprintf(cmd, sizeof(cmd),
		 "case $REUSEPORTD_GENERATION in 2) exit 3;; 3) exec sleep 60;; esac; exec %s",
		 H_WORKER);
	h_daemon_up(&d, args);
	before = h_worker_pid(&d, 0);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "restart", "0", NULL), 1);
	assert_non_null(strstr(out, "restart of slot 0 failed: the replacement exited before it "
				    "was ready; the old worker keeps serving"));
	assert_int_equal(h_ctl(&d, out, sizeof(out), "restart", "0", NULL), 1);
	assert_non_null(strstr(out, "was not ready in time"));
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "status", NULL), 0);
	{
		char needle[64];

		snprintf(needle, sizeof(needle), "{\"slot\":0,\"pid\":%d,", (int)before);
		assert_non_null(strstr(out, needle));
	}
	{
		const char *tcp[] = { H_LOADGEN,       "--tcp", "127.0.0.1:8080", "--count", "400",
				      "--concurrency", "8",	"--json",	  NULL };

		assert_int_equal(h_run(tcp, out, sizeof(out), 60000, NULL), 0);
	}
	assert_int_equal(h_ctl(&d, out, sizeof(out), "restart", "0", NULL), 0);
	assert_non_null(strstr(out, "slot 0 (generation 4)"));
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

/* A change while another runs is refused with the reason; it never runs concurrently. */
static void test_concurrent_change_refused(void **state)
{
	const char *args[] = { "--workers",
			       "2",
			       "--user",
			       "root",
			       "--ready-delay",
			       "2s",
			       "--listen",
			       "tcp://127.0.0.1:8080",
			       "--",
			       "/bin/sleep",
			       "60",
			       NULL };
	const char *restart[] = { H_CTL, "--control", NULL, "restart", "all", NULL };
	struct h_daemon d;
	char path[128];
	pid_t first;

	(void)state;
	h_daemon_up(&d, args);
	restart[2] = d.control;
	snprintf(path, sizeof(path), "%s/restart.out", d.dir);
	first = h_spawn(restart, path);
	assert_int_equal(h_log_wait(&d, "started as the replacement", 5000), 0);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "scale", "3", NULL), 1);
	assert_non_null(strstr(out, "restart all is in progress (0 of 2 slots done)"));
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "status", NULL), 0);
	assert_non_null(strstr(out, "\"operation\":{\"kind\":\"restart all\""));
	assert_int_equal(h_wait(first, 30000), 0);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "scale", "3", NULL), 0);
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

static int connect_and_ask(void)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(8080) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != sizeof(req) - 1)
		fail_msg("connect: %s", strerror(errno));
	return fd;
}

static long stat_of(const char *json, const char *listener, int slot, const char *key)
{
	const char *p = strstr(json, listener);
	char needle[32];

	if (!p)
		return -1;
	snprintf(needle, sizeof(needle), "{\"slot\":%d,", slot);
	p = strstr(p, needle);
	return p ? h_json_int(p, key) : -1;
}

/*
 * Connections queued (ESTABLISHED, not accepted) on a slot whose socket closes are migrated
 * by the program to ready slots and served; the migration counter agrees.
 */
static void test_queued_connections_migrate(void **state)
{
	const char *args[] = { "--workers",
			       "4",
			       "--user",
			       "root",
			       "--drain-timeout",
			       "1s",
			       "--listen",
			       "tcp://127.0.0.1:8080",
			       NULL };
	struct h_daemon d;
	int fds[200], answered = 0;
	long queued, migrated = 0;

	(void)state;
	h_daemon_up(&d, args);
	/* Slot 3 stops accepting: its share queues up on its socket. */
	assert_int_equal(kill(h_worker_pid(&d, 3), SIGSTOP), 0);
	for (int i = 0; i < 200; i++)
		fds[i] = connect_and_ask();
	h_sleep_ms(300);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "stats", NULL), 0);
	queued = stat_of(out, "tcp:127.0.0.1:8080", 3, "selected");
	assert_true(queued > 10);
	/* Scale down: slot 3 leaves; its stopped worker is killed after the drain timeout; the
	 * socket closes and the kernel migrates its queue through the program. */
	assert_int_equal(h_ctl(&d, out, sizeof(out), "scale", "3", NULL), 0);
	for (int i = 0; i < 200; i++) {
		struct pollfd p = { fds[i], POLLIN, 0 };
		char buf[512];
		ssize_t n;

		if (poll(&p, 1, 10000) == 1 && (n = recv(fds[i], buf, sizeof(buf) - 1, 0)) > 0) {
			buf[n] = '\0';
			answered += strstr(buf, "200 OK") != NULL;
		}
		close(fds[i]);
	}
	assert_int_equal(answered, 200);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "stats", NULL), 0);
	for (int s = 0; s < 3; s++)
		migrated += stat_of(out, "tcp:127.0.0.1:8080", s, "migrated");
	if (migrated != queued)
		fail_msg("%ld connections were queued on slot 3 but %ld migrated: %s", queued,
			 migrated, out);
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

/*
 * Half-open requests (NEW_SYN_RECV) on a slot whose socket closes: the clients' final ACKs
 * are dropped (XDP on lo), so the server holds requests, not connections, when slot 3 leaves.
 * When the clients' first data arrives, the kernel migrates each request through the program
 * to a ready slot, where it completes and is served; the migration counter agrees.
 */
static void test_half_open_requests_migrate(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	const char *args[] = { "--workers",
			       "4",
			       "--user",
			       "root",
			       "--drain-timeout",
			       "2s",
			       "--listen",
			       "tcp://127.0.0.1:8080",
			       NULL };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(8080) };
	struct drop_ack *skel;
	struct h_daemon d;
	int fds[100], answered = 0, ifindex = if_nametoindex("lo");
	long before, queued, migrated = 0;

	(void)state;
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	h_daemon_up(&d, args);
	skel = drop_ack__open_and_load();
	assert_non_null(skel);
	skel->bss->port = 8080;
	assert_int_equal(bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.drop_bare_ack),
					XDP_FLAGS_SKB_MODE, NULL),
			 0);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "stats", NULL), 0);
	before = stat_of(out, "tcp:127.0.0.1:8080", 3, "selected");

	for (int i = 0; i < 100; i++) {
		struct pollfd p;

		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_true(fds[i] >= 0);
		assert_true(connect(fds[i], (struct sockaddr *)&sin, sizeof(sin)) == 0 ||
			    errno == EINPROGRESS);
		p = (struct pollfd){ fds[i], POLLOUT, 0 };
		assert_int_equal(poll(&p, 1, 5000), 1); /* SYN-ACK arrived: "established" */
	}
	h_sleep_ms(100);
	assert_true(skel->bss->dropped >= 100);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "stats", NULL), 0);
	queued = stat_of(out, "tcp:127.0.0.1:8080", 3, "selected") - before;
	assert_true(queued > 5);

	/* Slot 3 leaves while its requests are half-open. */
	assert_int_equal(h_ctl(&d, out, sizeof(out), "scale", "3", NULL), 0);
	assert_int_equal(h_log_wait(&d, "worker slot=3", 1000), 0);
	h_sleep_ms(300);
	assert_int_equal(bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL), 0);

	for (int i = 0; i < 100; i++)
		assert_int_equal(send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL), sizeof(req) - 1);
	for (int i = 0; i < 100; i++) {
		struct pollfd p = { fds[i], POLLIN, 0 };
		char buf[512];
		ssize_t n;

		if (poll(&p, 1, 10000) == 1 && (n = recv(fds[i], buf, sizeof(buf) - 1, 0)) > 0) {
			buf[n] = '\0';
			answered += strstr(buf, "200 OK") && !strstr(buf, "slot=3 ");
		}
		close(fds[i]);
	}
	drop_ack__destroy(skel);
	assert_int_equal(answered, 100);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "stats", NULL), 0);
	for (int s = 0; s < 3; s++)
		migrated += stat_of(out, "tcp:127.0.0.1:8080", s, "migrated");
	if (migrated != queued)
		fail_msg("%ld requests were half-open on slot 3 but %ld migrated: %s", queued,
			 migrated, out);
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restarts_lose_nothing, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_scale_loses_nothing, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_sigkill_loses_only_in_flight, h_setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(test_failed_replacement_keeps_old, h_setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_change_refused, h_setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(test_queued_connections_migrate, h_setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(test_half_open_requests_migrate, h_setup,
						h_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
