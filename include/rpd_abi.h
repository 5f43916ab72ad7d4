/* SPDX-License-Identifier: MIT */
/*
 * rpd_abi.h - the one place where the steering program (bpf/) and the daemon (user/) agree.
 *
 * Owns: map names, sizes and value layouts, policy ids and reason codes. Everything here is
 * fixed-width and size-checked so the BPF object and the daemon cannot silently disagree.
 * Leaves to others: how the table is built (user/table.c) and how it is used (bpf/steer.bpf.c).
 */
#ifndef RPD_ABI_H
#define RPD_ABI_H

#include <linux/types.h>

/* Worker slots per listener; slot s owns index s of the listener's sockarray. */
#define RPD_MAX_SLOTS 256

/*
 * Largest steering table: a prime well above 100 x RPD_MAX_SLOTS. The daemon uses the smallest
 * prime >= 1000 x workers up to this (rpd_table.size), so an entry is at most 0.1% of a slot's
 * share while a small deployment's table stays in cache.
 */
#define RPD_TABLE_SIZE 65537

/* Table entry meaning "no usable slot": the program drops with RPD_R_NO_READY. */
#define RPD_SLOT_NONE 0xffffu

/* How many other table entries the program probes when a selection fails. */
#define RPD_PROBES 4

/* Map names (at most 15 characters: BPF_OBJ_NAME_LEN - 1). */
#define RPD_MAP_SOCKS "rpd_socks"
#define RPD_MAP_TABLES "rpd_tables"
#define RPD_MAP_ACTIVE "rpd_active"
#define RPD_MAP_STATS "rpd_stats"

/*
 * Table buffers. The daemon writes a buffer no program can be reading, then makes it active
 * with one aligned 32-bit store to rpd_active[0]. A buffer is written again only RPD_TABLE_BUFS
 * - 1 flips later and after an RCU grace period has passed since it was deactivated, so a
 * program that read the old index has finished with it (user/publisher.c).
 */
#define RPD_TABLE_BUFS 4

/* Steering policies (rpd_table.policy). */
enum rpd_policy {
	RPD_POLICY_HASH = 0, /* kernel 4-tuple hash through the consistent table */
	RPD_POLICY_SRC, /* source address hashed through the same table: client affinity */
	RPD_POLICY_CPU, /* the slot pinned to the CPU handling the packet, else hash */
	RPD_POLICY_MAX,
};

/* Why the program decided what it decided: one per-CPU counter per slot and reason. */
enum rpd_reason {
	RPD_R_SELECTED = 0, /* hash: table entry selected */
	RPD_R_MIGRATED, /* a closing listener's request/child moved to this slot */
	RPD_R_PROBED, /* table entry's socket failed; a probed entry was selected */
	RPD_R_NO_READY, /* no usable slot in the table: dropped */
	RPD_R_SELECT_ERR, /* every probe failed to select: dropped */
	RPD_R_NO_TABLE, /* no table published yet: dropped */
	RPD_R_SRC, /* src: the source address's entry selected */
	RPD_R_SRC_NOADDR, /* src: no readable IP header; the 4-tuple hash decided */
	RPD_R_CPU, /* cpu: a slot pinned to this CPU selected */
	RPD_R_CPU_FALLBACK, /* cpu: no usable slot on this CPU; the 4-tuple hash decided */
	RPD_R_MAX,
};

/* cpu policy: for each CPU, a small table of the usable slots pinned to it (weighted). */
#define RPD_MAX_CPUS 64
#define RPD_CPU_TABLE 64

/* Index of the stats entry that counts decisions which reached no slot (drops). */
#define RPD_STATS_NOSLOT RPD_MAX_SLOTS
#define RPD_STATS_ENTRIES (RPD_MAX_SLOTS + 1)

/*
 * The steering table and its settings: one buffer of rpd_tables, never modified while active. The header shares a cache line with nothing else the
 * program reads; packed u16 entries and a size fitted to the deployment keep the entry a new
 * flow hits in cache (a random miss here cost 130 ns per TCP decision).
 */
struct rpd_table {
	__u32 size; /* entries in use, a prime <= RPD_TABLE_SIZE */
	__u16 policy; /* enum rpd_policy */
	__u16 nslots; /* configured slots (entries are < nslots or RPD_SLOT_NONE) */
	__u64 generation; /* bumped on every publish, for observers */
	__u16 cpu_slot[RPD_MAX_CPUS][RPD_CPU_TABLE]; /* RPD_SLOT_NONE: no slot on that CPU */
	__u16 slot[RPD_TABLE_SIZE];
	__u16 pad[3];
};

/* rpd_stats[slot]: per-CPU counters, summed by the reader over all possible CPUs. */
struct rpd_slot_stats {
	__u64 reason[RPD_R_MAX];
};

_Static_assert(sizeof(struct rpd_table) ==
		       16 + 2 * RPD_MAX_CPUS * RPD_CPU_TABLE + 2 * RPD_TABLE_SIZE + 6,
	       "rpd_table layout");
_Static_assert(RPD_MAX_SLOTS < RPD_SLOT_NONE, "slot numbers must fit a table entry");
_Static_assert(sizeof(struct rpd_slot_stats) == 8 * RPD_R_MAX, "rpd_slot_stats layout");
_Static_assert(RPD_MAX_SLOTS < RPD_TABLE_SIZE / 100, "table too small for the slot count");
_Static_assert(sizeof(RPD_MAP_ACTIVE) <= 16 && sizeof(RPD_MAP_TABLES) <= 16 &&
		       sizeof(RPD_MAP_SOCKS) <= 16 && sizeof(RPD_MAP_STATS) <= 16,
	       "map names must fit BPF_OBJ_NAME_LEN");

#endif /* RPD_ABI_H */
