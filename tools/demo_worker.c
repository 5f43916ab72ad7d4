// SPDX-License-Identifier: MIT
/*
 * demo_worker.c - rpd-demo-worker, the bundled worker reuseportd runs in each slot.
 *
 * Owns: reading the socket-activation environment (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES,
 * REUSEPORTD_SLOT, REUSEPORTD_GENERATION), READY=1/STOPPING=1 on NOTIFY_SOCKET, a small
 * HTTP/1.1 keep-alive responder on stream sockets, a datagram echo on datagram sockets and the
 * graceful stop on SIGTERM/SIGINT. Leaves to the daemon: creating, binding and steering the
 * sockets, and deciding when a worker starts, is ready or must stop.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#define PROG "rpd-demo-worker"

#define LISTEN_FDS_START 3
#define LISTEN_FDS_MAX 4096
#define HEAD_MAX 8192 /* request head, terminating blank line included */
#define OUT_CAP 4096 /* queued responses of one connection */
#define RESP_MAX 512 /* one response, headers and body */
#define DGRAM_MAX 65507 /* largest reply datagram */
#define IDLE_MS 30000
#define STOP_MS 30000
#define LINGER_MS 2000 /* after the last response, wait this long for the client to close */
#define TICK_MS 1000
#define DELAY_MAX_MS 3600000
#define EVENTS_MAX 256
#define NOFILE_WANTED 10240

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static const char usage_text[] =
	"usage: " PROG " [--delay-ms N] [--stop-abrupt]\n"
	"\n"
	"Demo worker of reuseportd, started in each worker slot by socket activation.\n"
	"Serves the sockets passed as fds 3.. (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES):\n"
	"stream sockets answer every HTTP GET with \"slot=S pid=P gen=G\", datagram sockets\n"
	"echo each datagram back prefixed with \"slot=S pid=P gen=G \". Sends READY=1 and\n"
	"STOPPING=1 to NOTIFY_SOCKET and stops gracefully on SIGTERM or SIGINT.\n"
	"\n"
	"  --delay-ms N   wait N milliseconds before sending each HTTP response\n"
	"                 (0..3600000, default 0), to simulate a slow worker\n"
	"  --stop-abrupt  on SIGTERM close the listening sockets at once, without first\n"
	"                 taking what is queued on them (as many servers do)\n"
	"  -h, --help     show this help\n"
	"\n"
	"Environment: REUSEPORTD_SLOT and REUSEPORTD_GENERATION (default 0) appear in\n"
	"every answer.\n";

/* Doubly linked circular list; a head is a link with no container. */
struct link {
	struct link *prev;
	struct link *next;
};

static void link_init(struct link *l)
{
	l->prev = l;
	l->next = l;
}

static bool link_empty(const struct link *head)
{
	return head->next == head;
}

