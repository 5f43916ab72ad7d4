// SPDX-License-Identifier: MIT
/*
 * test_table.c - unit tests of the steering table builder (user/table.c): balance, weights,
 * minimal disruption, edge cases. No privileges needed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rpd_abi.h"
#include "table.h"

#define M RPD_TABLE_SIZE

static uint16_t *new_table(void)
{
	uint16_t *t = malloc(M * sizeof(*t));

	assert_non_null(t);
	return t;
}

static void fill(uint32_t *w, uint8_t *u, unsigned int n, uint32_t weight)
{
	for (unsigned int s = 0; s < n; s++) {
		w[s] = weight;
		u[s] = 1;
	}
}

/* Equal weights: every slot within 1% of the mean (Maglev gives within one entry). */
static void check_balance(unsigned int n)
{
	uint32_t w[RPD_MAX_SLOTS], counts[RPD_MAX_SLOTS], lo = UINT32_MAX, hi = 0;
	uint8_t u[RPD_MAX_SLOTS];
	uint16_t *t = new_table();

	fill(w, u, n, 1);
	assert_int_equal(rpd_table_build(t, M, n, w, u), n);
	assert_int_equal(rpd_table_shares(t, M, n, counts), 0);
	for (unsigned int s = 0; s < n; s++) {
		lo = counts[s] < lo ? counts[s] : lo;
		hi = counts[s] > hi ? counts[s] : hi;
	}
	assert_true(hi - lo <= 1);
	assert_true((double)(hi - lo) / ((double)M / n) <= 0.01);
	free(t);
}

static void test_balance_equal_weights(void **state)
{
	(void)state;
	check_balance(1);
	check_balance(2);
	check_balance(4);
	check_balance(7);
	check_balance(64);
	check_balance(RPD_MAX_SLOTS);
}

static void test_weights_proportional(void **state)
{
	uint32_t w[4] = { 4, 1, 1, 1 }, counts[4];
	uint8_t u[4] = { 1, 1, 1, 1 };
	uint32_t w2[5] = { 1000, 500, 250, 100, 1 }, counts2[5], sum2 = 1851;
	uint8_t u2[5] = { 1, 1, 1, 1, 1 };
	uint16_t *t = new_table();

	(void)state;
	assert_int_equal(rpd_table_build(t, M, 4, w, u), 4);
	rpd_table_shares(t, M, 4, counts);
	assert_true(abs((int)counts[0] - (int)(M * 4 / 7)) <= M / 100);
	for (int s = 1; s < 4; s++)
		assert_true(abs((int)counts[s] - (int)(M / 7)) <= M / 100);

	assert_int_equal(rpd_table_build(t, M, 5, w2, u2), 5);
	rpd_table_shares(t, M, 5, counts2);
	for (int s = 0; s < 5; s++) {
		double want = (double)M * w2[s] / sum2;

		assert_true(counts2[s] > 0);
		assert_true(counts2[s] >= want - M * 0.01 && counts2[s] <= want + M * 0.01);
	}
	free(t);
}

/* Only the leaving slot's entries change; they spread over the others; return restores. */
static void check_leave(unsigned int n, unsigned int leaving)
{
	uint32_t w[RPD_MAX_SLOTS], moved_to[RPD_MAX_SLOTS] = { 0 }, lo = UINT32_MAX, hi = 0;
	uint8_t u[RPD_MAX_SLOTS];
	uint16_t *before = new_table(), *after = new_table();
	size_t own = 0;

	fill(w, u, n, 1);
	rpd_table_build(before, M, n, w, u);
	u[leaving] = 0;
	assert_int_equal(rpd_table_build(after, M, n, w, u), n - 1);
	for (size_t i = 0; i < M; i++) {
		assert_int_not_equal(after[i], leaving);
		if (before[i] == leaving) {
			own++;
			moved_to[after[i]]++;
		} else {
			assert_int_equal(after[i], before[i]);
		}
	}
	/* The leaving slot's share is spread evenly over the rest: within one entry. */
	for (unsigned int s = 0; s < n; s++) {
		if (s == leaving)
			continue;
		lo = moved_to[s] < lo ? moved_to[s] : lo;
		hi = moved_to[s] > hi ? moved_to[s] : hi;
	}
	assert_true(own > 0 && hi - lo <= 1);
	u[leaving] = 1;
	rpd_table_build(after, M, n, w, u);
	assert_memory_equal(before, after, M * sizeof(*before));
	free(before);
	free(after);
}

static void test_minimal_disruption(void **state)
{
	(void)state;
	check_leave(4, 3);
	check_leave(4, 0);
	check_leave(8, 5);
	check_leave(32, 17);
}

/* Weight 0 takes no share and behaves like a leaving slot. */
static void test_weight_zero_is_drain(void **state)
{
	uint32_t w[4] = { 1, 1, 1, 1 }, counts[4];
	uint8_t u[4] = { 1, 1, 1, 1 };
	uint16_t *before = new_table(), *after = new_table();

	(void)state;
	rpd_table_build(before, M, 4, w, u);
	w[2] = 0;
	assert_int_equal(rpd_table_build(after, M, 4, w, u), 3);
	rpd_table_shares(after, M, 4, counts);
	assert_int_equal(counts[2], 0);
	for (size_t i = 0; i < M; i++) {
		if (before[i] != 2)
			assert_int_equal(after[i], before[i]);
	}
	free(before);
	free(after);
}

