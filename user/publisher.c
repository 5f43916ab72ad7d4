// SPDX-License-Identifier: MIT
/*
 * publisher.c - multi-buffered steering tables with grace periods off the event loop.
 *
 * A program reads rpd_active[0] once and then uses that buffer; it runs under
 * rcu_read_lock(). Publishing writes the buffer after the active one and flips the index with
 * one store: every decision after the flip uses the new table, and none sees a mix. Before a
 * buffer is written again, an RCU grace period must have started after the flip that
 * deactivated it; the helper thread runs one after every flip (updating a map-in-map makes the
 * kernel wait for one), so with RPD_TABLE_BUFS buffers a publish waits only if changes come
 * faster than RPD_TABLE_BUFS - 1 per grace period. A map-in-map swap of the tables themselves
 * would make every publish wait (~16 ms here) on the event loop.
 */
#include "publisher.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "log.h"

static void grace_period(struct rpd_publisher *p)
{
	uint32_t zero = 0;

	/* The kernel waits for an RCU grace period before an ARRAY_OF_MAPS update returns. */
	if (bpf_map_update_elem(p->gp_outer, &zero, &p->gp_inner, BPF_ANY))
		usleep(50000); /* cannot fail once created; a long pause is the safe fallback */
}

static void *grace_thread(void *arg)
{
	struct rpd_publisher *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		uint64_t target;

		if (p->gp_completed >= p->gp_requested) {
			pthread_cond_wait(&p->wake, &p->lock);
			continue;
		}
		target = p->gp_requested;
		pthread_mutex_unlock(&p->lock);
		grace_period(p);
		pthread_mutex_lock(&p->lock);
		p->gp_completed = target;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int rpd_pub_init(struct rpd_publisher *p, const struct rpd_table *initial)
{
	LIBBPF_OPTS(bpf_map_create_opts, mmapable, .map_flags = BPF_F_MMAPABLE);
	LIBBPF_OPTS(bpf_map_create_opts, outer_opts);
	uint32_t zero = 0;
	void *mem;
	int err;

	memset(p, 0, sizeof(*p));
	p->tables_fd = p->active_fd = p->gp_outer = p->gp_inner = -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	pthread_cond_init(&p->done, NULL);

	p->tables_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, RPD_MAP_TABLES, sizeof(uint32_t),
				      sizeof(struct rpd_table), RPD_TABLE_BUFS, NULL);
	p->active_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, RPD_MAP_ACTIVE, sizeof(uint32_t),
				      sizeof(uint32_t), 1, &mmapable);
	p->gp_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rpd_gp_inner", 4, 4, 1, NULL);
	if (p->tables_fd < 0 || p->active_fd < 0 || p->gp_inner < 0) {
		err = -errno;
		pr_err("table maps: cannot create: %s", strerror(errno));
		goto fail;
	}
	outer_opts.inner_map_fd = p->gp_inner;
	p->gp_outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "rpd_gp", 4, 4, 1, &outer_opts);
	if (p->gp_outer < 0) {
		err = -errno;
		pr_err("table maps: cannot create the grace-period map: %s", strerror(errno));
		goto fail;
	}
	mem = mmap(NULL, (size_t)getpagesize(), PROT_READ | PROT_WRITE, MAP_SHARED, p->active_fd,
		   0);
	if (mem == MAP_FAILED) {
		err = -errno;
		pr_err("table maps: cannot map the active index: %s", strerror(errno));
		goto fail;
	}
	p->active = mem;
	if (bpf_map_update_elem(p->tables_fd, &zero, initial, BPF_ANY)) {
		err = -errno;
		pr_err("table maps: cannot write the first table: %s", strerror(errno));
		goto fail;
	}
	__atomic_store_n(p->active, 0, __ATOMIC_RELEASE);
	err = pthread_create(&p->thread, NULL, grace_thread, p);
	if (err) {
		err = -err;
		pr_err("table maps: cannot start the grace-period thread: %s", strerror(-err));
		goto fail;
	}
	p->thread_started = true;
	return 0;
fail:
	rpd_pub_fini(p);
	return err;
}

void rpd_pub_fini(struct rpd_publisher *p)
{
	if (p->thread_started) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_signal(&p->wake);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		p->thread_started = false;
	}
	if (p->active)
		munmap((void *)p->active, (size_t)getpagesize());
	p->active = NULL;
	if (p->tables_fd >= 0)
		close(p->tables_fd);
	if (p->active_fd >= 0)
		close(p->active_fd);
	if (p->gp_outer >= 0)
		close(p->gp_outer);
	if (p->gp_inner >= 0)
		close(p->gp_inner);
	p->tables_fd = p->active_fd = p->gp_outer = p->gp_inner = -1;
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
}

int rpd_pub_publish(struct rpd_publisher *p, const struct rpd_table *t)
{
	uint32_t next = (p->cur + 1) % RPD_TABLE_BUFS, old = p->cur;
	uint64_t need = p->deactivated[next];

	/* No program may still be reading the buffer we are about to write. */
	if (need) {
		pthread_mutex_lock(&p->lock);
		if (p->gp_completed < need) {
			p->waits++;
			if (p->gp_requested < need) {
				p->gp_requested = need;
				pthread_cond_signal(&p->wake);
			}
			while (p->gp_completed < need)
				pthread_cond_wait(&p->done, &p->lock);
		}
		pthread_mutex_unlock(&p->lock);
	}
	if (bpf_map_update_elem(p->tables_fd, &next, t, BPF_ANY)) {
		int err = -errno;

		pr_err("table maps: cannot write buffer %u: %s", next, strerror(errno));
		return err;
	}
	__atomic_store_n(p->active, next, __ATOMIC_RELEASE);
	p->cur = next;
	p->deactivated[old] = ++p->flips;

	pthread_mutex_lock(&p->lock);
	p->gp_requested = p->flips;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return 0;
}
