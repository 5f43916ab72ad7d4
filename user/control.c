// SPDX-License-Identifier: MIT
/*
 * control.c - the control path and socket.
 *
 * Owns: the control directory and PATH.lock (an flock held for the daemon's life, released
 * by the kernel even when the daemon is killed, so a stale file never blocks a restart); the
 * socket, its mode and the SO_PEERCRED check; framing and the limits that keep one client
 * from hurting the daemon or the others. Never blocks: every fd is non-blocking and every
 * buffer is bounded.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "events.h"
#include "json.h"
#include "log.h"
#include "supervisor.h"

static int mkdir_parents(const char *path)
{
	char dir[PATH_MAX];
	char *p;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int rpd_control_lock(const char *path)
{
	char lock[PATH_MAX], buf[32];
	int fd, err, n;
	long pid = 0;

	err = mkdir_parents(path);
	if (err) {
		pr_err("control socket %s: cannot create its directory: %s; choose another "
		       "--control",
		       path, strerror(-err));
		return err;
	}
	snprintf(lock, sizeof(lock), "%s.lock", path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		err = -errno;
		pr_err("control lock %s: cannot open: %s; choose another --control", lock,
		       strerror(errno));
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			pid = strtol(buf, NULL, 10);
		}
		pr_err("control socket %s: owned by a running reuseportd (pid %ld); stop it or "
		       "choose another --control",
		       path, pid);
		close(fd);
		return err;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, n, 0) != n)
		pr_warn("control lock %s: cannot record the pid: %s", lock, strerror(errno));
	return fd;
}

struct rpd_ctl_client {
	int fd;
	unsigned int index;
	struct ucred peer;
	char in[RPD_CTL_LINE_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outoff, outcap;
	int64_t partial_since; /* first byte of an unfinished line; 0 when none */
	bool closing; /* close once the output is flushed */
	bool want_out; /* EPOLLOUT is armed */
	bool waiting; /* its request is being carried out: later lines wait */
	uint64_t id;
};

static void client_free(struct rpd_control *c, struct rpd_ctl_client *cl)
{
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	c->clients[cl->index] = NULL;
	c->nclients--;
	free(cl->out);
	free(cl);
}

static void client_arm(struct rpd_control *c, struct rpd_ctl_client *cl, bool want_out)
{
	struct epoll_event ev = { .events = (cl->closing ? 0 : EPOLLIN) | (want_out ? EPOLLOUT : 0),
				  .data.u64 = rpd_tag(RPD_TAG_CTL_CLIENT, cl->index) };

	if (want_out == cl->want_out && !cl->closing)
		return;
	cl->want_out = want_out;
	epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev);
}

/* Write what is pending; returns -1 when the client is gone. */
static int client_flush(struct rpd_control *c, struct rpd_ctl_client *cl)
{
	while (cl->outoff < cl->outlen) {
		ssize_t n = send(cl->fd, cl->out + cl->outoff, cl->outlen - cl->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			client_free(c, cl);
			return -1;
		}
		cl->outoff += n;
	}
	if (cl->outoff == cl->outlen) {
		cl->outoff = cl->outlen = 0;
		if (cl->closing) {
			client_free(c, cl);
			return -1;
		}
	}
	client_arm(c, cl, cl->outoff < cl->outlen);
	return 0;
}

/* Queue a response; a client that lets 1 MiB pile up is dropped. */
static int client_send(struct rpd_control *c, struct rpd_ctl_client *cl, const char *buf,
		       size_t len)
{
	if (cl->outlen - cl->outoff + len > RPD_CTL_OUT_MAX) {
		pr_warn("control: dropping client uid=%u pid=%d: it does not read its responses",
			cl->peer.uid, (int)cl->peer.pid);
		client_free(c, cl);
		return -1;
	}
	if (cl->outlen + len > cl->outcap) {
		size_t cap = cl->outcap ? cl->outcap : 4096;
		char *p;

		if (cl->outoff) {
			memmove(cl->out, cl->out + cl->outoff, cl->outlen - cl->outoff);
			cl->outlen -= cl->outoff;
			cl->outoff = 0;
		}
		while (cap < cl->outlen + len)
			cap *= 2;
		p = realloc(cl->out, cap);
		if (!p) {
			client_free(c, cl);
			return -1;
		}
		cl->out = p;
		cl->outcap = cap;
	}
	memcpy(cl->out + cl->outlen, buf, len);
	cl->outlen += len;
	return client_flush(c, cl);
}

static int client_error(struct rpd_control *c, struct rpd_ctl_client *cl, const char *msg,
			bool close_after)
{
	char buf[512];
	int n = rpd_json_error(buf, sizeof(buf), msg);

	if (close_after)
		cl->closing = true;
	return client_send(c, cl, buf, n > 0 ? (size_t)n : 0);
}

