// SPDX-License-Identifier: MIT
/* test_kernel.c - unit tests of the kernel version floor (user/kernel.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "kernel.h"

static void test_supported(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(rpd_kernel_check("5.14.0", err, sizeof(err)), 0);
	assert_int_equal(rpd_kernel_check("6.18.44-fc-v445", err, sizeof(err)), 0);
	assert_int_equal(rpd_kernel_check("6.1.0-27-amd64", err, sizeof(err)), 0);
	assert_int_equal(rpd_kernel_check("10.0", err, sizeof(err)), 0);
}

static void test_too_old(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(rpd_kernel_check("5.13.19", err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "5.13.19"));
	assert_non_null(strstr(err, "upgrade to Linux 5.14"));
	assert_int_equal(rpd_kernel_check("4.19.0-amd64", err, sizeof(err)), -ENOTSUP);
}

static void test_garbage(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(rpd_kernel_check("linux", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "linux"));
	assert_int_equal(rpd_kernel_check("", err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_supported),
		cmocka_unit_test(test_too_old),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
