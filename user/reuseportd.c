// SPDX-License-Identifier: MIT
/*
 * reuseportd.c - the daemon's entry point: checks everything a user can get wrong before
 * anything is created, then runs the daemon.
 *
 * Owns: exit codes (0 stopped cleanly, 1 environment, 2 usage), privilege and kernel checks,
 * finding the worker command and the workers' account. Leaves the running daemon to daemon.c.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "control.h"
#include "daemon.h"
#include "kernel.h"
#include "log.h"
#include "options.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

#define DEMO_WORKER "rpd-demo-worker"

static int has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

static int check_privileges(int need_setuid)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capget, &h, d) < 0) {
		pr_err("cannot read this process's capabilities: %s", strerror(errno));
		return -errno;
	}
	if (!(has_cap(d, CAP_BPF) || has_cap(d, CAP_SYS_ADMIN)) || !has_cap(d, CAP_NET_ADMIN)) {
		pr_err("missing privilege: reuseportd needs CAP_BPF and CAP_NET_ADMIN to load and "
		       "attach its steering program; run it as root");
		return -EPERM;
	}
	if (need_setuid && (!has_cap(d, CAP_SETUID) || !has_cap(d, CAP_SETGID))) {
		pr_err("missing privilege: --user needs CAP_SETUID and CAP_SETGID; run reuseportd "
		       "as root or drop --user");
		return -EPERM;
	}
	return 0;
}

/* The demo worker lives next to the daemon's executable (build tree or install prefix). */
static int find_demo_worker(char *path, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", path, len - sizeof(DEMO_WORKER) - 1);
	char *slash;

	if (n < 0)
		return -errno;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (!slash)
		return -ENOENT;
	strcpy(slash + 1, DEMO_WORKER);
	return access(path, X_OK) ? -errno : 0;
}

static int find_in_path(const char *cmd)
{
	const char *p = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(cmd, '/'))
		return access(cmd, X_OK) ? -errno : 0;
	if (!p || !*p)
		p = "/usr/local/bin:/usr/bin:/bin";
	while (*p) {
		const char *end = strchrnul(p, ':');
		int n = snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - p), p, cmd);

		if (n > 0 && n < (int)sizeof(buf) && !access(buf, X_OK))
			return 0;
		p = *end ? end + 1 : end;
	}
	return -ENOENT;
}

static int resolve_user(const struct rpd_options *o, struct rpd_run *run, char *namebuf, size_t len)
{
	const char *spec = o->user;
	const char *colon;
	struct passwd *pw;
	struct group *gr;

	if (!spec) {
		if (geteuid() != 0)
			return 0; /* workers run as the daemon's own user */
		spec = "nobody";
	}
	colon = strchr(spec, ':');
	snprintf(namebuf, len, "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	pw = getpwnam(namebuf);
	if (!pw) {
		pr_err("--user: no user '%s' on this system; create it or name another", namebuf);
		return -ENOENT;
	}
	run->uid = pw->pw_uid;
	run->gid = pw->pw_gid;
	if (colon) {
		gr = getgrnam(colon + 1);
		if (!gr) {
			pr_err("--user: no group '%s' on this system; create it or name another",
			       colon + 1);
			return -ENOENT;
		}
		run->gid = gr->gr_gid;
	}
	run->user_name = namebuf;
	run->set_user = pw->pw_uid != geteuid() || run->gid != getegid() || o->user;
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static char demo[PATH_MAX], user[256];
	char *demo_argv[] = { demo, NULL };
	struct rpd_options opt;
	struct rpd_run run = { .opt = &opt };
	struct utsname un;
	char err[512];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int ret, lockfd;

	rpd_options_init(&opt, ncpu > 0 ? (unsigned int)ncpu : 1);
	if (rpd_options_parse(&opt, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "reuseportd: %s\n", err);
		return 2;
	}
	if (opt.help) {
		fputs(rpd_usage, stdout);
		return 0;
	}
	if (opt.version) {
		printf("reuseportd %s\n", RPD_VERSION);
		return 0;
	}
	rpd_log_init("reuseportd", opt.log_level);
	raise_nofile();

	if (uname(&un) == 0 && rpd_kernel_check(un.release, err, sizeof(err))) {
		pr_err("%s", err);
		return 1;
	}
	if (opt.command) {
		ret = find_in_path(opt.command[0]);
		if (ret) {
			pr_err("worker command '%s': %s; give the path of an executable",
			       opt.command[0], ret == -ENOENT ? "not found" : strerror(-ret));
			return 1;
		}
		run.argv = opt.command;
	} else {
		ret = find_demo_worker(demo, sizeof(demo));
		if (ret) {
			pr_err("demo worker %s: %s; build it (cmake --build build) or give a "
			       "worker "
			       "COMMAND",
			       demo[0] ? demo : DEMO_WORKER, strerror(-ret));
			return 1;
		}
		run.argv = demo_argv;
	}
	if (resolve_user(&opt, &run, user, sizeof(user)))
		return 1;
	if (check_privileges(run.set_user))
		return 1;

	lockfd = rpd_control_lock(opt.control);
	if (lockfd < 0)
		return 1;
	ret = rpd_daemon_run(&run);
	close(lockfd);
	return ret ? 1 : 0;
}
