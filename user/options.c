// SPDX-License-Identifier: MIT
/*
 * options.c - parses the daemon's command line into struct rpd_options.
 *
 * Owns: syntax and ranges of every flag and the one-line messages for each mistake. Leaves to
 * the daemon everything that needs the system (users, paths, ports, privileges).
 */
#include "options.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctlproto.h"
#include "rpd_abi.h"
#include "errmsg.h"

const char rpd_usage[] =
	"usage: reuseportd [OPTIONS] [-- COMMAND [ARG...]]\n"
	"\n"
	"Owns a SO_REUSEPORT group per listener, steers it with BPF and supervises one worker per\n"
	"slot; each worker gets its slot's sockets by socket activation (LISTEN_FDS).\n"
	"Without COMMAND the bundled demo worker runs.\n"
	"\n"
	"  --listen URL          tcp://HOST:PORT or udp://HOST:PORT, IPv6 as tcp://[::1]:PORT;\n"
	"                        repeatable (default " RPD_DEFAULT_LISTEN ")\n"
	"  --workers N           worker slots, 1..256 (default: online CPUs)\n"
	"  --control PATH        control socket (default " RPD_DEFAULT_CONTROL ")\n"
	"  --control-group GROUP members of GROUP may use the control socket (mode 0660)\n"
	"  --user USER[:GROUP]   account for workers (default nobody when run as root)\n"
	"  --stop-signal SIG     signal that stops a worker gracefully (default TERM)\n"
	"  --ready-delay DUR     a worker that sends no READY=1 counts as ready after DUR\n"
	"                        (default 1s; 'notify' waits for READY=1 only)\n"
	"  --stop-timeout DUR    grace period before SIGKILL on stop (default 10s)\n"
	"  --ready-timeout DUR   a replacement worker not ready by then has failed (default 30s)\n"
	"  --drain-timeout DUR   a replaced or removed worker is killed after this (default 30s)\n"
	"  --backoff-max DUR     cap of the respawn backoff (default 10s)\n"
	"  --backlog N           listen backlog of each TCP socket (default 4096)\n"
	"  --policy NAME         hash (4-tuple), src (client address affinity) or cpu (the\n"
	"                        slot pinned to the packet's CPU, else hash); default hash\n"
	"  --pin-workers         pin slot s's worker to CPU s mod ncpu (for --policy cpu)\n"
	"  --no-avoid-stall      keep steering to a slot whose queue stopped draining\n"
	"  --stall-after DUR     a non-empty queue not shrinking this long is a stall (100ms)\n"
	"  --stall-interval DUR  how often queues are sampled (default 10ms)\n"
	"  --log-level LEVEL     error, warn, info or debug (default info)\n"
	"  -h, --help            show this help\n"
	"  -V, --version         show the version\n"
	"\n"
	"Durations: 500ms, 2s, 1.5 (seconds), 1m.\n";

/* One line naming the mistake, into the caller's buffer. */
#define fail(err, errlen, ...) rpd_errorf(err, errlen, -EINVAL, __VA_ARGS__)

