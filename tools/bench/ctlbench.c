// SPDX-License-Identifier: MIT
/*
 * ctlbench.c - rpd-bench-ctl: measures the control round trip of policy changes. Sends
 * alternating "weight SLOT A" / "weight SLOT B" requests (or any fixed request) at a fixed
 * rate over one connection and reports the round-trip percentiles. The daemon answers after
 * the new table is installed, so the round trip bounds the time a change takes to act.
 *
 * Owns: nothing of the product; a measuring instrument. Usage:
 *   rpd-bench-ctl --control PATH [--rate N] [--duration S] [--slot S] [--weights A,B]
 *                 [--restart-slots N]
 * With --restart-slots N it sends "restart 0", "restart 1", ... "restart N-1", round robin,
 * instead of weight changes (a restart answers once the replacement is ready).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	double rate = 100, duration = 10, *rtt, t0, next;
	int slot = 0, wa = 2, wb = 1, fd, n = 0, errors = 0, max, restart_slots = 0;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--control") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
			rate = atof(argv[++i]);
		else if (!strcmp(argv[i], "--duration") && i + 1 < argc)
			duration = atof(argv[++i]);
		else if (!strcmp(argv[i], "--slot") && i + 1 < argc)
			slot = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--restart-slots") && i + 1 < argc)
			restart_slots = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--weights") && i + 1 < argc)
			sscanf(argv[++i], "%d,%d", &wa, &wb);
		else {
			fprintf(stderr, "usage: rpd-bench-ctl --control PATH [--rate N] "
					"[--duration S] [--slot S] [--weights A,B]\n");
			return 2;
		}
	}
	if (!path || rate <= 0 || duration <= 0 || rate * duration > 1e6) {
		fprintf(stderr,
			"rpd-bench-ctl: need --control PATH and a bounded rate x duration\n");
		return 2;
	}
	max = (int)(rate * duration) + 1;
	rtt = calloc(max, sizeof(*rtt));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (!rtt || fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "rpd-bench-ctl: %s: %s\n", path, strerror(errno));
		return 3;
	}
	t0 = next = now();
	while (n < max && now() - t0 < duration) {
		char req[64], resp[4096];
		double start;
		size_t used = 0;
		int len;

		while (now() < next)
			usleep(100);
		next += 1.0 / rate;
		if (restart_slots > 0)
			len = snprintf(req, sizeof(req), "restart %d\n", n % restart_slots);
		else
			len = snprintf(req, sizeof(req), "weight %d %d\n", slot, n % 2 ? wb : wa);
		start = now();
		if (write(fd, req, len) != len)
			return 3;
		while (used < sizeof(resp) - 1) {
			ssize_t r = read(fd, resp + used, sizeof(resp) - 1 - used);

			if (r <= 0)
				return 3;
			used += r;
			if (resp[used - 1] == '\n')
				break;
		}
		resp[used] = '\0';
		rtt[n++] = (now() - start) * 1e6;
		if (!strstr(resp, "\"ok\":true")) {
			errors++;
			fprintf(stderr, "rpd-bench-ctl: %s -> %s", req, resp);
		}
	}
	qsort(rtt, n, sizeof(*rtt), cmp);
	printf("%s %d errors %d rate_per_s %.1f rtt_us p50 %.0f p99 %.0f max %.0f\n",
	       restart_slots > 0 ? "restarts" : "changes", n, errors, n / (now() - t0), rtt[n / 2],
	       rtt[(int)(n * 0.99)], rtt[n - 1]);
	free(rtt);
	return errors ? 1 : 0;
}