static void link_add_tail(struct link *head, struct link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static void link_del(struct link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	link_init(l);
}

/* Moves every entry of from (in order) to the empty head to. */
static void link_move_all(struct link *from, struct link *to)
{
	link_init(to);
	if (link_empty(from))
		return;
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	link_init(from);
}

/* What an epoll event points at: each of these structs starts with its kind. */
enum obj_kind {
	OBJ_SIGNAL,
	OBJ_LISTENER,
	OBJ_CONN,
};

struct listener {
	enum obj_kind kind;
	int fd;
	int type; /* SOCK_STREAM or SOCK_DGRAM */
	const char *name; /* from LISTEN_FDNAMES, may be empty */
	char desc[160]; /* "tcp 127.0.0.1:8080", for log lines */
};

struct conn_bufs {
	char in[HEAD_MAX];
	char out[OUT_CAP];
};

struct conn {
	enum obj_kind kind;
	int fd;
	struct conn_bufs *bufs; /* only while a request or a response is in flight */
	size_t in_off; /* start of the unanswered input */
	size_t in_len;
	size_t out_off; /* start of the unsent output */
	size_t out_len;
	uint64_t last_active;
	uint64_t due; /* --delay-ms: output is held until then; 0 when not held */
	bool close_after; /* close once the output is flushed */
	bool answered; /* at least one request answered: idle now means between requests */
	bool lingering; /* write side shut down, discarding input until the client closes */
	uint64_t linger_until;
	struct link all; /* worker.conns, least recently active first */
	struct link timer; /* worker.timers while due is set, worker.lingering while lingering */
};

struct worker {
	unsigned long slot;
	unsigned long gen;
	pid_t pid;
	unsigned long delay_ms;
	bool stop_abrupt; /* --stop-abrupt: do not take in what is queued before closing */
	int epfd;
	int sigfd;
	int spare_fd; /* given up to accept-and-drop when out of file descriptors */
	enum obj_kind sig_obj;
	struct listener *listeners;
	size_t nlisteners;
	char *fdnames;
	struct link conns;
	struct link timers; /* due order: every delay is the same, so FIFO order is due order */
	struct link lingering; /* linger_until order, for the same reason */
	size_t nconns;
	char body[96]; /* "slot=S pid=P gen=G\n" */
	size_t body_len;
	char *dgram; /* reply buffer; starts with the prefix */
	size_t dgram_prefix;
	uint64_t now;
	int stop_signo;
	bool stopping;
	uint64_t stop_deadline;
	uint64_t last_error_log;
	unsigned long long served_conns;
	unsigned long long served_requests;
	unsigned long long served_dgrams;
};

static unsigned long log_slot;
static pid_t log_pid;
static bool log_prefixed;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logmsg(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t len;
	int n;

	if (log_prefixed)
		n = snprintf(line, sizeof(line), PROG "[slot %lu pid %d]: ", log_slot,
			     (int)log_pid);
	else
		n = snprintf(line, sizeof(line), PROG ": ");
	len = n > 0 ? (size_t)n : 0;
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}

/* Errors that can repeat on every event are logged at most once a second. */
static bool error_log_allowed(struct worker *w)
{
	if (w->last_error_log && w->now - w->last_error_log < 1000)
		return false;
	w->last_error_log = w->now ? w->now : 1;
	return true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *signal_name(int signo)
{
	switch (signo) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	default:
		return "a signal";
	}
}

/* Decimal digits only: no sign, no blanks. */
static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno)
		return -errno;
	if (*end)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct worker *w, bool *help)
{
	const char *val;
	unsigned long v;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			*help = true;
			return 0;
		}
		if (!strcmp(a, "--stop-abrupt")) {
			w->stop_abrupt = true;
			continue;
		}
		if (!strcmp(a, "--delay-ms")) {
			if (i + 1 >= argc) {
				logmsg("option --delay-ms needs a value (see --help)");
				return -EINVAL;
			}
			val = argv[++i];
		} else if (!strncmp(a, "--delay-ms=", strlen("--delay-ms="))) {
			val = a + strlen("--delay-ms=");
		} else if (a[0] == '-') {
			logmsg("unknown option '%s' (see --help)", a);
			return -EINVAL;
		} else {
			logmsg("unexpected argument '%s' (see --help)", a);
			return -EINVAL;
		}
		if (parse_ulong(val, DELAY_MAX_MS, &v)) {
			logmsg("invalid --delay-ms value '%s': expected 0..%d", val, DELAY_MAX_MS);
			return -EINVAL;
		}
		w->delay_ms = v;
	}
	return 0;
}

/*
 * Like sd_listen_fds(): *count is 0 when the sockets are not meant for this process, with
 * *reason saying why. The variables are removed so that children do not inherit them.
 */
static int env_listen_fds(struct worker *w, unsigned int *count, const char **reason)
{
	const char *fds = getenv("LISTEN_FDS");
	const char *pid = getenv("LISTEN_PID");
	const char *names = getenv("LISTEN_FDNAMES");
	unsigned long n = 0, p;
	int r = 0;

	*count = 0;
	*reason = "LISTEN_FDS is not set";
	if (names) {
		w->fdnames = strdup(names);
		if (!w->fdnames) {
			r = -ENOMEM;
			logmsg("cannot copy LISTEN_FDNAMES: %s", strerror(-r));
			goto out;
		}
	}
	if (!fds)
		goto out;
	if (pid) {
		if (parse_ulong(pid, INT_MAX, &p)) {
			logmsg("invalid LISTEN_PID '%s'", pid);
			r = -EINVAL;
			goto out;
		}
		if ((pid_t)p != getpid()) {
			*reason = "LISTEN_PID names another process";
			goto out;
		}
	}
	if (parse_ulong(fds, LISTEN_FDS_MAX, &n)) {
		logmsg("invalid LISTEN_FDS '%s': expected 0..%d", fds, LISTEN_FDS_MAX);
		r = -EINVAL;
		goto out;
	}
	if (!n)
		*reason = "LISTEN_FDS is 0";
	*count = n;
out:
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return r;
}

