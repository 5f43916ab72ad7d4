/* SPDX-License-Identifier: MIT */
/*
 * harness.h - what every integration test needs: a private network namespace, the daemon
 * under test started and stopped, its log, and commands run with a deadline.
 *
 * Owns: process and namespace plumbing for tests. Each test asserts its own outcomes.
 */
#ifndef RPD_HARNESS_H
#define RPD_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

#define H_DAEMON RPD_BUILD_DIR "/reuseportd"
#define H_LOADGEN RPD_BUILD_DIR "/rpd-loadgen"
#define H_WORKER RPD_BUILD_DIR "/rpd-demo-worker"
#define H_CTL RPD_BUILD_DIR "/reuseportctl"

struct h_daemon {
	pid_t pid;
	char dir[64]; /* private temp directory: control socket, log */
	char control[128];
	char log[128];
	int notify_fd;
};

/*
 * Per-test setup: needs root (skips and says why, or fails when CI=true), then enters a fresh
 * network namespace with lo up and a fresh temp directory. Use as a cmocka setup function.
 */
int h_setup(void **state);
int h_teardown(void **state);

/*
 * Start the daemon with args (NULL-terminated; --control is added) and wait up to wait_ms
 * for its READY=1. wait_ms 0: do not wait. Returns 0, or -ETIMEDOUT / -ECHILD (it exited).
 */
int h_daemon_start(struct h_daemon *d, const char *const *args, int wait_ms);

/* The same, run under wrapper (e.g. valgrind and its flags; NULL-terminated). */
int h_daemon_start_wrapped(struct h_daemon *d, const char *const *wrapper, const char *const *args,
			   int wait_ms);

/* Start with args and wait for READY=1 (15 s); fails the test with the log otherwise. */
void h_daemon_up(struct h_daemon *d, const char *const *args);

/* SIGTERM; fails the test with the log unless the daemon exits 0 within 20 s. */
void h_daemon_down(struct h_daemon *d);

/* reuseportctl --control <d's> ARG... (NULL-terminated); output into out; its exit code. */
int h_ctl(struct h_daemon *d, char *out, size_t len, ...);

/* SIGTERM and wait up to timeout_ms; returns the wait status, or -ETIMEDOUT (then killed). */
int h_daemon_stop(struct h_daemon *d, int timeout_ms);

/* The daemon's log so far (static buffer). */
const char *h_daemon_log(struct h_daemon *d);

/* Wait until the log contains needle; 0 or -ETIMEDOUT. */
int h_log_wait(struct h_daemon *d, const char *needle, int timeout_ms);

/*
 * Run argv with a deadline, collecting stdout and stderr (together) into out. Returns the exit
 * status (0..255), 128+signal if killed, or -ETIMEDOUT. pre_exec runs in the child.
 */
int h_run(const char *const *argv, char *out, size_t outlen, int timeout_ms,
	  void (*pre_exec)(void));

/* Start argv in the background with stdout to a file; h_wait collects its status. */
pid_t h_spawn(const char *const *argv, const char *out_path);
int h_wait(pid_t pid, int timeout_ms);

/* Integer value of "key":N in a flat JSON text, or -1. */
long h_json_int(const char *json, const char *key);
/* Per-slot counts from the loadgen's "slots" object into counts[n]; returns slots seen. */
int h_json_slots(const char *json, long *counts, int n);

/* One HTTP GET over a fresh connection; body into buf. 0 or -errno. */
int h_http_get(const char *ip, int port, char *buf, size_t len);

/* Worker pid of a slot, from the daemon's log (the latest "worker slot=S pid=P" line). */
pid_t h_worker_pid(struct h_daemon *d, int slot);

/* Read a whole small file (static buffer); NULL on error. */
const char *h_read_file(const char *path);

void h_sleep_ms(int ms);

#endif /* RPD_HARNESS_H */
