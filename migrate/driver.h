/*
 * The libvirt driver: ferry's one room for libvirt in migrate/. It opens the two
 * connections, gathers the facts the checks and the planner need (facts.h), proves or
 * disproves shared storage, runs the live migration and watches it, and does the
 * destination-side work of block and cold migration (pools, volumes, definitions).
 */
#pragma once

#include "config.h"
#include "facts.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct driver;

/* Opens the local libvirt (qemu:///system) and the destination's (the configured URI
 * template with host), and finds the domain. Fails (with *error naming what and why)
 * only when the domain cannot be found locally; a destination that does not answer is a
 * fact (dst.connected false), reported by the uri check. */
int driver_open(const struct ferry_config *cfg, const char *domain, const char *host, struct driver **d,
                char **error);
void driver_close(struct driver *d);

/* Fills everything in f that libvirt and the hosts can tell. */
int driver_gather(struct driver *d, struct migrate_facts *f);

/* Proves (or not) that both hosts see the same instance store: the source's storage is
 * healthy (validate), the destination's lease is live, and a token created through the
 * destination's libvirt appears here with the same content. Fills f->sharing. */
void driver_prove_sharing(struct driver *d, struct migrate_facts *f);

/* Live migration progress, as the job statistics tell it. */
struct live_progress {
    uint64_t elapsed_ms;
    uint64_t memory_total, memory_remaining, memory_processed;
    uint64_t disk_total, disk_remaining, disk_processed;
    uint64_t bytes_per_second;
    uint64_t iteration;
    unsigned downtime_ms; /* the maximum downtime currently allowed */
    const char *phase;    /* "memory", "disks", "switching over" */
};

typedef void (*live_progress_fn)(const struct live_progress *p, void *arg);

struct live_options {
    bool unsafe;             /* VIR_MIGRATE_UNSAFE: only after ferry proved sharing */
    bool copy_storage_inc;   /* VIR_MIGRATE_NON_SHARED_INC */
    bool copy_storage_all;   /* VIR_MIGRATE_NON_SHARED_DISK */
    live_progress_fn progress;
    void *progress_arg;
    const atomic_bool *cancel; /* set (e.g. by SIGINT): abort the job */
};

struct live_result {
    uint64_t migrate_ms;
    uint64_t downtime_ms;
    uint64_t memory_bytes;  /* memory transferred */
    uint64_t disk_bytes;    /* disk data mirrored */
    bool aborted;           /* cancelled or timed out, and libvirt rolled back */
    char error[512];
};

/* Live-migrates the guest (peer to peer, persistent on the destination), stepping the
 * allowed downtime through [migrate] downtime_steps while memory does not converge, and
 * aborting after [migrate] completion_timeout (or switching to post-copy when allowed).
 * On success the guest is undefined here. Returns 0, or a negative errno with res->error. */
int driver_live_migrate(struct driver *d, const struct live_options *o, struct live_result *res);

/* The destination's libvirt, for block and cold migration. */
const char *driver_dest_uri(const struct driver *d);
const char *driver_domain_name(const struct driver *d);

/* Is the guest running on host (local: the source; else the destination)? */
int driver_domain_state(struct driver *d, bool on_destination, enum guest_state *state);
