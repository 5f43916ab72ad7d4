// SPDX-License-Identifier: MIT
/*
 * test_ctlproto.c - unit tests of the control protocol's request parser (user/ctlproto.c) and
 * of the bounded JSON writer (user/json.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ctlproto.h"
#include "json.h"
#include "rpd_abi.h"

static char err[256];

static int parse(const char *line, struct rpd_ctl_req *req)
{
	err[0] = '\0';
	return rpd_ctl_parse(line, strlen(line), req, err, sizeof(err));
}

static void test_commands(void **state)
{
	struct rpd_ctl_req r;

	(void)state;
	assert_int_equal(parse("status", &r), 0);
	assert_int_equal(r.cmd, RPD_CTL_STATUS);
	assert_int_equal(parse("  stats\r", &r), 0);
	assert_int_equal(r.cmd, RPD_CTL_STATS);
	assert_int_equal(parse("drain 3", &r), 0);
	assert_int_equal(r.cmd, RPD_CTL_DRAIN);
	assert_int_equal(r.slot, 3);
	assert_int_equal(parse("undrain\t255", &r), 0);
	assert_int_equal(r.cmd, RPD_CTL_UNDRAIN);
	assert_int_equal(r.slot, 255);
	assert_int_equal(parse("weight 0 1000", &r), 0);
	assert_int_equal(r.cmd, RPD_CTL_WEIGHT);
	assert_int_equal(r.weight, 1000);
	assert_int_equal(parse("weight 7 0", &r), 0);
	assert_int_equal(r.weight, 0);
	assert_int_equal(parse("policy hash", &r), 0);
	assert_int_equal(r.cmd, RPD_CTL_POLICY);
	assert_int_equal(r.policy, RPD_POLICY_HASH);
	assert_int_equal(parse("policy src", &r), 0);
	assert_int_equal(r.policy, RPD_POLICY_SRC);
	assert_int_equal(parse("policy cpu", &r), 0);
	assert_int_equal(r.policy, RPD_POLICY_CPU);
	assert_int_equal(parse("restart 2", &r), 0);
	assert_int_equal(r.cmd, RPD_CTL_RESTART);
	assert_int_equal(r.slot, 2);
	assert_false(r.all);
	assert_int_equal(parse("restart all", &r), 0);
	assert_true(r.all);
	assert_int_equal(parse("scale 256", &r), 0);
	assert_int_equal(r.cmd, RPD_CTL_SCALE);
	assert_int_equal(r.count, 256);
	assert_int_equal(parse("", &r), 0);
	assert_int_equal(r.cmd, RPD_CTL_NONE);
	assert_int_equal(parse(" \t ", &r), 0);
	assert_int_equal(r.cmd, RPD_CTL_NONE);
}

#define BAD(line, needle)                                                                          \
	do {                                                                                       \
		struct rpd_ctl_req r_;                                                             \
		assert_int_equal(parse(line, &r_), -EINVAL);                                       \
		if (!strstr(err, needle))                                                          \
			fail_msg("'%s': message '%s' lacks '%s'", line, err, needle);              \
	} while (0)

static void test_errors(void **state)
{
	(void)state;
	BAD("reload 1", "unknown command 'reload'");
	BAD("restart", "usage: restart SLOT|all");
	BAD("restart some", "restart: bad slot 'some': expected 0..255 or all");
	BAD("scale 0", "scale: N must be a number of workers from 1 to 256, got '0'");
	BAD("scale 257", "got '257'");
	BAD("scale", "usage: scale N");
	BAD("STATUS", "unknown command 'STATUS'");
	BAD("status now", "usage: status");
	BAD("drain", "usage: drain SLOT");
	BAD("drain 1 2", "usage: drain SLOT");
	BAD("drain -1", "bad slot '-1'");
	BAD("drain 256", "bad slot '256'");
	BAD("drain 99999999999999999999", "bad slot");
	BAD("undrain x", "bad slot 'x'");
	BAD("weight 1", "usage: weight SLOT W");
	BAD("weight 1 1001", "W must be an integer from 0 to 1000, got '1001'");
	BAD("weight 1 -5", "got '-5'");
	BAD("weight 1 2.5", "got '2.5'");
	BAD("weight 1 0x10", "got '0x10'");
	BAD("policy", "usage: policy NAME");
	BAD("policy roundrobin", "unknown policy 'roundrobin'; known: hash, src, cpu");
	BAD("a b c d e", "too many words");
}

static void test_binary_closes(void **state)
{
	static const char bin[] = { 's', 't', 0, 'a' };
	struct rpd_ctl_req r;
	char big[RPD_CTL_LINE_MAX + 10];

	(void)state;
	assert_int_equal(rpd_ctl_parse(bin, sizeof(bin), &r, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "0x00"));
	assert_int_equal(parse("status\x1b[2J", &r), -EBADMSG);
	assert_int_equal(parse("weight 1 \xc3\xa9", &r), -EBADMSG);
	memset(big, 'a', sizeof(big));
	assert_int_equal(rpd_ctl_parse(big, sizeof(big), &r, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "too long"));
}

static void test_json_writer(void **state)
{
	char buf[512];
	struct rpd_json j;
	int n;

	(void)state;
	rpd_json_init(&j, buf, sizeof(buf));
	rpd_json_bool(&j, "ok", true);
	rpd_json_str(&j, "s", "a\"b\\c\n\x01");
	rpd_json_arr(&j, "a");
	rpd_json_int(&j, NULL, -3);
	rpd_json_obj(&j, NULL);
	rpd_json_null(&j, "n");
	rpd_json_double(&j, "d", 0.25);
	rpd_json_end(&j);
	rpd_json_uint(&j, NULL, 18446744073709551615ull);
	rpd_json_end(&j);
	n = rpd_json_finish(&j);
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(
		buf, "{\"ok\":true,\"s\":\"a\\\"b\\\\c\\u000a\\u0001\",\"a\":[-3,{\"n\":null,"
		     "\"d\":0.25},18446744073709551615]}\n");
}

static void test_json_bounds(void **state)
{
	char buf[16];
	struct rpd_json j;

	(void)state;
	rpd_json_init(&j, buf, sizeof(buf));
	rpd_json_str(&j, "key", "a value that does not fit");
	assert_int_equal(rpd_json_finish(&j), -ENOSPC);
	/* Unbalanced nesting is refused, not emitted. */
	rpd_json_init(&j, buf, sizeof(buf));
	rpd_json_arr(&j, "a");
	assert_int_equal(rpd_json_finish(&j), -EINVAL);
	rpd_json_init(&j, buf, sizeof(buf));
	rpd_json_end(&j);
	assert_int_equal(rpd_json_finish(&j), -EINVAL);
	/* The error line escapes whatever a peer's words put in the message. */
	{
		char line[64];

		assert_true(rpd_json_error(line, sizeof(line), "x\"") > 0);
		assert_string_equal(line, "{\"ok\":false,\"error\":\"x\\\"\"}\n");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),      cmocka_unit_test(test_errors),
		cmocka_unit_test(test_binary_closes), cmocka_unit_test(test_json_writer),
		cmocka_unit_test(test_json_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
