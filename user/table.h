/* SPDX-License-Identifier: MIT */
/*
 * table.h - builds the steering table the program reads: pure arithmetic, no system calls.
 *
 * Owns: the mapping from table entries to slots (weighted Maglev with a consistent fallback).
 * Leaves to others: deciding which slots are usable (supervisor/daemon) and publishing the
 * table to the kernel (group.c).
 */
#ifndef RPD_TABLE_H
#define RPD_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "rpd_abi.h"

/*
 * Fill table[0..size-1] with slot numbers below nslots, or RPD_SLOT_NONE when no slot is
 * usable. size must be prime and larger than nslots.
 *
 * weight[s] is slot s's configured weight (0 takes no share); usable[s] is non-zero when the
 * slot may take new flows now (ready and not drained). The table is a pure function of its
 * inputs and is built in two layers so that a slot that stops being usable moves only its own
 * entries:
 *   - the primary layer is a weighted Maglev fill over every configured slot, with the weight
 *     it would have when usable (a weight of 0 counts as 1 there);
 *   - entries whose primary slot is not usable (or has weight 0) are refilled by a weighted
 *     Maglev round over the usable slots restricted to those entries, which spreads them
 *     within one entry of even.
 *
 * Returns the number of usable slots (>= 0) or -EINVAL / -ENOMEM.
 */
int rpd_table_build(uint16_t *table, size_t size, unsigned int nslots, const uint32_t *weight,
		    const uint8_t *usable);

/*
 * cpu policy: fill cpu_slot[c][0..RPD_CPU_TABLE-1] for every CPU c < RPD_MAX_CPUS with the
 * usable slots pinned to c (pin_cpu[s] == c), in proportion to their weights (smooth weighted
 * round robin, so equal weights alternate), or RPD_SLOT_NONE where no slot is pinned to c.
 * Returns how many CPUs have at least one slot.
 */
int rpd_cpu_table_build(uint16_t (*cpu_slot)[RPD_CPU_TABLE], unsigned int nslots,
			const uint32_t *weight, const uint8_t *usable, const int *pin_cpu);

/* Table size for nslots: the smallest prime >= 1000 x nslots, at most RPD_TABLE_SIZE. */
uint32_t rpd_table_size_for(unsigned int nslots);

/* Count table entries per slot into counts[0..nslots-1]; returns entries with no slot. */
size_t rpd_table_shares(const uint16_t *table, size_t size, unsigned int nslots, uint32_t *counts);

#endif /* RPD_TABLE_H */