static int env_ulong(const char *name, unsigned long *out)
{
	const char *s = getenv(name);

	*out = 0;
	if (!s)
		return 0;
	if (parse_ulong(s, ULONG_MAX, out)) {
		logmsg("invalid %s '%s': expected a non-negative integer", name, s);
		return -EINVAL;
	}
	return 0;
}

/* Sends one sd_notify-style message; 0 when NOTIFY_SOCKET is unset. */
static int notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd, r = 0;

	if (!path || !*path)
		return 0;
	if (path[0] != '/' && path[0] != '@')
		return -EAFNOSUPPORT;
	len = strlen(path);
	if (len > sizeof(sa.sun_path) || (path[0] == '/' && len == sizeof(sa.sun_path)))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static void notify(const char *state)
{
	int r = notify_send(state);

	if (r < 0)
		logmsg("cannot send %s to NOTIFY_SOCKET '%s': %s", state, getenv("NOTIFY_SOCKET"),
		       strerror(-r));
}

static void sock_describe(int fd, int type, char *buf, size_t size)
{
	const char *proto = type == SOCK_STREAM ? "tcp" : "udp";
	struct sockaddr_storage ss;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	size_t plen;

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(buf, size, "%s socket", type == SOCK_STREAM ? "stream" : "datagram");
		return;
	}
	switch (ss.ss_family) {
	case AF_INET:
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s %s:%u", proto, host, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "%s [%s]:%u", proto, host, ntohs(sin6->sin6_port));
		break;
	case AF_UNIX:
		proto = type == SOCK_STREAM ? "unix-stream" : "unix-dgram";
		plen = len > offsetof(struct sockaddr_un, sun_path)
			       ? len - offsetof(struct sockaddr_un, sun_path)
			       : 0;
		if (!plen)
			snprintf(buf, size, "%s (unnamed)", proto);
		else if (sun->sun_path[0] == '\0')
			snprintf(buf, size, "%s @%.*s", proto, (int)(plen - 1), sun->sun_path + 1);
		else
			snprintf(buf, size, "%s %.*s", proto, (int)strnlen(sun->sun_path, plen),
				 sun->sun_path);
		break;
	default:
		snprintf(buf, size, "%s socket of family %d",
			 type == SOCK_STREAM ? "stream" : "datagram", ss.ss_family);
		break;
	}
}

static int listener_init(struct worker *w, struct listener *l, int fd, const char *name)
{
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t len;
	int type, listening, flags, r;

	l->kind = OBJ_LISTENER;
	l->fd = fd;
	l->name = name;
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
		r = -errno;
		logmsg("fd %d: cannot get the socket type: %s", fd, strerror(-r));
		return r;
	}
	if (type != SOCK_STREAM && type != SOCK_DGRAM) {
		logmsg("fd %d: unsupported socket type %d: expected stream or datagram", fd, type);
		return -ESOCKTNOSUPPORT;
	}
	l->type = type;
	if (type == SOCK_STREAM) {
		len = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0) {
			r = -errno;
			logmsg("fd %d: cannot get the listening state: %s", fd, strerror(-r));
			return r;
		}
		if (!listening) {
			logmsg("fd %d: stream socket is not listening", fd);
			return -EINVAL;
		}
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		r = -errno;
		logmsg("fd %d: cannot make the socket non-blocking: %s", fd, strerror(-r));
		return r;
	}
	sock_describe(fd, type, l->desc, sizeof(l->desc));
	ev.data.ptr = l;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		logmsg("cannot poll %s (fd %d): %s", l->desc, fd, strerror(-r));
		return r;
	}
	return 0;
}

static void listener_close(struct worker *w, struct listener *l)
{
	if (l->fd < 0)
		return;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, l->fd, NULL);
	close(l->fd);
	l->fd = -1;
}

/* ---- connections ---- */

static void conn_touch(struct worker *w, struct conn *c)
{
	c->last_active = w->now;
	link_del(&c->all);
	link_add_tail(&w->conns, &c->all);
}

static void conn_close(struct worker *w, struct conn *c)
{
	link_del(&c->all);
	link_del(&c->timer);
	close(c->fd);
	free(c->bufs);
	free(c);
	w->nconns--;
}

