/* SPDX-License-Identifier: MIT */
/*
 * control.h - the control path: its directory and the lock that makes one daemon its owner.
 *
 * Owns: creating the control directory and refusing to start while another live daemon owns
 * the path. The request protocol on the socket itself is not here yet.
 */
#ifndef RPD_CONTROL_H
#define RPD_CONTROL_H

/* Create the directory and take PATH.lock; returns the lock fd or -errno (reported). */
int rpd_control_lock(const char *path);

#endif /* RPD_CONTROL_H */
