/* SPDX-License-Identifier: MIT */
/*
 * kernel.h - what reuseportd needs from the kernel, decided from its release string.
 *
 * Owns: the version floor and its message. Pure, unit tested; the uname() call and the real
 * feature probe (loading the program) belong to main and group.c.
 */
#ifndef RPD_KERNEL_H
#define RPD_KERNEL_H

#include <stddef.h>

#define RPD_KERNEL_MIN_MAJOR 5
#define RPD_KERNEL_MIN_MINOR 14

/* 0 if release ("6.18.44-fc") is at least 5.14, -EINVAL if unparsable, -ENOTSUP if older. */
int rpd_kernel_check(const char *release, char *err, size_t errlen);

#endif /* RPD_KERNEL_H */
