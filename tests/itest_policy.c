// SPDX-License-Identifier: MIT
/*
 * itest_policy.c - steering policies on real sockets: a drain moves only the drained slot's
 * UDP flows; src pins every client address to one slot (TCP and UDP); cpu steers to the slot
 * pinned to the packet's CPU; a SIGSTOPped worker is steered around until it drains again.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static char out[1 << 18];

/* 2000 UDP flows from source ports 20000..21999, one datagram each; flow -> slot into map. */
static void udp_flow_map(struct h_daemon *d, const char *name, int *map)
{
	char path[160];
	const char *argv[] = { H_LOADGEN,
			       "--udp",
			       "127.0.0.1:8080",
			       "--flows",
			       "2000",
			       "--count",
			       "2000",
			       "--source-port",
			       "20000",
			       "--concurrency",
			       "64",
			       "--flow-map",
			       path,
			       "--json",
			       NULL };
	const char *text, *p;
	int port, slot, n = 0;

	snprintf(path, sizeof(path), "%s/%s", d->dir, name);
	if (h_run(argv, out, sizeof(out), 60000, NULL) != 0)
		fail_msg("udp flows: %s", out);
	text = h_read_file(path);
	assert_non_null(text);
	for (p = text; sscanf(p, "%d %d", &port, &slot) == 2; n++) {
		assert_true(port >= 20000 && port < 22000);
		map[port - 20000] = slot;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	assert_int_equal(n, 2000);
}

static void test_drain_moves_only_its_flows(void **state)
{
	const char *args[] = { "--workers", "4",	"--user",
			       "root",	    "--listen", "udp://127.0.0.1:8080",
			       NULL };
	static int before[2000], after[2000];
	int on3 = 0, others = 0, moved_others = 0;
	struct h_daemon d;

	(void)state;
	h_daemon_up(&d, args);
	udp_flow_map(&d, "before.map", before);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "drain", "3", NULL), 0);
	udp_flow_map(&d, "after.map", after);
	for (int f = 0; f < 2000; f++) {
		assert_true(before[f] >= 0 && before[f] < 4 && after[f] >= 0 && after[f] < 3);
		if (before[f] == 3) {
			on3++;
			continue; /* every one moved: after[] never says 3 */
		}
		others++;
		moved_others += after[f] != before[f];
	}
	assert_true(on3 > 300);
	if (moved_others > others * 5 / 100)
		fail_msg("%d of %d flows not on slot 3 moved", moved_others, others);
	/* Undrain: the same flows come back to slot 3. */
	assert_int_equal(h_ctl(&d, out, sizeof(out), "undrain", "3", NULL), 0);
	udp_flow_map(&d, "again.map", after);
	for (int f = 0; f < 2000; f++)
		assert_int_equal(after[f], before[f]);
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

/* The single slot that served every request from source address addr, or -1. */
static int only_slot_at(const char *proto, const char *target, const char *addr, int count)
{
	char n[16];
	const char *argv[] = { H_LOADGEN, proto,    target,    "--source", addr,
			       "--count", n,	    "--flows", "8",	   "--concurrency",
			       "4",	  "--json", NULL };
	long slots[8];
	int found = -1;

	snprintf(n, sizeof(n), "%d", count);
	if (h_run(argv, out, sizeof(out), 60000, NULL) != 0 || h_json_int(out, "ok") != count)
		fail_msg("%s from %s: %s", proto, addr, out);
	h_json_slots(out, slots, 8);
	for (int s = 0; s < 8; s++) {
		if (!slots[s])
			continue;
		if (found >= 0)
			return -1;
		found = s;
	}
	return found;
}

static int only_slot(const char *proto, const char *addr, int count)
{
	return only_slot_at(proto, "127.0.0.1:8080", addr, count);
}