static int conn_add(struct worker *w, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET };
	struct conn *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->kind = OBJ_CONN;
	c->fd = fd;
	c->last_active = w->now;
	link_init(&c->timer);
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		free(c);
		return r;
	}
	link_add_tail(&w->conns, &c->all);
	w->nconns++;
	w->served_conns++;
	return 0;
}

static bool token_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && !strncasecmp(s, word, len);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

struct http_req {
	int status;
	bool head_only;
	bool http10;
	bool keep_alive;
};

/* Connection header value: comma separated, case-insensitive options. */
static void http_connection_opts(const char *v, const char *end, bool *close, bool *keep)
{
	while (v < end) {
		const char *comma = memchr(v, ',', (size_t)(end - v));
		const char *tok_end = comma ? comma : end;
		const char *e = tok_end;

		while (v < e && is_blank(*v))
			v++;
		while (e > v && is_blank(e[-1]))
			e--;
		if (token_is(v, (size_t)(e - v), "close"))
			*close = true;
		else if (token_is(v, (size_t)(e - v), "keep-alive"))
			*keep = true;
		v = comma ? comma + 1 : end;
	}
}

/*
 * Parses a request head: p holds the request line and the header lines, each ending in CRLF,
 * without the blank line. Sets req->status to the status of the answer.
 */
static void http_parse(const char *p, size_t len, struct http_req *req)
{
	const char *end = p + len, *eol, *sp1, *sp2, *ver, *colon, *v, *ve, *n;
	bool opt_close = false, opt_keep = false, get, head;
	size_t mlen, vlen;

	memset(req, 0, sizeof(*req));
	req->status = 400;
	eol = memmem(p, len, "\r\n", 2);
	if (!eol)
		return;
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	if (!sp1 || sp1 == p)
		return;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || sp2 == sp1 + 1)
		return;
	ver = sp2 + 1;
	vlen = (size_t)(eol - ver);
	if (vlen == 8 && !memcmp(ver, "HTTP/1.1", 8)) {
		req->http10 = false;
	} else if (vlen == 8 && !memcmp(ver, "HTTP/1.0", 8)) {
		req->http10 = true;
	} else {
		if (vlen > 5 && !memcmp(ver, "HTTP/", 5))
			req->status = 505;
		return;
	}
	mlen = (size_t)(sp1 - p);
	get = mlen == 3 && !memcmp(p, "GET", 3);
	head = mlen == 4 && !memcmp(p, "HEAD", 4);

	for (p = eol + 2; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol)
			return;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return;
		for (n = p; n < colon; n++)
			if (is_blank(*n))
				return; /* obsolete line folding or a blank in the name */
		v = colon + 1;
		ve = eol;
		while (v < ve && is_blank(*v))
			v++;
		while (ve > v && is_blank(ve[-1]))
			ve--;
		if (token_is(p, (size_t)(colon - p), "connection")) {
			http_connection_opts(v, ve, &opt_close, &opt_keep);
		} else if (token_is(p, (size_t)(colon - p), "content-length")) {
			if (v == ve)
				return;
			for (; v < ve; v++)
				if (*v != '0')
					return; /* a body, or not a number: not supported */
		} else if (token_is(p, (size_t)(colon - p), "transfer-encoding")) {
			return;
		}
	}
	if (!get && !head) {
		req->status = 405;
		return;
	}
	req->status = 200;
	req->head_only = head;
	req->keep_alive = req->http10 ? opt_keep && !opt_close : !opt_close;
}

static const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

/* Appends the answer to req to the output of c; room for RESP_MAX bytes is there. */
static void conn_queue_response(struct worker *w, struct conn *c, const struct http_req *req)
{
	char *out = c->bufs->out + c->out_len;
	const char *connection = "";
	int n;

	if (!req->keep_alive)
		connection = "Connection: close\r\n";
	else if (req->http10)
		connection = "Connection: keep-alive\r\n";
	n = snprintf(
		out, RESP_MAX,
		"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s%s\r\n",
		req->status, http_reason(req->status), w->body_len,
		req->status == 405 ? "Allow: GET, HEAD\r\n" : "", connection);
	if (n < 0 || (size_t)n + w->body_len > RESP_MAX)
		n = 0; /* cannot happen: RESP_MAX has room for the longest answer */
	if (!req->head_only) {
		memcpy(out + n, w->body, w->body_len);
		n += (int)w->body_len;
	}
	c->out_len += (size_t)n;
	if (!req->keep_alive)
		c->close_after = true;
	w->served_requests++;
	c->answered = true;
}

