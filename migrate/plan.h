/*
 * The migration planner: which path moves the guest — shared (state only), block (live,
 * with storage) or cold — or why nothing will happen. A pure function of the facts and
 * the pre-flight checks' results; the rule table is at the top of plan.c.
 *
 * The order of use:
 *     path = plan_path_for(f, mode);             the path before checks
 *     n = migrate_checks_run(f, path, checks);   judged for that path (checks.h)
 *     plan_choose_path(f, mode, checks, n, &plan);
 */
#pragma once

#include "facts.h"
#include "verdict.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum migrate_mode { MIGRATE_MODE_AUTO, MIGRATE_MODE_SHARED, MIGRATE_MODE_BLOCK, MIGRATE_MODE_COLD };
enum migrate_path { MIGRATE_PATH_NONE, MIGRATE_PATH_SHARED, MIGRATE_PATH_BLOCK, MIGRATE_PATH_COLD };

struct migrate_plan {
    enum migrate_path path;
    bool refused;
    char reason[512];         /* why nothing will happen (names the check or the rule); "" otherwise */
    bool proven_shared;       /* sharing proven by ferry (set on refused plans too: it is a fact) */
    bool unsafe_flag;         /* pass VIR_MIGRATE_UNSAFE: only when proven_shared and !fs_recognised_shared */
    bool copy_storage_inc;    /* block: some disk is an overlay with a backing file -> VIR_MIGRATE_NON_SHARED_INC */
    bool copy_storage_all;    /* block: flat disks only -> VIR_MIGRATE_NON_SHARED_DISK */
    uint64_t bytes_to_stream; /* what ferry's streamer copies (block: backing files the destination
                               * lacks, config drives and other read-only disks; cold: every disk
                               * and missing backing file, nothing on proven shared storage) */
    uint64_t bytes_to_mirror; /* what QEMU copies (block: the writable disks' allocation) */
};

/*
 * The path before checks. auto: cold for a shut-off guest, shared for a running or paused
 * one when sharing is proven, block when not; NONE for a guest in another state. A forced
 * mode gives its own path, even an unsafe one: the checks then show what was asked for,
 * and plan_choose_path refuses it with the reason. NONE for a NULL f or an unknown mode.
 */
enum migrate_path plan_path_for(const struct migrate_facts *f, enum migrate_mode mode);

/*
 * Fills *plan. checks: the results of migrate_checks_run(f, plan_path_for(f, mode), ...).
 * Returns 0 when it decided (the plan may be refused: a refused plan has path NONE, no
 * flags and no bytes, and a reason); -EINVAL for a NULL f or plan or an unknown mode
 * (then *plan, if given, is refused with the reason).
 */
int plan_choose_path(const struct migrate_facts *f, enum migrate_mode mode, const struct check_result *checks,
                     size_t n, struct migrate_plan *plan);

/* "none", "shared", "block", "cold"; "auto", "shared", "block", "cold"; else "unknown". */
const char *migrate_path_name(enum migrate_path p);
const char *migrate_mode_name(enum migrate_mode m);

/* auto|shared|block|cold (exact, lower case) -> 0; -EINVAL otherwise, *mode untouched. */
int migrate_mode_parse(const char *text, enum migrate_mode *mode);
