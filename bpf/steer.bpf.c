// SPDX-License-Identifier: GPL-2.0
/*
 * steer.bpf.c - the sk_reuseport program: picks the worker slot for every new TCP connection,
 * UDP datagram and migrating request of one listener's reuseport group.
 *
 * Owns: the per-packet decision and its reason counters. It never decides what is live: it
 * follows the table the daemon publishes (user/table.c builds it, user/publisher.c writes an
 * inactive buffer of rpd_tables and flips rpd_active, so every decision sees one whole
 * table). Both maps are plain arrays whose lookups the verifier inlines. It always selects
 * a socket explicitly or drops: returning SK_PASS without a selection would let the kernel hash
 * over the whole group, including sockets outside the sockarray.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "rpd_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RPD_TABLE_BUFS);
	__type(key, __u32);
	__type(value, struct rpd_table);
} rpd_tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} rpd_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, RPD_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} rpd_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RPD_STATS_ENTRIES);
	__type(key, __u32);
	__type(value, struct rpd_slot_stats);
} rpd_stats SEC(".maps");

static __always_inline void count(__u32 slot, __u32 reason)
{
	struct rpd_slot_stats *st;

	if (slot >= RPD_MAX_SLOTS)
		slot = RPD_STATS_NOSLOT;
	st = bpf_map_lookup_elem(&rpd_stats, &slot);
	if (st && reason < RPD_R_MAX)
		st->reason[reason]++;
}

static __always_inline int drop(__u32 reason)
{
	count(RPD_STATS_NOSLOT, reason);
	return SK_DROP;
}

/* A fixed, well-spread 32-bit mix (murmur3 finaliser). */
static __always_inline __u32 mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	return h ^ (h >> 16);
}

/* src policy: hash of the client's address from the IP header; 0 when unreadable. */
static __always_inline int source_hash(struct sk_reuseport_md *md, __u32 *hash)
{
	__u32 a[4];

	if (md->eth_protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes_relative(md, 12, a, 4, BPF_HDR_START_NET))
			return -1;
		*hash = mix32(a[0]);
		return 0;
	}
	if (md->eth_protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes_relative(md, 8, a, 16, BPF_HDR_START_NET))
			return -1;
		*hash = mix32(a[0] ^ mix32(a[1] ^ mix32(a[2] ^ mix32(a[3]))));
		return 0;
	}
	return -1;
}

SEC("sk_reuseport/migrate")
int rpd_select(struct sk_reuseport_md *md)
{
	__u32 zero = 0, idx, slot, size, step, i, buf, *active, hash, reason, cpu;
	struct rpd_table *table;
	int migrating;

	active = bpf_map_lookup_elem(&rpd_active, &zero);
	if (!active)
		return drop(RPD_R_NO_TABLE);
	buf = *(volatile __u32 *)active; /* read once: the flip may happen meanwhile */
	table = bpf_map_lookup_elem(&rpd_tables, &buf);
	if (!table)
		return drop(RPD_R_NO_TABLE);
	migrating = md->migrating_sk != NULL;
	size = table->size;
	if (!size || size > RPD_TABLE_SIZE)
		return drop(RPD_R_NO_TABLE);

	hash = md->hash;
	reason = migrating ? RPD_R_MIGRATED : RPD_R_SELECTED;
	if (table->policy == RPD_POLICY_SRC && !migrating) {
		reason = source_hash(md, &hash) ? RPD_R_SRC_NOADDR : RPD_R_SRC;
		if (reason == RPD_R_SRC_NOADDR)
			hash = md->hash;
	} else if (table->policy == RPD_POLICY_CPU && !migrating) {
		cpu = bpf_get_smp_processor_id();
		reason = RPD_R_CPU_FALLBACK;
		if (cpu < RPD_MAX_CPUS) {
			slot = table->cpu_slot[cpu][md->hash % RPD_CPU_TABLE];
			if (slot < RPD_MAX_SLOTS &&
			    bpf_sk_select_reuseport(md, &rpd_socks, &slot, 0) == 0) {
				count(slot, RPD_R_CPU);
				return SK_PASS;
			}
		}
	}

	/* Multiply-shift maps the 32-bit hash onto the table without a division. */
	idx = ((__u64)hash * size) >> 32;
	/* Probes step by about 0.618 of the table: far from this entry, likely another slot. */
	step = ((__u64)size * 40503) >> 16;

	/*
	 * The daemon keeps every table entry pointing at a slot whose socket is in the
	 * sockarray, so the first try succeeds; the probes cover the instant between a worker's
	 * socket leaving the sockarray and the next table publish.
	 */
	for (i = 0; i < RPD_PROBES; i++) {
		/* Check and index the same register, or the verifier loses the bound. */
		barrier_var(idx);
		if (idx >= RPD_TABLE_SIZE)
			return drop(RPD_R_NO_TABLE);
		slot = table->slot[idx];
		if (slot == RPD_SLOT_NONE)
			return drop(RPD_R_NO_READY);
		if (slot < RPD_MAX_SLOTS &&
		    bpf_sk_select_reuseport(md, &rpd_socks, &slot, 0) == 0) {
			count(slot, i && !migrating ? RPD_R_PROBED : reason);
			return SK_PASS;
		}
		idx = (idx + step) % size;
	}
	return drop(RPD_R_SELECT_ERR);
}

char LICENSE[] SEC("license") = "GPL";
