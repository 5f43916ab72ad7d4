// SPDX-License-Identifier: GPL-2.0
/*
 * drop_ack.bpf.c - test-only XDP program: drops the bare ACK that completes a TCP handshake
 * to a given port, so the server keeps the connection as a request (NEW_SYN_RECV) while the
 * client believes it is established (as the kernel's migrate_reuseport selftest does). The
 * client's first data segment carries the ACK later and completes the handshake.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

volatile __u16 port; /* host order; set before attaching */
volatile __u64 dropped;

SEC("xdp")
int drop_bare_ack(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct tcphdr *tcp;
	__u32 ihl, len;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return XDP_PASS;
	tcp = (void *)ip + ihl;
	if ((void *)(tcp + 1) > end || tcp->dest != bpf_htons(port))
		return XDP_PASS;
	len = bpf_ntohs(ip->tot_len) - ihl - tcp->doff * 4;
	if (tcp->ack && !tcp->syn && !tcp->fin && !tcp->rst && !tcp->psh && len == 0) {
		__sync_fetch_and_add(&dropped, 1);
		return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
