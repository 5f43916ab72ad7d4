// SPDX-License-Identifier: MIT
/* test_stall.c - unit tests of the stalled-worker rule (user/stall.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stall.h"

static void test_empty_queue_is_healthy(void **state)
{
	struct rpd_stall st;
	uint32_t q[2] = { 0, 0 };

	(void)state;
	rpd_stall_reset(&st);
	for (int t = 0; t < 1000; t += 10)
		assert_false(rpd_stall_sample(&st, q, 2, t, 100));
}

static void test_growing_queue_stalls_after_the_limit(void **state)
{
	struct rpd_stall st;
	uint32_t q[2] = { 0, 0 };

	(void)state;
	rpd_stall_reset(&st);
	for (int t = 0; t < 100; t += 10) {
		q[0] = t / 10 + 1;
		assert_false(rpd_stall_sample(&st, q, 2, t, 100));
	}
	q[0] = 12;
	assert_true(rpd_stall_sample(&st, q, 2, 100, 100));
	/* Still stuck: still stalled. */
	assert_true(rpd_stall_sample(&st, q, 2, 200, 100));
	/* It drains: healthy at once. */
	q[0] = 11;
	assert_false(rpd_stall_sample(&st, q, 2, 210, 100));
}

static void test_busy_but_draining_is_healthy(void **state)
{
	struct rpd_stall st;
	uint32_t q[1];

	(void)state;
	rpd_stall_reset(&st);
	/* A queue that never empties but shrinks now and then is being served. */
	for (int t = 0; t < 2000; t += 10) {
		q[0] = 5 + (t / 10) % 7;
		assert_false(rpd_stall_sample(&st, q, 1, t, 100));
	}
}

static void test_any_socket_stalls_the_slot(void **state)
{
	struct rpd_stall st;
	uint32_t q[2] = { 0, 4096 };

	(void)state;
	rpd_stall_reset(&st);
	for (int t = 0; t <= 100; t += 10) {
		q[1] += 512; /* UDP bytes pile up while TCP is empty */
		rpd_stall_sample(&st, q, 2, t, 100);
	}
	assert_true(st.stalled);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_queue_is_healthy),
		cmocka_unit_test(test_growing_queue_stalls_after_the_limit),
		cmocka_unit_test(test_busy_but_draining_is_healthy),
		cmocka_unit_test(test_any_socket_stalls_the_slot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
