// SPDX-License-Identifier: MIT
/*
 * reuseportctl.c - the control client: sends one request to reuseportd and prints the answer.
 *
 * Owns: the connection to the control socket, one deadline over connect, send and receive,
 * the bound on the response line, and the exit codes: 0 done, 1 the daemon refused (or stdout
 * failed), 2 wrong command line, 3 the daemon could not be reached or gave no valid answer.
 * Leaves arguments, the request text and rendering to ctl_render.c, JSON to json_read.c, and
 * the protocol itself to docs/control-protocol.md.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ctl_render.h"
#include "json_read.h"

#define PROG "reuseportctl"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline, at least 0, at most INT_MAX. */
static int left_ms(long long deadline)
{
	long long left = deadline - now_ms();

	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* Wait until fd has one of events or the deadline passes: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	for (;;) {
		if (!left_ms(deadline))
			return -ETIMEDOUT;
		n = poll(&p, 1, left_ms(deadline));
		if (n > 0)
			return 0; /* readiness, hang-up or error: the next call tells which */
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_until(int fd, const char *path, long long deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t optlen = sizeof(int);
	int soerr = 0, ret;

	/* ctl_render.c has checked that the path fits. */
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (;;) {
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return 0;
		if (errno == EAGAIN) {
			/* The daemon's backlog is full: retry shortly. */
			if (!left_ms(deadline))
				return -ETIMEDOUT;
			poll(NULL, 0, left_ms(deadline) < 10 ? left_ms(deadline) : 10);
			continue;
		}
		if (errno != EINPROGRESS && errno != EINTR && errno != EALREADY)
			return -errno;
		ret = wait_fd(fd, POLLOUT, deadline);
		if (ret)
			return ret;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &optlen))
			return -errno;
		return -soerr;
	}
}