/* src reads IPv6 source addresses too: fd00::2..9 on lo, each pinned to one slot. */
static void test_src_affinity_ipv6(void **state)
{
	const char *args[] = {
		"--workers", "4",	 "--user",	     "root",	 "--policy",
		"src",	     "--listen", "tcp://[::1]:8080", "--listen", "udp://[::1]:8080",
		NULL
	};
	struct h_daemon d;
	int used[4] = { 0 }, distinct = 0;

	(void)state;
	for (int a = 2; a <= 9; a++) {
		char cmd[96];

		snprintf(cmd, sizeof(cmd), "ip -6 addr add fd00::%d/128 dev lo nodad", a);
		assert_int_equal(system(cmd), 0);
	}
	h_daemon_up(&d, args);
	for (int a = 2; a <= 9; a++) {
		char addr[16];
		int tcp, udp;

		snprintf(addr, sizeof(addr), "fd00::%d", a);
		tcp = only_slot_at("--tcp", "[::1]:8080", addr, 40);
		udp = only_slot_at("--udp", "[::1]:8080", addr, 20);
		if (tcp < 0 || tcp != udp)
			fail_msg("%s: tcp slot %d, udp slot %d", addr, tcp, udp);
		distinct += !used[tcp]++;
	}
	assert_true(distinct >= 2);
	h_daemon_down(&d);
}

static void test_src_affinity(void **state)
{
	const char *args[] = { "--workers", "4",
			       "--user",    "root",
			       "--listen",  "tcp://127.0.0.1:8080",
			       "--listen",  "udp://127.0.0.1:8080",
			       NULL };
	struct h_daemon d;
	int used[4] = { 0 }, distinct = 0;

	(void)state;
	h_daemon_up(&d, args);
	/* Switched live from hash. */
	assert_int_equal(h_ctl(&d, out, sizeof(out), "policy", "src", NULL), 0);
	for (int a = 2; a <= 9; a++) {
		char addr[16];
		int tcp, udp;

		snprintf(addr, sizeof(addr), "127.0.0.%d", a);
		tcp = only_slot("--tcp", addr, 40);
		udp = only_slot("--udp", addr, 20);
		if (tcp < 0 || tcp != udp)
			fail_msg("%s: tcp slot %d, udp slot %d", addr, tcp, udp);
		distinct += !used[tcp]++;
	}
	assert_true(distinct >= 2);
	/* Every decision was made on the source address: 8 x (40 TCP + 20 UDP). */
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "stats", NULL), 0);
	{
		long src = 0, noaddr = 0;
		const char *p;

		for (p = out; (p = strstr(p, "\"src\":")); p++)
			src += strtol(p + 6, NULL, 10);
		for (p = out; (p = strstr(p, "\"src_noaddr\":")); p++)
			noaddr += strtol(p + 13, NULL, 10);
		assert_int_equal(src, 8 * 60);
		assert_int_equal(noaddr, 0);
	}
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

static void test_cpu_policy(void **state)
{
	const char *args[] = { "--workers",
			       "4",
			       "--user",
			       "root",
			       "--policy",
			       "cpu",
			       "--pin-workers",
			       "--listen",
			       "tcp://127.0.0.1:8080",
			       NULL };
	const char *load[] = { H_LOADGEN,	"--tcp", "127.0.0.1:8080", "--count", "1000",
			       "--concurrency", "8",	 "--json",	   NULL };
	struct h_daemon d;
	cpu_set_t set, mine;
	int ncpu = 0, k = 0;
	long cpu = 0, fallback = 0;
	const char *p;

	(void)state;
	sched_getaffinity(0, sizeof(mine), &mine);
	h_daemon_up(&d, args);
	for (int s = 0; s < 4; s++) {
		int want = -1, seen = 0;

		assert_int_equal(sched_getaffinity(h_worker_pid(&d, s), sizeof(set), &set), 0);
		assert_int_equal(CPU_COUNT(&set), 1);
		ncpu = CPU_COUNT(&mine);
		for (int c = 0; c < CPU_SETSIZE; c++) {
			if (!CPU_ISSET(c, &mine))
				continue;
			if (seen++ == s % ncpu)
				want = c;
		}
		assert_true(CPU_ISSET(want, &set));
	}
	assert_int_equal(h_run(load, out, sizeof(out), 60000, NULL), 0);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "stats", NULL), 0);
	for (p = out; (p = strstr(p, "\"cpu\":")); p++, k++)
		cpu += strtol(p + 6, NULL, 10);
	for (p = out; (p = strstr(p, "\"cpu_fallback\":")); p++)
		fallback += strtol(p + 15, NULL, 10);
	/* Every decision found a slot pinned to the CPU handling the SYN. */
	assert_int_equal(k, 4);
	assert_int_equal(cpu + fallback, 1000);
	assert_int_equal(fallback, 0);
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

