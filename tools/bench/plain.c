// SPDX-License-Identifier: MIT
/*
 * plain.c - rpd-bench-plain: the baseline for benchmarks. Runs the same workers with the same
 * socket activation as reuseportd, but as plain SO_REUSEPORT servers do it: no BPF program
 * (the kernel's own hash), and each worker's listeners belong to that worker alone (this
 * launcher closes its copies once the worker has them). With --restart-every, it restarts one
 * worker at a time, round robin, the way such servers restart: the old worker is told to
 * stop and its listeners close with it, then fresh listeners are opened for the new worker.
 *
 * Owns: nothing of the product; it is a measuring instrument. Usage:
 *   rpd-bench-plain --workers N --listen URL... [--restart-every MS] -- COMMAND [ARG...]
 * Runs until SIGTERM/SIGINT, then stops the workers and prints "restarts N".
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include "options.h"
#include "rpd_abi.h"

static struct rpd_listen listeners[RPD_MAX_LISTENERS];
static int nlisten;

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

/* Open the slot's listeners, start its worker with them, keep no copy. */
static pid_t start_worker(int slot, unsigned int gen, char **argv, const sigset_t *set)
{
	int fds[RPD_MAX_LISTENERS];
	char buf[32];
	pid_t pid;

	for (int k = 0; k < nlisten; k++)
		fds[k] = open_socket(&listeners[k]);
	pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, set, NULL);
		for (int k = 0; k < nlisten; k++)
			dup2(fds[k], 3 + k);
		snprintf(buf, sizeof(buf), "%d", nlisten);
		setenv("LISTEN_FDS", buf, 1);
		snprintf(buf, sizeof(buf), "%d", (int)getpid());
		setenv("LISTEN_PID", buf, 1);
		snprintf(buf, sizeof(buf), "%d", slot);
		setenv("REUSEPORTD_SLOT", buf, 1);
		snprintf(buf, sizeof(buf), "%u", gen);
		setenv("REUSEPORTD_GENERATION", buf, 1);
		unsetenv("NOTIFY_SOCKET");
		execvp(argv[0], argv);
		_exit(127);
	}
	for (int k = 0; k < nlisten; k++)
		close(fds[k]);
	return pid;
}

/* SIGTERM and wait (SIGKILL after 5 s). */
static void stop_worker(pid_t pid)
{
	struct timespec ts = { 0, 10000000 };

	kill(pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	int workers = 1, i, restart_ms = 0, restarts = 0;
	pid_t pids[RPD_MAX_SLOTS];
	unsigned int gens[RPD_MAX_SLOTS];
	char err[256];
	sigset_t set;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
			workers = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--restart-every") && i + 1 < argc) {
			restart_ms = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--listen") && i + 1 < argc &&
			   nlisten < RPD_MAX_LISTENERS) {
			if (rpd_parse_listen(argv[++i], &listeners[nlisten++], err, sizeof(err))) {
				fprintf(stderr, "rpd-bench-plain: %s\n", err);
				return 2;
			}
		} else {
			i = argc;
		}
	}
	if (i + 1 >= argc || !nlisten || workers < 1 || workers > RPD_MAX_SLOTS || restart_ms < 0) {
		fprintf(stderr, "usage: rpd-bench-plain --workers N --listen URL... "
				"[--restart-every MS] -- CMD\n");
		return 2;
	}
	argv += i + 1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int s = 0; s < workers; s++) {
		gens[s] = 1;
		pids[s] = start_worker(s, gens[s], argv, &set);
	}
	for (int next = 0;;) {
		struct timespec ts = { restart_ms / 1000, (long)(restart_ms % 1000) * 1000000 };
		int sig = restart_ms ? sigtimedwait(&set, NULL, &ts) : sigwaitinfo(&set, NULL);

		if (sig > 0)
			break;
		if (sig < 0 && errno != EAGAIN)
			continue;
		/* Restart the next slot as plain servers do: close, then re-open. */
		stop_worker(pids[next]);
		pids[next] = start_worker(next, ++gens[next], argv, &set);
		restarts++;
		next = (next + 1) % workers;
	}
	for (int s = 0; s < workers; s++)
		kill(pids[s], SIGTERM);
	for (int s = 0; s < workers; s++)
		waitpid(pids[s], NULL, 0);
	printf("restarts %d\n", restarts);
	return 0;
}
