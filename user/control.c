// SPDX-License-Identifier: MIT
/*
 * control.c - ownership of the control path.
 *
 * Owns: the control directory and PATH.lock (an flock held for the daemon's life, released
 * by the kernel even when the daemon is killed, so a stale file never blocks a restart).
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

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
