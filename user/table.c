// SPDX-License-Identifier: MIT
/*
 * table.c - weighted Maglev steering tables (Eisenbud et al., NSDI 2016) with a consistent
 * fallback layer. Pure logic: no system calls, unit tested in tests/test_table.c.
 *
 * Owns: table arithmetic only. Which slots are usable and how the table reaches the kernel
 * belong to the daemon and group.c.
 */
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpd_abi.h"

static uint64_t mix64(uint64_t x)
{
	/* splitmix64 finaliser: a fixed, well-spread permutation of 64-bit values. */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct maglev_slot {
	uint32_t offset;
	uint32_t skip;
	uint32_t next; /* how far along its permutation the slot has got */
	uint64_t credit;
};

/*
 * Weighted Maglev fill of the free (RPD_SLOT_NONE) entries of out[] by the slots with
 * w[s] > 0. Each round every slot earns its weight in credit and takes one turn for each
 * max-weight it has saved, so a slot of maximal weight takes a turn every round and the free
 * entries end shared in proportion to weights (within one entry per slot for equal weights).
 * A turn claims the next free entry along the slot's own permutation of the table. Returns
 * the number of slots taking part.
 */
static int maglev_fill(uint16_t *out, size_t size, unsigned int nslots, const uint32_t *w,
		       struct maglev_slot *ms)
{
	uint32_t maxw = 0, s;
	size_t free_entries = 0;
	int members = 0;

	for (s = 0; s < nslots; s++) {
		if (!w[s])
			continue;
		members++;
		if (w[s] > maxw)
			maxw = w[s];
		ms[s].offset = mix64(((uint64_t)s << 32) | 0x6f6666u) % size;
		ms[s].skip = mix64(((uint64_t)s << 32) | 0x736b6970u) % (size - 1) + 1;
		ms[s].next = 0;
		ms[s].credit = 0;
	}
	for (size_t i = 0; i < size; i++)
		free_entries += out[i] == RPD_SLOT_NONE;
	if (!members)
		return 0;

	while (free_entries) {
		for (s = 0; s < nslots && free_entries; s++) {
			if (!w[s])
				continue;
			ms[s].credit += w[s];
			while (ms[s].credit >= maxw && free_entries) {
				uint32_t c;

				ms[s].credit -= maxw;
				/* skip is coprime with the prime size: the walk visits every entry. */
				do {
					c = (ms[s].offset + (uint64_t)ms[s].next * ms[s].skip) %
					    size;
					ms[s].next++;
				} while (out[c] != RPD_SLOT_NONE);
				out[c] = s;
				free_entries--;
			}
		}
	}
	return members;
}

int rpd_table_build(uint16_t *table, size_t size, unsigned int nslots, const uint32_t *weight,
		    const uint8_t *usable)
{
	struct maglev_slot *ms = NULL;
	int err, nusable = 0;
	uint32_t *w = NULL;
	unsigned int s;

	if (!table || !weight || !usable || !nslots || nslots > RPD_MAX_SLOTS || size <= nslots ||
	    size > UINT32_MAX)
		return -EINVAL;

	w = calloc(nslots, sizeof(*w));
	ms = calloc(nslots, sizeof(*ms));
	if (!w || !ms) {
		err = -ENOMEM;
		goto out;
	}

	/* Primary layer: every configured slot, as if usable. */
	for (s = 0; s < nslots; s++)
		w[s] = weight[s] ? weight[s] : 1;
	for (size_t i = 0; i < size; i++)
		table[i] = RPD_SLOT_NONE;
	maglev_fill(table, size, nslots, w, ms);

	/* Fallback layer: the entries of slots that are not usable, refilled by those that are. */
	for (s = 0; s < nslots; s++) {
		w[s] = usable[s] ? weight[s] : 0;
		nusable += w[s] != 0;
	}
	if (nusable == (int)nslots || nusable == 0) {
		if (!nusable) {
			for (size_t i = 0; i < size; i++)
				table[i] = RPD_SLOT_NONE;
		}
		err = nusable;
		goto out;
	}
	for (size_t i = 0; i < size; i++) {
		if (!w[table[i]])
			table[i] = RPD_SLOT_NONE;
	}
	maglev_fill(table, size, nslots, w, ms);
	err = nusable;
out:
	free(ms);
	free(w);
	return err;
}

int rpd_cpu_table_build(uint16_t (*cpu_slot)[RPD_CPU_TABLE], unsigned int nslots,
			const uint32_t *weight, const uint8_t *usable, const int *pin_cpu)
{
	int64_t credit[RPD_MAX_SLOTS];
	int cpus = 0;

	for (int c = 0; c < RPD_MAX_CPUS; c++) {
		int64_t total = 0;

		for (unsigned int s = 0; s < nslots && s < RPD_MAX_SLOTS; s++) {
			credit[s] = 0;
			if (usable[s] && weight[s] && pin_cpu[s] == c)
				total += weight[s];
		}
		for (int e = 0; e < RPD_CPU_TABLE; e++) {
			int best = -1;

			for (unsigned int s = 0; total && s < nslots && s < RPD_MAX_SLOTS; s++) {
				if (!usable[s] || !weight[s] || pin_cpu[s] != c)
					continue;
				credit[s] += weight[s];
				if (best < 0 || credit[s] > credit[best])
					best = (int)s;
			}
			if (best >= 0)
				credit[best] -= total;
			cpu_slot[c][e] = best >= 0 ? (uint16_t)best : RPD_SLOT_NONE;
		}
		cpus += total != 0;
	}
	return cpus;
}

static int is_prime(uint32_t n)
{
	if (n < 2)
		return 0;
	for (uint32_t d = 2; d * d <= n; d++) {
		if (n % d == 0)
			return 0;
	}
	return 1;
}

uint32_t rpd_table_size_for(unsigned int nslots)
{
	uint32_t n = nslots ? nslots * 1000u : 1000u;

	if (n >= RPD_TABLE_SIZE)
		return RPD_TABLE_SIZE;
	while (!is_prime(n))
		n++;
	return n;
}

size_t rpd_table_shares(const uint16_t *table, size_t size, unsigned int nslots, uint32_t *counts)
{
	size_t none = 0;

	memset(counts, 0, nslots * sizeof(*counts));
	for (size_t i = 0; i < size; i++) {
		if (table[i] < nslots)
			counts[table[i]]++;
		else
			none++;
	}
	return none;
}