/* Answers the complete requests in the input; returns true when output was queued. */
static bool conn_answer(struct worker *w, struct conn *c)
{
	bool queued = false;
	struct http_req req;

	if (!c->bufs)
		return false;
	while (!c->close_after && c->out_len + RESP_MAX <= OUT_CAP) {
		const char *in = c->bufs->in, *p, *end;
		size_t avail;

		/* Blank lines before a request line are ignored (RFC 9112 section 2.2). */
		while (c->in_len - c->in_off >= 2 && in[c->in_off] == '\r' &&
		       in[c->in_off + 1] == '\n')
			c->in_off += 2;
		if (c->in_off == c->in_len)
			break;
		p = in + c->in_off;
		avail = c->in_len - c->in_off;
		end = memmem(p, avail, "\r\n\r\n", 4);
		if (end) {
			http_parse(p, (size_t)(end - p) + 2, &req);
			c->in_off += (size_t)(end - p) + 4;
		} else if (avail >= HEAD_MAX) {
			memset(&req, 0, sizeof(req));
			req.status = 431;
			c->in_off = c->in_len;
		} else {
			break;
		}
		if (req.status != 200 || w->stopping)
			req.keep_alive = false;
		conn_queue_response(w, c, &req);
		queued = true;
		if (w->delay_ms) {
			c->due = w->now + w->delay_ms;
			link_add_tail(&w->timers, &c->timer);
			break;
		}
	}
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	return queued;
}

static int conn_flush(struct worker *w, struct conn *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->bufs->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c->out_off += (size_t)n;
		conn_touch(w, c);
	}
	c->out_off = 0;
	c->out_len = 0;
	return 0;
}

