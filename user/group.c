// SPDX-License-Identifier: MIT
/*
 * group.c - sockets and BPF of one listener's reuseport group.
 *
 * Owns: the slot sockets (the daemon's reference outlives every worker), the program, the
 * sockarray and the table swap. Never decides what the table says.
 */
#include "group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "steer.skel.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif

static const char *proto_name(const struct rpd_listen *l)
{
	return l->type == SOCK_STREAM ? "tcp" : "udp";
}

static void report_bind_error(const struct rpd_listen *l, int err)
{
	uint16_t port = ntohs(l->family == AF_INET ? l->addr.in4.sin_port : l->addr.in6.sin6_port);

	switch (err) {
	case EADDRINUSE:
		pr_err("listener %s: address already in use; stop the process holding it "
		       "(ss -%slnp 'sport = :%u') or choose another --listen",
		       l->name, l->type == SOCK_STREAM ? "t" : "u", port);
		break;
	case EADDRNOTAVAIL:
		pr_err("listener %s: address is not assigned to any interface here; listen on a "
		       "local address",
		       l->name);
		break;
	case EACCES:
		pr_err("listener %s: port %u needs CAP_NET_BIND_SERVICE; run as root or use a port "
		       "above 1023",
		       l->name, port);
		break;
	default:
		pr_err("listener %s: cannot bind: %s", l->name, strerror(err));
	}
}

/*
 * Refuse a port that anybody already uses: a socket of the same user with SO_REUSEPORT would
 * otherwise let us join its group silently, and our program would steer its traffic.
 */
static int probe_port_free(const struct rpd_listen *l)
{
	int fd, one = 1, err = 0;

	fd = socket(l->family, l->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (l->type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, &l->addr.sa, l->addrlen) < 0)
		err = -errno;
	close(fd);
	return err;
}

int rpd_group_check_free(const struct rpd_listen *l)
{
	int err = probe_port_free(l);

	if (err)
		report_bind_error(l, -err);
	return err;
}

