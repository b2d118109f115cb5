/*
 * Driving the lab from a test: run commands inside its hosts, read what `scripts/lab env`
 * says, and follow a test guest's counter on each host's console log.
 */
#pragma once

#include "test_support.h"

/* Runs `scripts/lab ARGS...` (a shell fragment, quoted by the caller). */
int lab_run(struct command_result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs a shell command line inside HOST (hostA, hostB, nfs). */
int lab_exec(struct command_result *res, const char *host, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A value from `scripts/lab env` (e.g. "FERRY_LAB_EXPORT"); caller frees. NULL if absent. */
char *lab_env(const char *key);

/* Last counter NAME printed on HOST's console; -1 when there is none yet. */
long lab_guest_counter(const char *name, const char *host);
/* First counter NAME printed on HOST's console; -1 when none. */
long lab_guest_first_counter(const char *name, const char *host);
/* Waits until NAME's console on HOST shows a counter >= min; returns it, or -1 on timeout. */
long lab_guest_wait_counter(const char *name, const char *host, long min, int timeout_s);
/* The counter stored in NAME's disk under DIR as HOST sees it; -1 when none. */
long lab_guest_disk_counter(const char *name, const char *host, const char *dir);

/* A name unique to this test run, e.g. "smoke-12345". */
char *lab_unique_name(const char *prefix);

/* Prints a timestamped line to stdout (the test's own log). */
void lab_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
