/*
 * The migration, step by step: facts, sharing proof, checks, plan, then the path. Each
 * path's failure handling lives beside it; the rule throughout is that the guest ends on
 * exactly one host, running if it was, with its disks intact.
 */
#include "migrate.h"

#include "clock.h"
#include "driver.h"
#include "log.h"
#include "move.h"
#include "owners.h"
#include "text.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *migrate_result_name(enum migrate_result r)
{
    switch (r) {
    case MIGRATE_RESULT_OK:
        return "ok";
    case MIGRATE_RESULT_PLANNED:
        return "planned";
    case MIGRATE_RESULT_REFUSED:
        return "refused";
    case MIGRATE_RESULT_ROLLED_BACK:
        return "rolled-back";
    case MIGRATE_RESULT_FAILED:
        return "failed";
    }
    return "failed";
}

/* After a failed live migration libvirt resumes the guest here; make sure, and say so. */
static void settle_after_live_failure(struct driver *d, struct migrate_outcome *o, const char *error)
{
    enum guest_state here = GUEST_OTHER, there = GUEST_OTHER;
    bool on_source = driver_domain_state(d, false, &here) == 0 && (here == GUEST_RUNNING || here == GUEST_PAUSED);
    bool on_dest = driver_domain_state(d, true, &there) == 0;
    if (on_source && !on_dest) {
        o->result = MIGRATE_RESULT_ROLLED_BACK;
        snprintf(o->cause, sizeof(o->cause), "%s; the guest runs on this host as before", error);
    } else {
        o->result = MIGRATE_RESULT_FAILED;
        snprintf(o->cause, sizeof(o->cause), "%s; the guest is %s here and %s on %s: check by hand (virsh list)",
                 error, on_source ? "running" : "not running", on_dest ? "defined" : "absent", o->facts.dst.name);
    }
}

static int run_shared(struct driver *d, const struct migrate_request *req, struct migrate_outcome *o)
{
    struct live_options lo = {
        .unsafe = o->plan.unsafe_flag,
        .progress = req->progress,
        .progress_arg = req->progress_arg,
        .cancel = req->cancel,
    };
    struct live_result lr;
    int r = driver_live_migrate(d, &lo, &lr);
    o->timings.migrate_ms = lr.migrate_ms;
    o->timings.downtime_ms = lr.downtime_ms;
    o->memory_bytes = lr.memory_bytes;
    if (r < 0) {
        settle_after_live_failure(d, o, lr.error);
        return r;
    }
    o->result = MIGRATE_RESULT_OK;
    return 0;
}

int migrate_run(const struct ferry_config *cfg, const struct migrate_request *req, struct migrate_outcome *o,
                char **error)
{
    struct driver *d = NULL;
    uint64_t start = clock_monotonic_ms();

    memset(o, 0, sizeof(*o));
    int r = driver_open(cfg, req->domain, req->host, &d, error);
    if (r < 0)
        return r;
    struct migrate_facts *f = &o->facts;
    driver_gather(d, f);
    f->disk_overcommit = req->disk_overcommit || cfg->migrate.disk_overcommit;
    driver_prove_sharing(d, f);

    enum migrate_path path = plan_path_for(f, req->mode);
    o->n_checks = migrate_checks_run(f, path, o->checks);
    plan_choose_path(f, req->mode, o->checks, o->n_checks, &o->plan);
    o->timings.checks_ms = clock_monotonic_ms() - start;

    if (o->plan.refused) {
        o->result = MIGRATE_RESULT_REFUSED;
        text_copy(o->cause, sizeof(o->cause), o->plan.reason);
    } else if (req->dry_run) {
        o->result = MIGRATE_RESULT_PLANNED;
    } else {
        struct owner_move owners;
        owners_prepare(&owners, cfg, f);
        owners_mark_outgoing(&owners);
        if (o->plan.path == MIGRATE_PATH_SHARED)
            run_shared(d, req, o);
        else if (o->plan.path == MIGRATE_PATH_BLOCK)
            move_block(d, cfg, req, o);
        else
            move_cold(d, cfg, req, o);
        if (o->result == MIGRATE_RESULT_OK) {
            char *oerr = NULL;
            if (owners_finish(d, &owners, &oerr) < 0)
                log_warn("the guest runs on %s, but its owner record could not be moved: %s ('ferry fsck' reports it)",
                         req->host, oerr ? oerr : "?");
            free(oerr);
        } else {
            owners_abort(&owners);
        }
    }
    o->timings.total_ms = clock_monotonic_ms() - start;
    driver_close(d);
    return 0;
}