/* Serve up to RPD_CTL_TURN_LINES complete lines; returns -1 when the client is gone. */
static int client_serve(struct rpd_control *c, struct rpd_ctl_client *cl, int64_t now)
{
	for (int served = 0; served < RPD_CTL_TURN_LINES && !cl->closing && !cl->waiting;
	     served++) {
		char *nl = memchr(cl->in, '\n', cl->inlen);
		struct rpd_ctl_req req;
		char err[256];
		size_t used;
		int r;

		if (!nl)
			break;
		used = nl - cl->in + 1;
		r = rpd_ctl_parse(cl->in, used - 1, &req, err, sizeof(err));
		memmove(cl->in, cl->in + used, cl->inlen - used);
		cl->inlen -= used;
		if (r == -EBADMSG) {
			pr_warn("control: closing client uid=%u pid=%d: %s", cl->peer.uid,
				(int)cl->peer.pid, err);
			return client_error(c, cl, err, true);
		}
		if (r) {
			if (client_error(c, cl, err, false))
				return -1;
			continue;
		}
		if (req.cmd == RPD_CTL_NONE)
			continue;
		r = c->handle(c->ctx, &req, &cl->peer, c->resp, RPD_CTL_RESP_MAX);
		if (r == -EINPROGRESS) {
			/* Answered by rpd_control_complete() when the operation ends. */
			cl->waiting = true;
			c->pending_index = cl->index;
			c->pending_id = cl->id;
			break;
		}
		if (r <= 0)
			r = rpd_json_error(c->resp, RPD_CTL_RESP_MAX, "response too large");
		if (client_send(c, cl, c->resp, r))
			return -1;
	}
	if (cl->inlen == sizeof(cl->in) && !memchr(cl->in, '\n', cl->inlen)) {
		pr_warn("control: closing client uid=%u pid=%d: request line too long",
			cl->peer.uid, (int)cl->peer.pid);
		cl->inlen = 0;
		return client_error(c, cl, "request line too long: at most 4096 bytes", true);
	}
	if (!cl->inlen)
		cl->partial_since = 0;
	else if (!cl->partial_since)
		cl->partial_since = now;
	return 0;
}

static void client_read(struct rpd_control *c, struct rpd_ctl_client *cl)
{
	int64_t now = rpd_now_ms();
	ssize_t n;

	if (cl->closing || cl->inlen == sizeof(cl->in))
		return;
	n = recv(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - cl->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF: answer what was asked, then close. */
		cl->closing = true;
		if (client_serve(c, cl, now) == 0)
			client_flush(c, cl);
		return;
	}
	cl->inlen += n;
	client_serve(c, cl, now);
}

static bool peer_in_group(pid_t pid, gid_t gid, gid_t group)
{
	char path[64], line[4096];
	bool found = false;
	FILE *f;

	if (gid == group)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "Groups:", 7))
			continue;
		for (p = line + 7;; p = end) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			if (g == group)
				found = true;
		}
		break;
	}
	fclose(f);
	return found;
}