static void test_nothing_usable(void **state)
{
	uint32_t w[3] = { 1, 1, 1 }, counts[3];
	uint8_t u[3] = { 0, 0, 0 };
	uint16_t *t = new_table();

	(void)state;
	assert_int_equal(rpd_table_build(t, M, 3, w, u), 0);
	assert_int_equal(rpd_table_shares(t, M, 3, counts), M);
	for (size_t i = 0; i < M; i++)
		assert_int_equal(t[i], RPD_SLOT_NONE);
	/* One usable slot takes everything. */
	u[1] = 1;
	assert_int_equal(rpd_table_build(t, M, 3, w, u), 1);
	rpd_table_shares(t, M, 3, counts);
	assert_int_equal(counts[1], M);
	free(t);
}

static void test_invalid(void **state)
{
	uint32_t w[2] = { 1, 1 };
	uint8_t u[2] = { 1, 1 };
	uint16_t *t = new_table();

	(void)state;
	assert_int_equal(rpd_table_build(t, M, 0, w, u), -EINVAL);
	assert_int_equal(rpd_table_build(t, M, RPD_MAX_SLOTS + 1, w, u), -EINVAL);
	assert_int_equal(rpd_table_build(t, 2, 2, w, u), -EINVAL);
	assert_int_equal(rpd_table_build(NULL, M, 2, w, u), -EINVAL);
	free(t);
}

/* The table is a pure function of its inputs: a restarted daemon builds the same one. */
static void test_deterministic(void **state)
{
	uint32_t w[5] = { 3, 1, 2, 1, 1 };
	uint8_t u[5] = { 1, 0, 1, 1, 1 };
	uint16_t *a = new_table(), *b = new_table();

	(void)state;
	rpd_table_build(a, M, 5, w, u);
	rpd_table_build(b, M, 5, w, u);
	assert_memory_equal(a, b, M * sizeof(*a));
	free(a);
	free(b);
}

static void test_size_for(void **state)
{
	(void)state;
	assert_int_equal(rpd_table_size_for(1), 1009);
	assert_int_equal(rpd_table_size_for(2), 2003);
	assert_int_equal(rpd_table_size_for(4), 4001);
	assert_int_equal(rpd_table_size_for(65), 65003);
	assert_int_equal(rpd_table_size_for(66), RPD_TABLE_SIZE);
	assert_int_equal(rpd_table_size_for(RPD_MAX_SLOTS), RPD_TABLE_SIZE);
}

/* The sizes a daemon uses keep balance and weights within 1% too. */
static void test_small_tables(void **state)
{
	uint32_t w[4] = { 4, 1, 1, 1 }, counts[4];
	uint8_t u[4] = { 1, 1, 1, 1 };
	uint32_t size = rpd_table_size_for(4);
	uint16_t *t = new_table();

	(void)state;
	assert_int_equal(rpd_table_build(t, size, 4, w, u), 4);
	rpd_table_shares(t, size, 4, counts);
	assert_true(abs((int)counts[0] - (int)(size * 4 / 7)) <= (int)size / 100);
	w[0] = 1;
	rpd_table_build(t, size, 4, w, u);
	rpd_table_shares(t, size, 4, counts);
	for (int s = 0; s < 4; s++)
		assert_true(abs((int)counts[s] - (int)(size / 4)) <= 1);
	free(t);
}

static void test_cpu_tables(void **state)
{
	static uint16_t cpu_slot[RPD_MAX_CPUS][RPD_CPU_TABLE];
	uint32_t w[6] = { 1, 1, 1, 1, 3, 1 };
	uint8_t u[6] = { 1, 1, 1, 0, 1, 1 };
	int pin[6] = { 0, 1, 0, 1, 0, -1 }; /* slot 5 not pinned, slot 3 not usable */
	int counts[6] = { 0 };

	(void)state;
	assert_int_equal(rpd_cpu_table_build(cpu_slot, 6, w, u, pin), 2);
	for (int e = 0; e < RPD_CPU_TABLE; e++) {
		assert_true(cpu_slot[0][e] == 0 || cpu_slot[0][e] == 2 || cpu_slot[0][e] == 4);
		assert_int_equal(cpu_slot[1][e], 1); /* slot 3 is not usable */
		assert_int_equal(cpu_slot[2][e], RPD_SLOT_NONE);
		counts[cpu_slot[0][e]]++;
	}
	/* Weights 1:1:3 on CPU 0 over 64 entries. */
	assert_true(abs(counts[4] - 64 * 3 / 5) <= 1);
	assert_true(abs(counts[0] - 64 / 5) <= 1 && abs(counts[2] - 64 / 5) <= 1);
	/* Nothing usable on any CPU: every entry empty. */
	memset(u, 0, sizeof(u));
	assert_int_equal(rpd_cpu_table_build(cpu_slot, 6, w, u, pin), 0);
	assert_int_equal(cpu_slot[0][0], RPD_SLOT_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balance_equal_weights),
		cmocka_unit_test(test_weights_proportional),
		cmocka_unit_test(test_minimal_disruption),
		cmocka_unit_test(test_weight_zero_is_drain),
		cmocka_unit_test(test_nothing_usable),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_size_for),
		cmocka_unit_test(test_small_tables),
		cmocka_unit_test(test_cpu_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