/* Reads what fits into the input: bytes read, 0 at end of stream, or -errno. */
static ssize_t conn_fill(struct conn *c)
{
	ssize_t n;

	if (!c->bufs) {
		c->bufs = malloc(sizeof(*c->bufs));
		if (!c->bufs)
			return -ENOMEM;
	}
	if (c->in_off) {
		memmove(c->bufs->in, c->bufs->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
	do
		n = recv(c->fd, c->bufs->in + c->in_len, HEAD_MAX - c->in_len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	c->in_len += (size_t)n;
	return n;
}

/*
 * Closing a socket with unread input resets the connection, and the reset can destroy the
 * response before the client has read it. So the write side is shut down first and the input
 * discarded until the client closes, for LINGER_MS at most. Returns -EAGAIN while waiting, 0
 * once the connection can be closed.
 */
static int conn_linger(struct worker *w, struct conn *c)
{
	char sink[4096];
	ssize_t n;

	if (!c->lingering) {
		if (shutdown(c->fd, SHUT_WR) < 0)
			return 0;
		c->lingering = true;
		c->linger_until = w->now + LINGER_MS;
		link_add_tail(&w->lingering, &c->timer);
		free(c->bufs);
		c->bufs = NULL;
	}
	for (;;) {
		n = recv(c->fd, sink, sizeof(sink), 0);
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		return 0;
	}
}

/*
 * Moves a connection on as far as it goes without blocking: flush, answer, read, in a loop.
 * Returns (edge-triggered polling) only once a read or a write would block, or while a
 * response is held by --delay-ms (the timer calls back), or after closing the connection.
 */
static void conn_run(struct worker *w, struct conn *c)
{
	ssize_t n;
	int r;

	for (;;) {
		if (c->due) {
			if (w->now < c->due)
				return;
			c->due = 0;
			link_del(&c->timer);
		}
		if (c->out_len) {
			r = conn_flush(w, c);
			if (r == -EAGAIN || r == -EWOULDBLOCK)
				return;
			if (r < 0)
				break;
		}
		if (c->close_after) {
			if (conn_linger(w, c) == -EAGAIN)
				return;
			break;
		}
		if (c->in_len > c->in_off && conn_answer(w, c))
			continue;
		n = conn_fill(c);
		if (n > 0) {
			conn_touch(w, c);
			continue;
		}
		if (n == -EAGAIN || n == -EWOULDBLOCK) {
			if (c->in_len)
				return; /* in the middle of a request */
			/* Stopping: a connection between requests closes now; one whose first
			 * request is still on its way (a client that just connected) is served. */
			if (w->stopping && c->answered)
				break; /* idle */
			free(c->bufs);
			c->bufs = NULL;
			return;
		}
		break; /* end of stream or error: nothing to report */
	}
	conn_close(w, c);
}

/*
 * Out of file descriptors: accepts the first waiting connection with the spare fd and drops
 * it. Returns -EAGAIN when nothing is waiting (accept reports EMFILE before looking).
 */
static int listener_shed(struct worker *w, struct listener *l)
{
	int fd, r = 0;

	close(w->spare_fd);
	fd = accept(l->fd, NULL, NULL);
	if (fd < 0)
		r = errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
	else
		close(fd);
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (w->spare_fd < 0 && !r)
		r = -errno;
	if (fd >= 0 && error_log_allowed(w))
		logmsg("out of file descriptors: dropped a connection on %s", l->desc);
	return r;
}

static void listener_accept(struct worker *w, struct listener *l)
{
	int fd, err, r;

	for (;;) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			err = errno;
			if (err == EAGAIN || err == EWOULDBLOCK)
				return;
			if (err == EINTR || err == ECONNABORTED || err == EPROTO)
				continue;
			if ((err == EMFILE || err == ENFILE) && w->spare_fd >= 0) {
				if (listener_shed(w, l) < 0)
					return;
				continue;
			}
			if (error_log_allowed(w))
				logmsg("cannot accept on %s: %s", l->desc, strerror(err));
			return;
		}
		r = conn_add(w, fd);
		if (r < 0) {
			if (error_log_allowed(w))
				logmsg("cannot add a connection on %s: %s", l->desc, strerror(-r));
			close(fd);
		}
	}
}

/* Answers every queued datagram, each with the prefix and as much of it as fits. */
static void listener_echo(struct worker *w, struct listener *l)
{
	size_t room = DGRAM_MAX - w->dgram_prefix;
	struct sockaddr_storage ss;
	unsigned int count = 0;
	socklen_t slen;
	ssize_t n;

	for (;;) {
		if (w->stopping && ++count % 1024 == 0 && now_ms() >= w->stop_deadline)
			return;
		slen = sizeof(ss);
		n = recvfrom(l->fd, w->dgram + w->dgram_prefix, room, 0, (struct sockaddr *)&ss,
			     &slen);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* ICMP errors caused by earlier replies are reported here too */
			if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
			    errno == ENETUNREACH)
				continue;
			if (error_log_allowed(w))
				logmsg("cannot receive on %s: %s", l->desc, strerror(errno));
			return;
		}
		w->served_dgrams++;
		if (!slen ||
		    (ss.ss_family == AF_UNIX && slen <= offsetof(struct sockaddr_un, sun_path)))
			continue; /* unnamed sender: nowhere to reply */
		/* A full socket buffer or an unreachable sender drops the reply, as UDP does. */
		if (sendto(l->fd, w->dgram, w->dgram_prefix + (size_t)n,
			   MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&ss, slen) < 0)
			continue;
	}
}

/* ---- worker ---- */

static void worker_read_signals(struct worker *w)
{
	struct signalfd_siginfo si;
	ssize_t n;

	for (;;) {
		n = read(w->sigfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si))
			return;
		if (w->stop_signo) {
			logmsg("received %s: already stopping", signal_name((int)si.ssi_signo));
			continue;
		}
		w->stop_signo = (int)si.ssi_signo;
	}
}

/*
 * Graceful stop: take in everything already waiting on the sockets, close them, then let
 * each connection finish its current request; connections idle between requests close now,
 * and connections that have not yet sent their first request get it answered.
 */
static void worker_begin_stop(struct worker *w)
{
	struct link pending;
	struct listener *l;
	struct conn *c;
	size_t i;

	w->stopping = true;
	w->stop_deadline = w->now + STOP_MS;
	logmsg("received %s: stopping", signal_name(w->stop_signo));
	notify("STOPPING=1");

	for (i = 0; i < w->nlisteners && !w->stop_abrupt; i++) {
		l = &w->listeners[i];
		if (l->type == SOCK_STREAM)
			listener_accept(w, l);
		else
			listener_echo(w, l);
	}
	for (i = 0; i < w->nlisteners; i++)
		listener_close(w, &w->listeners[i]);

	/* conn_run() may move a connection to the tail of w->conns: walk a detached list. */
	link_move_all(&w->conns, &pending);
	while (!link_empty(&pending)) {
		c = container_of(pending.next, struct conn, all);
		link_del(&c->all);
		link_add_tail(&w->conns, &c->all);
		if (c->out_len || c->due)
			c->close_after = true;
		conn_run(w, c);
	}
	logmsg("listening sockets closed: finishing %zu connection%s", w->nconns,
	       w->nconns == 1 ? "" : "s");
}

