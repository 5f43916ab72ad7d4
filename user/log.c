// SPDX-License-Identifier: MIT
/*
 * log.c - writes log lines to stderr and routes libbpf's messages to the debug level (its
 * verifier dumps are many lines; the caller reports the failure once, in one line).
 */
#include "log.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_prog = "reuseportd";
static int log_level = RPD_LOG_INFO;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *msg, *line, *save = NULL;

	(void)level;
	if (log_level < RPD_LOG_DEBUG)
		return 0;
	/* Verifier logs arrive as one message of many lines: print each line. */
	if (vasprintf(&msg, fmt, ap) < 0)
		return 0;
	for (line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "%s: debug: libbpf: %s\n", log_prog, line);
	free(msg);
	return 0;
}

void rpd_log_init(const char *prog, int level)
{
	log_prog = prog;
	log_level = level;
	libbpf_set_print(libbpf_print);
}

void rpd_log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char line[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line, so lines of concurrent writers (workers) never interleave. */
	fprintf(stderr, "%s: %s: %s\n", log_prog, names[level], line);
	fflush(stderr);
}