/* Load at 1000 conn/s for 8 s with one of 4 workers stopped for 5 s of it. */
static void stalled_worker_run(struct h_daemon *d, long *failed, long *requests)
{
	const char *load[] = { H_LOADGEN, "--tcp",  "127.0.0.1:8080", "--rate", "1000",
			       "--count", "0",	    "--duration",     "8",	"--timeout",
			       "2000",	  "--json", "--quiet",	      NULL };
	char path[128];
	const char *json;
	pid_t lg, victim = h_worker_pid(d, 1);

	snprintf(path, sizeof(path), "%s/stall.json", d->dir);
	lg = h_spawn(load, path);
	h_sleep_ms(1000);
	assert_int_equal(kill(victim, SIGSTOP), 0);
	h_sleep_ms(5000);
	assert_int_equal(kill(victim, SIGCONT), 0);
	h_wait(lg, 60000);
	json = h_read_file(path);
	*requests = h_json_int(json, "requests");
	*failed = *requests - h_json_int(json, "ok");
}

static void test_stalled_worker_avoided(void **state)
{
	const char *args[] = { "--workers", "4",	"--user",
			       "root",	    "--listen", "tcp://127.0.0.1:8080",
			       NULL };
	const char *load[] = { H_LOADGEN,	"--tcp", "127.0.0.1:8080", "--count", "400",
			       "--concurrency", "8",	 "--json",	   NULL };
	struct h_daemon d;
	long failed, requests, slots[4];

	(void)state;
	h_daemon_up(&d, args);
	stalled_worker_run(&d, &failed, &requests);
	if (requests < 7000 || failed * 100 > requests * 2)
		fail_msg("%ld of %ld connections failed with a stalled worker; log:\n%s", failed,
			 requests, h_daemon_log(&d));
	assert_non_null(strstr(h_daemon_log(&d), "slot 1 pid="));
	assert_non_null(strstr(h_daemon_log(&d), "stalled"));
	assert_int_equal(h_log_wait(&d, "drains again: back in the table", 5000), 0);
	/* Back in the table: it serves again. */
	assert_int_equal(h_run(load, out, sizeof(out), 60000, NULL), 0);
	h_json_slots(out, slots, 4);
	assert_true(slots[1] > 0);
	assert_int_equal(h_ctl(&d, out, sizeof(out), "--json", "status", NULL), 0);
	assert_null(strstr(out, "\"excluded\":\"stalled\""));
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

/* With avoidance off the stopped slot keeps its share: the control for the test above. */
static void test_stall_without_avoidance_loses(void **state)
{
	const char *args[] = { "--workers",
			       "4",
			       "--user",
			       "root",
			       "--no-avoid-stall",
			       "--listen",
			       "tcp://127.0.0.1:8080",
			       NULL };
	struct h_daemon d;
	long failed, requests;

	(void)state;
	h_daemon_up(&d, args);
	stalled_worker_run(&d, &failed, &requests);
	if (failed * 100 <= requests * 4)
		fail_msg("only %ld of %ld failed without avoidance: the stall did not bite", failed,
			 requests);
	assert_int_equal(h_daemon_stop(&d, 15000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drain_moves_only_its_flows, h_setup,
						h_teardown),
		cmocka_unit_test_setup_teardown(test_src_affinity, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_src_affinity_ipv6, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_cpu_policy, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_stalled_worker_avoided, h_setup, h_teardown),
		cmocka_unit_test_setup_teardown(test_stall_without_avoidance_loses, h_setup,
						h_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