static void accept_clients(struct rpd_control *c)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct rpd_ctl_client *cl;
		socklen_t len = sizeof(struct ucred);
		struct ucred peer;
		char msg[200];
		unsigned int i;
		int fd;

		fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				pr_warn("control: accept: %s", strerror(errno));
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0) {
			close(fd);
			continue;
		}
		if (peer.uid != 0 && peer.uid != c->self_uid &&
		    !(c->has_group && peer_in_group(peer.pid, peer.gid, c->group))) {
			int n;

			snprintf(msg, sizeof(msg),
				 "permission denied: uid %u may not control reuseportd (root, uid "
				 "%u%s "
				 "only)",
				 peer.uid, c->self_uid,
				 c->has_group ? " and the control group" : "");
			pr_warn("control: refused uid=%u pid=%d: not root, the daemon's user or in "
				"the control group",
				peer.uid, (int)peer.pid);
			n = rpd_json_error(c->resp, RPD_CTL_RESP_MAX, msg);
			if (send(fd, c->resp, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				pr_debug("control: refusal not delivered: %s", strerror(errno));
			close(fd);
			continue;
		}
		for (i = 0; i < RPD_CTL_MAX_CLIENTS && c->clients[i]; i++)
			;
		cl = i < RPD_CTL_MAX_CLIENTS ? calloc(1, sizeof(*cl)) : NULL;
		if (!cl) {
			int n = rpd_json_error(c->resp, RPD_CTL_RESP_MAX,
					       "too many control clients; try again later");

			pr_warn("control: refused uid=%u pid=%d: %u clients already", peer.uid,
				(int)peer.pid, c->nclients);
			if (send(fd, c->resp, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				pr_debug("control: refusal not delivered: %s", strerror(errno));
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->index = i;
		cl->id = ++c->next_id;
		cl->peer = peer;
		ev.data.u64 = rpd_tag(RPD_TAG_CTL_CLIENT, i);
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			pr_warn("control: cannot watch a client: %s", strerror(errno));
			close(fd);
			free(cl);
			continue;
		}
		c->clients[i] = cl;
		c->nclients++;
		pr_debug("control: client uid=%u pid=%d connected", peer.uid, (int)peer.pid);
	}
}

void rpd_control_event(struct rpd_control *c, uint32_t kind, uint32_t index, uint32_t events)
{
	struct rpd_ctl_client *cl;

	if (kind == RPD_TAG_CTL_LISTEN) {
		accept_clients(c);
		return;
	}
	if (index >= RPD_CTL_MAX_CLIENTS || !(cl = c->clients[index]))
		return;
	if (events & EPOLLOUT) {
		if (client_flush(c, cl))
			return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(c, cl);
}

int rpd_control_tick(struct rpd_control *c, int64_t now)
{
	int64_t next = -1;

	for (unsigned int i = 0; i < RPD_CTL_MAX_CLIENTS; i++) {
		struct rpd_ctl_client *cl = c->clients[i];
		int64_t due;

		if (!cl)
			continue;
		/* Lines left over by the per-turn limit are served next turn. */
		if (!cl->closing && !cl->waiting && memchr(cl->in, '\n', cl->inlen)) {
			if (client_serve(c, cl, now))
				continue;
			if (!cl->closing && !cl->waiting && memchr(cl->in, '\n', cl->inlen))
				next = now;
		}
		/* A client waiting for a long operation may hold an unfinished next line. */
		if (!cl->partial_since || cl->closing || cl->waiting)
			continue;
		due = cl->partial_since + RPD_CTL_PARTIAL_MS;
		if (due <= now) {
			pr_warn("control: closing client uid=%u pid=%d: unfinished line for %d ms",
				cl->peer.uid, (int)cl->peer.pid, RPD_CTL_PARTIAL_MS);
			cl->inlen = 0;
			cl->partial_since = 0;
			client_error(c, cl, "request line not finished in time", true);
			continue;
		}
		if (next < 0 || due < next)
			next = due;
	}
	if (next < 0)
		return -1;
	return next > now ? (int)(next - now) : 0;
}

int rpd_control_open(struct rpd_control *c, const char *path, const char *group_name, int epfd,
		     rpd_ctl_handler handle, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = rpd_tag(RPD_TAG_CTL_LISTEN, 0) };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int err;

	c->lfd = -1;
	c->epfd = epfd;
	c->pending_index = RPD_CTL_MAX_CLIENTS;
	c->handle = handle;
	c->ctx = ctx;
	c->self_uid = geteuid();
	snprintf(c->path, sizeof(c->path), "%s", path);
	if (group_name) {
		struct group *gr = getgrnam(group_name);

		if (!gr) {
			pr_err("--control-group: no group '%s' on this system; create it or name "
			       "another",
			       group_name);
			return -ENOENT;
		}
		c->has_group = true;
		c->group = gr->gr_gid;
	}
	c->resp = malloc(RPD_CTL_RESP_MAX);
	if (!c->resp)
		return -ENOMEM;

	/* We hold the lock: whatever socket is at the path belongs to a dead daemon. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			pr_err("control socket %s: the path exists and is not a socket; remove it "
			       "or choose another --control",
			       path);
			return -EEXIST;
		}
		unlink(path);
	}
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0) {
		err = -errno;
		pr_err("control socket %s: cannot create: %s", path, strerror(errno));
		return err;
	}
	memcpy(sun.sun_path, path, strlen(path));
	/* Born with its final mode: no window in which others may connect. */
	old = umask(c->has_group ? 0117 : 0177);
	err = bind(c->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? -errno : 0;
	umask(old);
	if (err) {
		pr_err("control socket %s: cannot bind: %s; choose another --control", path,
		       strerror(-err));
		goto fail;
	}
	if (c->has_group && chown(path, (uid_t)-1, c->group) < 0) {
		err = -errno;
		pr_err("control socket %s: cannot give it to group %s: %s", path, group_name,
		       strerror(errno));
		goto fail;
	}
	if (listen(c->lfd, 128) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, c->lfd, &ev) < 0) {
		err = -errno;
		pr_err("control socket %s: cannot listen: %s", path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(c->lfd);
	c->lfd = -1;
	unlink(path);
	return err;
}

void rpd_control_complete(struct rpd_control *c, const char *buf, size_t len)
{
	struct rpd_ctl_client *cl;

	if (c->pending_index >= RPD_CTL_MAX_CLIENTS)
		return;
	cl = c->clients[c->pending_index];
	c->pending_index = RPD_CTL_MAX_CLIENTS;
	if (!cl || cl->id != c->pending_id || !cl->waiting)
		return; /* it left while waiting: the operation was carried out all the same */
	cl->waiting = false;
	if (client_send(c, cl, buf, len))
		return;
	client_serve(c, cl, rpd_now_ms());
}

void rpd_control_close(struct rpd_control *c)
{
	for (unsigned int i = 0; i < RPD_CTL_MAX_CLIENTS; i++) {
		if (c->clients[i])
			client_free(c, c->clients[i]);
	}
	if (c->lfd >= 0) {
		close(c->lfd);
		unlink(c->path);
	}
	c->lfd = -1;
	free(c->resp);
	c->resp = NULL;
}
