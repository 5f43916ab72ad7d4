/* SPDX-License-Identifier: MIT */
/*
 * options.h - the daemon's command line: listen URLs, durations, signals, users' names.
 *
 * Owns: turning argv into struct rpd_options and naming what is wrong with it. Pure: no system
 * calls, so every error path is unit tested (tests/test_options.c). Resolving users, opening
 * sockets and finding executables belong to the daemon.
 */
#ifndef RPD_OPTIONS_H
#define RPD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>

#define RPD_MAX_LISTENERS 16
#define RPD_DEFAULT_LISTEN "tcp://127.0.0.1:8080"
#define RPD_DEFAULT_CONTROL "/run/reuseportd/control.sock"

enum rpd_log_level { RPD_LOG_ERROR, RPD_LOG_WARN, RPD_LOG_INFO, RPD_LOG_DEBUG };

struct rpd_listen {
	int type; /* SOCK_STREAM or SOCK_DGRAM */
	int family; /* AF_INET or AF_INET6 */
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} addr;
	socklen_t addrlen;
	char name[64]; /* "tcp:127.0.0.1:8080", "udp:[::1]:53": LISTEN_FDNAMES and logs */
};

struct rpd_options {
	struct rpd_listen listen[RPD_MAX_LISTENERS];
	unsigned int nlisten;
	unsigned int workers;
	const char *control;
	const char *control_group; /* NULL: socket mode 0600 */
	const char *user; /* "USER[:GROUP]" or NULL */
	char *const *command; /* argv of the worker, NULL for the demo worker */
	int log_level;
	int stop_signal;
	int ready_delay_ms; /* -1: only READY=1 counts */
	int stop_timeout_ms;
	int ready_timeout_ms; /* a replacement not ready by then has failed */
	int drain_timeout_ms; /* a replaced or removed worker is killed after this */
	int backoff_max_ms;
	int backlog;
	int policy; /* enum rpd_policy */
	bool pin_workers; /* slot s runs on CPU s mod ncpu */
	bool avoid_stall; /* keep stalled slots out of the table */
	int stall_ms; /* a queue not shrinking this long while non-empty is a stall */
	int stall_interval_ms; /* queue sampling period */
	bool help;
	bool version;
};

/* Defaults; ncpu is the number of online CPUs (the default worker count). */
void rpd_options_init(struct rpd_options *o, unsigned int ncpu);

/*
 * Parse argv (argv[0] is the program). On error returns -EINVAL and writes one line naming the
 * problem and its fix into err. argv must outlive o (strings are not copied).
 */
int rpd_options_parse(struct rpd_options *o, int argc, char **argv, char *err, size_t errlen);

/* "tcp://HOST:PORT" or "udp://HOST:PORT" (HOST numeric, IPv6 in brackets). */
int rpd_parse_listen(const char *url, struct rpd_listen *out, char *err, size_t errlen);

/* "500ms", "2s", "1.5" (seconds), "1m" into milliseconds; -EINVAL if malformed or negative. */
int rpd_parse_duration_ms(const char *s, int *ms);

/* "TERM", "SIGTERM", "15" into a signal number; -EINVAL if unknown. */
int rpd_parse_signal(const char *s, int *sig);

/* "error" | "warn" | "info" | "debug". */
int rpd_parse_log_level(const char *s, int *level);

/* The text printed by --help. */
extern const char rpd_usage[];

#endif /* RPD_OPTIONS_H */
