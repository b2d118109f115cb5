/*
 * Moving a guest, end to end: gather the facts, prove or disprove sharing, run the
 * pre-flight checks, choose the path, carry it out, and when anything fails, leave the
 * guest running on the source with its disks intact and nothing of ours on the
 * destination. The command (cmd_migrate.c) only prints what this returns.
 */
#pragma once

#include "checks.h"
#include "driver.h"
#include "config.h"
#include "facts.h"
#include "plan.h"

#include <signal.h>
#include <stdatomic.h>

enum migrate_result {
    MIGRATE_RESULT_OK,          /* the guest runs on the destination */
    MIGRATE_RESULT_PLANNED,     /* --dry-run / check: nothing was done */
    MIGRATE_RESULT_REFUSED,     /* a check or a rule said no: nothing was done */
    MIGRATE_RESULT_ROLLED_BACK, /* it failed, and everything is as it was */
    MIGRATE_RESULT_FAILED,      /* it failed, and ferry could not restore everything: see cause */
};

struct migrate_request {
    const char *domain;
    const char *host;
    enum migrate_mode mode;
    bool dry_run;
    bool disk_overcommit;
    live_progress_fn progress; /* live migration progress (TTY bar) */
    void *progress_arg;
    const atomic_bool *cancel; /* set (e.g. by SIGINT): stop cleanly and roll back */
};

struct migrate_timings {
    uint64_t checks_ms, stream_ms, migrate_ms, downtime_ms, total_ms;
};

struct migrate_outcome {
    struct migrate_facts facts;
    struct check_result checks[MIGRATE_MAX_CHECKS];
    size_t n_checks;
    struct migrate_plan plan;
    enum migrate_result result;
    char cause[1024];
    struct migrate_timings timings;
    uint64_t bytes_streamed, bytes_mirrored, memory_bytes;
    unsigned files_verified; /* streamed files read back through the destination's libvirt, identical */
};

/* Returns 0 when the outcome says what happened (whatever it was); a negative errno when
 * ferry could not even start (no such guest, no libvirt), with *error set. */
int migrate_run(const struct ferry_config *cfg, const struct migrate_request *req, struct migrate_outcome *out,
                char **error);

const char *migrate_result_name(enum migrate_result r);
struct json_object *migrate_outcome_to_json(const struct migrate_request *req, const struct migrate_outcome *o);