void rpd_options_init(struct rpd_options *o, unsigned int ncpu)
{
	memset(o, 0, sizeof(*o));
	o->workers = ncpu ? (ncpu > RPD_MAX_SLOTS ? RPD_MAX_SLOTS : ncpu) : 1;
	o->control = RPD_DEFAULT_CONTROL;
	o->log_level = RPD_LOG_INFO;
	o->stop_signal = SIGTERM;
	o->ready_delay_ms = 1000;
	o->stop_timeout_ms = 10000;
	o->ready_timeout_ms = 30000;
	o->drain_timeout_ms = 30000;
	o->backoff_max_ms = 10000;
	o->backlog = 4096;
	o->policy = RPD_POLICY_HASH;
	o->avoid_stall = true;
	o->stall_ms = 100;
	o->stall_interval_ms = 10;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int rpd_parse_listen(const char *url, struct rpd_listen *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *rest, *colon, *hs, *he;
	unsigned long port;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (!strncmp(url, "tcp://", 6)) {
		out->type = SOCK_STREAM;
	} else if (!strncmp(url, "udp://", 6)) {
		out->type = SOCK_DGRAM;
	} else {
		return fail(
			err, errlen,
			"listen url '%s': unknown scheme; use tcp://HOST:PORT or udp://HOST:PORT",
			url);
	}
	rest = url + 6;
	if (*rest == '[') {
		hs = rest + 1;
		he = strchr(hs, ']');
		if (!he || he[1] != ':')
			return fail(
				err, errlen,
				"listen url '%s': IPv6 needs brackets and a port, as [::1]:8080",
				url);
		colon = he + 1;
		out->family = AF_INET6;
	} else {
		hs = rest;
		colon = strrchr(rest, ':');
		if (!colon)
			return fail(err, errlen, "listen url '%s': missing port; use HOST:PORT",
				    url);
		he = colon;
		if (memchr(hs, ':', he - hs))
			return fail(
				err, errlen,
				"listen url '%s': put an IPv6 address in brackets, as [::1]:8080",
				url);
		out->family = AF_INET;
	}
	hlen = he - hs;
	if (!hlen || hlen >= sizeof(host))
		return fail(err, errlen, "listen url '%s': missing or overlong host address", url);
	memcpy(host, hs, hlen);
	host[hlen] = '\0';
	if (parse_uint(colon + 1, 65535, &port) || port == 0)
		return fail(err, errlen, "listen url '%s': port must be a number from 1 to 65535",
			    url);

	if (out->family == AF_INET) {
		out->addr.in4.sin_family = AF_INET;
		out->addr.in4.sin_port = htons(port);
		if (inet_pton(AF_INET, host, &out->addr.in4.sin_addr) != 1)
			return fail(err, errlen,
				    "listen url '%s': '%s' is not a numeric IPv4 address", url,
				    host);
		out->addrlen = sizeof(out->addr.in4);
	} else {
		out->addr.in6.sin6_family = AF_INET6;
		out->addr.in6.sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &out->addr.in6.sin6_addr) != 1)
			return fail(err, errlen,
				    "listen url '%s': '%s' is not a numeric IPv6 address", url,
				    host);
		out->addrlen = sizeof(out->addr.in6);
	}
	/* Canonical name, as the address family prints it. */
	inet_ntop(out->family,
		  out->family == AF_INET ? (void *)&out->addr.in4.sin_addr
					 : (void *)&out->addr.in6.sin6_addr,
		  host, sizeof(host));
	snprintf(out->name, sizeof(out->name), out->family == AF_INET ? "%s:%s:%lu" : "%s:[%s]:%lu",
		 out->type == SOCK_STREAM ? "tcp" : "udp", host, port);
	return 0;
}

int rpd_parse_duration_ms(const char *s, int *ms)
{
	double v, scale = 1000.0;
	char *end;

	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		scale = 1.0;
	else if (!strcmp(end, "s") || !*end)
		scale = 1000.0;
	else if (!strcmp(end, "m"))
		scale = 60000.0;
	else
		return -EINVAL;
	v *= scale;
	if (!isfinite(v) || v < 0 || v > INT_MAX)
		return -EINVAL;
	*ms = (int)(v + 0.5);
	return 0;
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },	  { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "WINCH", SIGWINCH },
};

int rpd_parse_signal(const char *s, int *sig)
{
	unsigned long n;

	if (!parse_uint(s, 64, &n)) {
		if (n < 1 || n > 64)
			return -EINVAL;
		*sig = (int)n;
		return 0;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (!strcasecmp(s, signals[i].name)) {
			*sig = signals[i].sig;
			return 0;
		}
	}
	return -EINVAL;
}

