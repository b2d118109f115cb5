/*
 * The observer's tools, used from another host: ask a host to fence itself and wait for
 * its answer (`ferry storage fence --host H --wait`), and read every host's lease on the
 * export when no local watch daemon is observing (`ferry storage status`).
 */
#pragma once

#include "config.h"
#include "fence_policy.h"
#include "lease_record.h"

enum fence_wait_outcome {
    FENCE_REQUESTED,      /* written; not waited for */
    FENCE_ACKNOWLEDGED,   /* the host's record carries our request id */
    FENCE_LEASE_EXPIRED,  /* its counter did not move for lease_timeout: it fenced itself by now */
    FENCE_WAIT_TIMED_OUT, /* neither, within the wait */
};

struct fence_wait_result {
    enum fence_wait_outcome outcome;
    char request_id[LEASE_HOST_MAX + 1];
    double waited_s;
    enum lease_state state; /* the host's last readable state */
};

/* Writes a fence request for target; with wait, waits for its acknowledgement or its
 * lease's expiry (at most fence_after + lease_timeout + 10 s). */
int storage_fence_host(const struct ferry_config *cfg, const char *target, bool wait, struct fence_wait_result *res,
                       char **error);

/* Removes any fence request for host (unfence: the operator has declared it healthy). */
int storage_fence_request_clear(const struct ferry_config *cfg, const char *host, char **error);

#define MAX_SAMPLED_HOSTS 64

struct sampled_host {
    char host[LEASE_HOST_MAX + 1];
    struct peer_observation obs;
    enum peer_liveness liveness;
    bool readable;
    char record_problem[200]; /* why the last read was not trusted; "" when it was */
};

/* Reads every lease record twice, window_ms apart, and judges each host by whether its
 * counter moved (by this process's clock; a window shorter than lease_timeout cannot call
 * anyone expired, only live or unknown). */
int storage_sample_leases(const struct ferry_config *cfg, unsigned window_ms, struct sampled_host *hosts, size_t *n,
                          char **error);
