/* SPDX-License-Identifier: MIT */
/*
 * log.h - one line per event on stderr, with a level; libbpf's own output bridged in.
 *
 * Owns: formatting and filtering log lines. Callers decide what is worth a line.
 */
#ifndef RPD_LOG_H
#define RPD_LOG_H

#include "options.h"

void rpd_log_init(const char *prog, int level);
void rpd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...) rpd_log(RPD_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) rpd_log(RPD_LOG_WARN, __VA_ARGS__)
#define pr_info(...) rpd_log(RPD_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) rpd_log(RPD_LOG_DEBUG, __VA_ARGS__)

#endif /* RPD_LOG_H */