static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
	ssize_t n;
	int ret;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0) {
			buf += n;
			len -= n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		ret = wait_fd(fd, POLLOUT, deadline);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Read up to the first newline. *line gets the text before it, NUL-terminated, and *len its
 * length. -ENODATA when the peer closes first, -EMSGSIZE past RPD_CLI_RESPONSE_MAX bytes.
 */
static int recv_line(int fd, long long deadline, char **line, size_t *len)
{
	size_t cap = 0, n = 0, ncap;
	char *buf = NULL, *nl, *tmp;
	ssize_t r;
	int ret;

	for (;;) {
		if (n + 1 >= cap) {
			if (cap == RPD_CLI_RESPONSE_MAX + 1) {
				ret = -EMSGSIZE;
				goto out;
			}
			ncap = cap ? cap * 2 : 4096;
			if (ncap > RPD_CLI_RESPONSE_MAX + 1)
				ncap = RPD_CLI_RESPONSE_MAX + 1;
			tmp = realloc(buf, ncap);
			if (!tmp) {
				ret = -ENOMEM;
				goto out;
			}
			buf = tmp;
			cap = ncap;
		}
		r = recv(fd, buf + n, cap - 1 - n, 0);
		if (r > 0) {
			nl = memchr(buf + n, '\n', r);
			n += r;
			if (nl) {
				*nl = '\0';
				*len = nl - buf;
				*line = buf;
				return 0;
			}
			continue;
		}
		if (r == 0) {
			ret = -ENODATA;
			goto out;
		}
		if (errno == EINTR)
			continue;
		ret = errno == EAGAIN ? wait_fd(fd, POLLIN, deadline) : -errno;
		if (ret)
			goto out;
	}
out:
	free(buf);
	return ret;
}

static const char *fmt_timeout(int ms, char *buf, size_t len)
{
	if (ms % 1000)
		snprintf(buf, len, "%dms", ms);
	else
		snprintf(buf, len, "%ds", ms / 1000);
	return buf;
}

/* Say once why the exchange failed; step is what was being done. */
static void report(const struct rpd_cli_args *a, const char *step, int err)
{
	const char *env = " (from " RPD_CLI_ENV_CONTROL ")";
	char path[RPD_CLI_PATH_MAX + 32], t[32];

	/* A path from the environment surprises less when the message says so. */
	if (strcmp(a->control_from, RPD_CLI_ENV_CONTROL))
		env = "";
	snprintf(path, sizeof(path), "%s%s", a->control, env);
	fmt_timeout(a->timeout_ms, t, sizeof(t));
	if (err == -ETIMEDOUT)
		fprintf(stderr,
			PROG ": no answer from reuseportd at %s within %s while %s; is it busy or "
			     "stuck? (--timeout DUR)\n",
			path, t, step);
	else if (err == -ENODATA)
		fprintf(stderr,
			PROG ": reuseportd at %s closed the connection without a response\n", path);
	else if (err == -EMSGSIZE)
		fprintf(stderr, PROG ": response from reuseportd at %s is longer than %u bytes\n",
			path, RPD_CLI_RESPONSE_MAX);
	else if (err == -EACCES || err == -EPERM)
		fprintf(stderr,
			PROG ": cannot reach reuseportd at %s: %s; run as root, as the daemon's "
			     "user or as a member of its --control-group\n",
			path, strerror(-err));
	else if (!strcmp(step, "connecting"))
		fprintf(stderr,
			PROG ": cannot reach reuseportd at %s: %s; is it running? "
			     "(--control PATH)\n",
			path, strerror(-err));
	else
		fprintf(stderr, PROG ": lost reuseportd at %s while %s: %s\n", path, step,
			strerror(-err));
}

/* Send a->request and read one response line into *line; errors are reported here. */
static int exchange(const struct rpd_cli_args *a, char **line, size_t *len)
{
	long long deadline = now_ms() + a->timeout_ms;
	const char *step = "connecting";
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		fprintf(stderr, PROG ": cannot create a unix socket: %s\n", strerror(errno));
		return ret;
	}
	ret = connect_until(fd, a->control, deadline);
	if (ret)
		goto out;
	step = "sending the request";
	ret = send_all(fd, a->request, strlen(a->request), deadline);
	if (ret)
		goto out;
	step = "waiting for the response";
	ret = recv_line(fd, deadline, line, len);
out:
	if (ret)
		report(a, step, ret);
	close(fd);
	return ret;
}

/* Ask the daemon and print its answer; returns the exit code. Errors are reported here. */
static int run(const struct rpd_cli_args *a)
{
	struct rpd_jv *resp = NULL;
	char *line = NULL, err[1024];
	size_t len = 0;
	int ret, code = 3;

	if (exchange(a, &line, &len))
		return 3;
	resp = rpd_jv_parse(line, len);
	if (!resp) {
		fprintf(stderr, PROG ": response from reuseportd at %s is %s\n", a->control,
			errno == ENOMEM ? "too large to hold in memory" : "not valid JSON");
		goto out;
	}
	ret = rpd_cli_check_response(resp, err, sizeof(err));
	if (ret == -EPROTO) {
		fprintf(stderr, PROG ": response from reuseportd at %s: %s\n", a->control, err);
		goto out;
	}
	code = ret ? 1 : 0;
	if (a->json) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
	}
	if (ret)
		fprintf(stderr, PROG ": %s\n", err);
	else if (!a->json)
		rpd_cli_render(a->cmd, resp, stdout); /* failures show in ferror(stdout) */
out:
	rpd_jv_free(resp);
	free(line);
	return code;
}

int main(int argc, char **argv)
{
	struct rpd_cli_args a;
	char err[1024];
	int code;

	if (rpd_cli_parse_args(&a, argc, argv, getenv(RPD_CLI_ENV_CONTROL), err, sizeof(err))) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	if (a.help) {
		fputs(rpd_cli_usage, stdout);
		code = 0;
	} else if (a.version) {
		printf(PROG " %s\n", RPD_CLI_VERSION);
		code = 0;
	} else {
		code = run(&a);
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, PROG ": cannot write to standard output: %s\n", strerror(errno));
		if (!code)
			code = 1;
	}
	return code;
}
