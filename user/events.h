/* SPDX-License-Identifier: MIT */
/*
 * events.h - the tags the daemon's epoll loop carries in epoll_event.data: what kind of fd
 * fired and for which slot or client. Shared by every module that registers fds.
 */
#ifndef RPD_EVENTS_H
#define RPD_EVENTS_H

#include <stdint.h>

enum rpd_tag_kind {
	RPD_TAG_PIDFD = 1, /* a worker's pidfd; index = slot */
	RPD_TAG_NOTIFY, /* the workers' notify socket */
	RPD_TAG_SIGNAL, /* the daemon's signalfd */
	RPD_TAG_CTL_LISTEN, /* the control socket */
	RPD_TAG_CTL_CLIENT, /* a control connection; index = client */
	RPD_TAG_CAND_PIDFD, /* a replacement worker's pidfd; index = slot */
	RPD_TAG_RETIRED_PIDFD, /* a retired worker's pidfd; index = its place in the list */
};

static inline uint64_t rpd_tag(uint32_t kind, uint32_t index)
{
	return ((uint64_t)kind << 32) | index;
}

static inline uint32_t rpd_tag_kind(uint64_t tag)
{
	return (uint32_t)(tag >> 32);
}

static inline uint32_t rpd_tag_index(uint64_t tag)
{
	return (uint32_t)tag;
}

#endif /* RPD_EVENTS_H */
