// SPDX-License-Identifier: MIT
/*
 * kernel.c - the kernel version floor (5.14: sk_reuseport migration and md->migrating_sk).
 */
#include "kernel.h"

#include <errno.h>
#include <stdio.h>

int rpd_kernel_check(const char *release, char *err, size_t errlen)
{
	unsigned int major, minor;

	if (sscanf(release, "%u.%u", &major, &minor) != 2) {
		snprintf(err, errlen,
			 "cannot read the kernel release '%s'; reuseportd needs Linux %d.%d or "
			 "later",
			 release, RPD_KERNEL_MIN_MAJOR, RPD_KERNEL_MIN_MINOR);
		return -EINVAL;
	}
	if (major > RPD_KERNEL_MIN_MAJOR ||
	    (major == RPD_KERNEL_MIN_MAJOR && minor >= RPD_KERNEL_MIN_MINOR))
		return 0;
	snprintf(err, errlen,
		 "kernel %s lacks sk_reuseport socket migration; upgrade to Linux %d.%d or later",
		 release, RPD_KERNEL_MIN_MAJOR, RPD_KERNEL_MIN_MINOR);
	return -ENOTSUP;
}