static void worker_run_timers(struct worker *w)
{
	struct conn *c;

	while (!link_empty(&w->timers)) {
		c = container_of(w->timers.next, struct conn, timer);
		if (c->due > w->now)
			return;
		conn_run(w, c);
	}
}

/* Closes lingering connections past LINGER_MS and connections idle for IDLE_MS. */
static void worker_expire(struct worker *w)
{
	struct conn *c;

	while (!link_empty(&w->lingering)) {
		c = container_of(w->lingering.next, struct conn, timer);
		if (c->linger_until > w->now)
			break;
		conn_close(w, c);
	}
	while (!link_empty(&w->conns)) {
		c = container_of(w->conns.next, struct conn, all);
		if (w->now - c->last_active < IDLE_MS)
			return;
		if (c->due)
			conn_touch(w, c); /* held by --delay-ms, not idle */
		else
			conn_close(w, c);
	}
}

static int worker_timeout(const struct worker *w)
{
	uint64_t t = TICK_MS;
	const struct conn *c;

	if (!link_empty(&w->timers)) {
		c = container_of(w->timers.next, struct conn, timer);
		if (c->due <= w->now)
			return 0;
		if (c->due - w->now < t)
			t = c->due - w->now;
	}
	if (!link_empty(&w->lingering)) {
		c = container_of(w->lingering.next, struct conn, timer);
		if (c->linger_until <= w->now)
			return 0;
		if (c->linger_until - w->now < t)
			t = c->linger_until - w->now;
	}
	if (w->stopping) {
		if (w->stop_deadline <= w->now)
			return 0;
		if (w->stop_deadline - w->now < t)
			t = w->stop_deadline - w->now;
	}
	return (int)t;
}

static int worker_loop(struct worker *w)
{
	struct epoll_event events[EVENTS_MAX];
	struct listener *l;
	enum obj_kind *kind;
	int i, n, r;

	for (;;) {
		if (w->stopping && !w->nconns)
			return 0;
		n = epoll_wait(w->epfd, events, EVENTS_MAX, worker_timeout(w));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			logmsg("cannot wait for events: %s", strerror(-r));
			return r;
		}
		w->now = now_ms();
		for (i = 0; i < n; i++) {
			kind = events[i].data.ptr;
			switch (*kind) {
			case OBJ_SIGNAL:
				worker_read_signals(w);
				break;
			case OBJ_LISTENER:
				l = container_of(kind, struct listener, kind);
				if (l->type == SOCK_STREAM)
					listener_accept(w, l);
				else
					listener_echo(w, l);
				break;
			case OBJ_CONN:
				conn_run(w, container_of(kind, struct conn, kind));
				break;
			}
		}
		/* Only now: stopping may close connections that have events in this batch. */
		if (w->stop_signo && !w->stopping)
			worker_begin_stop(w);
		worker_run_timers(w);
		worker_expire(w);
		if (w->stopping && w->now >= w->stop_deadline && w->nconns) {
			logmsg("stop timed out after %d s: closing %zu connection%s",
			       STOP_MS / 1000, w->nconns, w->nconns == 1 ? "" : "s");
			return 0;
		}
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < NOFILE_WANTED)
		logmsg("open file limit is %llu: fewer than %d connections at once",
		       (unsigned long long)rl.rlim_cur, NOFILE_WANTED);
}

static int worker_signals(struct worker *w)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigset_t set;
	int r;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) < 0) {
		r = -errno;
		logmsg("cannot ignore SIGPIPE: %s", strerror(-r));
		return r;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		r = -errno;
		logmsg("cannot block SIGTERM and SIGINT: %s", strerror(-r));
		return r;
	}
	w->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (w->sigfd < 0) {
		r = -errno;
		logmsg("cannot create the signalfd: %s", strerror(-r));
		return r;
	}
	w->sig_obj = OBJ_SIGNAL;
	ev.data.ptr = &w->sig_obj;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->sigfd, &ev) < 0) {
		r = -errno;
		logmsg("cannot poll the signalfd: %s", strerror(-r));
		return r;
	}
	return 0;
}

