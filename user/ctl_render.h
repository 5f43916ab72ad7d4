/* SPDX-License-Identifier: MIT */
/*
 * ctl_render.h - the pure half of reuseportctl: its command line, the request line it sends,
 * checking a response and printing it for people.
 *
 * Owns: argument syntax and ranges with the one-line message for each mistake, the request
 * text, and the human rendering of every response (docs/control-protocol.md). Pure: no system
 * calls beyond writing to the FILE given, so all of it is unit tested (tests/test_json_read.c).
 * Connecting, timeouts and exit codes belong to reuseportctl.c; whether a slot or policy
 * exists is the daemon's decision.
 */
#ifndef RPD_CTL_RENDER_H
#define RPD_CTL_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "json_read.h"

#define RPD_CLI_VERSION "0.1.0"
#define RPD_CLI_ENV_CONTROL "REUSEPORTD_CONTROL"
#define RPD_CLI_DEFAULT_TIMEOUT_MS 5000
/* restart and scale answer when the change is done: workers' start-up may take a while */
#define RPD_CLI_CHANGE_TIMEOUT_MS 600000
/* A request line, newline included, is at most this long (the daemon's limit). */
#define RPD_CLI_REQUEST_MAX 4096
/* A response line, newline included, is at most this long. */
#define RPD_CLI_RESPONSE_MAX (1u << 20)
/* Longest control path, NUL included (sizeof(sun_path)). */
#define RPD_CLI_PATH_MAX 108

enum rpd_cli_cmd {
	RPD_CLI_STATUS,
	RPD_CLI_STATS,
	RPD_CLI_DRAIN,
	RPD_CLI_UNDRAIN,
	RPD_CLI_WEIGHT,
	RPD_CLI_POLICY,
	RPD_CLI_RESTART,
	RPD_CLI_SCALE,
};

struct rpd_cli_args {
	const char *control; /* the control socket's path */
	const char *control_from; /* where it came from: "--control", the env name or "default" */
	int timeout_ms; /* for connect, send and receive together; > 0 */
	bool json; /* print the response line as received */
	bool help;
	bool version;
	enum rpd_cli_cmd cmd;
	char request[RPD_CLI_REQUEST_MAX]; /* e.g. "weight 2 5\n" */
};

/*
 * Parse argv (argv[0] is the program). env_control is $REUSEPORTD_CONTROL or NULL; --control
 * wins over it. Options may come before or after COMMAND; after COMMAND a word that is not a
 * known option is an argument (so "drain -1" names SLOT). With --help or --version the rest
 * is not checked. Returns 0, or -EINVAL with one line (no program name, no newline) in err.
 * argv and env_control must outlive a.
 */
int rpd_cli_parse_args(struct rpd_cli_args *a, int argc, char **argv, const char *env_control,
		       char *err, size_t errlen);

/*
 * Check COMMAND and its arguments (argv[0] is COMMAND) and write the request line, newline
 * included, to line. Returns the command (enum rpd_cli_cmd, >= 0), or -EINVAL with one line
 * in err (e.g. "weight: W must be an integer from 0 to 1000, got '1001'").
 */
int rpd_cli_build_request(int argc, char **argv, char *line, size_t len, char *err, size_t errlen);

/*
 * "500ms", "2s", "1.5" (seconds), "1m" into milliseconds > 0 (the daemon's duration syntax,
 * rpd_parse_duration_ms() in options.c); -EINVAL otherwise.
 */
int rpd_cli_parse_timeout(const char *s, int *ms);

/*
 * Check a parsed response. Returns 0 when it says "ok": true; -EREMOTEIO when it says
 * "ok": false, with the daemon's error (control characters replaced) in err; -EPROTO when it
 * is not a protocol response (not an object, or no boolean "ok"), with a description in err.
 */
int rpd_cli_check_response(const struct rpd_jv *resp, char *err, size_t errlen);

/*
 * Print a successful response of cmd for people. Missing or mistyped fields print as '-'.
 * Returns 0, or -EIO when out reports an error.
 */
int rpd_cli_render(enum rpd_cli_cmd cmd, const struct rpd_jv *resp, FILE *out);

/* The parts of rpd_cli_render(), one per response shape. */
int rpd_cli_render_status(const struct rpd_jv *resp, FILE *out);
int rpd_cli_render_stats(const struct rpd_jv *resp, FILE *out);
int rpd_cli_render_slot(const struct rpd_jv *resp, FILE *out); /* drain, undrain, weight */
int rpd_cli_render_policy(const struct rpd_jv *resp, FILE *out);
int rpd_cli_render_change(const struct rpd_jv *resp, FILE *out); /* restart, scale */

/* The text printed by --help. */
extern const char rpd_cli_usage[];

#endif /* RPD_CTL_RENDER_H */
