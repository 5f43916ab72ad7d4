// SPDX-License-Identifier: MIT
/*
 * plain.c - rpd-bench-plain: the baseline for benchmarks. Opens a plain SO_REUSEPORT group
 * (no BPF program, the kernel's own hash) per listener and starts the same workers with the
 * same socket activation as reuseportd, so a benchmark compares steering and nothing else.
 *
 * Owns: nothing of the product; it is a measuring instrument. Usage:
 *   rpd-bench-plain --workers N --listen URL [--listen URL...] -- COMMAND [ARG...]
 * Runs until SIGTERM/SIGINT, then stops the workers (SIGTERM, then SIGKILL after 5 s).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include "options.h"
#include "rpd_abi.h"

static int open_socket(const struct rpd_listen *l)
{
	int fd = socket(l->family, l->type, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (l->family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, &l->addr.sa, l->addrlen) < 0 ||
	    (l->type == SOCK_STREAM && listen(fd, 4096) < 0)) {
		fprintf(stderr, "rpd-bench-plain: %s: %s\n", l->name, strerror(errno));
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct rpd_listen l[RPD_MAX_LISTENERS];
	int nl = 0, workers = 1, i, fds[RPD_MAX_SLOTS][RPD_MAX_LISTENERS], sig;
	pid_t pids[RPD_MAX_SLOTS];
	char err[256], buf[32];
	sigset_t set;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
			workers = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--listen") && i + 1 < argc && nl < RPD_MAX_LISTENERS) {
			if (rpd_parse_listen(argv[++i], &l[nl++], err, sizeof(err))) {
				fprintf(stderr, "rpd-bench-plain: %s\n", err);
				return 2;
			}
		} else {
			fprintf(stderr,
				"usage: rpd-bench-plain --workers N --listen URL... -- CMD\n");
			return 2;
		}
	}
	if (i + 1 >= argc || !nl || workers < 1 || workers > RPD_MAX_SLOTS) {
		fprintf(stderr, "usage: rpd-bench-plain --workers N --listen URL... -- CMD\n");
		return 2;
	}
	argv += i + 1;
	for (int s = 0; s < workers; s++)
		for (int k = 0; k < nl; k++)
			fds[s][k] = open_socket(&l[k]);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int s = 0; s < workers; s++) {
		pids[s] = fork();
		if (pids[s] == 0) {
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			for (int k = 0; k < nl; k++)
				dup2(fds[s][k], 3 + k);
			snprintf(buf, sizeof(buf), "%d", nl);
			setenv("LISTEN_FDS", buf, 1);
			snprintf(buf, sizeof(buf), "%d", (int)getpid());
			setenv("LISTEN_PID", buf, 1);
			snprintf(buf, sizeof(buf), "%d", s);
			setenv("REUSEPORTD_SLOT", buf, 1);
			setenv("REUSEPORTD_GENERATION", "1", 1);
			unsetenv("NOTIFY_SOCKET");
			execvp(argv[0], argv);
			_exit(127);
		}
	}
	sigwait(&set, &sig);
	for (int s = 0; s < workers; s++)
		kill(pids[s], SIGTERM);
	alarm(5);
	signal(SIGALRM, SIG_DFL);
	for (int s = 0; s < workers; s++)
		waitpid(pids[s], NULL, 0);
	return 0;
}