static int worker_setup(struct worker *w, unsigned int nfds)
{
	char *names = w->fdnames, *name;
	bool dgram = false;
	unsigned int i;
	int n, r;

	w->now = now_ms();
	n = snprintf(w->body, sizeof(w->body), "slot=%lu pid=%d gen=%lu\n", w->slot, (int)w->pid,
		     w->gen);
	w->body_len = n > 0 ? (size_t)n : 0;

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		r = -errno;
		logmsg("cannot create the epoll instance: %s", strerror(-r));
		return r;
	}
	r = worker_signals(w);
	if (r < 0)
		return r;
	raise_nofile();
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (w->spare_fd < 0)
		logmsg("cannot open /dev/null as the spare fd: %s", strerror(errno));

	w->listeners = calloc(nfds, sizeof(*w->listeners));
	if (!w->listeners) {
		r = -ENOMEM;
		logmsg("cannot allocate %u listeners: %s", nfds, strerror(-r));
		return r;
	}
	for (i = 0; i < nfds; i++) {
		name = names ? strsep(&names, ":") : NULL;
		r = listener_init(w, &w->listeners[i], LISTEN_FDS_START + (int)i, name ? name : "");
		if (r < 0)
			return r;
		w->nlisteners++;
		if (w->listeners[i].type == SOCK_DGRAM)
			dgram = true;
	}
	if (dgram) {
		w->dgram = malloc(DGRAM_MAX);
		if (!w->dgram) {
			r = -ENOMEM;
			logmsg("cannot allocate the datagram buffer: %s", strerror(-r));
			return r;
		}
		/* the body without its newline, then a space */
		w->dgram_prefix = w->body_len;
		memcpy(w->dgram, w->body, w->body_len);
		w->dgram[w->dgram_prefix - 1] = ' ';
	}
	for (i = 0; i < w->nlisteners; i++) {
		const struct listener *l = &w->listeners[i];

		if (l->name[0])
			logmsg("serving %s (fd %d, name %s)", l->desc, l->fd, l->name);
		else
			logmsg("serving %s (fd %d)", l->desc, l->fd);
	}
	return 0;
}

static void worker_free(struct worker *w)
{
	size_t i;

	while (!link_empty(&w->conns))
		conn_close(w, container_of(w->conns.next, struct conn, all));
	for (i = 0; i < w->nlisteners; i++)
		listener_close(w, &w->listeners[i]);
	if (w->sigfd >= 0)
		close(w->sigfd);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->spare_fd >= 0)
		close(w->spare_fd);
	free(w->listeners);
	free(w->fdnames);
	free(w->dgram);
}

int main(int argc, char **argv)
{
	struct worker w;
	const char *reason;
	unsigned int nfds;
	bool help = false;
	int ret = 2;

	memset(&w, 0, sizeof(w));
	w.epfd = -1;
	w.sigfd = -1;
	w.spare_fd = -1;
	link_init(&w.conns);
	link_init(&w.timers);
	link_init(&w.lingering);

	if (parse_args(argc, argv, &w, &help) < 0)
		goto out;
	if (help) {
		fputs(usage_text, stdout);
		ret = 0;
		goto out;
	}
	if (env_listen_fds(&w, &nfds, &reason) < 0)
		goto out;
	if (!nfds) {
		logmsg("no listening sockets: start it under reuseportd (%s)", reason);
		goto out;
	}
	if (env_ulong("REUSEPORTD_SLOT", &w.slot) < 0 ||
	    env_ulong("REUSEPORTD_GENERATION", &w.gen) < 0)
		goto out;

	w.pid = getpid();
	log_slot = w.slot;
	log_pid = w.pid;
	log_prefixed = true;
	ret = 1;
	if (worker_setup(&w, nfds) < 0)
		goto out;
	notify("READY=1");
	if (w.delay_ms)
		logmsg("ready: generation %lu, %zu socket%s, each response delayed by %lu ms",
		       w.gen, w.nlisteners, w.nlisteners == 1 ? "" : "s", w.delay_ms);
	else
		logmsg("ready: generation %lu, %zu socket%s", w.gen, w.nlisteners,
		       w.nlisteners == 1 ? "" : "s");
	if (worker_loop(&w) < 0)
		goto out;
	logmsg("stopped: %llu connections, %llu requests, %llu datagrams served", w.served_conns,
	       w.served_requests, w.served_dgrams);
	ret = 0;
out:
	worker_free(&w);
	return ret;
}