int rpd_parse_log_level(const char *s, int *level)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*level = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* "--name value" or "--name=value"; advances *i past the value. NULL if the value is missing. */
static const char *flag_value(int argc, char **argv, int *i, const char *eq)
{
	if (eq)
		return eq + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

int rpd_options_parse(struct rpd_options *o, int argc, char **argv, char *err, size_t errlen)
{
	bool listen_given = false;
	int i, ret;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *val;
		char name[32];
		unsigned long n;
		size_t nlen;

		if (!strcmp(arg, "--")) {
			i++;
			break;
		}
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			o->help = true;
			continue;
		}
		if (!strcmp(arg, "-V") || !strcmp(arg, "--version")) {
			o->version = true;
			continue;
		}
		if (strncmp(arg, "--", 2)) {
			if (arg[0] == '-')
				return fail(err, errlen,
					    "unknown option '%s'; see reuseportd --help", arg);
			/* The worker command may also follow the options without "--". */
			break;
		}
		eq = strchr(arg, '=');
		nlen = eq ? (size_t)(eq - arg) : strlen(arg);
		if (nlen >= sizeof(name))
			return fail(err, errlen, "unknown option '%s'; see reuseportd --help", arg);
		memcpy(name, arg, nlen);
		name[nlen] = '\0';

#define NEED_VALUE()                                                                               \
	do {                                                                                       \
		val = flag_value(argc, argv, &i, eq);                                              \
		if (!val)                                                                          \
			return fail(err, errlen, "option %s needs a value; see reuseportd --help", \
				    name);                                                         \
	} while (0)

		if (!strcmp(name, "--listen")) {
			NEED_VALUE();
			if (!listen_given)
				o->nlisten = 0;
			listen_given = true;
			if (o->nlisten == RPD_MAX_LISTENERS)
				return fail(err, errlen, "--listen: at most %d listeners",
					    RPD_MAX_LISTENERS);
			ret = rpd_parse_listen(val, &o->listen[o->nlisten], err, errlen);
			if (ret)
				return ret;
			for (unsigned int k = 0; k < o->nlisten; k++) {
				if (!strcmp(o->listen[k].name, o->listen[o->nlisten].name))
					return fail(err, errlen, "--listen %s is given twice", val);
			}
			o->nlisten++;
		} else if (!strcmp(name, "--workers")) {
			NEED_VALUE();
			if (parse_uint(val, RPD_MAX_SLOTS, &n) || n < 1)
				return fail(err, errlen,
					    "--workers: expected a number from 1 to %d, got '%s'",
					    RPD_MAX_SLOTS, val);
			o->workers = n;
		} else if (!strcmp(name, "--control")) {
			NEED_VALUE();
			if (val[0] != '/' || strlen(val) >= 100)
				return fail(err, errlen,
					    "--control: expected an absolute path shorter than 100 "
					    "characters, got '%s'",
					    val);
			o->control = val;
		} else if (!strcmp(name, "--control-group")) {
			NEED_VALUE();
			if (!*val)
				return fail(err, errlen, "--control-group: expected a group name");
			o->control_group = val;
		} else if (!strcmp(name, "--user")) {
			NEED_VALUE();
			if (!*val || *val == ':')
				return fail(err, errlen,
					    "--user: expected USER or USER:GROUP, got '%s'", val);
			o->user = val;
		} else if (!strcmp(name, "--stop-signal")) {
			NEED_VALUE();
			if (rpd_parse_signal(val, &o->stop_signal))
				return fail(
					err, errlen,
					"--stop-signal: unknown signal '%s'; use a name such as "
					"TERM, QUIT or INT",
					val);
		} else if (!strcmp(name, "--ready-delay")) {
			NEED_VALUE();
			if (!strcmp(val, "notify"))
				o->ready_delay_ms = -1;
			else if (rpd_parse_duration_ms(val, &o->ready_delay_ms))
				return fail(
					err, errlen,
					"--ready-delay: expected a duration such as 500ms or 2s, "
					"or 'notify', got '%s'",
					val);
		} else if (!strcmp(name, "--stop-timeout") || !strcmp(name, "--backoff-max") ||
			   !strcmp(name, "--ready-timeout") || !strcmp(name, "--drain-timeout")) {
			int *dst = name[2] == 's'   ? &o->stop_timeout_ms
				   : name[2] == 'b' ? &o->backoff_max_ms
				   : name[2] == 'r' ? &o->ready_timeout_ms
						    : &o->drain_timeout_ms;

			NEED_VALUE();
			if (rpd_parse_duration_ms(val, dst))
				return fail(err, errlen,
					    "%s: expected a duration such as 500ms or 2s, got '%s'",
					    name, val);
		} else if (!strcmp(name, "--backlog")) {
			NEED_VALUE();
			if (parse_uint(val, 65535, &n) || n < 1)
				return fail(
					err, errlen,
					"--backlog: expected a number from 1 to 65535, got '%s'",
					val);
			o->backlog = n;
		} else if (!strcmp(name, "--policy")) {
			NEED_VALUE();
			o->policy = rpd_policy_parse(val);
			if (o->policy < 0)
				return fail(err, errlen,
					    "--policy: unknown policy '%s'; known: hash, src, cpu",
					    val);
		} else if (!strcmp(name, "--pin-workers")) {
			o->pin_workers = true;
		} else if (!strcmp(name, "--no-avoid-stall")) {
			o->avoid_stall = false;
		} else if (!strcmp(name, "--stall-after") || !strcmp(name, "--stall-interval")) {
			int *dst = name[8] == 'a' ? &o->stall_ms : &o->stall_interval_ms;

			NEED_VALUE();
			if (rpd_parse_duration_ms(val, dst) || *dst < 1)
				return fail(err, errlen,
					    "%s: expected a duration of at least 1ms such as "
					    "100ms, got "
					    "'%s'",
					    name, val);
		} else if (!strcmp(name, "--log-level")) {
			NEED_VALUE();
			if (rpd_parse_log_level(val, &o->log_level))
				return fail(err, errlen,
					    "--log-level: expected error, warn, info or debug, got "
					    "'%s'",
					    val);
		} else {
			return fail(err, errlen, "unknown option '%s'; see reuseportd --help",
				    name);
		}
#undef NEED_VALUE
	}
	if (i < argc)
		o->command = &argv[i];
	if (!listen_given) {
		ret = rpd_parse_listen(RPD_DEFAULT_LISTEN, &o->listen[0], err, errlen);
		if (ret)
			return ret;
		o->nlisten = 1;
	}
	return 0;
}
