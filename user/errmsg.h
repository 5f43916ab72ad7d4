/* SPDX-License-Identifier: MIT */
/*
 * errmsg.h - one-line error messages written into a caller's buffer, for the pure parsers
 * (options, control requests, the CLI's arguments) that report to whoever called them.
 */
#ifndef RPD_ERRMSG_H
#define RPD_ERRMSG_H

#include <stddef.h>

/* Format the message into err[errlen] and return code (a negative errno). */
int rpd_errorf(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* RPD_ERRMSG_H */