static struct json_object *checks_json(const struct migrate_outcome *o)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < o->n_checks; i++) {
        struct json_object *c = json_object_new_object();
        json_object_object_add(c, "name", json_object_new_string(o->checks[i].name));
        json_object_object_add(c, "status", json_object_new_string(check_status_name(o->checks[i].status)));
        json_object_object_add(c, "detail", json_object_new_string(o->checks[i].detail));
        json_object_array_add(a, c);
    }
    return a;
}

struct json_object *migrate_outcome_to_json(const struct migrate_request *req, const struct migrate_outcome *o)
{
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "domain", json_object_new_string(o->facts.guest.name[0] ? o->facts.guest.name
                                                                                      : req->domain));
    json_object_object_add(j, "from", json_object_new_string(o->facts.src.hostname));
    json_object_object_add(j, "to", json_object_new_string(req->host));
    json_object_object_add(j, "mode", json_object_new_string(migrate_mode_name(req->mode)));
    json_object_object_add(j, "path", o->plan.path == MIGRATE_PATH_NONE
                                          ? NULL
                                          : json_object_new_string(migrate_path_name(o->plan.path)));
    json_object_object_add(j, "result", json_object_new_string(migrate_result_name(o->result)));
    json_object_object_add(j, "cause", o->cause[0] ? json_object_new_string(o->cause) : NULL);
    json_object_object_add(j, "checks", checks_json(o));
    struct json_object *plan = json_object_new_object();
    json_object_object_add(plan, "proven_shared", json_object_new_boolean(o->plan.proven_shared));
    json_object_object_add(plan, "unsafe_flag", json_object_new_boolean(o->plan.unsafe_flag));
    json_object_object_add(plan, "copy_storage_inc", json_object_new_boolean(o->plan.copy_storage_inc));
    json_object_object_add(plan, "copy_storage_all", json_object_new_boolean(o->plan.copy_storage_all));
    json_object_object_add(plan, "bytes_to_stream", json_object_new_int64((int64_t)o->plan.bytes_to_stream));
    json_object_object_add(plan, "bytes_to_mirror", json_object_new_int64((int64_t)o->plan.bytes_to_mirror));
    json_object_object_add(j, "plan", plan);
    struct json_object *t = json_object_new_object();
    json_object_object_add(t, "checks_ms", json_object_new_int64((int64_t)o->timings.checks_ms));
    json_object_object_add(t, "stream_ms", json_object_new_int64((int64_t)o->timings.stream_ms));
    json_object_object_add(t, "migrate_ms", json_object_new_int64((int64_t)o->timings.migrate_ms));
    json_object_object_add(t, "downtime_ms", json_object_new_int64((int64_t)o->timings.downtime_ms));
    json_object_object_add(t, "total_ms", json_object_new_int64((int64_t)o->timings.total_ms));
    json_object_object_add(j, "timings", t);
    json_object_object_add(j, "bytes_streamed", json_object_new_int64((int64_t)o->bytes_streamed));
    json_object_object_add(j, "files_verified", json_object_new_int64((int64_t)o->files_verified));
    json_object_object_add(j, "bytes_mirrored", json_object_new_int64((int64_t)o->bytes_mirrored));
    json_object_object_add(j, "memory_bytes", json_object_new_int64((int64_t)o->memory_bytes));
    return j;
}