static int open_slot_socket(const struct rpd_listen *l, int backlog)
{
	int fd, one = 1, err;

	fd = socket(l->family, l->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    (l->type == SOCK_STREAM &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    (l->family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, &l->addr.sa, l->addrlen) < 0 ||
	    (l->type == SOCK_STREAM && listen(fd, backlog) < 0)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int rpd_group_open_slot(struct rpd_group *g, unsigned int slot)
{
	uint64_t val;
	int fd;

	if (slot >= RPD_MAX_SLOTS || g->fds[slot] >= 0)
		return -EINVAL;
	fd = open_slot_socket(g->l, g->backlog);
	if (fd < 0) {
		report_bind_error(g->l, -fd);
		return fd;
	}
	val = fd;
	if (bpf_map_update_elem(bpf_map__fd(g->skel->maps.rpd_socks), &slot, &val, BPF_ANY)) {
		int err = -errno;

		pr_err("listener %s: cannot put slot %u's socket in the sockarray: %s", g->l->name,
		       slot, strerror(errno));
		close(fd);
		return err;
	}
	g->fds[slot] = fd;
	return 0;
}

void rpd_group_close_slot(struct rpd_group *g, unsigned int slot)
{
	if (slot >= RPD_MAX_SLOTS || g->fds[slot] < 0)
		return;
	/* The kernel removes it from the sockarray when the last reference (a retired worker's
	 * may outlive ours) goes, and migrates its queued connections through the program. */
	close(g->fds[slot]);
	g->fds[slot] = -1;
}

int rpd_group_queued(const struct rpd_group *g, unsigned int slot)
{
	int bytes = 0;

	if (g->l->type != SOCK_DGRAM || slot >= RPD_MAX_SLOTS || g->fds[slot] < 0)
		return 0;
	if (ioctl(g->fds[slot], SIOCINQ, &bytes) < 0)
		return 0;
	return bytes;
}

uint32_t rpd_group_queue_len(const struct rpd_group *g, unsigned int slot)
{
	if (slot >= RPD_MAX_SLOTS || g->fds[slot] < 0)
		return 0;
	if (g->l->type == SOCK_STREAM) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		/* On a listener, tcpi_unacked is the accept queue's length. */
		if (getsockopt(g->fds[slot], IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
			return 0;
		return ti.tcpi_unacked;
	} else {
		uint32_t mem[SK_MEMINFO_VARS];
		socklen_t len = sizeof(mem);

		if (getsockopt(g->fds[slot], SOL_SOCKET, SO_MEMINFO, mem, &len) < 0)
			return 0;
		return mem[SK_MEMINFO_RMEM_ALLOC];
	}
}

int rpd_group_read_stats(struct rpd_group *g, struct rpd_slot_stats *out)
{
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	struct rpd_slot_stats *percpu;

	if (ncpu < 0)
		return ncpu;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	fd = bpf_map__fd(g->skel->maps.rpd_stats);
	memset(out, 0, RPD_STATS_ENTRIES * sizeof(*out));
	for (uint32_t k = 0; k < RPD_STATS_ENTRIES; k++) {
		if (bpf_map_lookup_elem(fd, &k, percpu)) {
			err = -errno;
			pr_err("listener %s: cannot read counters: %s", g->l->name,
			       strerror(errno));
			goto out;
		}
		for (int c = 0; c < ncpu; c++)
			for (int r = 0; r < RPD_R_MAX; r++)
				out[k].reason[r] += percpu[c].reason[r];
	}
out:
	free(percpu);
	return err;
}

int rpd_group_prog_fd(const struct rpd_group *g)
{
	return bpf_program__fd(g->skel->progs.rpd_select);
}

static int load_program(struct rpd_group *g, const struct rpd_publisher *pub)
{
	int err;

	g->skel = steer__open();
	if (!g->skel) {
		err = -errno;
		pr_err("steering program: cannot open the embedded object: %s", strerror(errno));
		return err;
	}
	/* Every listener's program reads the one table the publisher writes. */
	err = bpf_map__reuse_fd(g->skel->maps.rpd_tables, pub->tables_fd);
	if (!err)
		err = bpf_map__reuse_fd(g->skel->maps.rpd_active, pub->active_fd);
	if (err) {
		pr_err("steering program: cannot share the table maps: %s", strerror(-err));
		steer__destroy(g->skel);
		g->skel = NULL;
		return err;
	}
	err = steer__load(g->skel);
	if (!err)
		return 0;
	/* The kernel version was checked before: what is left is privilege or the verifier. */
	if (err == -EPERM)
		pr_err("steering program: loading needs CAP_BPF and CAP_NET_ADMIN; run reuseportd "
		       "as root");
	else
		pr_err("steering program: the kernel refused it (%s); it needs sk_reuseport "
		       "select-or-migrate (Linux 5.14+, CONFIG_BPF_SYSCALL); run with --log-level "
		       "debug for the verifier log",
		       strerror(-err));
	steer__destroy(g->skel);
	g->skel = NULL;
	return err;
}

int rpd_group_open(struct rpd_group *g, const struct rpd_listen *l, unsigned int nslots,
		   int backlog, const struct rpd_publisher *pub)
{
	int err, prog_fd;
	unsigned int s;

	memset(g, 0, sizeof(*g));
	g->l = l;
	g->nslots = nslots;
	g->backlog = backlog;
	for (s = 0; s < RPD_MAX_SLOTS; s++)
		g->fds[s] = -1;

	err = rpd_group_check_free(l);
	if (err)
		goto fail;
	err = load_program(g, pub);
	if (err)
		goto fail;

	for (s = 0; s < nslots; s++) {
		uint64_t val;
		int fd = open_slot_socket(l, backlog);

		if (fd < 0) {
			err = fd;
			report_bind_error(l, -err);
			goto fail;
		}
		g->fds[s] = fd;
		val = fd;
		if (bpf_map_update_elem(bpf_map__fd(g->skel->maps.rpd_socks), &s, &val,
					BPF_NOEXIST)) {
			err = -errno;
			pr_err("listener %s: cannot put slot %u's socket in the sockarray: %s",
			       l->name, s, strerror(errno));
			goto fail;
		}
	}

	prog_fd = rpd_group_prog_fd(g);
	if (setsockopt(g->fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog_fd, sizeof(prog_fd)) <
	    0) {
		err = -errno;
		pr_err("listener %s: cannot attach the steering program: %s", l->name,
		       strerror(errno));
		goto fail;
	}
	pr_info("listener %s: %u %s sockets, steering program attached", l->name, nslots,
		proto_name(l));
	return 0;
fail:
	rpd_group_close(g);
	return err;
}

void rpd_group_close(struct rpd_group *g)
{
	if (!g->l)
		return;
	for (unsigned int s = 0; s < RPD_MAX_SLOTS; s++) {
		if (g->fds[s] >= 0)
			close(g->fds[s]);
		g->fds[s] = -1;
	}
	if (g->skel)
		steer__destroy(g->skel);
	g->skel = NULL;
}
